"""A synthetic contact center and a traffic driver shared by the benchmarks.

Everything is drawn from one seeded ``random.Random``, so a run is reproducible: the same seed and
sizes give the same commands, hence the same events.

The center: ``skills`` skills, ``queues`` queues each requiring 1-2 skills at levels 1-5 (mixed
channels: voice, chat, e-mail; some queues widen after a wait, some overflow, strategies mixed),
and ``agents`` agents. Each agent is staffed for one or two "home" queues (it has their skills at
the required level or better) and has 0-2 more skills at random levels, so every queue has agents
and most agents serve several lines. Arrivals pick a queue in proportion to its staff.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from joignable.core import events as ev
from joignable.core.engine import Engine
from joignable.core.errors import DomainError
from joignable.core.model import (
    AgentConfig,
    Channel,
    QueueConfig,
    Settings,
    Strategy,
    WideningStep,
)

T0 = 1_700_000_000.0  # the simulated clock starts here (a Tuesday, 22:13 UTC)


class Clock:
    """A clock the driver moves by hand (the engine is pure: time is injected)."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Layout:
    settings: Settings
    skills: list[str]
    queues: list[QueueConfig]
    agents: list[AgentConfig]
    weights: list[float]  # arrival weight per queue (its staff)
    channel_of: dict[str, Channel]  # each queue's channel


CHANNEL_CAPACITY: dict[Channel, dict[Channel, int]] = {
    Channel.VOICE: {Channel.VOICE: 1, Channel.CALLBACK: 1},
    Channel.CHAT: {Channel.CHAT: 3},
    Channel.EMAIL: {Channel.EMAIL: 2, Channel.VOICE: 1, Channel.CALLBACK: 1},
}


def build_layout(
    rng: random.Random, *, agents: int = 5000, queues: int = 200, skills: int = 50
) -> Layout:
    skill_ids = [f"s{i:02d}" for i in range(skills)]
    qs: list[QueueConfig] = []
    strategies = [Strategy.LONGEST_IDLE] * 7 + [
        Strategy.MOST_SKILLED,
        Strategy.LEAST_OCCUPIED,
        Strategy.ROUND_ROBIN,
    ]
    for i in range(queues):
        req = {s: rng.randint(1, 5) for s in rng.sample(skill_ids, rng.choice((1, 1, 2)))}
        widening: list[WideningStep] = []
        r = rng.random()
        if r < 0.3:
            widening.append(WideningStep(after=60.0, lower_levels_by=2))
        elif r < 0.4 and qs:
            widening.append(WideningStep(after=120.0, overflow_to=rng.choice(qs).id))
        qs.append(
            QueueConfig(
                id=f"q{i:03d}",
                requirements=req,
                strategy=rng.choice(strategies),
                widening=widening,
                default_aht=120.0,
            )
        )
    channel_of = {q.id: rng.choices(list(CHANNEL_CAPACITY), (60, 25, 15))[0] for q in qs}
    staff = dict.fromkeys(channel_of, 0)
    ags: list[AgentConfig] = []
    for i in range(agents):
        homes = rng.sample(qs, rng.choice((1, 1, 2)))
        sk: dict[str, int] = {}
        for q in homes:
            for s, lvl in q.requirements.items():
                sk[s] = max(sk.get(s, 0), rng.randint(lvl, 10))
        for s in rng.sample(skill_ids, rng.randint(0, 2)):
            sk.setdefault(s, rng.randint(1, 10))
        cap = CHANNEL_CAPACITY[channel_of[homes[0].id]]
        ags.append(AgentConfig(id=f"a{i:04d}", skills=sk, capacity=dict(cap)))
        for q in homes:
            staff[q.id] += 1
    settings = Settings(offer_timeout=20.0, wrapup_limit=60.0)
    weights = [float(staff[q.id] or 1) for q in qs]
    return Layout(settings, skill_ids, qs, ags, weights, channel_of)


def configure(engine: Engine, layout: Layout) -> None:
    """Define everything, then log every agent in (nobody is waiting yet)."""
    engine.configure(layout.settings)
    for s in layout.skills:
        engine.define_skill(s)
    for q in layout.queues:
        engine.configure_queue(q)
    for a in layout.agents:
        engine.configure_agent(a)
    for a in layout.agents:
        engine.set_presence(a.id, "available")


class Bag:
    """A set with O(1) add, remove and uniform random pick (for the driver, not the engine)."""

    __slots__ = ("items", "pos")

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.pos: dict[Any, int] = {}

    def __len__(self) -> int:
        return len(self.items)

    def add(self, x: Any) -> None:
        if x not in self.pos:
            self.pos[x] = len(self.items)
            self.items.append(x)

    def discard(self, x: Any) -> None:
        i = self.pos.pop(x, None)
        if i is None:
            return
        last = self.items.pop()
        if i < len(self.items):
            self.items[i] = last
            self.pos[last] = i

    def pick(self, rng: random.Random) -> Any:
        return self.items[int(rng.random() * len(self.items))]


