"""Before publishing a new version: replay the reference queries and the recorded paths, and
block the publish, with the reasons, if retrieval or the path to the right outcome got worse."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from joignable.knowledge.model import Fact
from joignable.knowledge.runner import RunError, Runner, State
from joignable.knowledge.search import KnowledgeIndex
from joignable.knowledge.text import Lang

DEPTH = 10  # ranks beyond this count as "not found"


@dataclass(frozen=True)
class Reference:
    """A query that must keep finding ``expected`` (a search id) at least as well as before."""

    query: str
    expected: str
    lang: Lang | None = None


@dataclass(frozen=True)
class RecordedPath:
    """The answers of a past run and where it ended: a new version must end there too."""

    flow: str
    answers: tuple[Fact, ...]
    end: str
    facts: Mapping[str, Fact] = field(default_factory=dict)

    @classmethod
    def of(cls, state: State, known: Mapping[str, Fact] | None = None) -> RecordedPath:
        """Record a run that has ended (``known``: the facts it started with)."""
        if not state.ended or not state.path:
            raise ValueError("only an ended run can be recorded")
        answers = tuple(s.answer for s in state.path if s.asked and s.answer is not None)
        return cls(state.path[0].flow, answers, state.node, dict(known or {}))


def rank(index: KnowledgeIndex, ref: Reference) -> int:
    """1-based rank of the expected document, ``DEPTH + 1`` when not in the first ``DEPTH``."""
    hits = index.search(ref.query, lang=ref.lang, k=DEPTH)
    return next((i + 1 for i, h in enumerate(hits) if h.id == ref.expected), DEPTH + 1)


def retrieval_regressions(
    before: KnowledgeIndex, after: KnowledgeIndex, references: Sequence[Reference]
) -> list[str]:
    out = []
    for ref in references:
        was, now = rank(before, ref), rank(after, ref)
        if now > was:
            shown = "not in the first 10" if now > DEPTH else f"ranks {now}"
            out.append(f'"{ref.query}": {ref.expected} {shown}, was {was}')
    return out


def path_regressions(after: Runner, paths: Sequence[RecordedPath]) -> list[str]:
    out = []
    for p in paths:
        try:
            s = after.start(p.flow, p.facts)
            for a in p.answers:
                if s.ended:
                    break
                s = after.answer(s, a)
        except RunError as e:
            out.append(f"flow {p.flow}, answers {list(p.answers)}: {e}")
            continue
        if not s.ended:
            out.append(f"flow {p.flow}, answers {list(p.answers)}: now asks more ({s.node})")
        elif s.node != p.end:
            out.append(f"flow {p.flow}, answers {list(p.answers)}: ends at {s.node}, was {p.end}")
    return out


def publish_blockers(
    before: KnowledgeIndex,
    after: KnowledgeIndex,
    references: Sequence[Reference],
    runner_after: Runner,
    paths: Sequence[RecordedPath],
) -> list[str]:
    """Every reason to refuse the publish; empty when nothing got worse."""
    return retrieval_regressions(before, after, references) + path_regressions(runner_after, paths)
