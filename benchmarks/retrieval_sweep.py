"""Measure retrieval on the eval questions across embeddings, chunkings and modes.

    python -m benchmarks.retrieval_sweep [--k 4] [--out benchmarks/results/retrieval_sweep.md]

A passage "hits" a supporting quote when it covers at least half of the
quote's span in the cleaned essay. Reported per configuration: hit@k (any
quote hit), recall@k (share of quotes hit), MRR of the first hit, and the
mean characters the top k put in the prompt (bigger chunks buy recall with
prompt length). Writes the Markdown table to --out and its rows as JSON
beside it (``retrieval_sweep.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from assistant.evals.dataset import load_dataset
from assistant.evals.metrics import quote_spans, retrieval_scores
from assistant.index.chroma import make_client
from assistant.index.chunking import split_document
from assistant.index.documents import default_essay_path, load_document
from assistant.index.embeddings import make_embeddings
from assistant.index.search import HybridRetriever
from assistant.index.store import ChunkStore
from assistant.settings import Settings
from benchmarks.tables import markdown_table


def query_text(item) -> str:
    # Retrieval sees what the condensed question would carry: the last user turn plus the follow-up.
    prior = [m["content"] for m in item.history if m["role"] == "user"][-1:]
    return " ".join(prior + [item.question])


def evaluate(retrieve, doc_text, items, k):
    scores, chars, secs = [], [], []
    for item in items:
        t0 = time.perf_counter()
        ranked = retrieve(query_text(item), k)
        secs.append(time.perf_counter() - t0)
        scores.append(
            retrieval_scores([(c.start, c.end) for c in ranked], quote_spans(doc_text, item.supporting_quotes), k)
        )
        chars.append(sum(len(c.text) for c in ranked))
    return {
        "hit@k": statistics.mean(s["hit"] for s in scores),
        "recall@k": statistics.mean(s["recall"] for s in scores),
        "mrr": statistics.mean(s["rr"] for s in scores),
        "chars": statistics.mean(chars),
        "ms_p50": 1000 * statistics.median(secs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--embeddings", default="minilm")
    parser.add_argument("--sizes", default="300:0,400:80,600:100,800:150,1000:200,1200:200")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/retrieval_sweep.md"))
    args = parser.parse_args()

    doc = load_document(default_essay_path())
    items = [i for i in load_dataset() if i.answerable and i.supporting_quotes]
    rows = []
    for emb_name in args.embeddings.split(","):
        embeddings = make_embeddings(emb_name)
        for spec in args.sizes.split(","):
            size, overlap = (int(x) for x in spec.split(":"))
            with tempfile.TemporaryDirectory() as tmp:
                settings = Settings(data_dir=Path(tmp), chunk_size=size, chunk_overlap=overlap)
                store = ChunkStore(make_client(settings.store_location), "sweep", embeddings, emb_name)
                chunks = split_document(doc, chunk_size=size, chunk_overlap=overlap)
                store.sync_document(doc, chunks)
                retriever = HybridRetriever(store)
                modes = {
                    "dense": lambda q, k, store=store: [c for c, _ in store.dense_search(q, k)],
                    "bm25": lambda q, k, retriever=retriever: retriever.keyword_search(q, k),
                    "hybrid": lambda q, k, retriever=retriever: [p.chunk for p in retriever.search(q, k)],
                }
                for mode, fn in modes.items():
                    if mode == "bm25" and emb_name != args.embeddings.split(",")[0]:
                        continue  # keyword search does not depend on the embedding
                    m = evaluate(fn, doc.text, items, args.k)
                    rows.append((emb_name if mode != "bm25" else "-", f"{size}/{overlap}", len(chunks), mode, m))
                    print(rows[-1][:4], {k: round(v, 3) for k, v in m.items()}, flush=True)

    header = ["embedding", "chunk/overlap", "chunks", "mode", "hit@k", "recall@k", "MRR", "prompt chars", "ms p50"]
    scores = ("hit@k", ".3f"), ("recall@k", ".3f"), ("mrr", ".3f"), ("chars", ".0f"), ("ms_p50", ".1f")
    cells = [(emb, size, n, mode, *(format(m[key], spec) for key, spec in scores)) for emb, size, n, mode, m in rows]
    text = f"Retrieval on {len(items)} answerable eval questions, k={args.k}.\n\n" + markdown_table(header, cells)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    # The JSON beside the report is what docs/benchmarks.md can render a table from.
    records = [{"embedding": e, "chunking": c, "chunks": n, "mode": mode, **m} for e, c, n, mode, m in rows]
    result = {"questions": len(items), "k": args.k, "rows": records}
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
