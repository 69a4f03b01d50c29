import pytest

from assistant import Assistant
from assistant.index.chunking import Chunk
from assistant.index.search import HybridRetriever, reciprocal_rank_fusion
from assistant.index.text import tokenize


def _order(rankings):
    return [i for i, _ in reciprocal_rank_fusion(rankings)]


def test_rrf_puts_what_both_rankings_agree_on_first():
    assert _order([["x", "y"], ["x", "z"]])[0] == "x"  # first in both
    # Second in one list and first in the other beats first in one list only; each list's own order is kept after.
    assert _order([["a", "b", "c"], ["b", "d"]]) == ["b", "a", "d", "c"]


def test_rrf_keeps_what_only_one_ranking_found():
    fused = reciprocal_rank_fusion([["a", "b"], []])
    assert [i for i, _ in fused] == ["a", "b"] and all(score > 0 for _, score in fused)
    assert set(_order([["a"], ["z"], ["m"]])) == {"a", "z", "m"}


def test_rrf_scores_fall_with_the_fused_order():
    scores = [score for _, score in reciprocal_rank_fusion([["a", "b", "c"], ["c", "b", "a"], ["b"]])]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]


def test_rrf_ties_are_broken_deterministically():
    tied = reciprocal_rank_fusion([["x"], ["y"]])
    assert tied == reciprocal_rank_fusion([["y"], ["x"]]) == reciprocal_rank_fusion([["x"], ["y"]])
    assert {i for i, _ in tied} == {"x", "y"} and tied[0][1] == tied[1][1]


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("spent $2.6 million", ["spent", "2.6", "million"]),
        ("On July 7, Trump", ["july", "7", "trump"]),
        ("Kim Jong-un’s sister", ["kim", "jong", "un", "sister"]),
        ("What is the DMZ?", ["dmz"]),
    ],
)
def test_tokenize_keeps_names_and_numbers(text, tokens):
    assert tokenize(text) == tokens


@pytest.fixture
def indexed(settings, embeddings):
    bot = Assistant(settings.model_copy(update={"chunk_size": 300, "chunk_overlap": 0}), embeddings=embeddings)
    bot.index(progress=False)
    return bot


def test_keyword_search_finds_exact_names_and_numbers(indexed):
    for query, needle in [("Greta Van Susteren", "Greta Van Susteren"), ("$2.6 million", "$2.6 million")]:
        top = HybridRetriever(indexed.store).keyword_search(query, 3)
        assert needle in top[0].text


def test_hybrid_search_returns_passages_with_scores_and_offsets(indexed):
    passages = indexed.search("How much did South Korea spend, $2.6 million?", 3)
    assert len(passages) == 3
    assert "$2.6 million" in passages[0].text
    assert passages[0].keyword_rank == 1
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    for p in passages:
        assert p.chunk.end - p.chunk.start == len(p.text)


class ScriptedStore:
    """A store whose dense search returns the chunks in a given order: the keyword side is real BM25."""

    version = 1

    def __init__(self, texts: dict[str, str], dense: list[str]) -> None:
        self._chunks = {cid: Chunk(cid, "doc", text, 0, len(text), 0) for cid, text in texts.items()}
        self._dense = dense

    def all_chunks(self) -> list[Chunk]:
        return list(self._chunks.values())

    def dense_search(self, query: str, n: int) -> list[tuple[Chunk, float]]:
        return [(self._chunks[cid], 1.0 - r / 10) for r, cid in enumerate(self._dense[:n])]


HARBOR = {
    "c1": "The harbor ferry crossed at dawn.",
    "c2": "Ticket prices rose in 2015.",
    "c3": "Gulls circled the pier all afternoon.",
    "c4": "The ferry carries commuters daily.",
}


def test_hybrid_search_ranks_first_a_passage_both_searches_find():
    # Dense: c3, c1, c2, c4. Keywords "harbor ferry": c1 (both words), then c4 (one word).
    retriever = HybridRetriever(ScriptedStore(HARBOR, dense=["c3", "c1", "c2", "c4"]))
    found = retriever.search("harbor ferry", 4)
    assert [p.chunk.id for p in found] == ["c1", "c4", "c3", "c2"]
    assert (found[0].dense_rank, found[0].keyword_rank) == (2, 1)
    assert [p.chunk.id for p in retriever.search("harbor ferry", 2)] == ["c1", "c4"]


def test_hybrid_search_keeps_a_passage_only_one_search_finds():
    retriever = HybridRetriever(ScriptedStore(HARBOR, dense=["c1", "c3", "c4"]))  # dense misses c2
    by_id = {p.chunk.id: p for p in retriever.search("prices in 2015", 4)}
    assert set(by_id) == {"c1", "c2", "c3", "c4"}
    assert (by_id["c2"].dense_rank, by_id["c2"].keyword_rank) == (None, 1)  # the number only BM25 matches
    assert (by_id["c3"].dense_rank, by_id["c3"].keyword_rank) == (2, None)


def test_empty_store_returns_nothing(settings, embeddings):
    bot = Assistant(settings, embeddings=embeddings)
    assert bot.search("anything", 4) == []
