"""Knowledge search: BM25 with typos and synonyms, fusion with a dense retriever, reasons."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from joignable.knowledge.embedding import CachedEmbedder, Vectors, load_embedder
from joignable.knowledge.search import Fusion, KnowledgeIndex, SearchDoc, fuse, top
from joignable.knowledge.text import words
from joignable.knowledge.thesaurus import Thesaurus, default_thesaurus

DOCS = [
    SearchDoc(
        "unblock-card",
        "fr",
        "Débloquer votre carte bancaire",
        ("Ma carte est bloquée", "Carte refusée au distributeur"),
    ),
    SearchDoc("transfer", "fr", "Faire un virement", ("Comment envoyer de l'argent à un ami",)),
    SearchDoc("refund", "fr", "Remboursement non visible", ("Je ne vois pas mon remboursement",)),
    SearchDoc("card-arrival", "en", "My card has not arrived", ("still waiting for my card",)),
    SearchDoc("pin", "en", "Change your PIN", ("how do I reset my pin code",)),
]


class BagOfWords:
    """A deterministic stand-in for the model: hashed folded words, normalised."""

    name = "bag of words"

    def __init__(self) -> None:
        self.calls = 0

    def _embed(self, texts: Sequence[str]) -> Vectors:
        self.calls += len(texts)
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in words(t):
                out[i, zlib.crc32(w.encode()) % 64] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)


def test_accentless_query_finds_the_accented_article() -> None:
    idx = KnowledgeIndex(DOCS)
    hits = idx.search("ma carte est bloquee", lang="fr")
    assert hits[0].id == "unblock-card"
    assert any(r.kind == "term" and "bloquee" in r.text for r in hits[0].why)


def test_typo_is_read_as_the_known_word() -> None:
    hits = KnowledgeIndex(DOCS).search("remboursment", lang="fr")
    assert hits[0].id == "refund"
    assert [r.text for r in hits[0].why if r.kind == "typo"] == [
        '"remboursment" read as "remboursement"'
    ]


def test_short_words_are_never_corrected() -> None:
    assert KnowledgeIndex(DOCS).search("xyz", lang="fr") == []


def test_synonym_expands_the_query() -> None:
    plain = KnowledgeIndex(DOCS).search("transfert", lang="fr")
    assert plain == []
    hits = KnowledgeIndex(DOCS, thesaurus=default_thesaurus()).search("transfert", lang="fr")
    assert hits[0].id == "transfer"
    assert hits[0].why[0].kind == "synonym"
    assert "virement" in hits[0].why[0].text


def test_multi_word_synonyms() -> None:
    t = Thesaurus([("fr", ["carte bleue", "carte bancaire"])])
    hits = KnowledgeIndex(DOCS, thesaurus=t).search("carte bleue", lang="fr")
    assert hits[0].id == "unblock-card"


def test_results_stay_in_the_query_language() -> None:
    idx = KnowledgeIndex(DOCS)
    assert {h.id for h in idx.search("my card", lang="en")} <= {"card-arrival", "pin"}
    assert idx.search("still waiting for my card")[0].id == "card-arrival"  # guessed English


def test_without_embedder_search_is_lexical_and_says_nothing_semantic() -> None:
    idx = KnowledgeIndex(DOCS)
    assert not idx.dense_available
    for h in idx.search("carte bloquée", lang="fr", mode="hybrid"):
        assert h.dense == 0.0
        assert all(r.kind != "semantic" for r in h.why)


def test_hybrid_explains_the_semantic_match() -> None:
    idx = KnowledgeIndex(DOCS, embedder=BagOfWords())
    hits = idx.search("envoyer argent ami", lang="fr")
    assert hits[0].id == "transfer"
    semantic = [r for r in hits[0].why if r.kind == "semantic"]
    assert len(semantic) == 1 and "Comment envoyer" in semantic[0].text
    assert hits[0].score >= hits[-1].score


def test_dense_mode_ranks_by_similarity() -> None:
    idx = KnowledgeIndex(DOCS, embedder=BagOfWords())
    hits = idx.search("reset my pin code", lang="en", mode="dense")
    assert hits[0].id == "pin"
    assert hits[0].dense == pytest.approx(max(h.dense for h in hits))


def test_cached_embedder_embeds_each_text_once() -> None:
    inner = BagOfWords()
    cached = CachedEmbedder(inner)
    KnowledgeIndex(DOCS, embedder=cached)
    first = inner.calls
    KnowledgeIndex(DOCS, embedder=cached)
    assert inner.calls == first
    assert np.allclose(cached.embed_passages(["ami"]), inner.embed_passages(["ami"]))


def test_a_repeated_query_is_embedded_once() -> None:
    model = BagOfWords()
    idx = KnowledgeIndex(DOCS, embedder=model)
    before = model.calls
    first = idx.search("envoyer argent ami", lang="fr")
    assert idx.search("envoyer argent ami", lang="fr") == first
    assert model.calls == before + 1
    # the same request typed another way: case, spacing, punctuation around the words
    idx.search("  Envoyer ARGENT, ami ? ", lang="fr")
    assert model.calls == before + 1
    idx.search("envoyer argent amis", lang="fr")  # another request is embedded
    assert model.calls == before + 2


def test_the_dense_side_reads_the_first_words_only() -> None:
    idx = KnowledgeIndex(DOCS, dense_words=3)
    assert idx.dense_text("un deux trois quatre cinq") == "un deux trois"
    assert KnowledgeIndex(DOCS, dense_words=None).dense_text("a b c d") == "a b c d"


class Syllables(BagOfWords):
    """Counts tokens as a subword model would: a word of n letters is ceil(n / 3) tokens, plus
    four for the query prefix and the markers."""

    def query_tokens(self, text: str) -> int:
        return 4 + sum(-(-len(w) // 3) for w in text.split())


@given(st.lists(st.text("abcdefghij", min_size=1, max_size=12), max_size=30), st.integers(5, 40))
def test_the_dense_side_reads_the_most_words_that_fit_its_token_budget(
    typed: list[str], budget: int
) -> None:
    model = Syllables()
    idx = KnowledgeIndex([], embedder=CachedEmbedder(model), dense_words=16, dense_tokens=budget)
    query = " ".join(typed)
    text = idx.dense_text(query)
    kept = text.split()
    assert kept == typed[: len(kept)] and len(kept) <= 16  # a prefix of the words typed
    if typed:
        assert kept  # the first word always goes, even alone over the budget
    if len(kept) > 1:
        assert model.query_tokens(text) <= budget
    if len(kept) < min(len(typed), 16):  # no further word would have fitted
        assert model.query_tokens(" ".join(typed[: len(kept) + 1])) > budget
    assert idx.dense_tokens(query) == model.query_tokens(text)


def test_fusion_weights_at_the_extremes_follow_one_retriever() -> None:
    lex = np.array([0.0, 3.0, 1.0, 2.0], dtype=np.float32)
    dense = np.array([0.9, 0.1, 0.8, 0.5], dtype=np.float32)
    assert list(top(fuse(lex, dense, Fusion(1.0, 0.0, pool=4)), 3)) == [1, 3, 2]
    assert list(top(fuse(lex, dense, Fusion(0.0, 1.0, pool=4)), 3)) == [0, 2, 3]


scores = arrays(np.float32, st.integers(1, 40), elements=st.floats(0, 10, width=32))


@given(scores, st.integers(1, 10))
def test_fusion_scores_only_candidates_and_stays_in_range(lex: Vectors, pool: int) -> None:
    dense = np.flip(lex).copy()
    out = fuse(lex, dense, Fusion(0.4, 0.6, pool=pool))
    candidates = set(top(lex, pool)) | set(top(dense, pool))
    assert all(out[i] == 0 for i in range(len(out)) if i not in candidates)
    assert float(out.max()) <= 1.0 + 1e-6 and float(out.min()) >= 0.0


@given(scores, st.integers(1, 50))
def test_top_is_sorted_and_complete(s: Vectors, k: int) -> None:
    t = top(s, k)
    assert len(t) == min(k, len(s))
    assert all(s[a] >= s[b] for a, b in zip(t, t[1:], strict=False))
    if len(t) < len(s):
        assert float(s[t[-1]]) >= float(np.delete(s, t).max())


def test_dense_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOIGNABLE_DENSE", "off")
    embedder, reason = load_embedder()
    assert embedder is None and "JOIGNABLE_DENSE" in reason
