"""Scenarios: callbacks, widening and overflow, opening hours, full queues, transfers, estimates
and restart recovery. Each tells one story a supervisor would recognise."""

from __future__ import annotations

import datetime as dt

import pytest

from joignable.core import errors as er
from joignable.core import events as ev
from joignable.core.engine import Engine, replay
from joignable.core.model import (
    AgentConfig,
    Channel,
    OpeningSlot,
    Outcome,
    Presence,
    QueueConfig,
    Settings,
    WideningStep,
)
from joignable.core.state import Status
from tests.conftest import Clock, build_center

NUMBER = "+33 1 23 45 67 89"


def offers(events: list[ev.Event]) -> list[tuple[str, str]]:
    return [(e.contact, e.agent) for e in events if isinstance(e, ev.OfferMade)]


def of_type(events: list[ev.Event], kind: type[ev.Event]) -> list[ev.Event]:
    return [e for e in events if isinstance(e, kind)]


def serve(engine: Engine, agent: str, contact: str) -> None:
    """The agent takes the contact, talks, and is done with it."""
    engine.accept(agent, contact)
    engine.complete(agent, contact)
    engine.end_wrapup(agent, contact)


def history(engine: Engine, contact: str) -> list[tuple[str, str]]:
    return [(what, who) for _, what, who in engine.state.contacts[contact].history]


# -- callbacks ----------------------------------------------------------------------------------


def test_virtual_hold_keeps_the_place_in_line(engine: Engine, clock: Clock) -> None:
    first = engine.arrive("billing").contact
    clock.advance(10)
    held = engine.arrive("billing").contact
    clock.advance(10)
    last = engine.arrive("billing").contact
    clock.advance(10)
    assert engine.request_callback(held, NUMBER) is True
    assert engine.request_callback(held, NUMBER) is False  # idempotent
    c = engine.state.contacts[held]
    assert c.status is Status.WAITING and c.route_channel is Channel.CALLBACK
    assert c.rank_time == c.arrived_at  # its place is its arrival, not the request
    engine.take()
    engine.set_presence("bob", "available")  # voice and callback, one at a time
    assert offers(engine.take()) == [(first, "bob")]
    serve(engine, "bob", first)
    assert offers(engine.take()) == [(held, "bob")]  # before `last`, who arrived after it
    engine.accept("bob", held)
    engine.complete("bob", held)
    assert engine.state.ended[held] is Outcome.CALLBACK_COMPLETED
    engine.end_wrapup("bob", held)
    assert offers(engine.take()) == [(last, "bob")]


def test_scheduled_callback_fires_at_its_time(engine: Engine, clock: Clock) -> None:
    engine.set_presence("bob", "available")
    due = clock.now + 3600
    r = engine.schedule_callback("billing", NUMBER, due=due)
    assert r.status == "callback_scheduled" and r.reason == ""
    c = engine.state.contacts[r.contact]
    assert c.status is Status.SCHEDULED and c.callback_due == due
    assert engine.next_timer() == due
    engine.take()
    clock.advance(3599)
    engine.tick()
    assert offers(engine.take()) == []
    clock.advance(1)
    engine.tick()
    evs = engine.take()
    assert [type(e) for e in evs] == [ev.CallbackDue, ev.OfferMade]
    assert offers(evs) == [(r.contact, "bob")] and evs[1].at == due
    assert engine.state.contacts[r.contact].rank_time == due  # it ranks from its due time


def test_a_callback_due_while_the_center_was_idle_fires_at_the_next_tick(
    engine: Engine, clock: Clock
) -> None:
    r = engine.schedule_callback("billing", NUMBER, due=clock.now + 60)
    clock.advance(10_000)
    engine.tick()
    due = of_type(engine.take(), ev.CallbackDue)
    assert [e.at for e in due] == [clock.now - 10_000 + 60]  # at its time, not at the tick
    assert engine.state.contacts[r.contact].status is Status.WAITING


