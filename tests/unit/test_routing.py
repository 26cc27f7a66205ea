"""Routing rules on small hand-written scenarios."""

from __future__ import annotations

from joignable.core import events as ev
from joignable.core.engine import Engine
from joignable.core.model import Presence
from joignable.core.state import Status
from tests.conftest import Clock


def offers(events: list[ev.Event]) -> list[tuple[str, str]]:
    return [(e.contact, e.agent) for e in events if isinstance(e, ev.OfferMade)]


def test_contact_waits_then_goes_to_first_agent_who_logs_in(engine: Engine) -> None:
    r = engine.arrive("billing")
    assert r.status == "queued"
    assert r.estimated_wait is None and "no eligible agent" in r.explanation
    engine.set_presence("bob", Presence.AVAILABLE)
    assert offers(engine.take()) == [(r.contact, "bob")]


def test_longest_idle_agent_gets_the_contact(engine: Engine, clock: Clock) -> None:
    engine.set_presence("bob", "available")
    clock.advance(10)
    engine.set_presence("ann", "available")
    engine.take()
    r = engine.arrive("billing")
    assert offers(engine.take()) == [(r.contact, "bob")]


def test_priority_then_arrival(engine: Engine, clock: Clock) -> None:
    a = engine.arrive("billing").contact
    clock.advance(1)
    b = engine.arrive("billing", priority=5).contact
    clock.advance(1)
    c = engine.arrive("billing").contact
    engine.take()
    engine.set_presence("bob", "available")
    assert offers(engine.take()) == [(b, "bob")]
    engine.accept("bob", b)
    engine.complete("bob", b)
    engine.end_wrapup("bob", b)
    assert offers(engine.take())[-1] == (a, "bob")
    assert engine.state.contacts[c].status is Status.WAITING


def test_accept_is_idempotent_and_timeout_puts_contact_back(engine: Engine, clock: Clock) -> None:
    engine.set_presence("bob", "available")
    first = engine.arrive("billing").contact
    clock.advance(1)
    second = engine.arrive("billing").contact
    engine.take()
    clock.advance(21)  # bob lets the offer expire; the contact goes back first in line
    engine.tick()
    evs = engine.take()
    released = [e for e in evs if isinstance(e, ev.OfferReleased)]
    assert [(e.contact, e.reason) for e in released] == [(first, "timeout")]
    assert offers(evs) == [(first, "bob")]  # still first, offered again
    assert engine.accept("bob", first) is True
    assert engine.accept("bob", first) is False
    assert engine.state.contacts[second].status is Status.WAITING


def test_agent_goes_away_after_consecutive_misses(engine: Engine, clock: Clock) -> None:
    engine.set_presence("bob", "available")
    c = engine.arrive("billing").contact
    for _ in range(3):
        engine.reject("bob", c) if engine.state.contacts[c].status is Status.OFFERED else None
    bob = engine.state.agents["bob"]
    assert bob.presence is Presence.AWAY and bob.reason == "missed_offers"
    assert engine.state.contacts[c].status is Status.WAITING


def test_agent_in_two_queues_takes_most_urgent(engine: Engine, clock: Clock) -> None:
    b = engine.arrive("billing").contact
    clock.advance(1)
    t = engine.arrive("tech", priority=1).contact
    engine.take()
    engine.set_presence("ann", "available")
    assert offers(engine.take()) == [(t, "ann")]
    assert engine.state.contacts[b].status is Status.WAITING


def test_chat_capacity_three(engine: Engine) -> None:
    engine.set_presence("cat", "available")
    ids = [engine.arrive("tech", channel="chat").contact for _ in range(4)]
    made = offers(engine.take())
    assert made == [(i, "cat") for i in ids[:3]]
    assert engine.state.contacts[ids[3]].status is Status.WAITING


def test_transfer_to_agent_who_takes_no_such_contact_is_refused(engine: Engine) -> None:
    import pytest

    from joignable.core.errors import AgentNotReady

    engine.set_presence("cat", "available")
    engine.set_presence("bob", "available")
    chat = engine.arrive("tech", channel="chat").contact
    engine.accept("cat", chat)
    engine.take()
    before = engine.state.snapshot()
    with pytest.raises(AgentNotReady) as err:
        engine.transfer("cat", chat, to_agent="bob")  # bob takes voice only
    assert err.value.code == "agent_not_ready" and "chat" in err.value.message
    assert engine.state.snapshot() == before and engine.take() == []
