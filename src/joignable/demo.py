"""The living demo: a synthetic contact center driving a real ``Center`` on a real ledger.

Customers arrive as a Poisson process whose rate follows an intraday curve scaled to what the
logged-in agents can handle, so the center runs near capacity and sometimes above it. They wait
with a patience of their own and abandon, take a callback when the estimated wait is long (virtual
hold) or book one for later. Agents answer offers after a ring, sometimes miss or refuse them,
talk for a lognormal time, transfer a few contacts, wrap up with a disposition and take breaks.

The simulation is a discrete-event loop over one heap of future actions plus the engine's own
timers. Time comes from ``SimClock``: at ``speed=None`` ("max") it jumps from event to event, and a
fixed seed on a fresh ledger gives a byte-identical ledger (no wall time, one ``random.Random``,
no iteration over hashed sets). At a finite speed the same loop is paced against the wall clock.

On an existing ledger the Center rebuilds the state from the log; the demo resumes from the last
event's time, logs the agents back in, lets the customers still waiting be served or abandon, and
adds new contacts (with new ids, from the engine).
"""

from __future__ import annotations

import heapq
import math
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from joignable.center import Center
from joignable.core import events as ev
from joignable.core.errors import DomainError
from joignable.core.model import (
    AgentConfig,
    Channel,
    Presence,
    QueueConfig,
    Settings,
    Strategy,
    WideningStep,
)
from joignable.core.state import Agent, Status
from joignable.ledger.store import EventStore, open_store

# Monday 2026-01-05 08:00 UTC: a fresh ledger's simulated day opens here, whatever the wall clock.
EPOCH = 1_767_600_000.0
DAY = 86_400.0