def test_callback_retries_then_fails(engine: Engine, clock: Clock) -> None:
    engine.configure(Settings(callback_max_attempts=3, callback_retry_delay=300))
    engine.set_presence("bob", "available")
    cid = engine.schedule_callback("billing", NUMBER).contact
    for attempt in (1, 2):
        assert offers(engine.take()) == [(cid, "bob")]
        engine.accept("bob", cid)
        assert engine.callback_not_reached("bob", cid) is True
        c = engine.state.contacts[cid]
        assert c.status is Status.SCHEDULED and c.attempts == attempt
        assert c.callback_due == clock.now + 300
        assert engine.state.agents["bob"].state_name() == "available"  # free for others
        clock.advance(299)
        engine.tick()
        assert offers(engine.take()) == []
        clock.advance(1)
        engine.tick()
    assert offers(engine.take()) == [(cid, "bob")]
    engine.accept("bob", cid)
    assert engine.callback_not_reached("bob", cid) is False
    evs = engine.take()
    failed = of_type(evs, ev.CallbackAttemptFailed)
    assert [(e.attempt, e.retry_at) for e in failed] == [(3, None)]
    ended = of_type(evs, ev.ContactEnded)
    assert [(e.outcome, e.reason) for e in ended] == [(Outcome.CALLBACK_FAILED, "not_reached")]
    assert engine.state.ended[cid] is Outcome.CALLBACK_FAILED
    with pytest.raises(er.ContactEnded):
        engine.callback_not_reached("bob", cid)
    # the number may ask again: a new callback, not the failed one
    again = engine.schedule_callback("billing", NUMBER)
    assert again.contact != cid and again.reason == ""


def test_a_second_request_returns_the_open_callback(engine: Engine, clock: Clock) -> None:
    first = engine.schedule_callback("billing", NUMBER, due=clock.now + 600)
    engine.take()
    for r in (
        engine.schedule_callback("billing", NUMBER),
        engine.schedule_callback("billing", NUMBER, due=clock.now + 60),
        engine.arrive("billing", channel="callback", callback_number=NUMBER),
    ):
        assert (r.contact, r.status, r.reason) == (first.contact, "callback_scheduled", "duplicate")
    assert engine.take() == []  # nothing new was planned
    assert engine.state.contacts[first.contact].callback_due == clock.now + 600
    other_queue = engine.schedule_callback("tech", NUMBER)
    other_number = engine.schedule_callback("billing", "+33 9 99 99 99 99")
    assert len({first.contact, other_queue.contact, other_number.contact}) == 3
    holding = engine.arrive("billing").contact
    with pytest.raises(er.AlreadyExists) as info:
        engine.request_callback(holding, NUMBER)
    assert info.value.details["contact"] == first.contact


# -- widening and overflow ----------------------------------------------------------------------


def test_widening_lowers_levels_after_a_delay_keeping_the_place(
    engine: Engine, clock: Clock
) -> None:
    steps = [WideningStep(after=30, lower_levels_by=2)]
    engine.configure_queue(QueueConfig(id="expert", requirements={"tech": 8}, widening=steps))
    a = engine.arrive("expert").contact
    clock.advance(20)
    b = engine.arrive("expert").contact
    engine.set_presence("cat", "available")  # tech 7: not enough until widened
    assert offers(engine.take()) == []
    clock.advance(10)  # a has waited 30 s
    engine.tick()
    evs = engine.take()
    widened = of_type(evs, ev.ContactRequeued)
    assert [(e.contact, e.reason, e.step, e.alternatives) for e in widened] == [
        (a, "widened", 1, [{"tech": 6}])
    ]
    assert offers(evs) == [(a, "cat")]
    engine.reject("cat", a)  # back in line, still first: it kept its arrival time
    c = engine.state.contacts[a]
    assert c.rank_time == c.arrived_at and c.step == 1
    assert offers(engine.take()) == [(a, "cat")]
    serve(engine, "cat", a)
    clock.advance(19)
    engine.tick()
    assert offers(engine.take()) == []  # b has waited 29 s
    clock.advance(1)
    engine.tick()
    assert offers(engine.take()) == [(b, "cat")]


def test_widening_also_accepts_another_profile(engine: Engine, clock: Clock) -> None:
    steps = [WideningStep(after=60, also_accept=[{"billing": 3}])]
    engine.configure_queue(QueueConfig(id="expert", requirements={"tech": 9}, widening=steps))
    engine.set_presence("bob", "available")
    cid = engine.arrive("expert").contact
    clock.advance(60)
    engine.tick()
    assert engine.state.contacts[cid].alternatives == [{"tech": 9}, {"billing": 3}]
    assert offers(engine.take()) == [(cid, "bob")]


