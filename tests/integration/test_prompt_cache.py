"""The saved KV state of a prompt prefix, on the real model: reused across processes, and never trusted when broken."""

import pytest
from llama_cpp import Llama

from assistant._model_file import ensure_model_file
from assistant._prompt_cache import prefix_tokens, restore_or_save, state_path
from real import real_settings

pytestmark = pytest.mark.integration

SYSTEM = [
    {
        "role": "system",
        "content": "Answer from this passage only. The president has met with Kim three times already, in "
        "Singapore, Hanoi, and in the Demilitarized Zone that separates the two Koreas.",
    }
]
QUESTION = {"role": "user", "content": "Where have they met?"}


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return str(ensure_model_file(real_settings(tmp_path_factory.mktemp("data")).cache_dir))


def _fresh(model_path):
    """A second Llama in this process stands in for a new process: its KV cache starts empty."""
    return Llama(model_path=model_path, n_ctx=1024, n_threads=2, verbose=False)


def _answer(llama):
    out = llama.create_chat_completion(messages=[*SYSTEM, QUESTION], temperature=0.0, max_tokens=24)
    return out["choices"][0]["message"]["content"]


def test_a_saved_prefix_loads_in_a_fresh_model_and_gives_the_same_answer(model_path, tmp_path):
    first = _fresh(model_path)
    tokens = prefix_tokens(first, SYSTEM)
    path = state_path(tmp_path, model_path, 1024, tokens)
    assert restore_or_save(first, tokens, path) == "computed" and path.is_file()
    assert restore_or_save(first, tokens, path) == "memory"
    expected = _answer(first)
    assert first.input_ids[: len(tokens)].tolist() == tokens  # the chat prompt really starts with the saved prefix

    second = _fresh(model_path)
    assert restore_or_save(second, tokens, path) == "disk"
    assert _answer(second) == expected
    assert "Singapore" in expected
    first.close()
    second.close()


def test_a_broken_state_file_is_read_again_not_trusted(model_path, tmp_path):
    llama = _fresh(model_path)
    tokens = prefix_tokens(llama, SYSTEM)
    path = state_path(tmp_path, model_path, 1024, tokens)
    restore_or_save(llama, tokens, path)
    expected = _answer(llama)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])  # truncated, as by a full disk

    fresh = _fresh(model_path)
    assert restore_or_save(fresh, tokens, path) == "computed"
    assert path.stat().st_size > 0 and restore_or_save(_fresh(model_path), tokens, path) == "disk"
    assert _answer(fresh) == expected
    llama.close()
    fresh.close()



def test_the_chat_model_reads_a_prefix_once_and_a_new_prefix_again(model_path, tmp_path):
    from langchain_core.messages import SystemMessage

    from assistant._llamacpp import LlamaCppChatModel

    model = LlamaCppChatModel(model_path=model_path, n_ctx=1024, n_threads=2, prompt_cache_dir=str(tmp_path))
    essay = [SystemMessage(SYSTEM[0]["content"])]
    other = [SystemMessage(SYSTEM[0]["content"].replace("three times", "three times, the essay says,"))]
    assert [model.cache_prefix(m) for m in (essay, essay, other, other)] == ["computed", "memory", "computed", "memory"]
    assert len(list(tmp_path.glob("*"))) == 2
