import pytest

from assistant import Assistant
from assistant.index.search import HybridRetriever, reciprocal_rank_fusion
from assistant.index.text import tokenize


def test_rrf_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    ids = [i for i, _ in fused]
    assert ids[0] == "b"  # second in one list and first in the other beats first in one list only
    assert set(ids) == {"a", "b", "c", "d"}
    scores = dict(fused)
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)


def test_rrf_ties_are_broken_deterministically():
    assert reciprocal_rank_fusion([["x"], ["y"]]) == reciprocal_rank_fusion([["y"], ["x"]])


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


def test_hybrid_fuses_both_rankings(indexed):
    retriever = HybridRetriever(indexed.store)
    query = "Greta Van Susteren interview July"
    dense = [c.id for c, _ in indexed.store.dense_search(query, 20)]
    keyword = [c.id for c in retriever.keyword_search(query, 20)]
    expected = [cid for cid, _ in reciprocal_rank_fusion([dense, keyword])][:4]
    assert [p.chunk.id for p in retriever.search(query, 4)] == expected


def test_empty_store_returns_nothing(settings, embeddings):
    bot = Assistant(settings, embeddings=embeddings)
    assert bot.search("anything", 4) == []
