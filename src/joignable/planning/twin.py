"""Twin mode: a day of synthetic traffic through the real routing core, measured by the ledger.

The fast simulator (``planning.simulate``) models routing in a few lines; the twin runs the real
``joignable.core.engine.Engine`` instead, so every routing rule (strategies, widening, overflow,
capacities, offer timeouts, wrap-up limits) is the one that will run live. A routing or staffing
change is tried on a day of traffic by changing the ``QueueConfig``s, ``AgentConfig``s or shifts.

The clock is injected, so simulated time costs nothing: a heap of customer and agent actions
(arrivals, accepts, completions, wrap-ups, abandons at each customer's patience, shift starts and
ends) is merged with the engine's own timers, and every command is issued at its instant. The
events the engine emits are then folded by ``ledger.kpis`` (the same named service-level
definitions as a live center's reports) and checked by ``ledger.audit`` (nothing lost, nothing
ended twice, work conserved). This module may use the ledger; the queueing math may not.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from joignable.core import events as ev
from joignable.core.engine import Engine
from joignable.core.errors import DomainError
from joignable.core.model import AgentConfig, Channel, QueueConfig, Settings, Strategy
from joignable.ledger.audit import AuditReport, audit
from joignable.ledger.kpis import KpiProjection, check_interval, kpis_from_events
from joignable.planning import simulate as sim
from joignable.planning.simulate import Dist

DAY0 = 1_700_438_400.0  # Monday 2023-11-20 00:00 UTC: the twin's day starts here by default

# Actions on the heap, in the order they run when they share an instant.
_SHIFT_START, _ARRIVE, _ACCEPT, _COMPLETE, _NOT_REACHED, _END_WRAPUP, _ABANDON, _SHIFT_END = range(
    8
)
RING = 30.0  # seconds an agent lets a callback ring before calling it not reached


@dataclass(frozen=True)
class Traffic:
    """Contacts arriving at one queue: ``arrivals[k]`` expected in interval ``k`` (a Poisson
    count, spread uniformly over the interval), each with a handle time (talk), a wrap-up time
    (None: none) and a patience (None: nobody abandons).

    Callbacks: when its patience runs out, a waiting customer asks to be called back with
    probability ``callback_share`` (keeping its place in line) instead of hanging up. An agent
    who takes the callback reaches the customer with probability ``reach`` at each attempt
    (talk, then wrap-up), else lets it ring ``RING`` seconds and reports it not reached: the
    core plans another attempt (``Settings.callback_retry_delay``, up to
    ``callback_max_attempts``) or ends it as a failed callback."""

    queue: str
    arrivals: Sequence[float]
    handle: Dist
    patience: Dist | None = None
    wrapup: Dist | None = None
    channel: Channel = Channel.VOICE
    callback_share: float = 0.0
    reach: float = 1.0


@dataclass(frozen=True)
class Shift:
    """Agent ``agent`` is available from ``start`` to ``end`` seconds after the day starts (an
    agent may have several shifts; at its end it finishes the contact in hand, then leaves)."""

    agent: str
    start: float
    end: float


@dataclass(frozen=True)
class TwinCenter:
    queues: Sequence[QueueConfig]
    agents: Sequence[AgentConfig]
    shifts: Sequence[Shift]
    traffic: Sequence[Traffic]
    interval: int = 900
    # No wrap-up limit to speak of: the twin's wrap-up times are the customers' data, not cut.
    settings: Settings = field(
        default_factory=lambda: Settings(offer_timeout=20.0, wrapup_limit=3600.0)
    )
    answer_delay: float = 0.0  # seconds from an offer to the agent's accept

    def check(self) -> None:
        try:
            check_interval(self.interval)  # the ledger's KPIs fold by this interval
        except DomainError as exc:
            raise ValueError(str(exc)) from None
        if not (math.isfinite(self.answer_delay) and self.answer_delay >= 0):
            raise ValueError("answer_delay must be 0 or more seconds")
        queues = {q.id for q in self.queues}
        agents = {a.id for a in self.agents}
        if not queues or len(queues) != len(self.queues):
            raise ValueError("give at least one queue, each with its own id")
        if len(agents) != len(self.agents):
            raise ValueError("each agent needs its own id")
        for t in self.traffic:
            if t.queue not in queues:
                raise ValueError(f"traffic for unknown queue {t.queue!r}")
            if t.channel is Channel.CALLBACK:  # a callback needs a number and a due time
                raise ValueError(f"queue {t.queue!r}: the twin sends voice, chat or e-mail")
            a = np.asarray(t.arrivals, dtype=np.float64)
            if a.ndim != 1 or not np.all(np.isfinite(a) & (a >= 0)):
                raise ValueError(f"queue {t.queue!r}: arrivals must be numbers, 0 or more")
            for name in ("callback_share", "reach"):
                v = getattr(t, name)
                if not (isinstance(v, int | float) and 0 <= v <= 1):
                    raise ValueError(f"queue {t.queue!r}: {name} must be between 0 and 1")
            if t.callback_share > 0:
                q = next(q for q in self.queues if q.id == t.queue)
                if t.patience is None:
                    raise ValueError(f"queue {t.queue!r}: callbacks are asked for at the patience")
                if not q.callbacks_allowed:
                    raise ValueError(f"queue {t.queue!r} does not take callbacks")
        for s in self.shifts:
            if s.agent not in agents:
                raise ValueError(f"shift for unknown agent {s.agent!r}")
            if not (math.isfinite(s.start) and math.isfinite(s.end) and 0 <= s.start < s.end):
                raise ValueError(f"shift of {s.agent}: need 0 <= start < end, in seconds")


@dataclass
class TwinResult:
    start: float  # the day's first instant (epoch seconds)
    interval: int
    intervals: int  # of traffic
    events: list[ev.AnyEvent]
    kpis: KpiProjection
    audit: AuditReport
    commands: int
    refused: int  # commands the engine refused (0 unless the driver and the core disagree)

    def summary(self, warmup: float = 0.0) -> dict[str, Any]:
        """Per queue and for the center: totals over intervals from ``start + warmup``, and the
        center's occupancy, as plain JSON-ready values."""
        since = self.start + warmup
        rows: dict[str, Any] = {}
        for q in [*self.kpis.queues(), None]:
            k = self.kpis.totals(q, start=since)
            rows[q if q is not None else "all"] = {
                "offered": k.offered,
                "answered": k.answered,
                "abandoned": k.abandoned,
                "open": k.open,
                "abandon_rate": k.abandoned / k.offered if k.offered else None,
                "callbacks_requested": k.callbacks_requested,
                "callbacks_completed": k.callbacks_completed,
                "callbacks_failed": k.callbacks_failed,
                "asa": k.asa,
                "aht": k.aht,
                "sl": dict(k.sl),
            }
        occ = self.kpis.occupancy(start=since)
        return {"queues": rows, "occupancy": occ.occupancy}


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _draw(dist: Dist | None, rng: np.random.Generator) -> float:
    return 0.0 if dist is None else max(0.0, float(dist(rng, 1)[0]))


