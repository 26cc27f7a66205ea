"""Erlang C staffing: the fewest agents per cell (interval x queue) for a service level or ASA
target, exact, in a few vector operations a cell.

1. A first guess from square-root staffing, n = a + beta sqrt(a), with beta from the QED
   (Halfin-Whitt) approximation: P(wait) ~ alpha(beta) = 1 / (1 + beta Phi(beta) / phi(beta)),
   so P(wait > T) ~ alpha(beta) exp(-beta tau) with tau = sqrt(a) T / AHT, and the ASA ~
   AHT alpha(beta) / (beta sqrt(a)). beta depends on a cell only through tau: a grid of beta
   gives tau explicitly, and a table of beta against tau (one per target) is read per cell
   (no root finding).
2. 1/B, the inverse Erlang B, exactly at one agent below the guess: by its recurrence
   1/B(k) = 1 + (k/a) / B(k-1) from 1/B(0) = 1 for cells of few agents (all of them in one
   pass: sorted by agents, so that step k works on a prefix of the cells), by the incomplete
   gamma function for the others.
3. A walk from there: a cell that misses the target steps one agent up (the same recurrence);
   one that already meets it, and may have fewer agents, one down (the recurrence backwards),
   until the answer is bracketed. On two days of 100 queues the answer is the guess or one more
   in every cell, so most cells are checked two or three times.

The result equals a plain search that starts at the first stable staffing and steps up one
agent at a time (tests/unit/test_planning_staffing_c.py).
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
from scipy.special import gammaincc, ndtr

from joignable.planning.metrics import PLANNING_SL, Array, QueueMetrics
from joignable.planning.special import log_gamma_ratio, log_inv_erlang_b

IntArray = npt.NDArray[np.int64]

# 1/B comes from its recurrence from 0 up to K agents (two vector operations an agent, shared
# by the cells that reach it) and from an incomplete gamma function cell by cell above, K chosen
# per call for the least work: a step of the recurrence costs about as much as _STEP_COST cells
# of the gamma function (callgrind: 11,000 instructions, and 2,000 to 4,000 a cell; 4 to 11
# staff the benchmark's days within 2 %), and calling it at all as much as _GAMMA_CALL cells.
_STEP_COST = 6.0
_GAMMA_CALL = 60.0
_MAX_STEPS = 254
# The first guess's beta, tabulated against u = tau / (1 + tau) in [0, 1] (smooth at both
# ends: beta tends to its value at tau = 0, and to 0 like 1 / tau) in _STEPS steps, each read
# at its middle, from an explicit grid of beta, dense near 0 where tau grows without bound.
_STEPS = 1024
_BETAS = np.geomspace(1e-3, 8.0, 385)


def _alpha(beta: Array) -> Array:
    """The Halfin-Whitt P(wait) at a safety factor ``beta`` > 0 (about 1/beta^2 above 8)."""
    mills = ndtr(beta) * np.sqrt(2.0 * np.pi) * np.exp(0.5 * beta * beta)
    return np.asarray(1.0 / (1.0 + beta * mills), dtype=np.float64)


_ALPHA = _alpha(_BETAS)


def _table(tau_grid: Array) -> Array:
    """beta at the middle of each step of u (and 0 at u = 1), from ``tau_grid[i]`` at
    ``_BETAS[i]`` (tau falls as beta grows; a negative or undefined tau: no such beta)."""
    keep = np.isfinite(tau_grid) & (tau_grid >= 0)
    tau, beta = tau_grid[keep][::-1], _BETAS[keep][::-1]
    if not tau.size:
        return np.zeros(_STEPS + 1)
    middles = (np.arange(_STEPS + 1) + 0.5) / _STEPS
    table = np.interp(middles, tau / (1.0 + tau), beta, right=0.0)
    table.flags.writeable = False  # cached: shared by every call
    return table


@functools.lru_cache(maxsize=64)
def _sl_table(wait_bound: float) -> Array:
    # alpha(beta) exp(-beta tau) = wait_bound  <=>  tau = log(alpha / wait_bound) / beta
    with np.errstate(divide="ignore", invalid="ignore"):
        return _table(np.log(_ALPHA / wait_bound) / _BETAS)


@functools.lru_cache(maxsize=1)
def _asa_table() -> Array:
    # AHT alpha(beta) / (beta sqrt(a)) = asa  <=>  alpha / beta = asa sqrt(a) / AHT = tau
    return _table(_ALPHA / _BETAS)


def _beta_of(tau: Array, table: Array) -> Array:
    """Each cell's beta, read in the table from its tau >= 0."""
    u = 1.0 + tau
    np.divide(tau, u, out=u)
    u *= _STEPS
    return np.asarray(table[u.astype(np.intp)], dtype=np.float64)