class SimClock:
    """The clock the engine reads: set by the simulation, never by the wall."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True, slots=True)
class DemoOptions:
    agents: int = 30
    contacts: int = 1500
    speed: float | None = 60.0  # None: as fast as possible on a simulated clock
    seed: int = 1


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """How the synthetic customers of one queue behave (the queue's routing is in ``queues()``)."""

    weight: float  # share of arrivals
    chat_share: float
    talk: float  # median voice handle time, seconds
    chat: float  # median chat handle time
    dispositions: tuple[str, ...]


SPECS: dict[str, QueueSpec] = {
    "billing": QueueSpec(0.35, 0.35, 150.0, 240.0, ("resolved", "refund", "payment_plan", "info")),
    "tech": QueueSpec(0.30, 0.30, 220.0, 330.0, ("resolved", "escalated", "follow_up", "howto")),
    "sales": QueueSpec(0.20, 0.40, 180.0, 270.0, ("sale", "no_sale", "quote_sent", "info")),
    "french": QueueSpec(0.15, 0.25, 170.0, 260.0, ("resolved", "follow_up", "info")),
}
DEFAULT_SPEC = QueueSpec(1.0, 0.3, 180.0, 270.0, ("resolved", "info"))

# Arrival rate relative to capacity by hour of day (piecewise linear): quiet nights, a morning
# peak a little above capacity, a lunch dip, a second peak.
LOAD_CURVE: tuple[tuple[float, float], ...] = (
    (0, 0.15),
    (6, 0.2),
    (7, 0.45),
    (8, 0.7),
    (9, 0.92),
    (10, 1.08),
    (11, 1.12),
    (12, 0.8),
    (13, 0.85),
    (14, 1.02),
    (15, 1.05),
    (16, 0.9),
    (17, 0.75),
    (18, 0.55),
    (20, 0.35),
    (22, 0.2),
    (24, 0.15),
)
PEAK_LOAD = max(v for _, v in LOAD_CURVE)

NAMES = (
    "Ana", "Bruno", "Chloé", "Driss", "Emma", "Farid", "Gaëlle", "Hugo", "Inès", "Jules", "Karim",
    "Léa", "Malik", "Nora", "Omar", "Paula", "Quentin", "Rosa", "Sami", "Théo", "Ursula", "Victor",
    "Wendy", "Xavier", "Yasmine", "Zoé",
)  # fmt: skip

SETTINGS = Settings(
    offer_timeout=15.0, wrapup_limit=45.0, callback_max_attempts=3, callback_retry_delay=240.0
)
MISS = 0.03  # an agent lets an offer ring out
REJECT = 0.015
TRANSFER = 0.035
NOT_REACHED = 0.15  # a callback nobody picks up
FORGET_WRAPUP = 0.04  # the wrap-up runs into its limit
VIRTUAL_HOLD = 0.5  # takes the callback when offered one
SCHEDULED = 0.03  # books a callback for later instead of calling now
STALL = DAY  # no contact ended for this long after the last arrival: nobody can take the rest


def skills() -> list[str]:
    return list(SPECS)


def queues() -> list[QueueConfig]:
    """Four queues with widening; french overflows to billing. Every queue's last step lowers
    its levels to 1, and every demo agent has every skill at 1 or more, so nobody waits forever."""
    last = WideningStep(after=300.0, lower_levels_by=10)
    return [
        QueueConfig(
            id="billing",
            name="Billing",
            requirements={"billing": 4},
            widening=[
                WideningStep(after=30.0, lower_levels_by=2),
                WideningStep(after=90.0, also_accept=[{"sales": 6}]),
                last,
            ],
            callback_offer_after=120.0,
            default_aht=180.0,
        ),
        QueueConfig(
            id="tech",
            name="Technical support",
            requirements={"tech": 5},
            strategy=Strategy.MOST_SKILLED,
            widening=[
                WideningStep(after=45.0, lower_levels_by=2),
                WideningStep(after=120.0, also_accept=[{"billing": 7}]),
                last,
            ],
            callback_offer_after=150.0,
            sl_threshold=30.0,
            default_aht=260.0,
        ),
        QueueConfig(
            id="sales",
            name="Sales",
            requirements={"sales": 3},
            priority=1,
            widening=[WideningStep(after=45.0, lower_levels_by=1), last],
            callback_offer_after=90.0,
            default_aht=200.0,
        ),
        QueueConfig(
            id="french",
            name="Français",
            requirements={"french": 4},
            widening=[
                WideningStep(after=60.0, lower_levels_by=2),
                WideningStep(after=150.0, overflow_to="billing"),
                last,
            ],
            callback_offer_after=120.0,
            sl_threshold=30.0,
            default_aht=190.0,
        ),
    ]


def agent_configs(n: int, rng: random.Random, names: list[str] | None = None) -> list[AgentConfig]:
    """``n`` agents: one primary skill (high level), two secondary, the rest at 1; a mix of voice,
    chat (three at a time) and blended agents. The first ones cover every skill and channel."""
    names = names or list(SPECS)
    weights = [SPECS.get(q, DEFAULT_SPEC).weight for q in names]
    width = max(2, len(str(n)))
    out = []
    for i in range(n):
        primary = names[i] if i < len(names) else rng.choices(names, weights)[0]
        levels = {q: 1 for q in names}
        levels[primary] = rng.randint(6, 9)
        others = [q for q in names if q != primary]
        for q in rng.sample(others, min(2, len(others))):
            levels[q] = rng.randint(3, 6)
        kind = "blended" if i == 0 else rng.choices(["voice", "chat", "blended"], [45, 25, 30])[0]
        if kind == "voice":
            capacity = {Channel.VOICE: 1, Channel.CALLBACK: 1}
        elif kind == "chat":
            capacity = {Channel.CHAT: 3}
        else:
            capacity = {Channel.VOICE: 1, Channel.CALLBACK: 1, Channel.CHAT: 3}
        name = NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else f" {i // len(NAMES) + 1}")
        out.append(
            AgentConfig(id=f"a{i + 1:0{width}d}", name=name, skills=levels, capacity=capacity)
        )
    return out