def run_twin(center: TwinCenter, *, seed: int = 0, start: float = DAY0) -> TwinResult:
    """Drive the routing core through the center's day and measure it from its events."""
    center.check()
    rng = np.random.default_rng(seed)
    clock = _Clock(start)
    engine = Engine(clock)
    log: list[ev.AnyEvent] = []
    counts = {"commands": 0, "refused": 0}

    heap: list[tuple[float, int, int, str, str]] = []
    n = 0

    def push(t: float, kind: int, a: str = "", b: str = "") -> int:
        nonlocal n
        n += 1
        heapq.heappush(heap, (t, kind, n, a, b))  # kind before n: see the order of actions
        return n

    # Customers' and agents' data for the events to come.
    traffic = {t.queue: t for t in center.traffic}
    impatient: set[str] = set()  # holding customers who will leave at their patience
    # contact -> the accept planned for its current offer: a late accept of an offer that timed
    # out must not take a later offer of the same contact to the same agent
    offered_to: dict[str, int] = {}
    connected: set[str] = set()
    in_wrapup: set[tuple[str, str]] = set()
    wants_callback: set[str] = set()  # will ask for a callback at their patience

    def observe(events: list[ev.Event]) -> None:
        now = clock.now
        for e in events:
            log.append(e)  # type: ignore[arg-type]  # the engine emits only AnyEvent members
            if isinstance(e, ev.OfferMade):
                offered_to[e.contact] = push(now + center.answer_delay, _ACCEPT, e.agent, e.contact)
            elif isinstance(e, ev.OfferReleased):
                offered_to.pop(e.contact, None)
            elif isinstance(e, ev.OfferAccepted):
                offered_to.pop(e.contact, None)
                connected.add(e.contact)
                contact = engine.state.contacts[e.contact]
                q = traffic.get(contact.queue)
                if (
                    contact.route_channel is Channel.CALLBACK
                    and q is not None
                    and q.reach < 1
                    and rng.random() >= q.reach
                ):
                    push(now + RING, _NOT_REACHED, e.agent, e.contact)
                else:
                    push(now + _draw(q.handle if q else None, rng), _COMPLETE, e.agent, e.contact)
            elif isinstance(e, ev.CallbackAttemptFailed):
                connected.discard(e.contact)  # back in line for its next attempt, or ended
            elif isinstance(e, ev.ContactEnded):
                offered_to.pop(e.contact, None)
                connected.discard(e.contact)
                impatient.discard(e.contact)
            elif isinstance(e, ev.WrapupStarted):
                in_wrapup.add((e.agent, e.contact))
                q = traffic.get(e.queue)
                push(now + _draw(q.wrapup if q else None, rng), _END_WRAPUP, e.agent, e.contact)
            elif isinstance(e, ev.WrapupEnded):
                in_wrapup.discard((e.agent, e.contact))

    def command(name: str, *args: Any, **kwargs: Any) -> Any:
        counts["commands"] += 1
        try:
            out = getattr(engine, name)(*args, **kwargs)
        except DomainError:
            counts["refused"] += 1
            out = None
        observe(engine.take())
        return out

    # The center, configured at the day's first instant with every agent offline.
    skills = sorted(
        {s for q in center.queues for s in q.requirements}
        | {s for a in center.agents for s in a.skills}
    )
    try:  # a configuration the core refuses is the user's to fix: say which and why
        engine.configure(center.settings)
        for skill in skills:
            engine.define_skill(skill)
        for queue in center.queues:
            engine.configure_queue(queue)
        for agent in center.agents:
            engine.configure_agent(agent)
    except DomainError as exc:
        raise ValueError(f"the routing core refuses this center: {exc}") from None
    observe(engine.take())
    for shift in center.shifts:
        push(start + shift.start, _SHIFT_START, shift.agent)
        push(start + shift.end, _SHIFT_END, shift.agent)
    intervals = max((len(tr.arrivals) for tr in center.traffic), default=0)
    for tr in center.traffic:
        for k, expected in enumerate(tr.arrivals):
            lo = start + k * center.interval
            for at in np.sort(rng.uniform(lo, lo + center.interval, rng.poisson(expected))):
                push(float(at), _ARRIVE, tr.queue)

    while True:
        due = engine.next_timer()
        if heap and (due is None or heap[0][0] <= due):
            t, kind, serial, a, b = heapq.heappop(heap)
        elif due is not None:
            clock.now = max(clock.now, due)
            command("tick")  # offer timeouts, widening, overflow, wrap-up limits
            continue
        else:
            break
        clock.now = max(clock.now, t)
        if kind == _ARRIVE:
            line = traffic[a]
            res = command("arrive", a, channel=line.channel)
            live = res is not None and res.contact in engine.state.contacts
            if live and line.patience and res.contact not in connected:
                impatient.add(res.contact)
                push(clock.now + _draw(line.patience, rng), _ABANDON, res.contact)
                if line.callback_share > 0 and rng.random() < line.callback_share:
                    wants_callback.add(res.contact)
        elif kind == _ACCEPT:
            if offered_to.get(b) == serial:
                command("accept", a, b)
        elif kind == _ABANDON:
            # still holding (waiting or ringing): the customer hangs up, or asks to be called
            if a in impatient and a not in connected:
                impatient.discard(a)
                if a in wants_callback:
                    command("request_callback", a, f"+1 555 {len(log):09d}")
                else:
                    command("abandon", a)
        elif kind == _NOT_REACHED:
            if b in connected:
                command("callback_not_reached", a, b)
        elif kind == _COMPLETE:
            if a and b in connected:
                command("complete", a, b)
        elif kind == _END_WRAPUP:
            if (a, b) in in_wrapup:
                command("end_wrapup", a, b)
        elif kind == _SHIFT_START:
            command("set_presence", a, "available")
        elif kind == _SHIFT_END:
            command("set_presence", a, "offline")

    kpis = kpis_from_events(log, center.interval)
    report = audit(enumerate(log, 1))
    return TwinResult(
        start=start,
        interval=center.interval,
        intervals=intervals,
        events=log,
        kpis=kpis,
        audit=report,
        commands=counts["commands"],
        refused=counts["refused"],
    )


