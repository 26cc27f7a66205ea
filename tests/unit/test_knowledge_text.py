"""Text analysis: accents, elisions, stems, abbreviations, as agents type."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from joignable.knowledge.text import analyzer, detect_language, fold, words

SAMPLE = "bloquée bloquee bloqués prélèvement remboursé reçu opération éléphant déjà où carte"
FRENCH_WORDS = st.sampled_from([*SAMPLE.split(), "l'appli", "qu'il", "d'accord", "Œuvre"])
TEXT = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")))


def test_bloquee_reaches_the_same_stem_with_or_without_accents() -> None:
    fr = analyzer("fr")
    variants = ["bloquée", "bloquee", "bloqué", "bloque", "bloquées", "bloquees", "BLOQUÉE"]
    assert len({fr.stems(v)[0] for v in variants}) == 1


def test_folded_french_words_share_stems() -> None:
    fr = analyzer("fr")
    for a, b in [("prélèvement", "prelevements"), ("reçu", "recu"), ("opérations", "operation")]:
        assert fr.stems(a) == fr.stems(b)


def test_elisions_are_split() -> None:
    assert words("l'appli qu'il d'accord j'ai n'est s'il c'est m'a t'as") == [
        "appli",
        "il",
        "accord",
        "ai",
        "est",
        "il",
        "est",
        "as",
    ]
    assert words("l’appli") == ["appli"]  # typographic apostrophe


def test_english_contractions_keep_the_negation() -> None:
    en = analyzer("en")
    assert "not" in en.stems("my card isn't working")
    assert en.stems("I can't pay") == ["can", "not", "pay"]
    assert "not" in en.stems("it won't go through")


def test_sms_abbreviations_are_spelled_out() -> None:
    fr = analyzer("fr")
    assert fr.stems("pk ma cb est bloquée") == fr.stems("pourquoi ma carte bancaire est bloquée")


def test_stop_words_dropped_but_negations_kept() -> None:
    fr = analyzer("fr")
    stems = fr.stems("je ne vois pas le remboursement")
    assert "pas" in stems and "le" not in stems and "je" not in stems


def test_language_guess() -> None:
    assert detect_language("je vois pas le remboursement sur mon releve") == "fr"
    assert detect_language("why is my card declined") == "en"
    assert detect_language("", default="fr") == "fr"


@given(TEXT)
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.lists(FRENCH_WORDS, max_size=6).map(" ".join))
def test_analysis_is_accent_insensitive(text: str) -> None:
    fr = analyzer("fr")
    assert fr.stems(text) == fr.stems(fold(text))


@given(TEXT, st.sampled_from(["fr", "en"]))
def test_analysis_is_idempotent_on_folded_text(text: str, lang: str) -> None:
    a = analyzer(lang)  # type: ignore[arg-type]
    assert a.stems(fold(text)) == a.stems(fold(fold(text)))
    assert a.stems(text) == a.stems(fold(text))


@given(TEXT)
def test_words_are_folded_ascii(text: str) -> None:
    for w in words(text):
        assert w == fold(w)
        assert w.isascii() and w.isalnum()
