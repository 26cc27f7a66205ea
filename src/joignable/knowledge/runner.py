"""The flow runner: from facts and answers, the next question, until an outcome or a hand-over.

Pure and immutable: every call returns a new ``State``; the previous one is kept inside it, so
going back a step is returning it, and the whole path (every node passed, every answer) is there
to save with the contact or to hand over to a human with the customer's answers attached. The
same runner serves agents (a panel in the desktop) and customers (self-service).

Nodes the runner passes without asking: logic nodes, calls, and questions whose fact is already
known (from the contact, or answered earlier in a sub-flow); each is recorded as an automatic step.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from joignable.knowledge.model import (
    Base,
    Call,
    Condition,
    Fact,
    Handover,
    Logic,
    Node,
    Outcome,
    Question,
)

# Defensive bound on nodes passed in one move; validated flows stay far below it.
MAX_AUTO_STEPS = 10_000
_TRUE = ("true", "yes", "oui", "1", "y", "o")
_FALSE = ("false", "no", "non", "0", "n")


class RunError(Exception):
    """A move the runner refuses; ``code`` is stable for the API and the screens."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Step:
    """One node passed: which, the answer given or the known fact used, whether it was asked."""

    flow: str
    node: str
    answer: Fact | None = None
    asked: bool = False
    at: float | None = None  # when the node was passed (the caller's clock, if given)
    spent: float | None = None  # for a question asked: seconds from showing it to the answer


@dataclass(frozen=True)
class Frame:
    """A call in progress: where to resume in the calling flow (None: its end is the end)."""

    flow: str
    resume: str | None


@dataclass(frozen=True)
class State:
    flow: str
    node: str  # the question waiting for an answer, or the end reached
    facts: Mapping[str, Fact]
    path: tuple[Step, ...] = ()
    stack: tuple[Frame, ...] = ()
    ended: bool = False
    previous: State | None = field(default=None, repr=False)
    since: float | None = None  # when the current node was reached

    def answers(self) -> dict[str, Fact]:
        """The facts the person gave in this run (not those known beforehand)."""
        return {s.node: s.answer for s in self.path if s.asked and s.answer is not None}


