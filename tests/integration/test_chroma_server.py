"""The same index and answers against a Chroma server instead of the embedded store."""

import re

from real import real_settings

from assistant import Assistant


def test_index_and_ask_against_a_chroma_server(chroma_server, tmp_path):
    host, port = chroma_server
    settings = real_settings(tmp_path, chroma_host=host, chroma_port=port, collection="server-test")
    server_bot = Assistant(settings)
    first = server_bot.index(progress=False)
    second = server_bot.index(progress=False)
    assert first.chunks_added > 0 and second.chunks_added == 0
    assert Assistant(settings).chunk_count == first.chunks_added
    assert not (tmp_path / "chroma").exists(), "server mode must not create an embedded store"
    answer = server_bot.ask("Where have Trump and Kim met?")
    assert re.search(r"Singapore", answer.text) and re.search(r"Hanoi", answer.text), answer.text
    assert answer.sources
