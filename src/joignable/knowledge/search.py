"""Knowledge search: BM25 and dense retrieval fused, each result saying why it matched.

Each language has its own lexical index (its analyzer differs); the dense model is multilingual
but results stay in the query's language, which is given or guessed. Fusion is a weighted sum of
normalised scores over the union of both retrievers' candidates: BM25 divided by the best BM25
score of the query, cosine similarity min-max scaled over the dense candidates (e5 similarities
are squeezed into a narrow band, so raw cosines would be meaningless to add). The weights were
tuned on held-out *training* phrasings of BANKING77, not on its test set (benchmarks/knowledge.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from joignable.knowledge.dense import DenseIndex
from joignable.knowledge.embedding import Embedder, Vectors, query_tokens
from joignable.knowledge.lexical import LexicalIndex, QueryTerm
from joignable.knowledge.text import LANGS, Lang, analyzer, detect_language, words
from joignable.knowledge.thesaurus import Thesaurus

Mode = Literal["hybrid", "lexical", "dense"]
# The model's cost grows with every token (1.5 ms each on an idle core here, 3 under load) while
# long requests rarely need all their words to be understood: the dense side reads the first 16
# words (BM25 reads them all). On BANKING77 K=20 this cost 0.6 points of hybrid top-1 (.870 ->
# .864) and caps the slowest queries (the p95 query has 25 words).
DENSE_QUERY_WORDS = 16
# And of those words, what the model reads in 28 tokens (its "query: " prefix and markers
# included): the cost of the slowest queries is bounded whatever the language (a French or
# misspelt word is more tokens), 2 + 28 x 1.5 ms on an idle core. On BANKING77 it changes no
# English figure and one French query in 308 (.753 -> .750); 24 tokens would cost 2 points there.
DENSE_QUERY_TOKENS = 28
QUERY_CACHE = 2048  # query embeddings remembered (1.5 KB each)
ReasonKind = Literal["term", "typo", "synonym", "semantic"]


@dataclass(frozen=True)
class SearchDoc:
    """What search sees of an article or a flow: its title and every text that should find it
    (body, tags, the phrasings customers and agents used)."""

    id: str
    lang: Lang
    title: str
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    text: str


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    score: float
    lexical: float  # BM25 relative to the query's best, 0..1
    dense: float  # cosine similarity of the closest passage (0 when dense is off)
    why: tuple[Reason, ...]
    coverage: float = 0.0  # share of the typed words this document matched (typos included)


@dataclass(frozen=True)
class Fusion:
    """How lexical and dense scores are combined; ``pool`` candidates are taken from each."""

    lexical: float = 0.4
    dense: float = 0.6
    pool: int = 50


@dataclass(frozen=True)
class Signals:
    """One query's raw scores: BM25 per document, cosine per passage and per document."""

    part: _Part
    terms: list[QueryTerm]
    lexical: NDArray[np.float32]
    sims: NDArray[np.float32] | None
    dense: NDArray[np.float32] | None


@dataclass
class _Part:
    """The documents of one language and their indexes."""

    docs: list[SearchDoc]
    lexical: LexicalIndex
    dense: DenseIndex | None = None
    ids: dict[str, int] = field(default_factory=dict)


