"""Shared fixtures: a manual clock and a small configured center."""

from __future__ import annotations

import pytest

from joignable.core.engine import Engine
from joignable.core.model import AgentConfig, Channel, QueueConfig


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def build_center(clock: Clock) -> Engine:
    """Two queues (billing, tech), three agents, nobody logged in yet; events not taken."""
    e = Engine(clock)
    for s in ("billing", "tech", "french"):
        e.define_skill(s)
    e.configure_queue(QueueConfig(id="billing", requirements={"billing": 3}))
    e.configure_queue(QueueConfig(id="tech", requirements={"tech": 5}))
    e.configure_agent(AgentConfig(id="ann", skills={"billing": 5, "tech": 6}))
    e.configure_agent(AgentConfig(id="bob", skills={"billing": 3}))
    e.configure_agent(
        AgentConfig(id="cat", skills={"tech": 7}, capacity={Channel.CHAT: 3, Channel.VOICE: 1})
    )
    return e


@pytest.fixture
def engine(clock: Clock) -> Engine:
    """The small center of ``build_center``, its setup events already taken."""
    e = build_center(clock)
    e.take()
    return e
