"""Search quality, measured: BANKING77 as a knowledge base, top-1 and MRR@10 per retriever.

One article per intent, seeded with K phrasings from the training split; queries held out (the
test split, never seen while tuning). Fusion weights are tuned on *unused training* phrasings,
the dev set, so the test figures stay honest. Used by ``benchmarks/knowledge.py``, by the CI
quality test, and later by ``joignable kb eval``.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from joignable.knowledge.embedding import Vectors
from joignable.knowledge.search import Fusion, KnowledgeIndex, SearchDoc, Signals, fuse
from joignable.knowledge.text import Lang

RETRIEVERS = ("bm25-plain", "bm25", "dense", "hybrid")
# Lexical weights tried when tuning the fusion (dense gets the rest).
WEIGHTS = tuple(i / 20 for i in range(21))


@dataclass(frozen=True)
class Case:
    query: str
    gold: str
    noisy: bool = False


@dataclass
class Dataset:
    name: str
    lang: Lang
    docs: list[SearchDoc]
    test: list[Case]
    dev: list[Case] = field(default_factory=list)


@dataclass(frozen=True)
class Metrics:
    top1: float
    mrr10: float
    n: int


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def sentences(path: Path) -> list[str]:
    """The ``text`` column of a BANKING77 split."""
    return [r["text"] for r in _rows(path)]


def title_of(intent: str) -> str:
    """BANKING77 labels as article titles: ``card_arrival`` -> ``Card arrival``."""
    return intent.replace("_", " ").strip().capitalize()


def banking77(
    folder: Path,
    k: int | None,
    *,
    seed: int = 42,
    queries: int | None = 1000,
    intents: int | None = None,
    dev_per_intent: int = 5,
    titles: bool = False,
) -> Dataset:
    """English BANKING77: ``k`` phrasings per article (None: all), ``queries`` test queries
    sampled, optionally only the first ``intents`` intents (a small CI fixture). Without
    ``titles`` an article is its phrasings alone: the labels read almost like the queries, so
    indexing them would flatter every retriever (plain BM25 top-1 at K=5 goes from .56 to .70)."""
    rng = random.Random(seed)
    by_intent: dict[str, list[str]] = defaultdict(list)
    for r in _rows(folder / "train.csv"):
        by_intent[r["category"]].append(r["text"])
    names = sorted(by_intent)[:intents] if intents else sorted(by_intent)
    docs: list[SearchDoc] = []
    dev: list[Case] = []
    for name in names:
        texts = by_intent[name][:]
        rng.shuffle(texts)
        seeds = texts if k is None else texts[:k]
        docs.append(SearchDoc(name, "en", title_of(name) if titles else "", tuple(seeds)))
        if k is not None:
            dev.extend(Case(t, name) for t in texts[k : k + dev_per_intent])
    kept = set(names)
    test = [Case(r["text"], r["category"]) for r in _rows(folder / "test.csv")]
    test = [c for c in test if c.gold in kept]
    if queries is not None and queries < len(test):
        test = rng.sample(test, queries)
    label = "all" if k is None else str(k)
    return Dataset(f"banking77 K={label}", "en", docs, test, dev)


def banking77_fr(folder: Path, *, intents: int | None = None) -> Dataset:
    """The French set: article titles and 8 phrasings per intent; 4 held-out queries each."""
    titles = {r["category"]: r["title_fr"] for r in _rows(folder / "articles.csv")}
    names = sorted(titles)[:intents] if intents else sorted(titles)
    phrasings: dict[str, list[str]] = defaultdict(list)
    for r in _rows(folder / "phrasings.csv"):
        phrasings[r["category"]].append(r["text_fr"])
    docs = [SearchDoc(n, "fr", titles[n], tuple(phrasings[n])) for n in names]
    kept = set(names)
    test = [
        Case(r["text_fr"], r["category"], r.get("noisy") == "1")
        for r in _rows(folder / "queries_dev.csv")
        if r["category"] in kept
    ]
    return Dataset("banking77-fr", "fr", docs, test)


def rank_of(scores: NDArray[np.float32], gold: int) -> int:
    """1-based rank of document ``gold``; ties go to the lower index, as search orders them."""
    g = scores[gold]
    return int(1 + np.count_nonzero(scores > g) + np.count_nonzero(scores[:gold] == g))


def metrics(ranks: Sequence[int]) -> Metrics:
    if not ranks:
        return Metrics(0.0, 0.0, 0)
    r = np.asarray(ranks)
    mrr = float(np.where(r <= 10, 1.0 / r, 0.0).mean())
    return Metrics(float((r == 1).mean()), mrr, len(ranks))


Scorer = Callable[[Signals], NDArray[np.float32] | None]


def scorers(fusion: Fusion) -> dict[str, Scorer]:
    """How each retriever ranks from one query's signals (None: not available)."""

    def plain(s: Signals) -> NDArray[np.float32]:
        # BM25 on the words typed only: no typo correction, no synonyms.
        return s.part.lexical.scores([t for t in s.terms if t.kind == "term"])

    def hybrid(s: Signals) -> NDArray[np.float32] | None:
        return None if s.dense is None else fuse(s.lexical, s.dense, fusion)

    return {
        "bm25-plain": plain,
        "bm25": lambda s: s.lexical,
        "dense": lambda s: s.dense,
        "hybrid": hybrid,
    }


def signals(index: KnowledgeIndex, data: Dataset, cases: Sequence[Case]) -> list[Signals]:
    """Every case's signals, its query embedded in one batch when dense is on."""
    vectors: Vectors | None = None
    if index.embedder is not None and cases:
        vectors = index.embedder.embed_queries([index.dense_text(c.query) for c in cases])
    return [
        index.signals(c.query, lang=data.lang, vector=None if vectors is None else vectors[i])
        for i, c in enumerate(cases)
    ]


def evaluate(
    index: KnowledgeIndex,
    data: Dataset,
    cases: Sequence[Case],
    sigs: Sequence[Signals],
    fusion: Fusion,
) -> dict[str, Metrics]:
    """Top-1 and MRR@10 of every available retriever over ``cases``."""
    position = {d: i for i, d in enumerate(index.ids(data.lang))}
    ranks: dict[str, list[int]] = defaultdict(list)
    for case, s in zip(cases, sigs, strict=True):
        for name, score in scorers(fusion).items():
            scores = score(s)
            if scores is not None:
                ranks[name].append(rank_of(scores, position[case.gold]))
    return {name: metrics(r) for name, r in ranks.items()}


def tune(
    index: KnowledgeIndex,
    data: Dataset,
    sigs: Sequence[Signals],
    weights: Sequence[float] = WEIGHTS,
) -> tuple[Fusion, Metrics]:
    """The lexical weight (dense = 1 - it) with the best MRR@10 on the dev cases."""
    best: tuple[Fusion, Metrics] | None = None
    for w in weights:
        f = Fusion(lexical=w, dense=1 - w)
        m = evaluate(index, data, data.dev, sigs, f)["hybrid"]
        if best is None or m.mrr10 > best[1].mrr10:
            best = (f, m)
    if best is None:
        raise ValueError("no dev case to tune on")
    return best