class KnowledgeIndex:
    """An immutable search index over documents; rebuild it when the base changes (embeddings
    of unchanged texts are reused through ``CachedEmbedder``)."""

    def __init__(
        self,
        docs: Sequence[SearchDoc],
        *,
        thesaurus: Thesaurus | None = None,
        embedder: Embedder | None = None,
        fusion: Fusion | None = None,
        dense_words: int | None = DENSE_QUERY_WORDS,
        dense_tokens: int | None = DENSE_QUERY_TOKENS,
    ) -> None:
        self.fusion = fusion or Fusion()
        self.embedder = embedder
        self.dense_words = dense_words
        self.token_budget = dense_tokens
        self._count = query_tokens(embedder)
        self._recent: dict[str, Vectors] = {}
        self._parts: dict[Lang, _Part] = {}
        for lang in LANGS:
            mine = [d for d in docs if d.lang == lang]
            if not mine:
                continue
            lexical = LexicalIndex(lang, [" ".join((d.title, *d.texts)) for d in mine], thesaurus)
            dense = None
            if embedder is not None:
                dense = DenseIndex([_passages(d) for d in mine], embedder)
            self._parts[lang] = _Part(mine, lexical, dense, {d.id: i for i, d in enumerate(mine)})

    @property
    def dense_available(self) -> bool:
        return self.embedder is not None

    def languages(self) -> list[Lang]:
        return list(self._parts)

    def search(
        self,
        query: str,
        *,
        lang: Lang | None = None,
        k: int = 10,
        mode: Mode = "hybrid",
        vector: Vectors | None = None,
    ) -> list[Hit]:
        """The ``k`` best documents for ``query``, best first. ``vector`` is the query's
        embedding when the caller already has it (batch evaluation)."""
        if not self._parts or not query.strip():
            return []
        s = self.signals(query, lang=lang, mode=mode, vector=vector)
        part = s.part
        fused = s.lexical if s.dense is None else fuse(s.lexical, s.dense, self.fusion)
        if mode == "dense" and s.dense is not None:
            fused = s.dense
        best_lex = float(s.lexical.max()) if len(s.lexical) else 0.0
        typed = {t.word for t in analyzer(part.lexical.lang).tokens(query)}
        hits: list[Hit] = []
        for i in top(fused, k):
            if fused[i] <= 0 and s.dense is None:
                break  # lexical only: nothing else matched a single word
            matched = part.lexical.matched(int(i), s.terms)
            why = _lexical_reasons(matched)
            cos = 0.0
            if s.sims is not None and s.dense is not None and part.dense is not None:
                cos = float(s.dense[i])
                near = part.dense.best_passage(int(i), s.sims)
                why.append(Reason("semantic", f'close in meaning to "{near}" ({cos:.2f})'))
            doc = part.docs[int(i)]
            rel = float(s.lexical[i]) / best_lex if best_lex > 0 else 0.0
            share = coverage(matched, typed)
            hit = Hit(doc.id, doc.title, float(fused[i]), rel, cos, tuple(why), share)
            hits.append(hit)
        return hits

    def signals(
        self,
        query: str,
        *,
        lang: Lang | None = None,
        mode: Mode = "hybrid",
        vector: Vectors | None = None,
    ) -> Signals:
        """Both retrievers' scores for every document of the query's language, unfused."""
        if not self._parts:
            raise LookupError("the index holds no document")
        part = self._part(lang or detect_language(query, default=next(iter(self._parts))))
        terms = part.lexical.query_terms(query) if mode != "dense" else []
        lex = part.lexical.scores(terms) if terms else np.zeros(len(part.docs), np.float32)
        sims = dense = None
        if mode != "lexical" and part.dense is not None:
            q = self._query_vector(part.dense, query) if vector is None else vector
            sims = part.dense.similarities(q)
            dense = part.dense.doc_scores(sims)
        return Signals(part, terms, lex, sims, dense)

    def _query_vector(self, dense: DenseIndex, query: str) -> Vectors:
        """The query's embedding, remembered: agents type the same requests again and again, and
        embedding is most of a hybrid search's time."""
        text = self.dense_text(query)
        key = _cache_key(text)
        vector = self._recent.pop(key, None)
        if vector is None:
            vector = dense.query_vector(text)
        self._recent[key] = vector  # most recent last
        if len(self._recent) > QUERY_CACHE:
            self._recent.pop(next(iter(self._recent)))
        return vector

    def dense_text(self, query: str) -> str:
        """What the dense model embeds of a query: its first ``dense_words`` words, and of
        those the most that the model reads in ``dense_tokens`` tokens (at least one word)."""
        if self.dense_words is None and self.token_budget is None:
            return query
        words = query.split()[: self.dense_words]
        budget, count = self.token_budget, self._count
        if budget is None or count is None or count(" ".join(words)) <= budget:
            return " ".join(words)
        fits, over = 1, len(words)  # the first word always goes; all of them do not fit
        while over - fits > 1:
            mid = (fits + over) // 2
            fits, over = (mid, over) if count(" ".join(words[:mid])) <= budget else (fits, mid)
        return " ".join(words[:fits])

    def dense_tokens(self, query: str) -> int:
        """What embedding this query costs: the model's tokens (words if it cannot tell)."""
        text = self.dense_text(query)
        return self._count(text) if self._count is not None else len(text.split())

    def forget_queries(self) -> None:
        """Drop the remembered query vectors (a benchmark times the model, not the cache)."""
        self._recent.clear()

    def ids(self, lang: Lang) -> list[str]:
        """Document ids of a language, in the order ``signals`` scores them."""
        return [d.id for d in self._parts[lang].docs] if lang in self._parts else []

    def _part(self, lang: Lang) -> _Part:
        if lang in self._parts:
            return self._parts[lang]
        return next(iter(self._parts.values()))


def fuse(lex: NDArray[np.float32], dense: NDArray[np.float32], f: Fusion) -> NDArray[np.float32]:
    """Weighted sum of normalised scores over the union of both top-``pool`` candidate sets;
    every other document scores 0."""
    n = len(lex)
    pool = min(f.pool, n)
    cand = np.union1d(top(lex, pool), top(dense, pool))
    out = np.zeros(n, dtype=np.float32)
    best_lex = float(lex.max())
    lex_part = lex[cand] / best_lex if best_lex > 0 else np.zeros(len(cand), np.float32)
    d = dense[cand]
    floor = float(np.sort(dense)[-pool]) if pool else 0.0
    span = float(d.max()) - floor
    dense_part = np.clip((d - floor) / span, 0.0, 1.0) if span > 0 else np.ones(len(cand))
    out[cand] = f.lexical * lex_part + f.dense * dense_part
    return out


def top(scores: NDArray[np.float32], k: int) -> NDArray[np.intp]:
    """Indexes of the ``k`` highest scores, best first (ties: lower index first)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


def coverage(matched: Sequence[QueryTerm], typed: set[str]) -> float:
    """Share of the words typed (stop words aside) that a document matched, directly, through a
    typo or through a synonym: 1.0 when nothing asked for is missing from it."""
    if not typed:
        return 0.0
    found = {w for t in matched for w in (words(t.typed) if t.kind == "synonym" else [t.typed])}
    return len(found & typed) / len(typed)


def _cache_key(text: str) -> str:
    """Two ways of typing the same request share a remembered vector: case, spacing and the
    punctuation around words aside ("Carte bloquée ?" and "carte bloquée")."""
    return " ".join(w.strip(_PUNCTUATION) for w in text.casefold().split()).strip()


_PUNCTUATION = "?!.,;:'\"«»()"


def _passages(d: SearchDoc) -> list[str]:
    """What the dense model embeds of a document: the title and each text apart."""
    return [t for t in (d.title, *d.texts) if t.strip()] or [d.id]


def _lexical_reasons(matched: list[QueryTerm]) -> list[Reason]:
    out: list[Reason] = []
    for q in matched:
        if q.kind == "term":
            out.append(Reason("term", f'"{q.typed}"'))
        elif q.kind == "typo":
            out.append(Reason("typo", f'"{q.typed}" read as "{q.via}"'))
        else:
            out.append(Reason("synonym", f'"{q.via}", a synonym of "{q.typed}"'))
    return out
