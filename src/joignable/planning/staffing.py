"""The fewest agents per interval that meet a target, for many intervals at once.

Erlang C starts from a square-root staffing guess and walks to the answer by the recurrence of
1/B, a few array operations a step (see ``staffing_c``). Erlang A may need fewer agents than
the offered load when customers abandon (a queue that sheds its impatient callers is stable at any
staffing), so its search may go anywhere down to zero agents (see ``_search_a``); pyworkforce's
Erlang A starts at the load and over-staffs such queues.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

from joignable.planning import staffing_c
from joignable.planning.erlang_a import Chain, erlang_a, figures
from joignable.planning.erlang_c import erlang_c
from joignable.planning.metrics import (
    DEFAULT_SL,
    SHORT_ABANDON,
    Array,
    QueueMetrics,
    as_array,
    check_sl_name,
)
from joignable.planning.names import MODELS

_MAX_AGENTS = 10_000_000  # a target no staffing below this meets is refused as unattainable
_SLACK = 1e-12  # a target met to rounding is met

IntArray = npt.NDArray[np.int64]
Pair = tuple[Array, Array]


def _sl_getter(name: str) -> Callable[[QueueMetrics], Array]:
    return lambda m: m.service_level[name]


def _merge(size: int, *parts: tuple[IntArray, QueueMetrics]) -> QueueMetrics:
    """One set of figures from sets computed for disjoint rows."""

    def join(get: Callable[[QueueMetrics], Array]) -> Array:
        out = np.empty(size)
        for rows, m in parts:
            out[rows] = get(m)
        return out

    first = parts[0][1]
    return QueueMetrics(
        agents=join(lambda m: m.agents),
        load=join(lambda m: m.load),
        p_wait=join(lambda m: m.p_wait),
        p_abandon=join(lambda m: m.p_abandon),
        asa=join(lambda m: m.asa),
        occupancy=join(lambda m: m.occupancy),
        service_level={k: join(_sl_getter(k)) for k in first.service_level},
    )


def _unstaffed(m: QueueMetrics) -> npt.NDArray[np.bool_]:
    """Intervals with traffic and no agent: their occupancy (0) meets no cap, or "no agent"
    would satisfy every cap while one agent does not, and a search could stop at either."""
    return np.asarray((m.agents == 0) & (m.load > 0))


@dataclass(frozen=True)
class Target:
    """What an interval must meet; None means "no such constraint". ``sl`` is a fraction in
    (0, 1) of contacts within ``within`` seconds under ``sl_definition``; ``asa`` is in seconds
    (answered contacts only); ``max_abandon`` and ``max_occupancy`` are fractions."""

    sl: float | None = 0.8
    within: float = 20.0
    sl_definition: str = DEFAULT_SL
    asa: float | None = None
    max_abandon: float | None = None
    max_occupancy: float | None = None
    short_abandon: float = SHORT_ABANDON

    def check(self) -> None:
        check_sl_name(self.sl_definition)
        if all(v is None for v in (self.sl, self.asa, self.max_abandon, self.max_occupancy)):
            raise ValueError("give at least one target (sl, asa, max_abandon or max_occupancy)")
        if self.sl is not None and not 0 < self.sl < 1:
            raise ValueError("the service-level target must be between 0 and 1, both excluded")
        if not (math.isfinite(self.within) and self.within >= 0):
            raise ValueError("within must be a number of seconds, 0 or more")
        if not (math.isfinite(self.short_abandon) and self.short_abandon >= 0):
            raise ValueError("short_abandon must be a number of seconds, 0 or more")
        if self.asa is not None and not (math.isfinite(self.asa) and self.asa > 0):
            raise ValueError("the ASA target must be a number of seconds above 0")
        for name, v in (("max_abandon", self.max_abandon), ("max_occupancy", self.max_occupancy)):
            if v is not None and not 0 < v <= 1:
                raise ValueError(f"{name} must be above 0 and at most 1")

    def met(self, m: QueueMetrics) -> npt.NDArray[np.bool_]:
        ok = np.ones(m.agents.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            if self.sl is not None:
                ok &= m.service_level[self.sl_definition] >= self.sl - _SLACK
            if self.asa is not None:
                ok &= m.asa <= self.asa + _SLACK
            if self.max_abandon is not None:
                ok &= m.p_abandon <= self.max_abandon + _SLACK
            if self.max_occupancy is not None:
                ok &= (m.occupancy <= self.max_occupancy + _SLACK) & ~_unstaffed(m)
        return ok

    def margin(self, m: QueueMetrics) -> Array:
        """How far from the target, for interpolating between staffings: the smallest of the
        constraints' margins, each in a scale where it is about linear in agents (the probit,
        i.e. the inverse normal distribution function, of a service level or abandon rate, whose
        tails fall off like a normal's in the agents; the logit of the occupancy; the log of the
        ASA); >= 0 where ``met`` (up to rounding), NaN read as far off."""

        def logit(v: Array | float) -> Array:
            v = np.asarray(v, dtype=np.float64)
            return np.asarray(np.log(v) - np.log1p(-v), dtype=np.float64)

        g = np.full(m.agents.shape, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.sl is not None:
                g = np.minimum(g, ndtri(m.service_level[self.sl_definition]) - ndtri(self.sl))
            if self.asa is not None:
                g = np.minimum(g, np.log(self.asa) - np.log(m.asa))
            if self.max_abandon is not None:
                g = np.minimum(g, ndtri(self.max_abandon) - ndtri(m.p_abandon))
            if self.max_occupancy is not None:
                g_occ = logit(self.max_occupancy) - logit(m.occupancy)
                g = np.minimum(g, np.where(_unstaffed(m), -np.inf, g_occ))
        return np.where(np.isnan(g), -np.inf, g)


@dataclass(frozen=True)
class Staffing:
    """``productive`` agents handle contacts; ``agents`` = productive / (1 - shrinkage), rounded
    up, are the ones to schedule (shrinkage: breaks, training, absence). ``metrics`` are the
    model's figures at ``productive`` agents."""

    agents: IntArray
    productive: IntArray
    metrics: QueueMetrics
    model: str
    target: Target
    shrinkage: Array = field(repr=False)