def first_guess(
    a: Array, root: Array, t_h: Array, *, wait_bound: float | None, asa_h: Array | None
) -> Array:
    """Square-root staffing a + beta sqrt(a), rounded up (a guess, not a bound), for
    P(wait > T) <= wait_bound and ASA <= asa (None: no such target); ``root`` = sqrt(a),
    ``t_h`` = T / AHT and ``asa_h`` = asa / AHT per cell."""
    beta: Array | None = None
    if wait_bound is not None:
        beta = _beta_of(root * t_h, _sl_table(wait_bound))
    if asa_h is not None:
        beta_asa = _beta_of(root * asa_h, _asa_table())
        beta = beta_asa if beta is None else np.maximum(beta, beta_asa)
    if beta is None:  # no target but the occupancy's: the search starts where that puts it
        return np.ceil(a)
    beta *= root
    beta += a
    return np.asarray(np.ceil(beta, out=beta), dtype=np.float64)


class _Check:
    """Whether n agents meet the targets, from x = 1/B(n, a); n > a (a stable queue). Called
    within ``search``'s errstate (x = inf far above the load: an errstate costs a few us).

    P(wait) = C = n / ((n - a) x + a), so P(wait > T) = C exp(-(n - a) T / AHT) <= w and
    ASA = C AHT / (n - a) <= asa are checked multiplied out, without a division; the call
    returns that, exp(-(n - a) T / AHT) when there is a service-level target (else None), and
    C's denominator (n - a) x + a, which the figures reuse. ``rows`` picks the cells checked
    (all by default)."""

    def __init__(self, wait_bound: float | None, t_h: Array, h_asa: Array | None) -> None:
        self.wait_bound, self.h_asa = wait_bound, h_asa
        self.neg_t_h = np.negative(t_h)  # -T / AHT: exp's argument in one product

    def __call__(
        self, n: Array, a: Array, x: Array, rows: slice | IntArray = slice(None)
    ) -> tuple[npt.NDArray[np.bool_], Array | None, Array]:
        d = n - a
        ok: npt.NDArray[np.bool_] | None = None
        e = None
        den = d * x  # x = inf far above the load: so is den
        den += a
        if self.wait_bound is not None:
            e = d * self.neg_t_h[rows]
            np.exp(e, out=e)
            ok = n * e <= self.wait_bound * den
        if self.h_asa is not None:
            ok_asa = n * self.h_asa[rows] <= d * den
            ok = ok_asa if ok is None else ok & ok_asa
        return (np.ones(n.shape, dtype=bool) if ok is None else ok), e, den

    def may_meet(self, n: Array, a: Array, x: Array) -> npt.NDArray[np.bool_]:
        """False where the targets are surely missed, found without an exponential (the bulk
        of the work otherwise): exp(-y) >= (1 - y/16)^16 for 0 <= y <= 16, so P(wait > T) is
        at least C (1 - y/16)^16, with y = (n - a) T / AHT; a margin of 1e-12 keeps a cell
        this rounds the other way from ``__call__``'s answer for the exact check."""
        d = n - a
        den = d * x
        den += a
        maybe: npt.NDArray[np.bool_] | None = None
        if self.wait_bound is not None:
            low = d * self.neg_t_h
            low *= 1.0 / 16.0
            low += 1.0
            np.maximum(low, 0.0, out=low)
            for _ in range(4):
                low *= low
            low *= n
            maybe = low <= self.wait_bound * (1.0 + 1e-12) * den
        if self.h_asa is not None:
            ok_asa = n * self.h_asa <= d * den
            maybe = ok_asa if maybe is None else maybe & ok_asa
        return np.ones(n.shape, dtype=bool) if maybe is None else maybe


