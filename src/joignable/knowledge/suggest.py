"""From a request, the best flows and articles of a base: what the agent panel and the customer
self-service page show first. Search ids are the review keys (``article:<id>``, ``flow:<id>``)."""

from __future__ import annotations

from joignable.knowledge.embedding import Embedder
from joignable.knowledge.learning import Links
from joignable.knowledge.model import Audience, Base, Question
from joignable.knowledge.search import Hit, KnowledgeIndex, Mode, SearchDoc
from joignable.knowledge.text import Lang
from joignable.knowledge.thesaurus import Thesaurus


def docs_of(base: Base) -> list[SearchDoc]:
    """What search sees of each article (title, body, steps, tags, phrasings) and each flow
    (title, tags, phrasings, and the questions it asks)."""
    docs = [
        SearchDoc(
            f"article:{a.id}", a.lang, a.title, _kept(*a.phrasings, a.body, *a.steps, *a.tags)
        )
        for a in base.articles.values()
    ]
    for f in base.flows.values():
        asked = [n.text for n in f.nodes.values() if isinstance(n, Question)]
        docs.append(
            SearchDoc(f"flow:{f.id}", f.lang, f.title, _kept(*f.phrasings, *f.tags, *asked))
        )
    return docs


def _kept(*texts: str) -> tuple[str, ...]:
    return tuple(t for t in texts if t.strip())


class BaseSearch:
    """A search index over a base, its linked queries included; rebuild after a change."""

    def __init__(
        self,
        base: Base,
        *,
        links: Links | None = None,
        thesaurus: Thesaurus | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.base = base
        docs = docs_of(base)
        self.index = KnowledgeIndex(
            links.enrich(docs) if links else docs, thesaurus=thesaurus, embedder=embedder
        )

    def suggest(
        self,
        query: str,
        *,
        lang: Lang | None = None,
        audience: Audience = "agent",
        k: int = 5,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        """The ``k`` best flows and articles; customers only see what is meant for them."""
        hits = self.index.search(
            query, lang=lang, k=k * 3 if audience == "customer" else k, mode=mode
        )
        if audience == "customer":
            hits = [h for h in hits if self._audience(h.id) == "customer"]
        return hits[:k]

    def _audience(self, key: str) -> Audience:
        kind, _, ident = key.partition(":")
        item = self.base.articles[ident] if kind == "article" else self.base.flows[ident]
        return item.audience
