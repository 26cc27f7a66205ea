"""Training mode (pure): practise a flow against a scripted customer, take quizzes generated from
flows, keep results per agent and skill, and suggest a routing skill level from them.

In practice the simulated customer answers each question in their own words (the script); the
agent picks the choice those words mean, and the run goes on with the agent's pick, as it would
with a real customer: a wrong reading leads down the wrong path. The score is the share of
correct readings, and whether the run ended where the script expects.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from joignable.knowledge.model import (
    Base,
    Call,
    Fact,
    Flow,
    Handover,
    Logic,
    Node,
    Outcome,
    Question,
)
from joignable.knowledge.runner import RunError, Runner, State


@dataclass(frozen=True)
class Line:
    """What the simulated customer says at a question, and what it means (a choice's value or a
    typed answer)."""

    says: str
    means: Fact


@dataclass(frozen=True)
class Scenario:
    flow: str
    lines: Mapping[str, Line]  # by question node id
    expected_end: str
    facts: Mapping[str, Fact] = field(default_factory=dict)


class Practice:
    """One practice run; ``prompt`` tells what to ask and what the customer replies."""

    def __init__(self, runner: Runner, scenario: Scenario) -> None:
        self.runner = runner
        self.scenario = scenario
        self.state: State = runner.start(scenario.flow, scenario.facts)
        self.correct = 0
        self.answered = 0

    @property
    def done(self) -> bool:
        return self.state.ended

    def prompt(self) -> tuple[Question, str]:
        """The question to ask and the customer's reply, in their words."""
        q = self.runner.node(self.state)
        assert isinstance(q, Question)
        line = self.scenario.lines.get(q.id)
        if line is None:
            raise RunError("no-line", f"the scenario has no reply for '{q.id}'")
        return q, line.says

    def pick(self, value: object) -> bool:
        """The agent's reading of the reply; True when it is what the customer meant."""
        q, _ = self.prompt()
        right = value == self.scenario.lines[q.id].means
        self.answered += 1
        self.correct += right
        self.state = self.runner.answer(self.state, value)
        return right

    def score(self) -> float:
        """Share of correct readings; a run that ends elsewhere than expected scores at most 0.5."""
        share = self.correct / self.answered if self.answered else 1.0
        if self.state.ended and self.state.node == self.scenario.expected_end:
            return share
        return min(share, 0.5)


@dataclass(frozen=True)
class QuizItem:
    prompt: str
    options: tuple[str, ...]
    answer: int  # index of the right option


def describe(node: Node, base: Base) -> str:
    """A node as a trainee should recognise it."""
    match node:
        case Question():
            return f'ask: "{node.text}"'
        case Outcome():
            article = base.articles.get(node.article or "")
            what = article.title if article else node.text or node.id
            return f"{node.result.replace('_', ' ')}: {what}"
        case Handover():
            return f"hand over to {node.queue}" + (f" ({node.skill})" if node.skill else "")
        case Call():
            return f"run the flow {base.flows[node.flow].title}"
        case Logic():
            return f"check the facts ({node.id})"
    return node.id


def quiz(base: Base, flow: Flow, seed: int = 0, options: int = 4) -> list[QuizItem]:
    """One item per choice of each question: after this answer, what happens next? The wrong
    options are other steps of the same flow, so they look plausible."""
    rng = random.Random(seed)
    every = sorted({describe(n, base) for n in flow.nodes.values()})
    items = []
    for q in flow.nodes.values():
        if not isinstance(q, Question):
            continue
        for c in q.choices:
            right = describe(flow.nodes[c.next], base)
            wrong = [d for d in every if d != right]
            picked = rng.sample(wrong, min(options - 1, len(wrong))) + [right]
            rng.shuffle(picked)
            prompt = f'{flow.title}: the customer answers "{c.label}" to "{q.text}". Next?'
            items.append(QuizItem(prompt, tuple(picked), picked.index(right)))
    return items


def quiz_score(items: Sequence[QuizItem], picks: Sequence[int]) -> float:
    if not items:
        return 0.0
    return sum(i.answer == p for i, p in zip(items, picks, strict=True)) / len(items)


@dataclass(frozen=True)
class Result:
    agent: str
    skill: str
    kind: str  # practice | quiz
    subject: str  # the flow
    score: float
    at: float


class Gradebook:
    """Training results per agent and skill."""

    def __init__(self) -> None:
        self.results: list[Result] = []

    def add(self, result: Result) -> None:
        self.results.append(result)

    def of(self, agent: str, skill: str) -> list[Result]:
        return [r for r in self.results if r.agent == agent and r.skill == skill]

    def suggested_level(
        self, agent: str, skill: str, *, last: int = 5, levels: Sequence[float] = (0.6, 0.8, 0.9)
    ) -> int | None:
        """A routing skill level (1 to len(levels)) earned by the mean of the ``last`` results,
        or None before ``last`` results exist; the supervisor decides whether to apply it."""
        recent = sorted(self.of(agent, skill), key=lambda r: r.at)[-last:]
        if len(recent) < last:
            return None
        mean = sum(r.score for r in recent) / len(recent)
        return sum(mean >= t for t in levels)