_ONE = np.ones(())  # the patience Erlang C ignores
_ONE.flags.writeable = False


def _number(value: npt.ArrayLike, name: str, low: float, high: float, *, above: bool) -> Array:
    """``as_array``, with a short cut for a plain number already in range (low, high), or
    [low, high) unless ``above``: the checks on a NumPy scalar cost about 10 us, a tenth of a
    day's Erlang C staffing."""
    if type(value) in (float, int):
        v = float(value)  # type: ignore[arg-type]
        if (low < v if above else low <= v) and v < high:  # NaN fails both: refused below
            return np.asarray(v)
    return as_array(value, name, positive=above)


def _inputs(
    arrivals: npt.ArrayLike,
    period: npt.ArrayLike,
    aht: npt.ArrayLike,
    patience: npt.ArrayLike | None,
    shrinkage: npt.ArrayLike,
    model: str,
) -> tuple[Array, Array, Array, Array]:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r} (known: {', '.join(MODELS)})")
    if model == "erlang-a" and patience is None:
        raise ValueError("the erlang-a model needs the customers' mean patience (seconds)")
    rate = as_array(arrivals, "arrivals") / _number(period, "period", 0.0, math.inf, above=True)
    pat = _ONE if patience is None else as_array(patience, "patience", positive=True)
    shr = _number(shrinkage, "shrinkage", 0.0, 1.0, above=False)
    if np.any(shr >= 1):
        raise ValueError("shrinkage must be at least 0 and below 1")
    lam, h, p, s = np.broadcast_arrays(rate, as_array(aht, "aht", positive=True), pat, shr)
    return lam, h, p, s


def staff(
    arrivals: npt.ArrayLike,
    period: npt.ArrayLike,
    aht: npt.ArrayLike,
    target: Target,
    *,
    model: str = "erlang-c",
    patience: npt.ArrayLike | None = None,
    shrinkage: npt.ArrayLike = 0.0,
) -> Staffing:
    """Staffing for ``arrivals`` contacts per ``period`` seconds of ``aht`` seconds each (arrays
    broadcast together: one value per interval and queue)."""
    target.check()
    lam, h, pat, shr = _inputs(arrivals, period, aht, patience, shrinkage, model)
    shape = lam.shape
    lam, h = lam.ravel(), h.ravel()  # the searches index rows
    if model == "erlang-c":
        n, m = _search_c(lam, h, target)
    else:
        pat = pat.ravel()
        n, busy, found = _search_a(lam, h, pat, target)
        if found is None:  # no traffic anywhere
            m = erlang_a(lam, h, n, pat, target.within, target.short_abandon)
        else:  # the rows without traffic (0 agents) apart, then together
            idle = np.flatnonzero(~(lam * h > 0))
            rest = erlang_a(lam[idle], h[idle], 0.0, pat[idle], target.within, target.short_abandon)
            m = _merge(n.size, (busy, found), (idle, rest))
    productive = n.reshape(shape).astype(np.int64)
    if shr.any():
        scheduled = np.ceil(n.reshape(shape) / (1.0 - shr) - 1e-9).astype(np.int64)
    else:  # no shrinkage: every agent scheduled is productive
        scheduled = productive.copy()
    return Staffing(scheduled, productive, m.reshape(shape), model, target, shr)