def load_factor(at: float) -> float:
    hour = (at % DAY) / 3600.0
    for (h0, v0), (h1, v1) in zip(LOAD_CURVE, LOAD_CURVE[1:], strict=False):
        if h0 <= hour <= h1:
            return v0 + (v1 - v0) * (hour - h0) / (h1 - h0)
    return LOAD_CURVE[-1][1]


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def last_event_time(store: EventStore) -> float | None:
    last = store.last_seq()
    for _, event in store.read(last, last):
        return event.at
    return None


@dataclass(slots=True)
class Counters:
    arrivals: int = 0
    scheduled_callbacks: int = 0
    virtual_holds: int = 0
    abandons: int = 0
    transfers: int = 0
    misses: int = 0
    rejects: int = 0
    breaks: int = 0
    refused: int = 0  # commands the engine refused (a race the simulation lost): none expected
    commands: int = 0


Action = tuple[float, int, str, tuple[Any, ...]]


@dataclass
class World:
    """The synthetic customers and agents around one Center."""

    center: Center
    clock: SimClock
    rng: random.Random
    contacts_to_add: int
    resumed: bool = False
    db: str = ""
    opened_at_seq: int = 0  # the last seq in the log before this run (and its recovery)
    listeners: list[Callable[[ev.Event], None]] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    actions: list[Action] = field(default_factory=list)
    waiting: dict[str, float] = field(default_factory=dict)  # customers who may still hang up
    transferred: dict[str, None] = field(default_factory=dict)
    inbox: list[ev.Event] = field(default_factory=list)
    batch: int = 0  # commands since the last group-commit wait (speed max)
    paced: bool = False  # against the wall clock (a finite speed)
    start: float = 0.0
    capacity: float = 1.0  # contacts per second the agents can take (for the arrival rate)
    last_end: float = 0.0  # when a contact last ended (or arrived), to notice a stalled run
    _n: int = 0

    def __post_init__(self) -> None:
        # The simulation reacts to the events each command emits (offers to answer, wrap-ups to
        # close). Center's listeners run after the write, in the writer thread, which would make
        # the simulation depend on thread timing; reading them as the engine hands them to the
        # Center keeps the run deterministic.
        engine = self.center.engine
        original = engine.take

        def take() -> list[ev.Event]:
            out = original()
            self.inbox.extend(out)
            return out

        engine.take = take  # type: ignore[method-assign]
        self.start = self.clock.now

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def state(self) -> Any:
        return self.center.engine.state

    def later(self, delay: float, kind: str, *args: Any) -> None:
        self._n += 1
        heapq.heappush(self.actions, (self.clock.now + max(0.0, delay), self._n, kind, args))

    def submit(self, command: str, *args: Any, **kwargs: Any) -> Any:
        try:
            result, _ = self.center.submit(command, *args, **kwargs)
        except DomainError:
            self.counters.refused += 1
            result = None
        self.counters.commands += 1
        self.batch += 1
        self.drain()
        return result

    def tick(self) -> None:
        """Let engine timers fire. Paced, through ``Center.tick``, whose watchdog also checks the
        quiet time; at full speed as a plain command, committed with the rest of its batch."""
        if self.paced:
            self.center.tick()
            self.counters.commands += 1
            self.drain()
        else:
            self.submit("tick")

    def group_commit(self, every: int = 1000) -> None:
        """At full speed, wait for durability once every ``every`` commands, for all of them.

        Waiting for everything (rather than overlapping with the next batch) measured faster:
        while the simulation waits, the writer thread has the interpreter to itself instead of
        fighting for the GIL around each row it stores.
        """
        if self.batch >= every:
            self.flush()

    def flush(self) -> None:
        self.center.wait_durable(self.center.seq)
        self.batch = 0

    def drain(self) -> None:
        while self.inbox:
            events, self.inbox = self.inbox, []
            for e in events:
                for listener in self.listeners:
                    listener(e)
                self.react(e)

    # -- setting up --------------------------------------------------------------------------

    def setup(self, agents: int) -> None:
        st = self.state
        if not st.queues:  # a fresh ledger (a ledger of another center keeps its own world)
            self.submit("configure", SETTINGS)
            for s in skills():
                self.submit("define_skill", s, s.capitalize())
            for q in queues():
                self.submit("configure_queue", q)
        if not st.agents:
            for a in agent_configs(agents, self.rng, list(st.skills)):
                self.submit("configure_agent", a)
        self.capacity = self.estimate_capacity()
        # Agents log in (back) over the first minute; the center opens with whoever is there.
        for aid in st.agents:
            self.later(self.rng.uniform(0.0, 60.0), "login", aid)
        if self.resumed:
            self.adopt_open_contacts()
        if self.contacts_to_add > 0:
            self.later(0.0, "arrival")

    def estimate_capacity(self) -> float:
        """Contacts per second the agents can take on average, breaks and rings included.

        Voice is the scarce channel (an agent on chats takes no call), so the arrival rate is
        set by whichever channel saturates first given the customers' channel mix.
        """
        voice = chat = 0.0
        for agent in self.state.agents.values():
            cap = agent.config.capacity
            v = 1.0 / 240.0 if cap.get(Channel.VOICE) else 0.0
            c = cap.get(Channel.CHAT, 0) / 335.0
            share = 0.5 if v and c else 1.0  # a blended agent splits its day
            voice += v * share
            chat += c * share
        weights = [SPECS.get(q, DEFAULT_SPEC) for q in self.state.queues] or [DEFAULT_SPEC]
        chat_share = sum(w.weight * w.chat_share for w in weights) / sum(w.weight for w in weights)
        limits = [voice / (1.0 - chat_share)] + ([chat / chat_share] if chat_share else [])
        return max(min(limits) * 0.85, 1e-3)

    def adopt_open_contacts(self) -> None:
        """After a restart: customers still waiting may hang up; conversations cut by the crash
        are finished by their agents; wrap-ups are closed."""
        st = self.state
        for c in st.contacts.values():
            if c.status in (Status.WAITING, Status.OFFERED) and c.callback_number is None:
                self.waiting[c.id] = self.clock.now
                self.later(self.patience(c.channel), "abandon", c.id)
            elif c.status is Status.CONNECTED and c.agent is not None:
                self.later(self.rng.uniform(5.0, 60.0), "end", c.agent, c.id, c.accepted_at)
        for agent in st.agents.values():
            for cid in agent.wrapups:
                self.later(self.rng.uniform(2.0, 20.0), "wrapup", agent.id, cid)

    # -- the loop ----------------------------------------------------------------------------

    def done(self) -> bool:
        st = self.state
        if self.contacts_to_add > 0 or st.contacts:
            return False
        return not any(a.wrapups or a.load_any() for a in st.agents.values())

    def next_time(self) -> float | None:
        t_timer = self.center.engine.next_timer()
        t = min(self.actions[0][0] if self.actions else math.inf, t_timer or math.inf)
        return None if t == math.inf else t

    def step(self) -> bool:
        """Run the next action or engine timer. False when the run is over."""
        if self.done():
            return False
        t_action = self.actions[0][0] if self.actions else math.inf
        t_timer = self.center.engine.next_timer()
        if t_timer is None:
            t_timer = math.inf
        t = min(t_action, t_timer)
        if t == math.inf or (self.contacts_to_add <= 0 and t > self.last_end + STALL):
            return False  # nothing left that could close the open contacts: the audit says so
        self.clock.now = max(self.clock.now, t)
        if t_timer <= t_action:
            self.tick()
        else:
            _, _, kind, args = heapq.heappop(self.actions)
            getattr(self, "on_" + kind)(*args)
        return True

    def finish(self) -> None:
        """Everyone logs out at the end of the run."""
        for aid, agent in self.state.agents.items():
            if agent.presence is not Presence.OFFLINE:
                self.submit("set_presence", aid, Presence.OFFLINE, "end_of_run")
        self.flush()

    # -- reactions to what the center did ----------------------------------------------------

    def react(self, e: ev.Event) -> None:
        rng = self.rng
        if isinstance(e, ev.OfferMade):
            x = rng.random()
            if x < MISS:
                self.counters.misses += 1  # lets it ring: the offer's deadline releases it
            elif x < MISS + REJECT:
                self.later(rng.uniform(2.0, 6.0), "reject", e.agent, e.contact, e.deadline)
            else:
                ring = rng.uniform(1.0, 4.0) if e.channel is Channel.CHAT else rng.uniform(2.0, 7.0)
                self.later(ring, "accept", e.agent, e.contact, e.deadline)
        elif isinstance(e, ev.OfferAccepted):
            self.waiting.pop(e.contact, None)
            c = self.state.contacts.get(e.contact)
            if c is not None:
                self.later(self.handle_time(c.queue, c.route_channel), "end", e.agent, c.id, e.at)
        elif isinstance(e, ev.WrapupStarted):
            if rng.random() >= FORGET_WRAPUP:
                wrap = min(lognormal(rng, 12.0, 0.6), SETTINGS.wrapup_limit - 1.0)
                self.later(wrap, "wrapup", e.agent, e.contact)
        elif isinstance(e, ev.ContactEnded):
            self.waiting.pop(e.contact, None)
            self.last_end = e.at
        elif isinstance(e, ev.CallbackRequested):
            self.waiting.pop(e.contact, None)
        elif isinstance(e, ev.ContactArrived):
            self.last_end = e.at
        elif (
            isinstance(e, ev.PresenceChanged)
            and e.presence is Presence.AWAY
            and e.reason in ("missed_offers", "disconnected")
        ):
            self.later(rng.uniform(30.0, 120.0), "comeback", e.agent)

    # -- customers ---------------------------------------------------------------------------

    def patience(self, channel: Channel) -> float:
        rng = self.rng
        if channel is Channel.CHAT:
            return rng.expovariate(1 / 420.0)
        if rng.random() < 0.5:
            return rng.expovariate(1 / 200.0)
        return lognormal(rng, 150.0, 0.8)

    def handle_time(self, queue: str, channel: Channel) -> float:
        spec = SPECS.get(queue, DEFAULT_SPEC)
        if channel is Channel.CHAT:
            return max(20.0, lognormal(self.rng, spec.chat, 0.5))
        return max(15.0, lognormal(self.rng, spec.talk, 0.55))

    def number(self) -> str:
        return f"+3315{self.rng.randrange(10**7):07d}"

    def on_arrival(self) -> None:
        rng = self.rng
        names = list(self.state.queues)
        queue = rng.choices(names, [SPECS.get(q, DEFAULT_SPEC).weight for q in names])[0]
        spec = SPECS.get(queue, DEFAULT_SPEC)
        customer = f"cust{rng.randrange(100_000):05d}"
        self.contacts_to_add -= 1
        if rng.random() < SCHEDULED:
            due = math.ceil((self.clock.now + rng.uniform(600.0, 2400.0)) / 60.0) * 60.0
            self.submit("schedule_callback", queue, self.number(), due, customer)
            self.counters.scheduled_callbacks += 1
        else:
            channel = Channel.CHAT if rng.random() < spec.chat_share else Channel.VOICE
            res = self.submit("arrive", queue, channel, customer)
            self.counters.arrivals += 1
            if res is not None and res.contact in self.state.contacts:
                self.waiting[res.contact] = self.clock.now
                self.later(self.patience(channel), "abandon", res.contact)
                if res.callback_offered and rng.random() < VIRTUAL_HOLD:
                    self.later(rng.uniform(4.0, 12.0), "virtual_hold", res.contact)
        if self.contacts_to_add > 0:
            self.schedule_arrival()

    def schedule_arrival(self) -> None:
        # Non-homogeneous Poisson process by thinning: candidates at the peak rate, each kept
        # with probability rate(t) / peak.
        peak = PEAK_LOAD * self.capacity
        t = self.clock.now
        while True:
            t += self.rng.expovariate(peak)
            if self.rng.random() * PEAK_LOAD <= load_factor(t):
                break
        self.later(t - self.clock.now, "arrival")

    def on_abandon(self, cid: str) -> None:
        if cid not in self.waiting:
            return
        c = self.state.contacts.get(cid)
        if (
            c is not None
            and c.status in (Status.WAITING, Status.OFFERED)
            and cid not in self.transferred
        ):
            self.submit("abandon", cid)
            self.counters.abandons += 1

    def on_virtual_hold(self, cid: str) -> None:
        c = self.state.contacts.get(cid)
        if (
            cid in self.waiting
            and c is not None
            and c.status is Status.WAITING
            and self.submit("request_callback", cid, self.number())
        ):
            self.counters.virtual_holds += 1

    # -- agents ------------------------------------------------------------------------------

    def _offered(self, aid: str, cid: str, deadline: float) -> bool:
        c = self.state.contacts.get(cid)
        return (
            c is not None
            and c.status is Status.OFFERED
            and c.agent == aid
            and c.offer_deadline == deadline
        )

    def on_accept(self, aid: str, cid: str, deadline: float) -> None:
        if self._offered(aid, cid, deadline):
            self.submit("accept", aid, cid)

    def on_reject(self, aid: str, cid: str, deadline: float) -> None:
        if self._offered(aid, cid, deadline):
            self.submit("reject", aid, cid)
            self.counters.rejects += 1

    def on_end(self, aid: str, cid: str, accepted_at: float | None) -> None:
        c = self.state.contacts.get(cid)
        if c is None or c.status is not Status.CONNECTED or c.agent != aid:
            return
        if c.accepted_at != accepted_at:
            return  # answered again since (after a transfer): that answer has its own end
        rng = self.rng
        if c.route_channel is Channel.CALLBACK:
            if rng.random() < NOT_REACHED:
                self.submit("callback_not_reached", aid, cid)
                return
        elif rng.random() < TRANSFER and cid not in self.transferred:
            self.transferred[cid] = None
            self.counters.transfers += 1
            target = self.transfer_target(aid, c.route_channel)
            if target is not None and rng.random() < 0.3:
                self.submit("transfer", aid, cid, None, target)
            else:
                others = [q for q in self.state.queues if q != c.queue] or [c.queue]
                self.submit("transfer", aid, cid, rng.choice(others))
            return
        self.submit("complete", aid, cid)

    def transfer_target(self, aid: str, channel: Channel) -> str | None:
        free = [
            a.id
            for a in self.state.agents.values()
            if a.id != aid and a.presence is Presence.AVAILABLE and a.config.capacity.get(channel)
        ]
        return self.rng.choice(free) if free else None

    def on_wrapup(self, aid: str, cid: str) -> None:
        agent: Agent = self.state.agents[aid]
        w = agent.wrapups.get(cid)
        if w is None:
            return  # the wrap-up limit closed it first
        spec = SPECS.get(w.queue, DEFAULT_SPEC)
        self.submit("end_wrapup", aid, cid, self.rng.choice(spec.dispositions))

    def on_login(self, aid: str) -> None:
        if self.state.agents[aid].presence is not Presence.AVAILABLE:
            self.submit("set_presence", aid, Presence.AVAILABLE, "login")
        self.later(self.rng.expovariate(1 / 5400.0), "break", aid)

    def on_break(self, aid: str) -> None:
        agent: Agent = self.state.agents[aid]
        if agent.presence is not Presence.AVAILABLE:
            self.later(300.0, "break", aid)
        elif agent.offers or agent.contacts or agent.wrapups:
            self.later(20.0, "break", aid)  # finishes the contact first
        else:
            self.submit("set_presence", aid, Presence.AWAY, "break")
            self.counters.breaks += 1
            long = self.rng.random() < 0.15
            self.later(lognormal(self.rng, 1800.0 if long else 480.0, 0.3), "back", aid)

    def on_back(self, aid: str) -> None:
        agent: Agent = self.state.agents[aid]
        if agent.presence is Presence.AWAY and agent.reason == "break":
            self.submit("set_presence", aid, Presence.AVAILABLE, "back")
        self.later(self.rng.expovariate(1 / 5400.0), "break", aid)

    def on_comeback(self, aid: str) -> None:
        agent: Agent = self.state.agents[aid]
        if agent.presence is Presence.AWAY and agent.reason in ("missed_offers", "disconnected"):
            self.submit("set_presence", aid, Presence.AVAILABLE, "back")