class Runner:
    """Runs the flows of one base."""

    def __init__(self, base: Base) -> None:
        self.base = base

    def node(self, state: State) -> Node:
        return self.base.flows[state.flow].nodes[state.node]

    def start(
        self, flow: str, facts: Mapping[str, Fact] | None = None, at: float | None = None
    ) -> State:
        """A run of ``flow`` with what is already known (e.g. the customer's product); ``at``
        (like ``answer``'s) stamps the path for analytics: the runner itself reads no clock."""
        if flow not in self.base.flows:
            raise RunError("unknown-flow", f"no flow '{flow}'")
        f = self.base.flows[flow]
        return self._advance(State(flow, f.start, dict(facts or {})), at)

    def answer(self, state: State, value: object, at: float | None = None) -> State:
        """Answer the waiting question; the run moves to the next question or to the end."""
        if state.ended:
            raise RunError("ended", "the run has ended")
        q = self.node(state)
        assert isinstance(q, Question)
        fact, nxt = self._read(q, value)
        facts = {**state.facts, q.fact: fact}
        spent = at - state.since if at is not None and state.since is not None else None
        step = Step(state.flow, q.id, fact, True, at, spent)
        moved = State(state.flow, nxt, facts, (*state.path, step), state.stack, previous=state)
        return self._advance(moved, at)

    def back(self, state: State) -> State:
        """The state before the last answer (the question asked again, its fact forgotten)."""
        if state.previous is None:
            raise RunError("at-start", "nothing to go back to")
        return state.previous

    def end(self, state: State) -> Outcome | Handover | None:
        """The outcome or hand-over reached, once the run has ended."""
        if not state.ended:
            return None
        node = self.node(state)
        return node if isinstance(node, Outcome | Handover) else None

    def _read(self, q: Question, value: object) -> tuple[Fact, str]:
        """The answer as a fact, and the node it leads to; a wrong answer is refused."""
        if q.choices:
            for c in q.choices:
                if value == c.value or (isinstance(value, str) and value == c.label):
                    return c.value, c.next
            raise RunError("bad-answer", f"not one of the choices of '{q.id}'")
        assert q.input is not None and q.next is not None
        return coerce(q.input, value), q.next

    def _advance(self, state: State, at: float | None) -> State:
        """Pass every node that needs no answer; stop at a question or an end."""
        flow, nid, facts = state.flow, state.node, dict(state.facts)
        path, stack = list(state.path), list(state.stack)
        seen: set[tuple[int, str, str]] = set()
        for _ in range(MAX_AUTO_STEPS):
            node = self.base.flows[flow].nodes[nid]
            key = (len(stack), flow, nid)
            if isinstance(node, Question):
                known = _known_choice(node, facts)
                if known is None or key in seen:
                    return State(
                        flow, nid, facts, tuple(path), tuple(stack), False, state.previous, at
                    )
                seen.add(key)
                path.append(Step(flow, nid, facts[node.fact], at=at))
                nid = known
            elif isinstance(node, Logic):
                path.append(Step(flow, nid, at=at))
                nid = next((r.next for r in node.rules if holds(r.when, facts)), node.default)
            elif isinstance(node, Call):
                path.append(Step(flow, nid, at=at))
                stack.append(Frame(flow, node.next))
                flow, nid = node.flow, self.base.flows[node.flow].start
            elif isinstance(node, Outcome) and stack:
                # A sub-flow ended: resume the caller, unless the call was its flow's last word.
                path.append(Step(flow, nid, at=at))
                frame = stack.pop()
                while frame.resume is None and stack:
                    frame = stack.pop()
                if frame.resume is None:
                    return State(flow, nid, facts, tuple(path), (), True, state.previous, at)
                flow, nid = frame.flow, frame.resume
            else:
                path.append(Step(flow, nid, at=at))
                return State(flow, nid, facts, tuple(path), (), True, state.previous, at)
        raise RunError("no-end", f"flow '{state.flow}' passed {MAX_AUTO_STEPS} nodes unasked")


def _known_choice(q: Question, facts: Mapping[str, Fact]) -> str | None:
    """Where a question leads if its fact is already known, or None to ask it."""
    if q.fact not in facts:
        return None
    value = facts[q.fact]
    if q.choices:
        return next((c.next for c in q.choices if c.value == value), None)
    return q.next


def holds(when: tuple[Condition, ...], facts: Mapping[str, Fact]) -> bool:
    """All conditions hold; a comparison on a missing or mismatched fact does not."""
    return all(_holds(c, facts) for c in when)


def _holds(c: Condition, facts: Mapping[str, Fact]) -> bool:
    if c.op == "exists":
        return c.fact in facts
    if c.op == "missing":
        return c.fact not in facts
    if c.fact not in facts:
        return False
    v = facts[c.fact]
    if c.op == "eq":
        return v == c.value
    if c.op == "ne":
        return v != c.value
    if c.op in ("in", "not_in"):
        inside = isinstance(c.value, tuple) and v in c.value
        return inside if c.op == "in" else not inside
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    if isinstance(c.value, bool) or not isinstance(c.value, int | float):
        return False
    return {
        "gt": v > c.value,
        "ge": v >= c.value,
        "lt": v < c.value,
        "le": v <= c.value,
    }[c.op]


def coerce(kind: str, value: object) -> Fact:
    """A typed input as its fact; what cannot be read as ``kind`` is refused."""
    text = str(value).strip()
    try:
        if kind == "number":
            if isinstance(value, bool):
                raise ValueError
            number = float(text.replace(",", "."))
            if not math.isfinite(number):
                raise ValueError
            return number
        if kind == "integer":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(float(text)) if isinstance(value, float) else int(text)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if text.lower() in _TRUE + _FALSE:
                return text.lower() in _TRUE
            raise ValueError
        if kind == "date":
            return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise RunError("bad-answer", f"expected {kind}, got {text!r}") from None
    if not text:
        raise RunError("bad-answer", "an answer is required")
    return text
