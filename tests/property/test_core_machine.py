"""The routing core's invariants, checked after every step of random runs of a small center.

A hypothesis state machine builds a random center (skills, queues with requirements, widening and
overflow, agents with skills, capacities and channel mixing), then drives ``Engine`` with a manual
clock through every command, including bad ones, restarts and long jumps in time. After every step
it checks, by brute force and independently of the engine's indexes:

- offers and statuses agree: a contact is offered to one agent at most, and its status matches
  the agents' offers, conversations and wrap-ups;
- capacity and channel mixing are respected, and an agent's load is offers + contacts + wrap-ups;
- routing is work-conserving: no available agent with room waits while a contact it may take does;
- FIFO within priority: an offer never skips a more urgent contact that the same agent could take,
  in the same line or any other (queue, widening step, channel), and goes to the free agent the
  queue's strategy ranks first (checked on the events, against a state replayed up to each one);
- every arrived contact is either open or ended, never both, and ends at most once;
- replay of the events (through their JSON form) rebuilds exactly the live state;
- the indexes (lines of waiting contacts, free agents, staffing per pool) equal what brute force
  finds, and so does every waiting contact's estimate;
- no timer is lost: each offer, wrap-up and scheduled callback has its deadline pending, and a
  waiting contact has its next widening or overflow pending (and is never left behind after a
  tick); the per-queue counts and the open-callback index agree with the contacts.

A refused command must change nothing and emit nothing.

Runs about 200 examples of up to 50 steps (some 20-40 s). To hunt longer, raise max_examples at
the bottom of this file; a failure prints the steps that lead to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from joignable.core import errors as er
from joignable.core import events as ev
from joignable.core.engine import Engine, replay
from joignable.core.estimate import estimate_contact
from joignable.core.model import (
    AgentConfig,
    Channel,
    OpeningSlot,
    Presence,
    QueueConfig,
    Requirement,
    Settings,
    Strategy,
    WideningStep,
)
from joignable.core.rules import meets_any, next_step_time, overflow_target, step_for_wait
from joignable.core.state import Agent, Contact, State, Status, Timer
from tests.conftest import Clock

NUMBERS = ["+33 1 23 45 67 80", "+33 1 23 45 67 81", "+1 555 0100"]
CHANNELS = [Channel.VOICE, Channel.CHAT, Channel.CALLBACK, Channel.EMAIL]
REPLAY_EVERY = 10


# -- brute-force views, computed without the engine's indexes ------------------------------------


def load_of(agent: Agent) -> Counter[Channel]:
    n: Counter[Channel] = Counter()
    for ch in agent.offers.values():
        n[ch] += 1
    for ch in agent.contacts.values():
        n[ch] += 1
    for w in agent.wrapups.values():
        n[w.channel] += 1
    return n


def has_room(agent: Agent, channel: Channel) -> bool:
    if agent.presence is not Presence.AVAILABLE:
        return False
    load = load_of(agent)
    if load[channel] >= agent.config.capacity.get(channel, 0):
        return False
    return agent.config.mixing or all(n == 0 for c, n in load.items() if c is not channel)


def may_take(agent: Agent, contact: Contact) -> bool:
    """The agent is one the contact may be offered to (skills, or its personal line)."""
    assert contact.pool is not None
    if contact.pool.fixed_agent is not None:
        return contact.pool.fixed_agent == agent.id
    return meets_any(agent.config.skills, contact.alternatives)


def line_of(contact: Contact) -> tuple[Any, ...]:
    """Contacts in one line compete on urgency: a queue and channel, or a personal line."""
    assert contact.pool is not None
    if contact.pool.fixed_agent is not None:
        return ("@", contact.pool.fixed_agent, contact.route_channel)
    return (contact.queue, contact.route_channel)


def due_timers(state: State) -> set[tuple[Timer, str, str, Any]]:
    return {(kind, cid, aid, token) for _, _, kind, cid, aid, token in state.timers}


def behind(state: State, contact: Contact, now: float) -> bool:
    """A waiting queue contact that has waited long enough for a widening or overflow not done."""
    q = state.queues[contact.queue]
    wait = now - contact.rank_time
    return overflow_target(q, wait, contact.visited) is not None or (
        step_for_wait(q, wait) > contact.step
    )


def explain(state: State, contact: Contact) -> str:
    """What a failure message needs to tell about a contact."""
    q = state.queues[contact.queue]
    timers = [t for t in state.timers if t[3] == contact.id]
    return (
        f"now={state.last_at} rank={contact.rank_time} step={contact.step}"
        f" visited={contact.visited} status={contact.status} widening={q.widening}"
        f" history={contact.history} timers={timers}"
    )


def deep(state: State) -> dict[str, Any]:
    """What the snapshot leaves out and a replay must rebuild all the same."""
    return {
        "contacts": {
            c.id: (c.rank_time, c.history, c.visited, c.callback_key, c.alternatives, c.data)
            for c in state.contacts.values()
        },
        "open_callbacks": state.open_callbacks,
        "queue_live": {q: n for q, n in state.queue_live.items() if n},
        "agents": {a.id: (a.config, a.order, a.last_offer_seq) for a in state.agents.values()},
        "settings": state.settings,
        "queues": state.queues,
    }


# -- strategies -----------------------------------------------------------------------------------


def requirement(skills: list[str], lo: int = 1, hi: int = 6) -> st.SearchStrategy[Requirement]:
    return st.dictionaries(st.sampled_from(skills), st.integers(lo, hi), max_size=2)


def widening(skills: list[str], queues: list[str], me: str) -> st.SearchStrategy[Any]:
    step = st.builds(
        WideningStep,
        after=st.sampled_from([5.0, 15.0, 30.0, 60.0, 120.0, 600.0]),
        lower_levels_by=st.integers(0, 3),
        also_accept=st.lists(requirement(skills), max_size=1),
        overflow_to=st.one_of(st.none(), st.sampled_from([q for q in queues if q != me])),
    )
    return st.lists(step, max_size=3).map(lambda steps: sorted(steps, key=lambda s: s.after))


OPEN_DAYTIME = [OpeningSlot(days=[0, 1, 2, 3, 4, 5, 6], start="08:00", end="18:00")]


def queue_config(skills: list[str], queues: list[str], qid: str) -> st.SearchStrategy[QueueConfig]:
    return st.builds(
        QueueConfig,
        id=st.just(qid),
        requirements=requirement(skills),
        widening=widening(skills, queues, qid),
        max_size=st.one_of(st.none(), st.none(), st.integers(0, 3)),
        callback_offer_after=st.one_of(st.none(), st.just(30.0)),
        callbacks_allowed=st.sampled_from([True, True, True, False]),
        hours=st.sampled_from([None, None, None, None, OPEN_DAYTIME]),
        strategy=st.sampled_from(list(Strategy)),
        default_aht=st.sampled_from([20.0, 180.0]),
    )


def agent_config(skills: list[str], aid: str) -> st.SearchStrategy[AgentConfig]:
    capacity = st.fixed_dictionaries(
        {
            Channel.VOICE: st.sampled_from([0, 1, 1]),
            Channel.CHAT: st.integers(0, 3),
            Channel.CALLBACK: st.sampled_from([0, 1, 1]),
        },
        optional={Channel.EMAIL: st.integers(0, 2)},
    )
    return st.builds(
        AgentConfig,
        id=st.just(aid),
        skills=st.dictionaries(st.sampled_from(skills), st.integers(1, 10), min_size=1),
        capacity=capacity,
        mixing=st.booleans(),
        max_missed=st.integers(1, 3),
    )


SETTINGS = st.builds(
    Settings,
    offer_timeout=st.sampled_from([5.0, 10.0, 20.0]),
    wrapup_limit=st.sampled_from([0.0, 5.0, 30.0]),
    callback_max_attempts=st.integers(1, 3),
    callback_retry_delay=st.sampled_from([0.0, 30.0, 300.0]),
    recover_agents_as=st.sampled_from([Presence.OFFLINE, Presence.OFFLINE, *Presence]),
)


# -- the machine ----------------------------------------------------------------------------------


class CoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.engine = Engine(self.clock)
        self.log: list[ev.Event] = []
        self.shadow = State()  # the events replayed one by one, to judge each routing decision
        self.arrived: set[str] = set()
        self.ended_count: Counter[str] = Counter()
        self.outcome: dict[str, Any] = {}
        # last thing that happened between a contact and an agent, to predict accept's error
        self.relation: dict[tuple[str, str], str] = {}
        self.reconfigured: set[str] = set()  # agents whose capacity may now be below their load
        self.steps = 0
        self.emitted: list[ev.Event] = []
        self.skills: list[str] = []
        self.queue_ids: list[str] = []
        self.agent_ids: list[str] = []

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self.engine.state

    def collect(self) -> None:
        """Take the engine's events, judge each against the state just before it, log them."""
        for e in self.engine.take():
            self.judge(e)
            self.shadow.apply(e)
            self.log.append(e)
        self.shadow.dirty_agents.clear()
        self.shadow.dirty_contacts.clear()

    def judge(self, e: ev.Event) -> None:
        sh = self.shadow
        if isinstance(e, ev.ContactArrived):
            assert e.contact not in self.arrived, f"{e.contact} arrived twice"
            self.arrived.add(e.contact)
        elif isinstance(e, ev.ContactEnded):
            self.ended_count[e.contact] += 1
            assert self.ended_count[e.contact] == 1, f"{e.contact} ended twice"
            assert e.contact in sh.contacts, f"{e.contact} ended while not open"
            self.outcome[e.contact] = e.outcome
        elif isinstance(e, ev.OfferMade):
            c = sh.contacts[e.contact]
            a = sh.agents[e.agent]
            assert c.status is Status.WAITING, f"offer of {c.id} while {c.status}"
            assert e.channel is c.route_channel
            assert may_take(a, c), f"{a.id} may not take {c.id}"
            assert has_room(a, e.channel), f"{a.id} has no room on {e.channel} for {c.id}"
            pool = c.pool
            assert pool is not None
            if pool.fixed_agent is None:  # the queue's strategy picks among those free
                free = [x for x in sh.agents.values() if may_take(x, c) and has_room(x, e.channel)]
                best = min(free, key=pool.free_key)
                assert best is a, f"{pool.strategy}: {c.id} went to {a.id}, not {best.id}"
            # FIFO within priority, in the line and beyond: the agent had nothing more urgent
            # it could take, whichever queue, widening step or channel it waits in.
            for d in sh.contacts.values():
                if (
                    d is not c
                    and d.status is Status.WAITING
                    and d.key < c.key
                    and may_take(a, d)
                    and has_room(a, d.route_channel)
                ):
                    raise AssertionError(
                        f"FIFO: {c.id} {c.key} in {line_of(c)} offered to {a.id} while"
                        f" {d.id} {d.key} waits in {line_of(d)}"
                    )
            self.relation[(e.contact, e.agent)] = "offered"
        elif isinstance(e, ev.OfferReleased):
            self.relation[(e.contact, e.agent)] = "released:" + e.reason
        elif isinstance(e, ev.OfferAccepted):
            self.relation[(e.contact, e.agent)] = "accepted"
        elif isinstance(e, ev.ContactRequeued) and e.to_agent is not None:
            self.relation[(e.contact, e.to_agent)] = "transfer"

    def run(
        self, command: Callable[..., Any], *args: Any, expect: str | None = None, **kw: Any
    ) -> Any:
        """Run a command; if it is refused, its code must be ``expect`` and nothing may change."""
        self.engine.tick()  # let due timers fire first, so a refusal can be compared cleanly
        self.collect()
        before = self.state.snapshot()
        try:
            result = command(*args, **kw)
        except er.DomainError as exc:
            assert expect is not None, f"unexpected refusal {exc.code}: {exc.message}"
            assert exc.code == expect, f"expected {expect}, got {exc.code}: {exc.message}"
            assert exc.message and isinstance(exc.message, str)
            assert self.engine.take() == [], "a refused command emitted events"
            assert self.state.snapshot() == before, "a refused command changed the state"
            return exc
        finally:
            n = len(self.log)
            self.collect()  # even when a check fails, so that the log stays whole
            self.emitted = self.log[n:]
        assert expect is None, f"expected refusal {expect}, got {result!r}"
        return result

    def settle(self) -> None:
        """Fire what is due now (a callback retried at once), before choosing from the state."""
        self.engine.tick()
        self.collect()

    def open_contacts(self, *statuses: Status) -> list[Contact]:
        return [c for c in self.state.contacts.values() if not statuses or c.status in statuses]

    def any_open(self, *statuses: Status) -> bool:
        return any(not statuses or c.status in statuses for c in self.state.contacts.values())

    # -- set-up -----------------------------------------------------------------------------

    @initialize(data=st.data())
    def center(self, data: st.DataObject) -> None:
        draw = data.draw
        self.skills = [f"s{i}" for i in range(draw(st.integers(2, 4), label="skills"))]
        self.queue_ids = [f"q{i}" for i in range(draw(st.integers(2, 4), label="queues"))]
        self.agent_ids = [f"a{i}" for i in range(draw(st.integers(2, 6), label="agents"))]
        e = self.engine
        e.configure(draw(SETTINGS))
        for s in self.skills:
            e.define_skill(s)
        for qid in self.queue_ids:  # first plainly, so that overflow targets exist
            e.configure_queue(QueueConfig(id=qid))
        for qid in self.queue_ids:
            e.configure_queue(draw(queue_config(self.skills, self.queue_ids, qid)))
        for aid in self.agent_ids:
            e.configure_agent(draw(agent_config(self.skills, aid)))
            presence = draw(st.sampled_from([*Presence, Presence.AVAILABLE, Presence.AVAILABLE]))
            if presence is not Presence.OFFLINE:
                e.set_presence(aid, presence)
        self.collect()
        for _ in range(draw(st.integers(0, 4), label="first arrivals")):
            self.arrive_plain(data, draw(st.sampled_from(CHANNELS[:2])), 0)

    # -- agents -----------------------------------------------------------------------------

    @rule(data=st.data(), presence=st.sampled_from([*Presence, Presence.AVAILABLE]))
    def set_presence(self, data: st.DataObject, presence: Presence) -> None:
        aid = data.draw(st.sampled_from(self.agent_ids))
        self.run(self.engine.set_presence, aid, presence)
        assert self.state.agents[aid].presence is presence

    @rule(data=st.data())
    def disconnect(self, data: st.DataObject) -> None:
        aid = data.draw(st.sampled_from(self.agent_ids))
        self.run(self.engine.disconnect, aid)
        assert not self.state.agents[aid].offers

    @precondition(lambda self: self.any_open(Status.OFFERED))
    @rule(data=st.data(), accept=st.booleans())
    def answer_offer(self, data: st.DataObject, accept: bool) -> None:
        self.settle()
        offers = sorted((c.agent, c.id) for c in self.open_contacts(Status.OFFERED))
        if not offers:
            return
        aid, cid = data.draw(st.sampled_from(offers))
        if accept:
            assert self.run(self.engine.accept, aid, cid) is True
            assert self.state.contacts[cid].status is Status.CONNECTED
        else:
            self.run(self.engine.reject, aid, cid)

    @precondition(lambda self: self.any_open(Status.OFFERED))
    @rule(data=st.data())
    def accept_offer(self, data: st.DataObject) -> None:
        """Accept (a second rule, so that conversations happen before offers time out)."""
        self.answer_offer(data, True)

    @precondition(lambda self: self.any_open(Status.CONNECTED))
    @rule(data=st.data())
    def accept_again(self, data: st.DataObject) -> None:
        self.settle()
        pairs = sorted((c.agent, c.id) for c in self.open_contacts(Status.CONNECTED))
        if not pairs:
            return
        aid, cid = data.draw(st.sampled_from(pairs))
        assert self.run(self.engine.accept, aid, cid) is False
        assert self.emitted == []

    @rule(data=st.data(), accept=st.booleans())
    def answer_what_was_not_offered(self, data: st.DataObject, accept: bool) -> None:
        self.settle()
        aid = data.draw(st.sampled_from(self.agent_ids))
        candidates = sorted(
            [c.id for c in self.state.contacts.values() if c.agent != aid]
            + list(self.state.ended)[-3:]
            + ["nobody-knows"]
        )
        cid = data.draw(st.sampled_from(candidates))
        if cid in self.state.ended:
            code = "contact_ended"
        elif cid not in self.state.contacts:
            code = "unknown_contact"
        elif self.relation.get((cid, aid)) in ("released:timeout", "released:recovery"):
            code = "offer_expired"
        else:
            code = "no_such_offer"
        command = self.engine.accept if accept else self.engine.reject
        self.run(command, aid, cid, expect=code)

    @precondition(lambda self: self.any_open(Status.CONNECTED))
    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        self.settle()
        pairs = sorted((c.agent, c.id) for c in self.open_contacts(Status.CONNECTED))
        if not pairs:
            return
        aid, cid = data.draw(st.sampled_from(pairs))
        self.run(self.engine.complete, aid, cid)
        assert cid in self.state.ended

    @precondition(lambda self: self.any_open(Status.WAITING, Status.OFFERED))
    @rule(data=st.data())
    def complete_what_is_not_connected(self, data: st.DataObject) -> None:
        self.settle()
        others = sorted(c.id for c in self.open_contacts(Status.WAITING, Status.OFFERED))
        if not others:
            return
        cid = data.draw(st.sampled_from(others))
        aid = data.draw(st.sampled_from(self.agent_ids))
        self.run(self.engine.complete, aid, cid, expect="contact_not_active")

    @precondition(lambda self: any(a.wrapups for a in self.state.agents.values()))
    @rule(data=st.data())
    def end_wrapup(self, data: st.DataObject) -> None:
        self.settle()
        pairs = sorted((a.id, cid) for a in self.state.agents.values() for cid in a.wrapups)
        if not pairs:
            return
        aid, cid = data.draw(st.sampled_from(pairs))
        self.run(self.engine.end_wrapup, aid, cid, disposition="solved")
        assert cid not in self.state.agents[aid].wrapups

    @precondition(lambda self: self.any_open(Status.CONNECTED))
    @rule(data=st.data())
    def callback_not_reached(self, data: st.DataObject) -> None:
        self.settle()
        pairs = sorted(
            (c.agent, c.id)
            for c in self.open_contacts(Status.CONNECTED)
            if c.route_channel is Channel.CALLBACK
        )
        if not pairs:
            return
        aid, cid = data.draw(st.sampled_from(pairs))
        attempts = self.state.contacts[cid].attempts + 1
        again = self.run(self.engine.callback_not_reached, aid, cid)
        assert again is (attempts < self.state.settings.callback_max_attempts)
        if again:
            assert self.state.contacts[cid].status is Status.SCHEDULED
        else:
            assert self.state.ended[cid].value == "callback_failed"

    # -- customers --------------------------------------------------------------------------

    @rule(
        data=st.data(),
        channel=st.sampled_from(CHANNELS),
        priority=st.sampled_from([0, 0, 0, 1, 5, -1]),
        number=st.one_of(st.none(), st.sampled_from(NUMBERS)),
    )
    def arrive(
        self, data: st.DataObject, channel: Channel, priority: int, number: str | None
    ) -> None:
        qid = data.draw(st.sampled_from(self.queue_ids))
        extra = data.draw(st.one_of(st.just({}), requirement(self.skills, 1, 4)))
        if channel is Channel.CALLBACK and number is None:
            number = NUMBERS[0]
        q = self.state.queues[qid]
        expect = "conflict" if channel is Channel.CALLBACK and not q.callbacks_allowed else None
        r = self.run(
            self.engine.arrive,
            qid,
            channel=channel,
            priority=priority,
            skills=extra,
            callback_number=number,
            expect=expect,
        )
        if expect is not None:
            return
        assert r.status in ("queued", "offered", "callback_scheduled", "closed", "full")
        if r.reason == "duplicate":
            assert self.state.contacts[r.contact].callback_number == number
        elif r.status in ("closed", "full"):
            assert self.state.ended[r.contact].value == "failed"
            assert r.reason
        else:
            c = self.state.contacts[r.contact]
            status = {"queued": Status.WAITING, "offered": Status.OFFERED}.get(r.status)
            if status is not None:
                assert c.status is status

    @precondition(lambda self: self.any_open(Status.WAITING, Status.OFFERED))
    @rule(data=st.data(), channel=st.sampled_from(CHANNELS[:2]), priority=st.integers(0, 2))
    def arrive_plain(self, data: st.DataObject, channel: Channel, priority: int) -> None:
        """A plain call or chat (a second rule, so that arrivals are frequent)."""
        qid = data.draw(st.sampled_from(self.queue_ids))
        r = self.run(self.engine.arrive, qid, channel=channel, priority=priority)
        assert r.status in ("queued", "offered", "closed", "full")

    @rule(data=st.data(), number=st.sampled_from(NUMBERS), later=st.sampled_from([None, 0, 90]))
    def request_callback(self, data: st.DataObject, number: str, later: int | None) -> None:
        self.settle()
        holding = sorted(c.id for c in self.open_contacts(Status.WAITING, Status.OFFERED))
        if not holding:
            return
        cid = data.draw(st.sampled_from(holding))
        c = self.state.contacts[cid]
        due = None if later is None else self.clock.now + later
        if not self.state.queues[c.queue].callbacks_allowed:
            self.run(self.engine.request_callback, cid, number, due, expect="conflict")
            return
        if c.callback_number is None and self.state.open_callbacks.get((c.queue, number)):
            self.run(self.engine.request_callback, cid, number, due, expect="already_exists")
            return
        first = c.callback_number is None
        assert self.run(self.engine.request_callback, cid, number, due) is first

    @rule(data=st.data(), number=st.sampled_from(NUMBERS), later=st.sampled_from([None, 60, -60]))
    def schedule_callback(self, data: st.DataObject, number: str, later: int | None) -> None:
        self.settle()
        qid = data.draw(st.sampled_from(self.queue_ids))
        due = None if later is None else self.clock.now + later
        if not self.state.queues[qid].callbacks_allowed:
            expect: str | None = "conflict"
        elif later is not None and later < 0:
            expect = "invalid_time"
        else:
            expect = None
        dup = self.state.open_callbacks.get((qid, number))
        r = self.run(self.engine.schedule_callback, qid, number, due, expect=expect)
        if expect is None:
            assert r.status == "callback_scheduled"
            assert (r.reason == "duplicate") is (dup is not None)
            if dup is not None:
                assert r.contact == dup

    @precondition(lambda self: self.any_open(Status.CONNECTED))
    @rule(data=st.data(), to_queue=st.booleans())
    def transfer(self, data: st.DataObject, to_queue: bool) -> None:
        self.settle()
        pairs = sorted((c.agent, c.id) for c in self.open_contacts(Status.CONNECTED))
        if not pairs:
            return
        aid, cid = data.draw(st.sampled_from(pairs))
        if to_queue:
            qid = data.draw(st.sampled_from(self.queue_ids))
            self.run(self.engine.transfer, aid, cid, queue=qid)
            return
        target = data.draw(st.sampled_from(self.agent_ids))
        named = self.state.agents[target]
        channel = self.state.contacts[cid].route_channel
        if target == aid:
            expect: str | None = "invalid_input"
        elif named.presence is not Presence.AVAILABLE or not named.config.capacity.get(channel):
            expect = "agent_not_ready"
        else:
            expect = None
        self.run(self.engine.transfer, aid, cid, to_agent=target, expect=expect)

    @precondition(lambda self: self.any_open())
    @rule(data=st.data())
    def move_waiting(self, data: st.DataObject) -> None:
        """Self-service hands a waiting contact to the queue its flow names (no agent involved):
        only a waiting contact moves, and every invariant holds after it."""
        self.settle()
        ids = sorted(self.state.contacts)
        if not ids:
            return
        cid = data.draw(st.sampled_from(ids))
        qid = data.draw(st.sampled_from(self.queue_ids))
        waiting = self.state.contacts[cid].status is Status.WAITING
        expect = None if waiting else "contact_not_active"
        self.run(self.engine.transfer, None, cid, queue=qid, expect=expect)
        if waiting and cid in self.state.contacts:
            assert self.state.contacts[cid].queue == qid

    @precondition(lambda self: self.any_open())
    @rule(data=st.data(), how=st.sampled_from(["abandon", "deflect", "fail"]))
    def end_unanswered(self, data: st.DataObject, how: str) -> None:
        self.settle()
        ids = sorted(self.state.contacts)
        if not ids:
            return
        cid = data.draw(st.sampled_from(ids))
        connected = self.state.contacts[cid].status is Status.CONNECTED
        if how == "abandon":
            self.run(self.engine.abandon, cid, expect="contact_not_active" if connected else None)
        elif how == "deflect":
            self.run(
                self.engine.deflect, cid, True, expect="contact_not_active" if connected else None
            )
        else:
            self.run(self.engine.fail, cid, "line dropped")
        if how == "fail" or not connected:
            assert cid in self.state.ended

    # -- time -------------------------------------------------------------------------------

    @rule(
        seconds=st.one_of(
            st.integers(0, 10),
            st.integers(0, 30),
            st.sampled_from([45, 120, 600, 3600, 4 * 3600, 13 * 3600]),
        )
    )
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self.engine.tick()
        self.collect()
        now = self.clock.now
        for c in self.open_contacts(Status.WAITING):
            assert c.pool is not None
            if c.pool.fixed_agent is None:
                assert not behind(self.state, c, now), (
                    f"{c.id} not widened/overflowed in time: {explain(self.state, c)}"
                )
        for c in self.open_contacts(Status.OFFERED):
            assert c.offer_deadline > now
        for c in self.open_contacts(Status.SCHEDULED):
            assert c.callback_due is not None and c.callback_due > now

    # -- configuration ----------------------------------------------------------------------

    @rule(data=st.data(), roll=st.integers(0, 2))
    def reconfigure_agent(self, data: st.DataObject, roll: int) -> None:
        if roll:
            return  # rarer than the rest
        aid = data.draw(st.sampled_from(self.agent_ids))
        self.run(self.engine.configure_agent, data.draw(agent_config(self.skills, aid)))
        self.reconfigured.add(aid)

    @rule(data=st.data(), roll=st.integers(0, 2))
    def reconfigure_queue(self, data: st.DataObject, roll: int) -> None:
        if roll:
            return  # rarer than the rest
        qid = data.draw(st.sampled_from(self.queue_ids))
        self.run(
            self.engine.configure_queue, data.draw(queue_config(self.skills, self.queue_ids, qid))
        )

    @rule(roll=st.integers(0, 4))
    def restart(self, roll: int) -> None:
        """The process dies and comes back: replay the ledger, then recover."""
        if roll:
            return  # rarer than the rest
        self.engine.tick()
        self.collect()
        pending = {(c.id, c.agent) for c in self.open_contacts(Status.OFFERED)}
        presence = {a.id: a.presence for a in self.state.agents.values()}
        self.engine = replay([ev.decode(ev.encode(e)) for e in self.log], self.clock)
        self.engine.recover(len(self.log))
        n = len(self.log)
        self.collect()
        released = {
            (e.contact, e.agent)
            for e in self.log[n:]
            if isinstance(e, ev.OfferReleased) and e.reason == "recovery"
        }
        assert released == pending, "every offer pending at the crash is released"
        target = self.state.settings.recover_agents_as
        for a in self.state.agents.values():
            assert a.presence is (presence[a.id] if target is Presence.AVAILABLE else target)

    @rule(data=st.data(), roll=st.integers(0, 2))
    def reconfigure_settings(self, data: st.DataObject, roll: int) -> None:
        if roll:
            return  # rarer than the rest
        self.run(self.engine.configure, data.draw(SETTINGS))

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def consistent(self) -> None:
        self.steps += 1
        st_ = self.state
        self.check_statuses(st_)
        self.check_loads(st_)
        self.check_work_conserving(st_)
        self.check_terminal(st_)
        self.check_indexes(st_)
        self.check_timers(st_)
        self.check_estimates(st_)
        self.check_counts(st_)
        assert self.shadow.snapshot() == st_.snapshot(), "events do not rebuild the state"
        if self.steps % REPLAY_EVERY == 0:
            self.check_replay()

    def teardown(self) -> None:
        if self.log:
            self.check_replay()

    def check_replay(self) -> None:
        events = [ev.decode(ev.encode(e)) for e in self.log]
        rebuilt = replay(events, self.clock).state
        live = self.engine.state
        assert rebuilt.snapshot() == live.snapshot()
        assert deep(rebuilt) == deep(live)
        # the live engine has popped the timers it fired; replay keeps them (they fire as no-ops)
        assert Counter(t[:1] + t[2:] for t in live.timers) <= Counter(
            t[:1] + t[2:] for t in rebuilt.timers
        )

    def check_statuses(self, s: State) -> None:
        holders: dict[str, list[tuple[str, str]]] = {}
        for a in s.agents.values():
            for cid in a.offers:
                holders.setdefault(cid, []).append((a.id, "offer"))
            for cid in a.contacts:
                holders.setdefault(cid, []).append((a.id, "contact"))
            for cid in a.wrapups:
                assert cid in s.ended, f"{a.id} wraps up {cid}, which has not ended"
        for cid, held in holders.items():
            assert len(held) == 1, f"{cid} is held by {held}"
            assert cid in s.contacts, f"{cid} is held by {held} but is not open"
        for c in s.contacts.values():
            held = holders.get(c.id, [])
            if c.status is Status.OFFERED:
                assert held == [(c.agent, "offer")], (c.id, c.agent, held)
            elif c.status is Status.CONNECTED:
                assert held == [(c.agent, "contact")], (c.id, c.agent, held)
            else:
                assert c.status in (Status.WAITING, Status.SCHEDULED), (c.id, c.status)
                assert not held and c.agent is None, (c.id, c.status, c.agent, held)
            if c.status is Status.SCHEDULED:
                assert c.route_channel is Channel.CALLBACK and c.callback_due is not None
            if c.route_channel is Channel.CALLBACK:
                assert c.callback_number is not None

    def check_loads(self, s: State) -> None:
        for a in s.agents.values():
            load = load_of(a)
            assert {k: v for k, v in a.load.items() if v} == dict(+load), (a.id, a.load, load)
            if a.id in self.reconfigured:
                continue  # a smaller capacity does not take work away from the agent
            for ch, n in load.items():
                assert n <= a.config.capacity.get(ch, 0), (a.id, ch, n, a.config.capacity)
            if not a.config.mixing:
                assert len(+load) <= 1, (a.id, "mixes", load)

    def check_work_conserving(self, s: State) -> None:
        for c in s.contacts.values():
            if c.status is not Status.WAITING:
                continue
            for a in s.agents.values():
                if may_take(a, c) and has_room(a, c.route_channel):
                    raise AssertionError(
                        f"{a.id} is available with room on {c.route_channel} while {c.id}"
                        f" waits in {line_of(c)}"
                    )

    def check_terminal(self, s: State) -> None:
        assert self.arrived == set(s.contacts) | set(s.ended)
        assert not set(s.contacts) & set(s.ended)
        assert set(self.ended_count) == set(s.ended)
        assert all(n == 1 for n in self.ended_count.values())
        assert self.outcome == s.ended

    def check_indexes(self, s: State) -> None:
        waiting: dict[int, set[Any]] = {}
        for c in s.contacts.values():
            if c.status is Status.WAITING:
                assert c.pool is not None and s.pools.get(c.pool.key) is c.pool
                waiting.setdefault(id(c.pool), set()).add((c.route_channel, c.key))
        for pool in s.pools.values():
            inline = {(ch, k) for ch, line in pool.waiting.items() for k in line}
            n = sum(len(line) for line in pool.waiting.values())
            assert n == len(inline), f"a contact is twice in {pool.key}"
            assert inline == waiting.get(id(pool), set()), f"line of {pool.key} is wrong"
            members = {a.id for a in s.agents.values() if pool.admits(a)}
            assert set(pool.members) == members, f"members of {pool.key}"
            staffed: Counter[Channel] = Counter()
            slots: Counter[Channel] = Counter()
            for aid in members:
                a = s.agents[aid]
                if a.presence is Presence.AVAILABLE:
                    for ch, cap in a.config.capacity.items():
                        if cap:
                            staffed[ch] += 1
                            slots[ch] += cap
            assert {k: v for k, v in pool.staffed.items() if v} == dict(staffed), pool.key
            assert {k: v for k, v in pool.slots.items() if v} == dict(slots), pool.key
            for ch in Channel:
                if ch not in pool.free:  # indexed from its first contact on: none came yet
                    assert ch not in pool.waiting, f"{pool.key} has a line on {ch} but no index"
                    continue
                free = list(pool.free[ch])
                want = sorted(
                    pool.free_key(s.agents[aid]) for aid in members if has_room(s.agents[aid], ch)
                )
                assert free == want, f"free agents of {pool.key} on {ch}: {free} != {want}"

    def check_estimates(self, s: State) -> None:
        """A waiting contact's estimate, recomputed from its line and the agents themselves."""
        for c in s.contacts.values():
            if c.status is not Status.WAITING:
                continue
            assert c.pool is not None
            ch = c.route_channel
            ahead = sum(
                1
                for d in s.contacts.values()
                if d.status is Status.WAITING
                and d.pool is c.pool
                and d.route_channel is ch
                and d.key < c.key
            )
            staff = [
                a
                for a in s.agents.values()
                if c.pool.admits(a)
                and a.presence is Presence.AVAILABLE
                and a.config.capacity.get(ch, 0)
            ]
            free = sum(1 for a in staff if has_room(a, ch))
            slots = sum(a.config.capacity.get(ch, 0) for a in staff)
            aht = s.aht.get(c.queue, 180.0)
            if not slots:
                want: tuple[Any, ...] = (ahead, 0, 0, None)
            else:
                wait = 0.0 if ahead < free else (ahead + 1 - free) * aht / slots
                want = (ahead, len(staff), len(staff) - free, wait)
            est = estimate_contact(s, c)
            got = (est.ahead, est.eligible, est.busy, est.seconds)
            assert got == pytest.approx(want), f"estimate of {c.id}: {got} != {want}"

    def check_timers(self, s: State) -> None:
        pending = due_timers(s)
        now = self.clock.now
        for c in s.contacts.values():
            if c.status is Status.OFFERED:
                assert (Timer.OFFER, c.id, c.agent, c.offer_deadline) in pending, c.id
            elif c.status is Status.SCHEDULED:
                assert (Timer.CALLBACK, c.id, "", c.callback_due) in pending, c.id
            elif c.status is Status.WAITING:
                assert c.pool is not None
                if c.pool.fixed_agent is not None:
                    named = s.agents[c.pool.fixed_agent]
                    assert named.presence is Presence.AVAILABLE, (
                        f"{c.id} waits for {named.id}, who is {named.presence}"
                    )
                    if named.id not in self.reconfigured:
                        assert named.config.capacity.get(c.route_channel, 0), (
                            f"{c.id} waits for {named.id}, who takes no {c.route_channel}"
                        )
                    continue
                q = s.queues[c.queue]
                if next_step_time(q, c.rank_time, c.step, c.visited) is not None:
                    token = (c.queue, c.step)
                    assert (Timer.STEP, c.id, "", token) in pending, (
                        f"{c.id} lost its widening: {explain(s, c)}"
                    )
                if behind(s, c, now):  # allowed only until the next tick, with its timer due
                    assert any(
                        due <= now and kind is Timer.STEP and cid == c.id
                        for due, _, kind, cid, _, _ in s.timers
                    ), f"{c.id} is late for widening/overflow and nothing will catch it up"
        for a in s.agents.values():
            for cid, w in a.wrapups.items():
                assert (Timer.WRAPUP, cid, a.id, w.deadline) in pending, (a.id, cid)

    def check_counts(self, s: State) -> None:
        live: Counter[str] = Counter(
            c.queue
            for c in s.contacts.values()
            if c.status is Status.WAITING and c.route_channel is not Channel.CALLBACK
        )
        assert {q: n for q, n in s.queue_live.items() if n} == dict(live), "queue_live"
        callbacks = {
            c.callback_key: c.id for c in s.contacts.values() if c.callback_key is not None
        }
        n_keys = sum(1 for c in s.contacts.values() if c.callback_key is not None)
        assert n_keys == len(callbacks), "two open callbacks for one number and queue"
        assert s.open_callbacks == callbacks, "open-callback index"


def test_contacts_released_together_are_offered_most_urgent_first() -> None:
    """Found by the machine: an agent logs out holding two chat offers; the one freed agent
    must get the more urgent of the two, not the one that happened to be released first."""
    clock = Clock()
    e = Engine(clock)
    e.define_skill("s")
    e.configure_queue(QueueConfig(id="q", requirements={"s": 1}))
    e.configure_agent(AgentConfig(id="z", skills={"s": 5}, capacity={Channel.CHAT: 3}))
    e.configure_agent(AgentConfig(id="y", skills={"s": 5}, capacity={Channel.CHAT: 1}))
    e.set_presence("z", "available")
    low = e.arrive("q", channel="chat").contact
    clock.advance(1)
    high = e.arrive("q", channel="chat", priority=5).contact
    e.set_presence("y", "available")
    e.take()
    e.set_presence("z", "offline")
    made = [(x.contact, x.agent) for x in e.take() if isinstance(x, ev.OfferMade)]
    assert made == [(high, "y")]
    assert e.state.contacts[low].status is Status.WAITING


CoreMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=50, deadline=None)
TestCoreMachine = CoreMachine.TestCase