def staffed_shifts(agents: Sequence[int], interval: int) -> list[Shift]:
    """Shifts that put ``agents[k]`` agents on in interval ``k``: agent ``i`` works every run of
    intervals where more than ``i`` are needed (agent ids ``a0000``, ``a0001``, ...)."""
    shifts: list[Shift] = []
    for i in range(max(agents, default=0)):
        begin: int | None = None
        for k, need in enumerate([*agents, 0]):
            if need > i and begin is None:
                begin = k
            elif need <= i and begin is not None:
                shifts.append(Shift(agent_id(i), begin * interval, k * interval))
                begin = None
    return shifts


def agent_id(i: int) -> str:
    return f"a{i:04d}"


def single_queue(
    arrivals: Sequence[float],
    agents: Sequence[int],
    handle: Dist,
    *,
    interval: int = 900,
    patience: Dist | None = None,
    wrapup: Dist | None = None,
    within: float = 20.0,
    short_abandon: float = 5.0,
    strategy: Strategy = Strategy.LONGEST_IDLE,
    answer_delay: float = 0.0,
    callback_share: float = 0.0,
    reach: float = 1.0,
) -> TwinCenter:
    """One voice queue, identical agents, ``agents[k]`` on in interval ``k`` (a staffing plan,
    e.g. ``staff(...).agents``). ``agents`` may be one number for the whole day."""
    if len(agents) == 1 and len(arrivals) > 1:
        agents = list(agents) * len(arrivals)
    if len(agents) != len(arrivals):
        raise ValueError("give one staffing for the day, or one per interval of arrivals")
    if any(not isinstance(x, int | np.integer) or x < 0 for x in agents):
        raise ValueError("agents must be whole numbers, 0 or more")
    if not (math.isfinite(within) and within > 0):
        raise ValueError("the service-level threshold must be above 0 seconds")
    queue = QueueConfig(
        id="q",
        requirements={"voice": 1},
        sl_threshold=within,
        short_abandon=short_abandon,
        strategy=strategy,
    )
    people = [AgentConfig(id=agent_id(i), skills={"voice": 1}) for i in range(max(agents))]
    return TwinCenter(
        queues=[queue],
        agents=people,
        shifts=staffed_shifts([int(x) for x in agents], interval),
        traffic=[
            Traffic(
                "q", arrivals, handle, patience, wrapup, callback_share=callback_share, reach=reach
            )
        ],
        interval=interval,
        answer_delay=answer_delay,
    )