def test_overflow_after_a_delay_never_loops_back(engine: Engine, clock: Clock) -> None:
    engine.configure_queue(QueueConfig(id="a", requirements={"french": 5}))
    engine.configure_queue(
        QueueConfig(id="b", requirements={"tech": 9}, widening=[WideningStep(60, overflow_to="a")])
    )
    engine.configure_queue(
        QueueConfig(
            id="a", requirements={"french": 5}, widening=[WideningStep(30, overflow_to="b")]
        )
    )
    cid = engine.arrive("a").contact
    engine.take()
    clock.advance(30)
    engine.tick()
    moved = of_type(engine.take(), ev.ContactRequeued)
    assert [(e.queue, e.reason) for e in moved] == [("b", "overflow")]
    c = engine.state.contacts[cid]
    assert c.queue == "b" and c.visited == ["a", "b"] and c.rank_time == c.arrived_at
    clock.advance(3600)  # b's overflow to a is long due, but a was visited
    engine.tick()
    assert of_type(engine.take(), ev.ContactRequeued) == []
    assert engine.state.contacts[cid].queue == "b"
    assert engine.next_timer() is None  # nothing left to fire for it
    engine.set_presence("cat", "available")
    assert offers(engine.take()) == []  # cat has tech 7: b asks 9
    engine.configure_agent(AgentConfig(id="cat", skills={"tech": 9}))
    assert offers(engine.take()) == [(cid, "cat")]
    assert [w for w, _ in history(engine, cid)] == ["arrived", "overflow"]


def test_widening_due_while_offered_applies_when_the_offer_is_withdrawn(
    engine: Engine, clock: Clock
) -> None:
    """Regression (found by the state machine): a logout used to leave the contact unwidened."""
    engine.configure_queue(
        QueueConfig(
            id="x", requirements={"tech": 5}, widening=[WideningStep(10, overflow_to="billing")]
        )
    )
    engine.set_presence("ann", "available")
    cid = engine.arrive("x").contact
    assert engine.state.contacts[cid].agent == "ann"
    clock.advance(15)  # the overflow came due while ann held the offer
    engine.tick()
    engine.set_presence("ann", "away")
    assert engine.state.contacts[cid].queue == "billing"


def test_reconfigured_widening_applies_to_contacts_already_waiting(
    engine: Engine, clock: Clock
) -> None:
    """Regression (found by the state machine): a waiting contact kept the old delays."""
    cid = engine.arrive("tech").contact
    clock.advance(100)
    engine.configure_queue(
        QueueConfig(id="tech", requirements={"tech": 5}, widening=[WideningStep(30, 5)])
    )
    assert engine.state.contacts[cid].step == 1  # at once: it has waited more than 30 s
    engine.configure_queue(
        QueueConfig(
            id="tech",
            requirements={"tech": 5},
            widening=[WideningStep(30, 5), WideningStep(200, 5)],
        )
    )
    clock.advance(100)
    engine.tick()
    assert engine.state.contacts[cid].step == 2


# -- opening hours and size ---------------------------------------------------------------------

WEEKDAYS = [OpeningSlot(days=[0, 1, 2, 3, 4], start="08:00", end="18:00")]


def test_closed_queue_says_so_or_calls_back_at_the_next_opening(
    engine: Engine, clock: Clock
) -> None:
    engine.configure_queue(QueueConfig(id="office", hours=WEEKDAYS, timezone="UTC"))
    now = dt.datetime.fromtimestamp(clock.now, dt.UTC)
    assert (now.weekday(), now.hour) == (1, 22)  # Tuesday night
    engine.set_presence("bob", "available")
    engine.take()
    r = engine.arrive("office")
    assert r.status == "closed" and "closed" in r.reason and "callback" in r.reason
    assert engine.state.ended[r.contact] is Outcome.FAILED
    ended = of_type(engine.take(), ev.ContactEnded)
    assert [e.reason for e in ended] == ["queue_closed"]
    r = engine.arrive("office", callback_number=NUMBER)
    assert (r.status, r.reason) == ("callback_scheduled", "closed")
    opening = dt.datetime(now.year, now.month, now.day + 1, 8, 0, tzinfo=dt.UTC).timestamp()
    assert engine.state.contacts[r.contact].callback_due == opening
    assert offers(engine.take()) == []  # bob is there, but the office is closed
    clock.now = opening
    engine.tick()
    assert offers(engine.take()) == [(r.contact, "bob")]
    # a callback asked for while closed is planned at the opening too
    later = engine.schedule_callback("office", "+33 6 00 00 00 00")
    assert engine.state.contacts[later.contact].status is Status.WAITING  # open now


