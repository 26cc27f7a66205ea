"""Handing a customer from self-service to a human, with everything already said attached, so
they never repeat themselves: at a hand-over node, or when they ask for a human mid-flow."""

from __future__ import annotations

from dataclasses import dataclass

from joignable.knowledge.model import Fact, Handover, Question
from joignable.knowledge.runner import Runner, State


@dataclass(frozen=True)
class Answered:
    question: str
    answer: str  # as the customer saw it: the choice's label, or what they typed


@dataclass(frozen=True)
class Packet:
    """What the agent receives with the contact."""

    flow: str
    queue: str | None
    skill: str | None
    answered: tuple[Answered, ...]
    facts: dict[str, Fact]
    stopped_at: str  # the node where self-service stopped
    ended: bool


def packet(
    runner: Runner, state: State, queue: str | None = None, skill: str | None = None
) -> Packet:
    """The hand-over packet of a run; a hand-over node's queue and skill win over the defaults
    (``queue``, ``skill``) given for a customer who asks for a human mid-flow."""
    answered = []
    for step in state.path:
        node = runner.base.flows[step.flow].nodes[step.node]
        if step.asked and isinstance(node, Question):
            label = next((c.label for c in node.choices if c.value == step.answer), None)
            answered.append(Answered(node.text, label if label is not None else str(step.answer)))
    end = runner.node(state)
    if isinstance(end, Handover):
        queue, skill = end.queue, end.skill or skill
    root = state.path[0].flow if state.path else state.flow
    return Packet(root, queue, skill, tuple(answered), dict(state.facts), state.node, state.ended)
