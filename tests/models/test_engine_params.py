"""The embedded server's parameters, checked without loading a model."""

from assistant.models.engine import EngineConfig, server_params


def test_the_embedded_server_is_loopback_only_with_a_key_and_one_context_per_slot(tmp_path):
    config = EngineConfig("model.gguf", n_ctx=4096, slots=3, n_threads=1, n_threads_batch=2, slot_dir=str(tmp_path))
    p = server_params(config, "k3y")
    assert p.hostnames == ["127.0.0.1"] and p.port == 0 and p.api_keys == ["k3y"]
    assert p.n_parallel == 3 and p.n_ctx == 3 * 4096 and not p.kv_unified  # each slot has its own 4096 tokens
    assert p.cpuparams.n_threads == 1 and p.cpuparams_batch.n_threads == 2
    assert p.slot_save_path.startswith(str(tmp_path)) and p.slot_save_path.endswith("/")
    assert not p.ui and p.cache_prompt


def test_the_ui_serves_one_answer_per_slot(settings, embeddings):
    from fakes import fake_llm

    from assistant import Assistant
    from assistant.ui.app import build_app

    bot = Assistant(settings.model_copy(update={"slots": 3}), llm=fake_llm("x"), embeddings=embeddings)
    bot.ensure_index()
    app = build_app(bot)
    chat = [fn for fn in app.fns.values() if fn.api_name == "chat"]
    assert chat and all(fn.concurrency_limit == 3 for fn in chat)
    assert all(fn.show_progress == "full" for fn in chat)  # a waiting user sees "queue: n/m"


def test_a_saved_prefix_is_keyed_on_everything_that_makes_it_restorable(tmp_path):
    from assistant.models.prompt_cache import prefix_key

    model = tmp_path / "m.gguf"
    model.write_bytes(b"gguf")
    messages = [{"role": "system", "content": "The essay."}]
    key = prefix_key(str(model), 4096, 4, messages)
    assert key == prefix_key(str(model), 4096, 4, [dict(m) for m in messages])
    assert key != prefix_key(str(model), 4096, 2, messages)  # llama.cpp refuses a slot saved with another slot count
    assert key != prefix_key(str(model), 2048, 4, messages)
    assert key != prefix_key(str(model), 4096, 4, [{"role": "system", "content": "Another essay."}])