def test_closed_queue_without_callbacks(engine: Engine) -> None:
    engine.configure_queue(QueueConfig(id="office", hours=WEEKDAYS, callbacks_allowed=False))
    r = engine.arrive("office", callback_number=NUMBER)
    assert r.status == "closed" and "callback" not in r.reason


def test_full_queue(engine: Engine) -> None:
    engine.configure_queue(QueueConfig(id="small", max_size=2))
    waiting = [engine.arrive("small").contact for _ in range(2)]
    r = engine.arrive("small")
    assert r.status == "full" and "full" in r.reason
    assert engine.state.ended[r.contact] is Outcome.FAILED
    r = engine.arrive("small", callback_number=NUMBER)
    assert (r.status, r.reason) == ("callback_scheduled", "full")
    c = engine.state.contacts[r.contact]
    assert c.status is Status.WAITING and c.route_channel is Channel.CALLBACK  # virtual hold
    assert engine.arrive("small", channel="chat").status == "full"  # chats hold a line too
    engine.abandon(waiting[0])
    assert engine.arrive("small").status == "queued"


# -- transfers ----------------------------------------------------------------------------------


def test_transfer_to_a_named_agent_and_to_a_queue_keeps_history(
    engine: Engine, clock: Clock
) -> None:
    engine.set_presence("ann", "available")
    cid = engine.arrive("billing").contact
    engine.accept("ann", cid)
    arrived = engine.state.contacts[cid].arrived_at
    clock.advance(30)
    engine.set_presence("bob", "available")
    engine.take()
    engine.transfer("ann", cid, to_agent="bob")
    evs = engine.take()
    moved = of_type(evs, ev.ContactRequeued)
    assert [(e.reason, e.to_agent, e.by_agent) for e in moved] == [("transfer", "bob", "ann")]
    assert offers(evs) == [(cid, "bob")]
    engine.accept("bob", cid)
    clock.advance(30)
    engine.set_presence("ann", "away")  # she could take tech too
    engine.set_presence("cat", "available")
    engine.transfer("bob", cid, queue="tech")
    assert offers(engine.take()) == [(cid, "cat")]
    engine.accept("cat", cid)
    c = engine.state.contacts[cid]
    assert c.rank_time == arrived and c.queue == "tech" and c.visited == ["billing", "tech"]
    assert history(engine, cid) == [
        ("arrived", "billing"),
        ("accepted", "ann"),
        ("transfer", "bob"),
        ("accepted", "bob"),
        ("transfer", "tech"),
        ("accepted", "cat"),
    ]
    engine.complete("cat", cid)
    assert engine.state.ended[cid] is Outcome.HANDLED


def test_transferred_contact_waits_for_a_busy_named_agent(engine: Engine, clock: Clock) -> None:
    engine.set_presence("ann", "available")
    engine.set_presence("bob", "available")
    x = engine.arrive("billing").contact
    y = engine.arrive("billing").contact
    talker = engine.state.contacts[x].agent
    other = engine.state.contacts[y].agent
    assert {talker, other} == {"ann", "bob"}
    assert talker is not None and other is not None
    engine.accept(talker, x)
    engine.accept(other, y)
    engine.transfer(talker, x, to_agent=other)  # other is on a call: x waits for them
    c = engine.state.contacts[x]
    assert c.status is Status.WAITING and c.pool is not None and c.pool.fixed_agent == other
    engine.take()
    engine.complete(other, y)
    engine.end_wrapup(other, y)
    assert offers(engine.take()) == [(x, other)]


