"""A fast discrete-event simulator of a multi-queue, multi-skill contact center.

Where the Erlang formulas stop (several queues sharing agents, handle times or patience that are
not exponential, arrivals that change over the day), the simulator answers, with confidence
intervals from independent replications. It is not the routing core: it models its policy in a
few lines, to be fast enough to try many staffings (the twin mode that drives the real core is
another piece of issue 5).

The model:

- each queue has Poisson arrivals (a constant rate, or one rate per interval of the day), a
  handle-time distribution and a patience distribution (None: nobody abandons);
- each agent group has a number of identical agents and the queues it serves (its skills);
- an arriving contact goes to a free agent of the first group, in the order the groups are
  listed, that serves its queue; otherwise it waits, first come first served;
- a freed agent takes the contact that has waited longest among the queues its group serves;
- a waiting contact whose patience runs out abandons.

Arrivals, handle times and patience are drawn with NumPy up front; the event loop is a binary
heap of completions and abandons, merged with the sorted arrivals. Figures are computed over the
contacts that arrived between ``warmup`` and the horizon, each followed to its end.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import stats

from joignable.planning.metrics import SHORT_ABANDON, Array
from joignable.planning.names import PLANNING_SL

Dist = Callable[[np.random.Generator, int], Array]
"""A distribution of durations in seconds: ``dist(rng, size)`` draws ``size`` values."""


def exponential(mean: float) -> Dist:
    _positive(mean, "mean")
    return lambda rng, size: rng.exponential(mean, size)


def deterministic(value: float) -> Dist:
    _positive(value, "value")
    return lambda rng, size: np.full(size, float(value))


def lognormal(mean: float, cv: float) -> Dist:
    """A lognormal with this mean and coefficient of variation (handle times often look so)."""
    _positive(mean, "mean")
    _positive(cv, "cv")
    sigma2 = math.log1p(cv * cv)
    mu = math.log(mean) - sigma2 / 2
    return lambda rng, size: rng.lognormal(mu, math.sqrt(sigma2), size)


def gamma(mean: float, cv: float) -> Dist:
    _positive(mean, "mean")
    _positive(cv, "cv")
    shape = 1.0 / (cv * cv)
    return lambda rng, size: rng.gamma(shape, mean / shape, size)


def _positive(value: float, name: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a number above 0")


@dataclass(frozen=True)
class Queue:
    """``rate``: arrivals per second, one number or one per interval (see ``simulate``)."""

    name: str
    rate: float | Sequence[float]
    handle: Dist
    patience: Dist | None = None
    within: float = 20.0


@dataclass(frozen=True)
class Group:
    name: str
    agents: int
    queues: tuple[str, ...]


@dataclass(frozen=True)
class Center:
    queues: tuple[Queue, ...]
    groups: tuple[Group, ...]

    def check(self) -> None:
        names = [q.name for q in self.queues]
        if not names or len(set(names)) != len(names):
            raise ValueError("give at least one queue, each with its own name")
        for g in self.groups:
            if g.agents < 0:
                raise ValueError(f"group {g.name!r}: agents must not be negative")
            unknown = set(g.queues) - set(names)
            if unknown:
                raise ValueError(f"group {g.name!r} serves unknown queues {sorted(unknown)}")
        for q in self.queues:
            rates = np.atleast_1d(np.asarray(q.rate, dtype=np.float64))
            if not np.all(np.isfinite(rates) & (rates >= 0)):
                raise ValueError(f"queue {q.name!r}: rates must be numbers, 0 or more")


# contact states in the event loop
_WAITING, _SERVED, _ABANDONED = 1, 2, 3


@dataclass
class Run:
    """One replication: per queue counts and waits, per group occupancy."""

    queues: dict[str, dict[str, float]]
    occupancy: dict[str, float]
    events: int  # arrivals + service completions + abandons processed
    contacts: int


def simulate(
    center: Center,
    horizon: float,
    *,
    interval: float | None = None,
    warmup: float = 0.0,
    seed: int | np.random.SeedSequence = 0,
    short_abandon: float = SHORT_ABANDON,
) -> Run:
    """One replication of ``horizon`` seconds of arrivals (a queue's rates, if several, are per
    ``interval`` seconds, from time 0), each contact followed until it ends."""
    center.check()
    if not (math.isfinite(horizon) and horizon > warmup >= 0):
        raise ValueError("the horizon must be after the warm-up, both 0 or more")
    rng = np.random.default_rng(seed)
    arr_t, arr_q, handle, patience = draw(rng, center, horizon, interval)
    qnames = [q.name for q in center.queues]
    qindex = {name: i for i, name in enumerate(qnames)}
    # groups in the order listed: a queue's contact tries them in that order
    queue_groups = [
        [g for g, grp in enumerate(center.groups) if name in grp.queues] for name in qnames
    ]
    group_queues = [[qindex[q] for q in grp.queues] for grp in center.groups]
    free = [grp.agents for grp in center.groups]
    n = len(arr_t)
    wait = [math.nan] * n  # until answered or abandoned
    state = [0] * n
    served_by = [-1] * n
    waiting: list[deque[int]] = [deque() for _ in qnames]
    heap: list[tuple[float, int, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    events = 0
    i = 0
    next_arrival = arr_t[0] if n else math.inf
    while True:
        if heap and heap[0][0] <= next_arrival:
            t, kind, x = pop(heap)
            if kind == 0:  # an agent of group x is free: the longest waiting contact it serves
                events += 1
                best, best_q = -1, -1
                for q in group_queues[x]:
                    line = waiting[q]
                    while line and state[line[0]] != _WAITING:
                        line.popleft()  # abandoned meanwhile
                    if line and (best < 0 or line[0] < best):  # ids follow arrival order
                        best, best_q = line[0], q
                if best >= 0:
                    waiting[best_q].popleft()
                    state[best] = _SERVED
                    wait[best] = t - arr_t[best]
                    served_by[best] = x
                    push(heap, (t + handle[best], 0, x))
                else:
                    free[x] += 1
            elif state[x] == _WAITING:  # patience ran out (else: answered before, skip)
                events += 1
                state[x] = _ABANDONED
                wait[x] = t - arr_t[x]
        elif i < n:
            c = i
            t = next_arrival
            i += 1
            next_arrival = arr_t[i] if i < n else math.inf
            events += 1
            for g in queue_groups[arr_q[c]]:
                if free[g]:
                    free[g] -= 1
                    state[c] = _SERVED
                    wait[c] = 0.0
                    served_by[c] = g
                    push(heap, (t + handle[c], 0, g))
                    break
            else:
                state[c] = _WAITING
                waiting[arr_q[c]].append(c)
                if patience[c] < math.inf:
                    push(heap, (t + patience[c], 1, c))
        else:
            break
    return _figures(
        center,
        arr_t,
        arr_q,
        handle,
        wait,
        state,
        served_by,
        events,
        warmup,
        horizon,
        short_abandon,
    )


def draw(
    rng: np.random.Generator, center: Center, horizon: float, interval: float | None
) -> tuple[list[float], list[int], list[float], list[float]]:
    """The calls of one replication, in arrival order: arrival times, queue indexes, handle times
    and patience (inf: never leaves). ``simulate`` draws them so; other simulators can be fed the
    same calls (the SimPy comparison in benchmarks/planning.py does)."""
    times, queue, handle, patience = [], [], [], []
    for qi, q in enumerate(center.queues):
        rates = np.atleast_1d(np.asarray(q.rate, dtype=np.float64))
        if rates.size == 1:
            edges = np.array([0.0, horizon])
        else:
            if interval is None or not interval > 0:
                raise ValueError(f"queue {q.name!r} has rates per interval: give the interval")
            edges = np.minimum(np.arange(rates.size + 1) * interval, horizon)
        spans = np.diff(edges)
        counts = rng.poisson(rates[: spans.size] * spans)
        t = np.repeat(edges[:-1], counts) + rng.random(counts.sum()) * np.repeat(spans, counts)
        times.append(t)
        queue.append(np.full(t.size, qi))
        handle.append(q.handle(rng, t.size))
        patience.append(np.full(t.size, np.inf) if q.patience is None else q.patience(rng, t.size))
    t_all = np.concatenate(times)
    order = np.argsort(t_all, kind="stable")
    return (
        t_all[order].tolist(),
        np.concatenate(queue)[order].tolist(),
        np.concatenate(handle)[order].tolist(),
        np.concatenate(patience)[order].tolist(),
    )


def _figures(
    center: Center,
    arr_t: list[float],
    arr_q: list[int],
    handle: list[float],
    wait: list[float],
    state: list[int],
    served_by: list[int],
    events: int,
    warmup: float,
    horizon: float,
    short_abandon: float,
) -> Run:
    t = np.asarray(arr_t)
    q = np.asarray(arr_q, dtype=np.int64)
    w = np.asarray(wait)
    st = np.asarray(state)
    by = np.asarray(served_by)
    h = np.asarray(handle)
    counted = (t >= warmup) & (t < horizon)
    queues: dict[str, dict[str, float]] = {}
    for qi, qd in enumerate(center.queues):
        m = counted & (q == qi)
        answered = m & (st == _SERVED)
        abandoned = m & (st == _ABANDONED)
        offered = int(m.sum())
        aw = w[answered]
        queues[qd.name] = {
            "offered": offered,
            "answered": int(answered.sum()),
            "abandoned": int(abandoned.sum()),
            "waited": int(np.sum(w[m] > 0)) + int(np.sum(m & (st == _WAITING))),
            "answered_within_t": int(np.sum(aw <= qd.within)),
            "abandoned_within_t": int(np.sum(w[abandoned] <= qd.within)),
            "short_abandoned": int(np.sum(w[abandoned] < short_abandon)),
            "wait_answered": float(aw.sum()),
            "stranded": int(np.sum(m & (st == _WAITING))),  # in a queue no group serves
        }
    length = horizon - warmup
    occupancy = {
        g.name: float(h[counted & (by == gi)].sum() / (g.agents * length)) if g.agents else 0.0
        for gi, g in enumerate(center.groups)
    }
    return Run(queues, occupancy, events, len(arr_t))


def rates_of(counts: dict[str, float]) -> dict[str, float]:
    """The figures of one queue in one run, under the names of ``PLANNING_SL``, plus P(wait),
    P(abandon) and the ASA of answered contacts (NaN where nothing was measured)."""
    offered = counts["offered"]
    answered = counts["answered"]
    within = counts["answered_within_t"]
    nan = math.nan

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else nan

    out = {
        "answered_within_t_over_offered": ratio(within, offered),
        "answered_within_t_over_answered": ratio(within, answered),
        "answered_within_t_over_offered_minus_short_abandons": ratio(
            within, offered - counts["short_abandoned"]
        ),
        "answered_or_abandoned_within_t_over_offered": ratio(
            within + counts["abandoned_within_t"], offered
        ),
        "p_wait": ratio(counts["waited"], offered),
        "p_abandon": ratio(counts["abandoned"], offered),
        "asa": ratio(counts["wait_answered"], answered),
    }
    assert set(PLANNING_SL) <= set(out)
    return out


@dataclass(frozen=True)
class Estimate:
    """The mean over replications and the half-width of its confidence interval (Student t)."""

    mean: float
    half_width: float

    def covers(self, value: float) -> bool:
        return abs(value - self.mean) <= self.half_width


@dataclass
class Replications:
    queues: dict[str, dict[str, Estimate]]
    occupancy: dict[str, Estimate]
    runs: list[Run] = field(repr=False)

    @property
    def events(self) -> int:
        return sum(r.events for r in self.runs)


def replicate(
    center: Center,
    horizon: float,
    *,
    replications: int = 10,
    confidence: float = 0.95,
    interval: float | None = None,
    warmup: float = 0.0,
    seed: int = 0,
    short_abandon: float = SHORT_ABANDON,
) -> Replications:
    """``replications`` independent runs (seeds spawned from ``seed``) and, for every figure, the
    mean and the half-width of its ``confidence`` interval."""
    if replications < 2:
        raise ValueError("a confidence interval needs at least 2 replications")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1, both excluded")
    seeds = np.random.SeedSequence(seed).spawn(replications)
    runs = [
        simulate(
            center, horizon, interval=interval, warmup=warmup, seed=s, short_abandon=short_abandon
        )
        for s in seeds
    ]
    quantile = float(stats.t.ppf(0.5 + confidence / 2, replications - 1))

    def estimate(values: npt.ArrayLike) -> Estimate:
        v = np.asarray(values, dtype=np.float64)
        v = v[~np.isnan(v)]
        if v.size < 2:
            return Estimate(float(v.mean()) if v.size else math.nan, math.nan)
        return Estimate(float(v.mean()), quantile * float(v.std(ddof=1)) / math.sqrt(v.size))

    queues = {}
    for q in center.queues:
        per_run = [rates_of(r.queues[q.name]) for r in runs]
        queues[q.name] = {k: estimate([p[k] for p in per_run]) for k in per_run[0]}
    occupancy = {g.name: estimate([r.occupancy[g.name] for r in runs]) for g in center.groups}
    return Replications(queues, occupancy, runs)
