"""The base learns, contact after contact (pure).

- Gaps: a search whose best hit misses most of what was typed is kept, grouped with similar ones
  (shared stems), counted, and offered to experts as a draft article.
- Linked queries: when an agent links the article that solved a contact, the query becomes a
  phrasing of that article, indexed at once: retrieval improves with use (measured on BANKING77:
  top-1 climbs from .63 with 5 phrasings per article to .83 with all of them).
- Learned synonyms: two queries that ended on the same article and differ by one word suggest
  those words mean the same there ("carte bloquée" / "carte verrouillée"); a pair seen often
  enough is proposed for the thesaurus.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from joignable.knowledge.model import Article
from joignable.knowledge.review import Actor, Catalog, Version
from joignable.knowledge.search import Hit, SearchDoc
from joignable.knowledge.text import Lang, analyzer

# A best hit covering less than this share of the typed words is no good answer, unless the
# dense model finds it at least this close (e5 cosines are squeezed into 0.75-0.95). Calibrated
# on BANKING77 with 11 of its 77 intents removed from the base (benchmarks/knowledge.py, "gaps"):
# these flag 44 % of the queries whose intent is missing and 8 % of the others. A gap is only a
# candidate for an expert, so a missed one (the base never learns) costs more than a false one.
GAP_COVERAGE = 0.7
GAP_DENSE = 0.90
# A gap joins a group when it shares this share of its stems (Jaccard) with one of its wordings.
GAP_SIMILARITY = 0.5
# Distinct wordings kept per group: beyond, a new wording counts for the group's most frequent
# one (what an expert reads is its top ten; memory and rows stay bounded however many come).
GAP_WORDINGS = 20


def is_gap(hits: Sequence[Hit]) -> bool:
    """Whether a search found nothing good enough to show with confidence."""
    if not hits:
        return True
    best = hits[0]
    return best.coverage < GAP_COVERAGE and best.dense < GAP_DENSE


@dataclass
class Gap:
    """Similar searches without a good result."""

    lang: Lang
    stems: list[frozenset[str]]  # of each wording: a new query joins the group of its closest
    queries: Counter[str] = field(default_factory=Counter)
    first_at: float = 0.0
    last_at: float = 0.0

    @property
    def count(self) -> int:
        return sum(self.queries.values())

    def label(self) -> str:
        """The most frequent wording: a draft's first title."""
        return self.queries.most_common(1)[0][0]


class GapLog:
    """Gaps grouped by similarity, most frequent first."""

    def __init__(self, similarity: float = GAP_SIMILARITY) -> None:
        self.similarity = similarity
        self._gaps: list[Gap] = []

    def record(
        self, query: str, lang: Lang, hits: Sequence[Hit], at: float, *, new_group: bool = True
    ) -> tuple[Gap, str] | None:
        """Keep ``query`` if its search was a gap: the group it joined and the wording it was
        counted under, or None (also when it would start a group and ``new_group`` is False)."""
        if not is_gap(hits) or not query.strip():
            return None
        return self.add(query, lang, at, new_group=new_group)

    def add(
        self, query: str, lang: Lang, at: float, count: int = 1, *, new_group: bool = True
    ) -> tuple[Gap, str] | None:
        """Count ``query`` as a gap ``count`` times (a log reloaded from storage): the group and
        the wording it was counted under (its own, or the group's most frequent one when the
        group holds ``GAP_WORDINGS`` already)."""
        text = query.strip()
        stems = frozenset(analyzer(lang).stems(text))

        def closeness(g: Gap) -> float:
            return max(_jaccard(s, stems) for s in g.stems)

        gap = max((g for g in self._gaps if g.lang == lang), key=closeness, default=None)
        if gap is None or closeness(gap) < self.similarity:
            if not new_group:
                return None
            gap = Gap(lang, [], first_at=at)
            self._gaps.append(gap)
        if text not in gap.queries:
            if len(gap.queries) >= GAP_WORDINGS:
                text = gap.label()
            else:
                gap.stems.append(stems)
        gap.queries[text] += count
        gap.last_at = max(gap.last_at, at)
        return gap, text

    def __len__(self) -> int:
        return len(self._gaps)

    def gaps(self) -> list[Gap]:
        return sorted(self._gaps, key=lambda g: (-g.count, g.first_at))

    def propose(
        self, gap: Gap, catalog: Catalog, article_id: str, who: Actor, at: float
    ) -> Version:
        """A draft article for experts to write, seeded with the customers' own words."""
        article = Article(
            id=article_id,
            title=gap.label(),
            lang=gap.lang,
            phrasings=tuple(q for q, _ in gap.queries.most_common()),
        )
        note = f"from {gap.count} searches without a good answer"
        version = catalog.propose(article, who, at, note)
        self._gaps.remove(gap)
        return version


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


class Links:
    """Queries linked to the article (or flow) that solved the contact, by search id."""

    def __init__(self) -> None:
        self._queries: dict[str, list[str]] = defaultdict(list)

    def link(self, doc_id: str, query: str) -> bool:
        """Record the link; False when that wording was already known for that document."""
        q = " ".join(query.split())
        if not q or q in self._queries[doc_id]:
            return False
        self._queries[doc_id].append(q)
        return True

    def queries(self, doc_id: str) -> list[str]:
        return list(self._queries.get(doc_id, []))

    def enrich(self, docs: Iterable[SearchDoc]) -> list[SearchDoc]:
        """The documents with their linked queries as extra phrasings, to index."""
        out = []
        for d in docs:
            extra = [q for q in self._queries.get(d.id, []) if q not in d.texts]
            out.append(replace(d, texts=(*d.texts, *extra)) if extra else d)
        return out

    def synonym_candidates(self, lang: Lang, min_count: int = 2) -> list[tuple[str, str, int]]:
        """Word pairs that alone tell apart two queries ending on the same document, seen in at
        least ``min_count`` documents or query pairs, most frequent first."""
        a = analyzer(lang)
        pairs: Counter[tuple[str, str]] = Counter()
        for queries in self._queries.values():
            analyzed = [{t.stem: t.word for t in a.tokens(q)} for q in queries]
            for i, x in enumerate(analyzed):
                for y in analyzed[i + 1 :]:
                    dx, dy = x.keys() - y.keys(), y.keys() - x.keys()
                    if len(dx) == 1 and len(dy) == 1:
                        wx, wy = x[next(iter(dx))], y[next(iter(dy))]
                        pairs[(min(wx, wy), max(wx, wy))] += 1
        return [(w1, w2, n) for (w1, w2), n in pairs.most_common() if n >= min_count]