class _TrafficSpec(msgspec.Struct, forbid_unknown_fields=True):
    queue: str
    arrivals: list[float]
    aht: float  # talk + wrap-up, seconds
    handle: str = "exponential"
    handle_cv: float = 1.0
    patience: float | None = None
    patience_dist: str = "exponential"
    patience_cv: float = 1.0
    wrapup: float = 0.0
    channel: Channel = Channel.VOICE
    callback_share: float = 0.0
    reach: float = 1.0


class _ShiftSpec(msgspec.Struct, forbid_unknown_fields=True):
    agent: str
    start: float
    end: float


class _CenterSpec(msgspec.Struct, forbid_unknown_fields=True):
    queues: list[QueueConfig]
    agents: list[AgentConfig]
    shifts: list[_ShiftSpec]
    traffic: list[_TrafficSpec]
    interval: int = 900
    settings: Settings | None = None
    answer_delay: float = 0.0


def distribution(kind: str, mean: float, cv: float = 1.0) -> Dist:
    """A duration distribution by name: exponential, lognormal, gamma or deterministic."""
    if kind == "exponential":
        return sim.exponential(mean)
    if kind == "deterministic":
        return sim.deterministic(mean)
    if kind == "lognormal":
        return sim.lognormal(mean, cv)
    if kind == "gamma":
        return sim.gamma(mean, cv)
    raise ValueError(f"unknown distribution {kind!r}: exponential, lognormal, gamma, deterministic")


def center_from_json(text: bytes | str) -> TwinCenter:
    """A center described in JSON: the core's own queue and agent configurations, shifts in
    seconds from the day's start, and per queue its arrivals per interval and time
    distributions (``aht`` is talk + wrap-up, as in the ledger's KPIs)."""
    try:
        spec = msgspec.json.decode(text, type=_CenterSpec)
    except msgspec.DecodeError as exc:
        raise ValueError(f"center: {exc}") from None
    traffic = []
    for t in spec.traffic:
        if not (math.isfinite(t.wrapup) and 0 <= t.wrapup < t.aht):
            raise ValueError(f"queue {t.queue!r}: wrapup must be 0 or more and less than aht")
        traffic.append(
            Traffic(
                t.queue,
                t.arrivals,
                distribution(t.handle, t.aht - t.wrapup, t.handle_cv),
                None
                if t.patience is None
                else distribution(t.patience_dist, t.patience, t.patience_cv),
                None if t.wrapup == 0 else sim.deterministic(t.wrapup),
                t.channel,
                t.callback_share,
                t.reach,
            )
        )
    extra = {} if spec.settings is None else {"settings": spec.settings}
    return TwinCenter(
        queues=spec.queues,
        agents=spec.agents,
        shifts=[Shift(s.agent, s.start, s.end) for s in spec.shifts],
        traffic=traffic,
        interval=spec.interval,
        answer_delay=spec.answer_delay,
        **extra,
    )