@dataclass
class Tally:
    commands: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    arrived: int = 0
    ended: dict[str, int] = field(default_factory=dict)


class Driver:
    """Drives an engine with a steady, seeded stream of commands.

    It knows only what the events told it (like an agent desktop and a channel would): contacts
    waiting, offers to answer, conversations to complete, wrap-ups to end, agents set away. Each
    step picks one command: resolve an offer (3 % rejected), a new arrival whenever fewer than
    ``max_waiting`` contacts wait (so every agent who can be busy is, and a line remains), else an
    abandon, a completion or the end of a wrap-up.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        layout: Layout,
        rng: random.Random,
        *,
        max_waiting: int = 400,
        dt: float = 0.02,
    ) -> None:
        self.engine, self.clock, self.layout, self.rng = engine, clock, layout, rng
        self.max_waiting = max_waiting
        self.dt = dt
        self.waiting = Bag()  # contacts
        self.offers = Bag()  # (contact, agent)
        self.connected = Bag()  # (contact, agent)
        self.wrapups = Bag()  # (agent, contact)
        self.away = Bag()  # agents
        self.offer_of: dict[str, tuple[str, str]] = {}
        self.conn_of: dict[str, tuple[str, str]] = {}
        self.tally = Tally()
        self.queue_ids = [q.id for q in layout.queues]
        self.cum_weights: list[float] = []
        acc = 0.0
        for w in layout.weights:
            acc += w
            self.cum_weights.append(acc)
        self.channel_of = layout.channel_of
        self._on = {
            ev.ContactArrived: self._arrived,
            ev.OfferMade: self._offer_made,
            ev.OfferAccepted: self._accepted,
            ev.OfferReleased: self._released,
            ev.ContactEnded: self._ended,
            ev.WrapupStarted: self._wrap_started,
            ev.WrapupEnded: self._wrap_ended,
            ev.PresenceChanged: self._presence,
        }
        self.n = 0

    def reset_counts(self) -> None:
        """Forget the per-type counts (after a warm-up); the arrival count keeps running."""
        self.tally.commands.clear()
        self.tally.events.clear()
        self.tally.ended.clear()
        self.tally.refused = 0

    # -- what the events say -------------------------------------------------------------------

    def observe(self, events: list[ev.Event]) -> None:
        tally = self.tally.events
        on = self._on
        for e in events:
            t = type(e)
            name = t.__name__
            tally[name] = tally.get(name, 0) + 1
            h = on.get(t)
            if h is not None:
                h(e)

    def _arrived(self, e: Any) -> None:
        self.tally.arrived += 1
        self.waiting.add(e.contact)

    def _offer_made(self, e: Any) -> None:
        self.waiting.discard(e.contact)
        pair = (e.contact, e.agent)
        self.offer_of[e.contact] = pair
        self.offers.add(pair)

    def _accepted(self, e: Any) -> None:
        pair = self.offer_of.pop(e.contact)
        self.offers.discard(pair)
        self.conn_of[e.contact] = pair
        self.connected.add(pair)

    def _released(self, e: Any) -> None:
        pair = self.offer_of.pop(e.contact, None)
        if pair is not None:
            self.offers.discard(pair)
        self.waiting.add(e.contact)  # back in line (ContactEnded follows when it ends)

    def _ended(self, e: Any) -> None:
        self.waiting.discard(e.contact)
        pair = self.offer_of.pop(e.contact, None)
        if pair is not None:
            self.offers.discard(pair)
        pair = self.conn_of.pop(e.contact, None)
        if pair is not None:
            self.connected.discard(pair)
        ended = self.tally.ended
        ended[e.outcome.value] = ended.get(e.outcome.value, 0) + 1

    def _wrap_started(self, e: Any) -> None:
        self.wrapups.add((e.agent, e.contact))

    def _wrap_ended(self, e: Any) -> None:
        self.wrapups.discard((e.agent, e.contact))

    def _presence(self, e: Any) -> None:
        if e.presence == "available":
            self.away.discard(e.agent)
        else:
            self.away.add(e.agent)

    # -- what to do next -----------------------------------------------------------------------

    def next_command(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        """The next command as (method name, args, kwargs)."""
        rng = self.rng
        r = rng.random()
        if self.offers and r < 0.50:
            contact, agent = self.offers.pick(rng)
            return ("reject" if rng.random() < 0.03 else "accept"), (agent, contact), {}
        r = rng.random()
        if self.away and r < 0.02:
            return "set_presence", (self.away.pick(rng), "available"), {}
        if len(self.waiting) < self.max_waiting:
            return self._arrival()
        if r < 0.04:
            return "abandon", (self.waiting.pick(rng),), {}
        if r < 0.52 and self.connected:
            contact, agent = self.connected.pick(rng)
            return "complete", (agent, contact), {}
        if self.wrapups:
            agent, contact = self.wrapups.pick(rng)
            return "end_wrapup", (agent, contact), {"disposition": "ok"}
        if self.connected:
            contact, agent = self.connected.pick(rng)
            return "complete", (agent, contact), {}
        return self._arrival()

    def _arrival(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        rng = self.rng
        x = rng.random() * self.cum_weights[-1]
        lo, hi = 0, len(self.cum_weights) - 1
        while lo < hi:  # bisect on the cumulative weights
            mid = (lo + hi) // 2
            if self.cum_weights[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        q = self.queue_ids[lo]
        channel = self.channel_of[q]
        kw: dict[str, Any] = {"channel": channel}
        if channel is Channel.VOICE and rng.random() < 0.05:
            kw = {
                "channel": Channel.CALLBACK,
                "callback_number": f"+3361{rng.randrange(10**7):07d}",
            }
        if rng.random() < 0.05:
            kw["priority"] = 5
        return "arrive", (q,), kw

    def steps(
        self, n: int
    ) -> Iterator[tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any]]]:
        """Yield ``n`` commands ready to call; the caller calls, then ``observe``s the events."""
        engine = self.engine
        commands = self.tally.commands
        for _ in range(n):
            self.clock.now += self.dt
            name, args, kwargs = self.next_command()
            commands[name] = commands.get(name, 0) + 1
            yield name, getattr(engine, name), args, kwargs

    def run(self, n: int, sink: Callable[[list[ev.Event]], None] | None = None) -> None:
        """Run ``n`` commands without timing them (warm-up, ledger generation)."""
        take = self.engine.take
        for _name, fn, args, kwargs in self.steps(n):
            try:
                fn(*args, **kwargs)
            except DomainError:
                self.tally.refused += 1
            events = take()
            self.observe(events)
            if sink is not None:
                sink(events)


def conservation(engine: Engine, arrived: int) -> dict[str, Any]:
    """Nothing lost: every contact that arrived is open or ended once; routing is work-conserving.

    Work conservation: no line has a waiting contact while a free agent of that line, on that
    channel, sits idle.
    """
    st = engine.state
    open_, ended = len(st.contacts), len(st.ended)
    idle_with_work = sum(
        1 for p in st.pools.values() for ch, line in p.waiting.items() if line and p.free.get(ch)
    )
    free_agents = sum(1 for a in st.agents.values() if a.free_channels)
    waiting = sum(p.waiting_count() for p in st.pools.values())
    return {
        "arrived": arrived,
        "open": open_,
        "ended": ended,
        "lost": arrived - open_ - ended,
        "waiting": waiting,
        "free_agents": free_agents,
        "idle_with_work": idle_with_work,
    }


def percentile(sorted_values: list[int], p: float) -> int:
    if not sorted_values:
        return 0
    i = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values))) - 1))
    return sorted_values[i]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "core": core_build(),
        "date": time.strftime("%Y-%m-%d"),
    }


def core_build() -> str:
    """``compiled`` when the routing core runs as mypyc C extensions (``make bench`` builds it
    so), ``interpreted`` when it runs from its Python source (``pip install -e .``)."""
    from joignable.core import engine, state

    so = (".so", ".pyd")
    return (
        "compiled"
        if state.__file__.endswith(so) and engine.__file__.endswith(so)
        else "interpreted"
    )


def bench_main(
    argv: list[str] | None,
    doc: str | None,
    run: Callable[..., dict[str, Any]],
    fmt: Callable[[dict[str, Any]], str],
    quick: dict[str, Any],
    options: Callable[[argparse.ArgumentParser], None] | None = None,
    kwargs: Callable[[argparse.Namespace], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The command line every benchmark module shares: ``--quick`` (the sizes in ``quick``),
    ``--json``, ``--seed``, plus the module's own ``options``, turned into ``run`` arguments by
    ``kwargs`` (applied after the quick sizes, so an explicit option wins)."""
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--quick", action="store_true", help="small sizes: a sanity check")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--seed", type=int, default=42)
    if options is not None:
        options(p)
    a = p.parse_args(argv)
    kw: dict[str, Any] = {"seed": a.seed}
    if a.quick:
        kw.update(quick)
    if kwargs is not None:
        kw.update(kwargs(a))
    res = run(**kw)
    print(json.dumps(res, indent=2) if a.json else fmt(res))
    return res