@dataclass
class DemoRun:
    """What a finished run reports."""

    db: str
    options: DemoOptions
    resumed: bool
    started_at: float
    ended_at: float
    seq_before: int  # the last seq in the log before this run; the run appended the rest
    last_seq: int
    wall_seconds: float
    counters: Counters
    interrupted: bool = False


Display = Callable[[World, bool], None]  # (world, final) -> None; called now and then


def open_world(db: str, options: DemoOptions) -> World:
    """Open (or create) the ledger, recover the Center and set up the synthetic world."""
    store = open_store(db)
    opened_at_seq = store.last_seq()
    last_at = last_event_time(store)
    resumed = last_at is not None
    clock = SimClock(last_at if last_at is not None else EPOCH)
    try:
        center = Center(store, clock, watchdog=_watchdog_available())
    except BaseException:
        store.close()
        raise
    # A resumed run draws a different sequence from the same seed, still deterministic.
    seed: Any = options.seed if not resumed else f"{options.seed}/{center.seq}"
    world = World(
        center,
        clock,
        random.Random(seed),
        options.contacts,
        resumed=resumed,
        db=db,
        opened_at_seq=opened_at_seq,
    )
    return world


def _watchdog_available() -> bool:
    try:
        import joignable.ledger.audit  # noqa: F401
    except ImportError:
        return False
    return True


