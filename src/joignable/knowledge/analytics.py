"""Analytics per flow, per node and per article, and content health flags (pure).

Computed from recorded runs (the runner's paths, stamped with the caller's clock) and from the
review catalog; nothing is stored twice. A run that stops at a question is a drop-off there; an
outcome's result, a hand-over, and a customer's "yes, solved" (deflection) are counted apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from joignable.knowledge.model import Base, Handover, Outcome
from joignable.knowledge.review import Catalog
from joignable.knowledge.runner import State

DAY = 86_400.0


@dataclass(frozen=True)
class RunRecord:
    """One run as kept with its contact."""

    state: State  # the last state: its path is the whole run
    confirmed_solved: bool = False  # a customer said it solved the problem (self-service)


@dataclass
class NodeStats:
    visits: int = 0
    answered: int = 0
    drop_offs: int = 0
    seconds: float = 0.0  # time spent on the question, summed over the answers timed

    @property
    def mean_seconds(self) -> float:
        return self.seconds / self.answered if self.answered else 0.0


@dataclass
class FlowStats:
    runs: int = 0
    resolved: int = 0
    escalated: int = 0
    not_resolved: int = 0
    handed_over: int = 0
    abandoned: int = 0
    deflected: int = 0
    nodes: dict[str, NodeStats] = field(default_factory=lambda: defaultdict(NodeStats))


@dataclass
class ArticleStats:
    shown: int = 0  # reached as a flow's outcome, or opened from search
    resolved: int = 0

    @property
    def resolution(self) -> float:
        return self.resolved / self.shown if self.shown else 0.0


@dataclass
class Report:
    flows: dict[str, FlowStats] = field(default_factory=lambda: defaultdict(FlowStats))
    articles: dict[str, ArticleStats] = field(default_factory=lambda: defaultdict(ArticleStats))


def report(
    base: Base, runs: Iterable[RunRecord], opened: Mapping[str, int] | None = None
) -> Report:
    """Counts per flow (by the flow a run started in), per node (``flow/node``) and per article
    (``opened``: how often each article was opened straight from search)."""
    r = Report()
    for article_id, n in (opened or {}).items():
        r.articles[article_id].shown += n
    for run in runs:
        s = run.state
        if not s.path:
            continue
        fs = r.flows[s.path[0].flow]
        fs.runs += 1
        for step in s.path:
            ns = fs.nodes[f"{step.flow}/{step.node}"]
            ns.visits += 1
            if step.asked:
                ns.answered += 1
                ns.seconds += step.spent or 0.0
        if not s.ended:
            fs.abandoned += 1
            fs.nodes[f"{s.flow}/{s.node}"].drop_offs += 1
            fs.nodes[f"{s.flow}/{s.node}"].visits += 1
            continue
        end = base.flows[s.flow].nodes[s.node]
        if isinstance(end, Handover):
            fs.handed_over += 1
        elif isinstance(end, Outcome):
            solved = end.result == "resolved" or run.confirmed_solved
            fs.resolved += end.result == "resolved"
            fs.escalated += end.result == "escalate"
            fs.not_resolved += end.result == "not_resolved"
            fs.deflected += run.confirmed_solved
            if end.article is not None:
                a = r.articles[end.article]
                a.shown += 1
                a.resolved += solved
    return r


@dataclass(frozen=True)
class Flag:
    key: str  # review key: article:<id> or flow:<id>
    code: str  # stale, low-resolution, never-used
    message: str


def health(
    base: Base,
    catalog: Catalog,
    rep: Report,
    now: float,
    *,
    stale_days: float = 180,
    low_resolution: float = 0.5,
    min_uses: int = 10,
) -> list[Flag]:
    """Content that needs an expert: not reviewed for ``stale_days``, resolving less than
    ``low_resolution`` of at least ``min_uses`` uses, or never used at all."""
    flags: list[Flag] = []
    for key in [f"article:{a}" for a in base.articles] + [f"flow:{f}" for f in base.flows]:
        published = catalog.published(key)
        if published is not None:
            reviewed = max(c.at for c in published.history if c.state == "published")
            if now - reviewed > stale_days * DAY:
                days = int((now - reviewed) // DAY)
                flags.append(Flag(key, "stale", f"not reviewed for {days} days"))
        kind, _, ident = key.partition(":")
        uses = rep.articles[ident].shown if kind == "article" else rep.flows[ident].runs
        if uses == 0:
            flags.append(Flag(key, "never-used", "never used"))
        elif kind == "article" and uses >= min_uses:
            rate = rep.articles[ident].resolution
            if rate < low_resolution:
                flags.append(Flag(key, "low-resolution", f"resolves {rate:.0%} of {uses} uses"))
    return flags
