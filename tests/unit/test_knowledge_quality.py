"""Search-quality regression on a slice of BANKING77: hybrid must beat plain BM25.

Small on purpose (a few seconds of embedding): 25 intents, 5 phrasings each, 120 held-out test
queries. The full measurement is ``python -m benchmarks.knowledge``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from joignable.knowledge.embedding import load_embedder
from joignable.knowledge.evaluation import banking77, evaluate, signals
from joignable.knowledge.search import KnowledgeIndex
from joignable.knowledge.thesaurus import default_thesaurus

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "banking77"


@pytest.fixture(scope="module")
def results() -> dict[str, float]:
    if not (DATA / "train.csv").exists():
        pytest.skip(f"BANKING77 not found at {DATA}")
    embedder, reason = load_embedder()
    if embedder is None:
        pytest.skip(reason)
    data = banking77(DATA, 5, seed=7, queries=120, intents=25)
    index = KnowledgeIndex(data.docs, thesaurus=default_thesaurus(), embedder=embedder)
    m = evaluate(index, data, data.test, signals(index, data, data.test), index.fusion)
    return {f"{name}.{k}": getattr(v, k) for name, v in m.items() for k in ("top1", "mrr10")}


def test_hybrid_beats_plain_bm25(results: dict[str, float]) -> None:
    assert results["hybrid.top1"] > results["bm25-plain.top1"] + 0.03
    assert results["hybrid.mrr10"] > results["bm25-plain.mrr10"]


def test_every_retriever_is_far_above_chance(results: dict[str, float]) -> None:
    # 25 articles: chance top-1 is 0.04.
    for name in ("bm25-plain", "bm25", "dense", "hybrid"):
        assert results[f"{name}.top1"] > 0.4, name
