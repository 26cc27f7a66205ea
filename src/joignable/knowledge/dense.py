"""Dense retrieval: cosine similarity between a query vector and every passage of a document.

A document is several passages (its title, each phrasing customers used, its body), and its
score is the best of them: a query close to one way of asking finds the article even when the
other phrasings are far, which averaging them would blur.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from joignable.knowledge.embedding import Embedder, Vectors


class DenseIndex:
    """Passage vectors grouped by document; documents are numbered from 0 and every document
    has at least one passage."""

    def __init__(self, passages: Sequence[Sequence[str]], embedder: Embedder) -> None:
        if any(not p for p in passages):
            raise ValueError("every document needs at least one passage")
        self.embedder = embedder
        self.size = len(passages)
        self._texts = [t for p in passages for t in p]
        self._starts = np.cumsum([0] + [len(p) for p in passages[:-1]]) if passages else None
        self._vectors: Vectors = (
            embedder.embed_passages(self._texts)
            if self._texts
            else np.zeros((0, 1), dtype=np.float32)
        )

    def query_vector(self, text: str) -> Vectors:
        return np.asarray(self.embedder.embed_queries([text])[0], dtype=np.float32)

    def similarities(self, query: Vectors) -> NDArray[np.float32]:
        """Cosine similarity of the query with every passage (vectors are normalised).

        numpy's own loop, not BLAS: OpenBLAS splits this one product over its threads, which on
        a busy two-core machine wait on each other (17 ms instead of 1-2 ms over 10,000 passages,
        measured in the server's configuration, where nothing caps BLAS threads)."""
        if not self._texts:
            return np.zeros(0, dtype=np.float32)
        sims: NDArray[np.float32] = np.einsum("ij,j->i", self._vectors, query.astype(np.float32))
        return sims

    def doc_scores(self, sims: NDArray[np.float32]) -> NDArray[np.float32]:
        """Per document, its best passage's similarity."""
        if not self.size:
            return np.zeros(0, dtype=np.float32)
        assert self._starts is not None
        return np.maximum.reduceat(sims, self._starts).astype(np.float32)

    def best_passage(self, doc: int, sims: NDArray[np.float32]) -> str:
        """The passage of ``doc`` closest to the query: what the match is explained with."""
        assert self._starts is not None
        start = int(self._starts[doc])
        end = int(self._starts[doc + 1]) if doc + 1 < self.size else len(self._texts)
        return self._texts[start + int(np.argmax(sims[start:end]))]
