"""BM25 over analyzed stems (bm25s), with typo tolerance and synonym expansion.

A query becomes weighted stems: the words typed (weight 1), a typed word the index does not know
replaced by the closest word it does know (``remboursment`` -> ``remboursement``, a little less
than 1), and the synonyms the thesaurus adds (``SYNONYM_WEIGHT``). Each stem is scored by bm25s
on its own and the scores are summed with those weights, which also tells, per document, which
stems matched: the "why" of a result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import bm25s
import numpy as np
from numpy.typing import NDArray
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from joignable.knowledge.text import Lang, analyzer
from joignable.knowledge.thesaurus import Thesaurus

TYPO_WEIGHT = 0.8
# Words shorter than this are never "corrected": too many neighbours at one edit.
TYPO_MIN_LENGTH = 4

TermKind = Literal["term", "typo", "synonym"]


@dataclass(frozen=True)
class QueryTerm:
    """A stem the query searches for, its weight, and how it came from what was typed."""

    stem: str
    weight: float
    kind: TermKind
    typed: str  # the folded word or expression the agent typed
    via: str = ""  # the corrected word, or the synonym, it led to


def max_edits(word: str) -> int:
    """How many typing mistakes a word of this length may carry and still be recognised."""
    return 0 if len(word) < TYPO_MIN_LENGTH else 1 if len(word) <= 7 else 2


class LexicalIndex:
    """A BM25 index of documents in one language; documents are numbered from 0."""

    def __init__(
        self,
        lang: Lang,
        texts: Sequence[str],
        thesaurus: Thesaurus | None = None,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> None:
        self.lang = lang
        self.thesaurus = thesaurus
        a = analyzer(lang)
        docs: list[list[str]] = []
        surface: dict[str, str] = {}
        for text in texts:
            tokens = a.tokens(text)
            docs.append([t.stem for t in tokens])
            for t in tokens:
                surface.setdefault(t.word, t.stem)
        self.size = len(docs)
        self._doc_stems = [frozenset(d) for d in docs]
        self._surface = surface
        self._surface_words = list(surface)
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        if docs:
            self._bm25.index(docs, show_progress=False)
        self._vocab: dict[str, int] = dict(self._bm25.vocab_dict) if docs else {}

    def knows(self, stem: str) -> bool:
        """Whether some document holds this stem."""
        return stem in self._vocab and stem != ""

    def correct(self, word: str) -> str | None:
        """The indexed word closest to an unknown ``word`` within its allowed edits, if any."""
        edits = max_edits(word)
        if not edits or not self._surface_words:
            return None
        hit = process.extractOne(
            word, self._surface_words, scorer=Levenshtein.distance, score_cutoff=edits
        )
        return None if hit is None else str(hit[0])

    def query_terms(self, text: str) -> list[QueryTerm]:
        """The weighted stems ``text`` searches for, each with its origin."""
        a = analyzer(self.lang)
        terms: list[QueryTerm] = []
        seen: set[str] = set()
        tokens = a.tokens(text)
        for t in tokens:
            if self.knows(t.stem):
                if t.stem not in seen:
                    terms.append(QueryTerm(t.stem, 1.0, "term", t.word))
            else:
                fixed = self.correct(t.word)
                if fixed is not None:
                    stem = self._surface[fixed]
                    if stem not in seen:
                        terms.append(QueryTerm(stem, TYPO_WEIGHT, "typo", t.word, fixed))
                        seen.add(stem)
            seen.add(t.stem)
        if self.thesaurus is not None:
            for e in self.thesaurus.expand(self.lang, [t.stem for t in tokens]):
                # Only to bridge a gap: a typed expression the base already uses finds its
                # articles itself, and expanding it only dilutes the query (measured: -4 points
                # of top-1 on BANKING77 with all phrasings).
                if all(self.knows(x) for x in e.source_stems):
                    continue
                if self.knows(e.stem) and e.stem not in seen:
                    seen.add(e.stem)
                    terms.append(QueryTerm(e.stem, e.weight, "synonym", e.source, e.synonym))
        return terms

    def scores(self, terms: Sequence[QueryTerm]) -> NDArray[np.float32]:
        """BM25 score of every document for the weighted ``terms``."""
        total = np.zeros(self.size, dtype=np.float32)
        for q in terms:
            if self.knows(q.stem):
                s = self._bm25.get_scores_from_ids([self._vocab[q.stem]])
                total += np.float32(q.weight) * s.astype(np.float32)
        return total

    def matched(self, doc: int, terms: Sequence[QueryTerm]) -> list[QueryTerm]:
        """The query terms document ``doc`` contains."""
        stems = self._doc_stems[doc]
        return [q for q in terms if q.stem in stems]
