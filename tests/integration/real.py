"""Settings for tests on the real model; kept out of conftest so test modules can import it."""

from pathlib import Path

from assistant import Settings


def real_settings(data_dir: Path, **overrides) -> Settings:
    # The model cache (ESSAY_ASSISTANT_CACHE_DIR or the user cache) is shared: assembling 1.1 GB once is enough.
    return Settings(data_dir=data_dir, **overrides)