@pytest.mark.parametrize("how", ["reject", "timeout", "logout"])
def test_released_named_transfer_falls_back_to_the_queue_at_its_place(
    engine: Engine, clock: Clock, how: str
) -> None:
    engine.configure_agent(AgentConfig(id="bob", skills={"billing": 3}, max_missed=1))
    engine.set_presence("ann", "available")
    x = engine.arrive("billing").contact
    engine.accept("ann", x)
    clock.advance(50)
    y = engine.arrive("billing").contact  # arrives after x, waits: nobody else is free
    clock.advance(50)
    engine.set_presence("bob", "available")
    engine.take()
    assert engine.state.contacts[y].agent == "bob"
    engine.reject("bob", y)  # bob has missed once: he is away
    assert engine.state.agents["bob"].presence is Presence.AWAY
    engine.set_presence("bob", "available")
    assert engine.state.contacts[y].agent == "bob"
    engine.accept("bob", y)
    engine.set_presence("cat", "available")
    engine.transfer("ann", x, to_agent="cat")  # cat has no billing skill, but is named
    engine.set_presence("ann", "away")
    assert engine.state.contacts[x].agent == "cat"
    engine.take()
    if how == "reject":
        engine.reject("cat", x)
    elif how == "timeout":
        clock.advance(engine.state.settings.offer_timeout)
        engine.tick()
    else:
        engine.set_presence("cat", "offline")
    evs = engine.take()
    released = of_type(evs, ev.OfferReleased)
    assert [(e.contact, e.agent) for e in released] == [(x, "cat")]
    c = engine.state.contacts[x]
    assert c.queue == "billing" and c.pool is not None and c.pool.fixed_agent is None
    assert c.rank_time == c.arrived_at
    assert c.status is Status.WAITING  # ann and bob busy, cat cannot take billing
    # first in line again, ahead of contacts that arrived after it
    z = engine.arrive("billing").contact
    assert engine.estimate(x).position == 1 and engine.estimate(z).position == 2
    engine.complete("bob", y)
    engine.end_wrapup("bob", y)
    assert offers(engine.take())[0] == (x, "bob")


def test_contact_waiting_for_a_named_agent_who_leaves_goes_back_to_the_queue(
    engine: Engine,
) -> None:
    engine.set_presence("ann", "available")
    engine.set_presence("bob", "available")
    x = engine.arrive("billing").contact
    y = engine.arrive("billing").contact
    a, b = engine.state.contacts[x].agent, engine.state.contacts[y].agent
    assert a is not None and b is not None
    engine.accept(a, x)
    engine.accept(b, y)
    engine.transfer(a, x, to_agent=b)  # waits on b's personal line (b is busy)
    engine.disconnect(b)
    c = engine.state.contacts[x]
    assert c.pool is not None and c.pool.fixed_agent is None and c.queue == "billing"
    assert c.agent == a  # a was free again: it is offered back through the queue


def test_virtual_hold_for_a_named_agent_who_makes_no_callbacks_goes_to_the_queue(
    engine: Engine,
) -> None:
    """Regression (found by the state machine): the callback waited on cat's line for ever."""
    engine.set_presence("cat", "available")  # voice and chat, no callbacks
    y = engine.arrive("tech").contact
    engine.accept("cat", y)
    engine.set_presence("ann", "available")
    x = engine.arrive("tech").contact
    engine.accept("ann", x)
    engine.transfer("ann", x, to_agent="cat")  # cat is on a call: x waits for cat
    engine.take()
    assert engine.request_callback(x, NUMBER) is True
    c = engine.state.contacts[x]
    assert c.pool is not None and c.pool.fixed_agent is None and c.queue == "tech"
    assert c.rank_time == c.arrived_at
    assert offers(engine.take()) == [(x, "ann")]  # ann makes callbacks and is free again


# -- estimates ----------------------------------------------------------------------------------


def test_estimate_in_words(engine: Engine) -> None:
    engine.configure_queue(QueueConfig(id="desk", requirements={"billing": 3}, default_aht=20))
    r = engine.arrive("desk")
    assert r.estimated_wait is None
    assert r.explanation == "you are next in line, no eligible agent is logged in"
    engine.set_presence("ann", "available")
    engine.set_presence("bob", "available")
    busy = [engine.arrive("desk").contact for _ in range(1)] + [r.contact]
    for cid in busy:
        agent = engine.state.contacts[cid].agent
        assert agent is not None
        engine.accept(agent, cid)
    for _ in range(3):
        engine.arrive("desk")
    r = engine.arrive("desk")
    assert r.status == "queued"
    assert r.explanation == "3 ahead of you, 2 eligible agents busy, about 40 s"
    assert r.estimated_wait == pytest.approx(40.0)
    est = engine.estimate(r.contact)
    assert (est.position, est.ahead, est.eligible, est.busy) == (4, 3, 2, 2)
    assert engine.estimate_queue("desk").ahead == 4


