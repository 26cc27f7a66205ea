"""Text analysis for French and English as agents and customers type them.

The pipeline is: lowercase, fold accents, split elisions (``l'appli`` -> ``appli``), expand the
SMS abbreviations people use in chats (``pk`` -> ``pourquoi``), drop stop words, then stem with
Snowball. Folding comes *before* stemming, and a final ``e`` left by the French stemmer is dropped:
Snowball stems "bloquée" to ``bloqu`` but the folded "bloquee" to ``bloque``, and a query typed
without accents must reach the same stem as the article written with them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import Stemmer

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")

_SNOWBALL = {"fr": "french", "en": "english"}

# Ligatures and letters NFKD does not decompose into a base letter plus marks.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d"})
# Every apostrophe an agent's keyboard or a copy-paste produces.
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})
_ELISION = re.compile(r"\b(?:l|d|qu|j|n|s|c|m|t|jusqu|lorsqu|puisqu)'")
_WORD = re.compile(r"[a-z0-9]+")
# English contractions, spelled out so the negation survives as a word.
_NOT = re.compile(r"n't\b")
_IRREGULAR_NOT = {"can't": "can not", "won't": "will not", "shan't": "shall not"}
_IRREGULAR = re.compile(r"\b(?:can|won|shan)'t\b")
_CLITIC = re.compile(r"'(?:s|m|re|ve|ll|d)\b")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words too common to tell articles apart; small on purpose (BM25's IDF does the rest), and
# without negations, which change the meaning of a support request ("pas reçu", "not working").
_STOP: dict[Lang, frozenset[str]] = {
    "fr": _wordset(
        "a au aux avec ce ces cet cette dans de des du elle en est et etre il ils je la le les leur"
        " lui ma mais me mes moi mon ne nos notre nous on ou par pour qu que qui sa se ses son"
        " sur ta te tes toi ton tu un une vos votre vous y ai as avons avez ont suis es sommes"
        " etes sont ca cela c d j l m n s t bonjour merci svp stp"
    ),
    "en": _wordset(
        "a an and are as at be been being but by did do does for from had has have he her him his"
        " i if in into is it its me my of on or our she so than that the their them then there"
        " these they this to us was we were what which who will with would you your am im"
        " hi hello please thanks thank"
    ),
}

# What people type in chats and SMS, spelled out before stemming.
_ABBREVIATIONS: dict[Lang, dict[str, str]] = {
    "fr": {
        "pk": "pourquoi",
        "pq": "pourquoi",
        "pkoi": "pourquoi",
        "pb": "probleme",
        "pbm": "probleme",
        "qd": "quand",
        "tjrs": "toujours",
        "tjs": "toujours",
        "bcp": "beaucoup",
        "jai": "ai",
        "jsuis": "suis",
        "chui": "suis",
        "cb": "carte bancaire",
        "rib": "releve identite bancaire",
        "dab": "distributeur",
        "mdp": "mot de passe",
        "tel": "telephone",
        "appli": "application",
        "app": "application",
        "rdv": "rendez vous",
        "auj": "aujourd hui",
        "msg": "message",
    },
    "en": {
        "pls": "please",
        "plz": "please",
        "u": "you",
        "ur": "your",
        "r": "are",
        "y": "why",
        "cant": "cannot",
        "dont": "do not",
        "didnt": "did not",
        "doesnt": "does not",
        "wont": "will not",
        "isnt": "is not",
        "havent": "have not",
        "atm": "cash machine atm",
        "acct": "account",
        "pwd": "password",
        "app": "application",
        "asap": "soon",
        "thx": "thanks",
    },
}

_FR_HINTS = _wordset(
    "je j mon ma mes est pas le la les une des du pour avec sur ne n qu que pourquoi comment"
    " quand ou carte compte virement ai suis bonjour svp"
)
_EN_HINTS = _wordset(
    "i my is the a an to of not why how when where what card account transfer can do does"
    " have has please hi"
)


def fold(text: str) -> str:
    """Lowercase and strip accents: ``"Bloquée"`` -> ``"bloquee"``. Idempotent: a few exotic
    letters only settle after a second pass (a mathematical capital decomposes to a capital)."""
    for _ in range(4):
        folded = _fold_once(text)
        if folded == text:
            break
        text = folded
    return text


def _fold_once(text: str) -> str:
    text = text.lower().translate(_LIGATURES).translate(_APOSTROPHES)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The folded words of ``text``, elisions split off (``l'appli`` -> ``appli``)."""
    folded = _CLITIC.sub(
        " ", _NOT.sub(" not", _IRREGULAR.sub(lambda m: _IRREGULAR_NOT[m[0]], fold(text)))
    )
    return [w for w in _WORD.findall(_ELISION.sub(" ", folded)) if len(w) > 1 or w.isdigit()]


def detect_language(text: str, default: Lang = "en") -> Lang:
    """A cheap guess from function words and accents, good enough to pick an analyzer."""
    ws = words(text)
    fr = sum(w in _FR_HINTS for w in ws) + sum(c in "éèêàçùâîôû" for c in text.lower())
    en = sum(w in _EN_HINTS for w in ws)
    if fr == en:
        return default
    return "fr" if fr > en else "en"


@dataclass(frozen=True)
class Token:
    """One analyzed word: what was typed (folded) and the stem it indexes under."""

    word: str
    stem: str


@dataclass
class Analyzer:
    """Turns text into stems for one language. Stems are memoised: the vocabulary of a support
    base is small and the same words come back in every query."""

    lang: Lang
    _stemmer: Stemmer.Stemmer = field(init=False, repr=False)
    _memo: dict[str, str] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._stemmer = Stemmer.Stemmer(_SNOWBALL[self.lang])

    def stem(self, word: str) -> str:
        """The stem of one folded word."""
        stem = self._memo.get(word)
        if stem is None:
            stem = str(self._stemmer.stemWord(word))
            # The French stemmer keeps a final "e" on folded participles ("bloquee" -> "bloque")
            # that it removes from the accented form ("bloquée" -> "bloqu"): drop it so both agree.
            if self.lang == "fr" and len(stem) > 3 and stem.endswith("e"):
                stem = stem[:-1]
            if len(self._memo) < 500_000:
                self._memo[word] = stem
        return stem

    def tokens(self, text: str) -> list[Token]:
        """The analyzed words of ``text``, stop words dropped, abbreviations spelled out."""
        out: list[Token] = []
        stop = _STOP[self.lang]
        abbreviations = _ABBREVIATIONS[self.lang]
        for w in words(text):
            for part in abbreviations.get(w, w).split():
                if part not in stop:
                    out.append(Token(part, self.stem(part)))
        return out

    def stems(self, text: str) -> list[str]:
        """Only the stems of ``text``, in order, repeats kept (BM25 counts them)."""
        return [t.stem for t in self.tokens(text)]


_ANALYZERS: dict[Lang, Analyzer] = {}


def analyzer(lang: Lang) -> Analyzer:
    """The shared analyzer of a language (Snowball stemmers are cheap but not free to build)."""
    if lang not in _ANALYZERS:
        _ANALYZERS[lang] = Analyzer(lang)
    return _ANALYZERS[lang]


def vocabulary(texts: Iterable[str], lang: Lang) -> dict[str, str]:
    """Every folded word of ``texts`` mapped to its stem: what typo correction matches against."""
    a = analyzer(lang)
    return {t.word: t.stem for text in texts for t in a.tokens(text)}