def run(
    world: World, options: DemoOptions, display: Display | None = None, every: float = 0.2
) -> DemoRun:
    """Drive the world to the end. ``display`` is called at most every ``every`` wall seconds.

    Ctrl-C stops between two commands (never inside one), flushes the ledger and returns; the
    next run on the same ledger carries on from there.
    """
    wall0 = time.monotonic()
    stop: list[bool] = []
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    try:
        world.paced = options.speed is not None
        world.setup(options.agents)
        speed = options.speed
        sim0 = world.clock.now
        next_show = 0.0
        steps = 0
        while not stop:
            if speed is not None:
                # Paced: wait for the wall clock to reach the next simulated moment, committing
                # and redrawing meanwhile.
                t = world.next_time()
                while t is not None and not stop:
                    lag = wall0 + (t - sim0) / speed - time.monotonic()
                    if lag <= 0:
                        break
                    world.flush()
                    if display is not None and time.monotonic() >= next_show:
                        display(world, False)
                        next_show = time.monotonic() + every
                    time.sleep(min(lag, every))
            if stop or not world.step():
                break
            world.group_commit()
            steps += 1
            if display is not None and steps % 64 == 0 and time.monotonic() >= next_show:
                display(world, False)
                next_show = time.monotonic() + every
        if not stop:
            world.finish()
        world.flush()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if display is not None:
        display(world, True)
    return DemoRun(
        db=world.db,
        options=options,
        resumed=world.resumed,
        started_at=world.start,
        ended_at=world.clock.now,
        seq_before=world.opened_at_seq,
        last_seq=world.center.seq,
        wall_seconds=time.monotonic() - wall0,
        counters=world.counters,
        interrupted=bool(stop),
    )