def _search_c(lam: Array, h: Array, target: Target) -> tuple[Array, QueueMetrics]:
    """Erlang C: the fewest agents from the first stable staffing (more agents than Erlangs,
    and as many as the occupancy cap needs) up, and the figures there (``staffing_c``)."""
    a = lam * h
    start = np.floor(a)
    start += 1.0  # stability: more agents than Erlangs
    if target.max_occupancy is not None:
        start = np.maximum(start, np.ceil(a / target.max_occupancy - 1e-9))
    busy = a > 0
    every = bool(busy.all())  # no copies when every cell has traffic
    rows = np.flatnonzero(busy) if not every else np.empty(0, dtype=np.int64)
    aa, hh, ss = (a, h, start) if every else (a[rows], h[rows], start[rows])
    found = staffing_c.search(
        aa,
        hh,
        ss,
        wait_bound=None if target.sl is None else 1.0 - target.sl + _SLACK,
        within=target.within,
        asa=None if target.asa is None else target.asa + _SLACK,
        max_agents=_MAX_AGENTS,
    )
    m = staffing_c.figures(aa, hh, target.within, found)
    if every:
        return found.n, m
    idle = np.flatnonzero(~busy)  # no traffic: no agents
    merged = _merge(a.size, (rows, m), (idle, erlang_c(lam[idle], h[idle], 0.0, target.within)))
    return merged.agents, merged