class Found:
    """The answer per cell: agents n, C's denominator den = (n - a) / B(n, a) + a and
    exp(-(n - a) T / AHT) (None when no service-level target asked for it), filled in as cells
    are settled."""

    def __init__(self, n: Array, den: Array, e: Array | None) -> None:
        self.n, self.den, self.e = n, den, e

    def put(
        self,
        rows: IntArray,
        n: Array,
        den: Array,
        e: Array | None,
        sel: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        """Settle ``rows[sel]`` (every row of ``rows`` when ``sel`` is None: no selection)."""
        if sel is not None:
            rows, n, den = rows[sel], n[sel], den[sel]
            e = None if e is None else e[sel]
        self.n[rows], self.den[rows] = n, den
        if self.e is not None and e is not None:
            self.e[rows] = e


# one errstate for the whole walk (1/B = inf far above the load), not one per check and step
@np.errstate(over="ignore", invalid="ignore")
def search(
    a: Array,
    h: Array,
    start: Array,
    *,
    wait_bound: float | None,
    within: float,
    asa: float | None,
    max_agents: float,
) -> Found:
    """The fewest agents n >= start (start > a, whole numbers) meeting P(wait > within) <=
    wait_bound and ASA <= asa, for cells of load a > 0 and handle time h."""
    t_h = within / h
    root = np.sqrt(a)
    asa_h = None if asa is None else asa / h
    guess = first_guess(a, root, t_h, wait_bound=wait_bound, asa_h=asa_h)
    guess -= 1.0
    lo = np.maximum(start, guess, out=guess)
    check = _Check(wait_bound, t_h, None if asa_h is None else 1.0 / asa_h)
    x = _inv_erlang_b(lo, a)
    # the answer is usually lo + 1 (on two days of 100 queues: 75 %) or lo + 2: check both,
    # lo first where a cheap bound leaves it in doubt (most cells surely miss there)
    maybe = np.flatnonzero(check.may_meet(lo, a, x))
    lo_m = lo[maybe]
    ok_lo, e_lo, den_lo = check(lo_m, a[maybe], x[maybe], maybe)
    met_lo = maybe[ok_lo]  # the answer is lo, or fewer where lo > start
    n = lo + 1.0
    x_up = n / a
    x_up *= x
    x_up += 1.0
    ok, e, den = check(n, a, x_up)
    found = Found(n, den, e)
    if met_lo.size:
        found.put(maybe, lo_m, den_lo, e_lo, ok_lo)
        ok[met_lo] = True
    if not ok.all():
        up = np.flatnonzero(~ok)
        _step_up(up, n[up], a[up], x_up[up], check, max_agents, found)
    if met_lo.size:
        down = met_lo[lo_m[ok_lo] > start[met_lo]]
        if down.size:
            _step_down(down, lo[down], a[down], x[down], start[down], check, found)
    return found


def inv_erlang_b(n: Array, a: Array) -> Array:
    """1/B(n, a) for whole n >= 0 and a > 0, in plain floats (inf where it overflows, far
    above the load, where B is 0 for every purpose).

    Up to K agents (chosen for the least work), for all those cells at once, by the recurrence
    1/B(k) = 1 + (k/a) / B(k-1) from 1/B(0) = 1, carried as y_k = c^k / k! / B(k), for which it
    reads y_k = c^k / k! + (c/a) y_(k-1): two vector operations a step rather than three (c =
    K/e keeps c^k / k! between about 1/sqrt(2 pi K) and e^(K/e)). The cells are sorted by
    agents, most first (a radix sort on a byte), so that step k works on the prefix of those
    that have k agents or more. Above K, from the incomplete gamma function."""
    with np.errstate(over="ignore"):
        return _inv_erlang_b(n, a)


def _inv_erlang_b(n: Array, a: Array) -> Array:
    """``inv_erlang_b`` within an errstate that lets overflows be."""
    key = np.minimum(n, _MAX_STEPS + 1).astype(np.uint8)
    count = np.bincount(key, minlength=_MAX_STEPS + 2)
    above = count[::-1].cumsum()[::-1]  # above[k]: how many cells have k agents or more
    gamma = above[1:] + np.where(above[1:] > 0, _GAMMA_CALL, 0.0)
    steps = int(np.argmin(_STEP_COST * np.arange(_MAX_STEPS + 1) + gamma))
    order = np.argsort(~key, kind="stable")
    reach = above.tolist()
    big = reach[steps + 1]  # the first cells in that order, left to the gamma function
    x = np.ones(n.size)
    if big:
        x[:big] = _inv_b_gamma(n[order[:big]], a[order[:big]])
    if big < n.size:
        c = max(steps / np.e, 1.0)
        scale = np.cumprod(np.append(1.0, c / np.arange(1.0, steps + 1.0)))  # c^k / k!
        ratio = a[order[big:]]
        np.divide(c, ratio, out=ratio)
        y = x[big:]  # y_0 = 1
        sizes = (above[1 : steps + 1] - big).tolist()  # step k: the first sizes[k - 1] cells
        if steps:  # y_1 = c + c/a: one operation
            np.add(ratio[: sizes[0]], scale[1], out=y[: sizes[0]])
        for m, s_k in zip(sizes[1:], scale[2:].tolist(), strict=True):
            v = y[:m]
            v *= ratio[:m]
            v += s_k
        # 1/B = y_n k! / c^k: the cells with n agents are a run, longest n first
        y /= np.repeat(scale[::-1], count[steps::-1])
    out = np.empty(n.size)
    out[order] = x
    return out


def _inv_b_gamma(n: Array, a: Array) -> Array:
    """1/B(n, a) = Q(n + 1, a) e^a n! / a^n (Q: the regularized upper incomplete gamma
    function), for n > a, where Q is about 1/2 or more; the general ``log_inv_erlang_b``, with
    its masked copies and its series for far more traffic than agents, where Q underflows."""
    q = gammaincc(n + 1.0, a)
    if q.min() < 1e-200:
        return np.asarray(np.exp(log_inv_erlang_b(n, a)), dtype=np.float64)
    x = np.exp(log_gamma_ratio(n, a))  # inf: past the largest float, far above the load
    x *= q
    return x


def _step_up(
    rows: IntArray, n: Array, a: Array, x: Array, check: _Check, max_agents: float, found: Found
) -> None:
    """Rows that miss the target at n: one agent more until they meet it (usually once: the
    last step settles every row left, without a selection)."""
    while True:
        if n.max() >= max_agents:
            raise ValueError("no staffing meets this target")
        n = n + 1.0
        x = x * (n / a)
        x += 1.0
        ok, e, den = check(n, a, x, rows)
        if ok.all():
            found.put(rows, n, den, e)
            return
        found.put(rows, n, den, e, ok)
        short = ~ok
        rows, n, a, x = rows[short], n[short], a[short], x[short]


def _step_down(
    rows: IntArray, n: Array, a: Array, x: Array, start: Array, check: _Check, found: Found
) -> None:
    """Rows that meet the target at n > start: one agent fewer, 1/B(n-1) = (1/B(n) - 1) a / n
    (which loses at most a bit a step: 1/B(n) > 2 above the load), while that still meets it.
    The figures kept are those at the answer, n, whose exp(-(n - a) T / AHT) is recomputed."""
    while rows.size:
        x_below = (x - 1.0) * (a / n)  # inf - 1 stays inf: far above the load
        below = n - 1.0
        ok_below, _, _ = check(below, a, x_below, rows)
        ok = (below >= start) & ok_below
        stop = ~ok
        if stop.any():
            _, e, den = check(n, a, x, rows)
            found.put(rows, n, den, e, stop)
        rows, n, a, x, start = rows[ok], below[ok], a[ok], x_below[ok], start[ok]


def figures(a: Array, h: Array, within: float, found: Found) -> QueueMetrics:
    """Erlang C's figures at the agents found, n > a > 0, as ``erlang_c.erlang_c`` gives them."""
    n, den, e = found.n, found.den, found.e
    d = n - a
    if e is None:
        e = np.exp((a - n) * (within / h))
    c = np.divide(n, den, out=den)  # den = inf far above the load, where C = 0
    asa = c * h
    asa /= d
    sl = 1.0 - c * e
    return QueueMetrics(
        agents=n,
        load=a,
        p_wait=c,
        p_abandon=np.zeros(a.shape),
        asa=asa,
        occupancy=a / n,
        service_level={name: sl for name in PLANNING_SL},
    )