def test_estimate_offers_a_callback_when_the_wait_is_long(engine: Engine) -> None:
    engine.configure_queue(
        QueueConfig(id="billing", requirements={"billing": 3}, callback_offer_after=30)
    )
    engine.set_presence("bob", "available")
    engine.arrive("billing")  # bob takes it: the next ones wait about 180 s each
    r = engine.arrive("billing")
    assert r.callback_offered and r.estimated_wait is not None and r.estimated_wait > 30


# -- restart ------------------------------------------------------------------------------------


@pytest.fixture
def logged(clock: Clock) -> Engine:
    """The same center as ``engine``, with every event kept for a replay."""
    return build_center(clock)


def restart(engine: Engine, log: list[ev.Event], clock: Clock) -> Engine:
    log.extend(engine.take())
    again = replay([ev.decode(ev.encode(e)) for e in log], clock)
    assert again.state.snapshot() == engine.state.snapshot()
    again.recover(len(log))
    return again


def test_restart_releases_pending_offers_and_agents_come_back_offline(
    logged: Engine, clock: Clock
) -> None:
    log: list[ev.Event] = []
    engine = logged
    engine.set_presence("bob", "available")
    engine.set_presence("ann", "available")
    x = engine.arrive("billing").contact
    y = engine.arrive("billing").contact
    holder = engine.state.contacts[x].agent
    assert holder is not None
    engine.accept(holder, x)  # a conversation in progress
    offered_to = engine.state.contacts[y].agent
    assert offered_to is not None
    clock.advance(5)
    engine = restart(engine, log, clock)
    evs = engine.take()
    released = of_type(evs, ev.OfferReleased)
    assert [(e.contact, e.agent, e.reason) for e in released] == [(y, offered_to, "recovery")]
    assert {e.agent for e in of_type(evs, ev.PresenceChanged)} == {"ann", "bob"}
    assert isinstance(evs[-1], ev.Recovered) and evs[-1].last_seq == len(log)
    assert all(a.presence is Presence.OFFLINE for a in engine.state.agents.values())
    assert engine.state.contacts[y].status is Status.WAITING
    assert engine.state.contacts[x].status is Status.CONNECTED  # the call is not cut
    with pytest.raises(er.OfferExpired):
        engine.accept(offered_to, y)
    engine.set_presence(offered_to, "available")
    assert offers(engine.take()) == [(y, offered_to)]  # offered again, first in line
    engine.complete(holder, x)  # the agent can finish the conversation after the restart
    assert engine.state.ended[x] is Outcome.HANDLED


def test_restart_with_agents_kept_available_reoffers_at_once(logged: Engine, clock: Clock) -> None:
    log: list[ev.Event] = []
    engine = logged
    engine.configure(Settings(recover_agents_as=Presence.AVAILABLE))
    engine.set_presence("bob", "available")
    x = engine.arrive("billing").contact
    engine = restart(engine, log, clock)
    evs = engine.take()
    assert [(e.contact, e.reason) for e in of_type(evs, ev.OfferReleased)] == [(x, "recovery")]
    assert offers(evs) == [(x, "bob")]


def test_restart_fires_what_came_due_while_down(logged: Engine, clock: Clock) -> None:
    log: list[ev.Event] = []
    engine = logged
    engine.configure_queue(
        QueueConfig(id="tech", requirements={"tech": 5}, widening=[WideningStep(60, 4)])
    )
    cb = engine.schedule_callback("billing", NUMBER, due=clock.now + 120).contact
    waiting = engine.arrive("tech").contact
    clock.advance(3600)  # the process was down for an hour
    engine = restart(engine, log, clock)
    assert engine.state.contacts[cb].status is Status.WAITING
    assert engine.state.contacts[waiting].step == 1


def test_restart_sends_personal_lines_back_to_their_queue(logged: Engine, clock: Clock) -> None:
    """Regression: after recovery, a contact waited for an agent who was now offline."""
    log: list[ev.Event] = []
    engine = logged
    engine.set_presence("ann", "available")
    engine.set_presence("bob", "available")
    x = engine.arrive("billing").contact
    y = engine.arrive("billing").contact
    a, b = engine.state.contacts[x].agent, engine.state.contacts[y].agent
    assert a is not None and b is not None
    engine.accept(a, x)
    engine.accept(b, y)
    engine.transfer(a, x, to_agent=b)
    engine = restart(engine, log, clock)
    c = engine.state.contacts[x]
    assert c.status is Status.WAITING and c.pool is not None and c.pool.fixed_agent is None