def _search_a(
    lam: Array, h: Array, pat: Array, target: Target
) -> tuple[Array, IntArray, QueueMetrics | None]:
    """Erlang A: the margin to the target is smooth in the agents (nearly linear in the scales of
    ``Target.margin``). Each row probes a staffing a little above the load, then a second one
    on the side the first points to; then, in rounds, one staffing at the root of the margin's
    quadratic (slope and curvature measured on the pairs probed so far; Newton before there is
    a curvature, a secant across the bracket before there is a slope), and the neighbour its
    outcome points to: one agent fewer if it meets the target, one more if not. Most rows
    close after three or four probes (about 2.3 a cell on a day of small queues, 3.2 of large
    ones); halvings and doublings take over where a margin is infinite. Every answer is
    checked: it meets the target and one agent fewer does not (both were probed). Returns the
    agents of every row, and the rows with traffic with their figures at the answer, kept
    from the probe that found it (no new evaluation)."""

    def probe(rows: IntArray, n: Array) -> tuple[npt.NDArray[np.bool_], Array, Chain, Pair]:
        ch = Chain(lam[rows], h[rows], n, pat[rows])
        t = np.full(n.shape, target.within)
        at_t = ch.served_within(t)
        m = figures(
            ch,
            t,
            np.full(n.shape, target.short_abandon),
            with_asa=target.asa is not None,
            sl_names=() if target.sl is None else (target.sl_definition,),
            at_t=at_t,
        )
        return target.met(m), target.margin(m), ch, at_t

    a = lam * h
    out = np.zeros(a.shape)
    rows = np.flatnonzero(a > 0)
    if not rows.size:
        return out, rows, None
    ar = a[rows]
    root = np.sqrt(ar)
    # the bracket of each row: lo infeasible (-1: none found yet), hi feasible (inf: none yet)
    lo, g_lo = np.full(rows.size, -1.0), np.full(rows.size, -np.inf)
    hi, g_hi = np.full(rows.size, np.inf), np.full(rows.size, np.inf)
    # the system at hi, and its served_within(T), for the figures at the answer without a new
    # probe
    kept, kept_t = Chain.blank(rows.size), (np.empty(rows.size), np.empty(rows.size))

    def update(idx: IntArray, n: Array) -> Array:
        """Probe staffing n[k] for row idx[k], narrow the brackets; the margins probed."""
        ok, g, ch, at_t = probe(rows[idx], n)
        for sel in (ok, ~ok):
            i, ni, gi = idx[sel], n[sel], g[sel]
            ends, g_ends = (hi, g_hi) if sel is ok else (lo, g_lo)
            better = ni < ends[i] if sel is ok else ni > ends[i]
            # a row probed twice at once: the later (lower) staffing wins, in all three
            ends[i[better]] = ni[better]
            g_ends[i[better]] = gi[better]
            if sel is ok:
                src = np.flatnonzero(ok)[better]
                kept.put(i[better], ch, src)
                for keep, got in zip(kept_t, at_t, strict=True):
                    keep[i[better]] = got[src]
        return g

    # the margin's slope per agent, measured on the last pair of staffings probed, at the
    # pair's middle (mid), and its change per agent from the pair before (curve). The first
    # pair starts a little above the load, where most answers are near (square-root staffing
    # with beta = 0.75); its two staffings are sqrt(load) / 2 apart, so that a large queue's
    # first secant spans about the distance to its answer
    start = np.maximum(np.ceil(ar + 0.75 * root), 1.0)
    gap = np.maximum(np.round(0.5 * root), 1.0)
    slope = np.full(rows.size, np.nan)
    mid = start - 0.5 * gap
    near = start.copy()  # the last staffing probed, where the next step starts
    g_near = np.full(rows.size, np.nan)
    curve = np.full(rows.size, np.nan)
    every = np.arange(rows.size)
    g_near[:] = update(every, start)
    met = hi == start  # the second staffing on the side the first points to
    second = np.where(met, start - gap, start + gap)
    g2 = update(every, second)
    with np.errstate(invalid="ignore"):  # inf - inf where a margin is infinite: no slope
        slope[:] = np.where(met, g_near - g2, g2 - g_near) / gap
    mid[:] = 0.5 * (start + second)
    rounds = 0
    while True:
        open_ = np.flatnonzero(hi - lo > 1)
        if not open_.size:
            break
        rounds += 1
        lo_o, hi_o = lo[open_], hi[open_]
        unbounded = np.isinf(hi_o)
        if np.any(unbounded & (lo_o > _MAX_AGENTS)):
            raise ValueError("no staffing meets this target")
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            # Newton on the local slope, else a secant across the bracket; a guess far outside
            # the bracket, or every fourth round, halves it
            t = g_lo[open_] / (g_lo[open_] - g_hi[open_])
            secant = np.ceil(lo_o + t * (hi_o - lo_o))
            newton = np.ceil(near[open_] - g_near[open_] / slope[open_])
            # with the curvature: the root of g + s d + c d^2 / 2 nearest d = 0, s the slope at
            # the last staffing probed (extrapolated from the pair's middle)
            c_o, g_o = curve[open_], g_near[open_]
            s_o = slope[open_] + (near[open_] - mid[open_]) * c_o
            disc = s_o * s_o - 2.0 * c_o * g_o
            quad = np.ceil(near[open_] - 2.0 * g_o / (s_o + np.sqrt(disc)))
            newton = np.where(np.isfinite(quad) & (s_o > 0), quad, newton)
        guess = np.where(np.isfinite(newton) & (slope[open_] > 0), newton, secant)
        inside = np.isfinite(guess) & (guess >= lo_o - 1) & (guess <= hi_o + 1) & (rounds % 4 != 0)
        halve = np.where(unbounded, 2.0 * lo_o + 1.0, np.floor(0.5 * (lo_o + hi_o)))
        guess = np.where(inside, guess, halve)
        first = np.clip(guess, lo_o + 1.0, np.maximum(hi_o - 1.0, lo_o + 1.0))
        # the answer is usually first or a neighbour: probe first, then the neighbour its
        # outcome points to (one agent fewer if it meets the target, one more if not)
        g1 = update(open_, first)
        met = hi[open_] == first
        second = np.where(met, first - 1.0, first + 1.0)
        need = np.where(met, second > lo[open_], second < hi[open_])
        both = open_[need]
        g2 = update(both, second[need])
        with np.errstate(invalid="ignore", divide="ignore"):  # inf - inf: no slope
            new_slope = np.where(met[need], g1[need] - g2, g2 - g1[need])
            new_mid = np.minimum(first, second)[need] + 0.5
            curve[both] = (new_slope - slope[both]) / (new_mid - mid[both])
        slope[both] = new_slope
        mid[both] = new_mid
        near[open_] = first
        g_near[open_] = g1
    if not np.array_equal(kept.n, hi):  # a broken bookkeeping must not report wrong figures
        raise AssertionError("the staffing search lost track of its answers")
    out[rows] = hi
    t = np.full(rows.size, target.within)
    return out, rows, figures(kept, t, np.full(rows.size, target.short_abandon), at_t=kept_t)
