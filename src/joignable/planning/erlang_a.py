"""Erlang A: the M/M/n+M queue (Erlang C plus exponential patience), after Garnett, Mandelbaum
and Reiman, "Designing a call center with impatient customers" (MSOM 4(3), 2002).

Notation: mu = 1/aht, theta = 1/patience, x = n mu / theta, y = lambda / theta, a = lambda / mu.
The birth-death chain gives, with B the Erlang B of (n, a) and A = A(x, y) (``special.log_kummer``):

    P(wait) = A / (1/B + A - 1)
    P(served | waited) = x/(x+1) * A(x+1, y) / A(x, y)

A waiting customer's offered wait V (the wait it would have if it never left) satisfies
V = log(y / U) / theta with U a Gamma(x, 1) variable truncated to (0, y), which gives, with
z = y exp(-theta t):

    P(V > t | waited)              = exp(-n mu t + y - z) A(x, z) / A(x, y)
    P(V > t, served | waited)      = x/(x+1) exp(-(n mu + theta) t + y - z) A(x+1, z) / A(x, y)

A customer is served when V < its patience, and every service-level definition follows. The mean
wait of served customers comes from the derivative in x of log A (``special.mean_harmonic``).
Everything is in logs: no overflow at 20,000 agents, and fractional agents interpolate smoothly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import special as sp

from joignable.planning.metrics import (
    PLANNING_SL,
    SHORT_ABANDON,
    Array,
    QueueMetrics,
    as_array,
    check_sl_name,
)
from joignable.planning.special import (
    log_inv_erlang_b,
    log_kummer,
    log_kummer_next,
    mean_harmonic,
)


class Chain:
    """The pieces of one M/M/n+M system shared by every figure (arrays broadcast together)."""

    FIELDS = (
        "h", "n", "pat", "a", "x", "y", "log_a", "p_wait", "log_ratio",
        "served_if_wait", "p_abandon", "answered",
    )  # fmt: skip

    def __init__(self, lam: Array, h: Array, n: Array, pat: Array) -> None:
        self.h, self.n, self.pat = h, n, pat
        self.a = lam * h
        self.x = n * pat / h
        self.y = lam * pat
        self.log_a = log_kummer(self.x, self.y)
        log_inv_b = log_inv_erlang_b(n, self.a)
        with np.errstate(divide="ignore", invalid="ignore"):
            # log(1/B - 1); -inf when B = 1 (no agent)
            log_inv_b_minus_1 = log_inv_b + np.log1p(-np.exp(-log_inv_b))
            self.p_wait: Array = sp.expit(self.log_a - log_inv_b_minus_1)
            self.log_ratio = np.log(self.x / (self.x + 1.0))  # -inf with no agent
            self.served_if_wait = np.exp(
                self.log_ratio + log_kummer_next(self.x, self.y, self.log_a) - self.log_a
            )
        # no agent: everyone waits (1/B - 1 = 0 up to rounding, so set it exactly)
        self.p_wait = np.where(n > 0, self.p_wait, np.where(self.a > 0, 1.0, 0.0))
        self.p_abandon = self.p_wait * (1.0 - self.served_if_wait)
        # not 1 - p_abandon: that loses the digits of a small share answered
        self.answered = (1.0 - self.p_wait) + self.p_wait * self.served_if_wait

    @classmethod
    def blank(cls, size: int) -> Chain:
        """A chain of ``size`` systems to fill with ``put`` (a search keeps its answers' here)."""
        ch = cls.__new__(cls)
        for f in cls.FIELDS:
            setattr(ch, f, np.full(size, np.nan))
        return ch

    def put(self, where: npt.NDArray[np.intp], other: Chain, sel: npt.NDArray[np.intp]) -> None:
        """Systems ``sel`` of ``other`` become systems ``where`` of this one."""
        for f in self.FIELDS:
            getattr(self, f)[where] = getattr(other, f)[sel]

    def within(self, t: Array) -> tuple[Array, Array]:
        """(served with a wait <= t, served or gone with a wait <= t), over all arrivals: the
        second is 1 - P(V > t and patience > t)."""
        served, log_axz = self.served_within(t)
        return served, self.resolved_within(t, served, log_axz)

    def served_within(self, t: Array) -> tuple[Array, Array]:
        """(served with a wait <= t over all arrivals, log A(x, z)): the second gives
        ``resolved_within`` without another incomplete gamma function, so a search that needs
        only the first can leave the second for later."""
        z = self.y * np.exp(-t / self.pat)
        log_axz = log_kummer(self.x, z)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            served_late = np.exp(
                self.log_ratio
                - (self.n / self.h + 1.0 / self.pat) * t
                + self.y
                - z
                + log_kummer_next(self.x, z, log_axz)
                - self.log_a
            )
        served_late = np.where(np.isfinite(served_late), served_late, self.served_if_wait)
        waited_in_time = np.maximum(self.served_if_wait - served_late, 0.0)
        served = np.asarray((1.0 - self.p_wait) + self.p_wait * waited_in_time, dtype=np.float64)
        return served, log_axz

    def resolved_within(self, t: Array, served: Array, log_axz: Array) -> Array:
        """Served or gone with a wait <= t, from ``served_within(t)``."""
        z = self.y * np.exp(-t / self.pat)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            late = np.exp(-self.n * t / self.h + self.y - z + log_axz - self.log_a)
        late = np.where(np.isfinite(late), late, 1.0)
        resolved = 1.0 - np.exp(-t / self.pat) * self.p_wait * np.minimum(late, 1.0)
        return np.asarray(np.maximum(resolved, served), dtype=np.float64)


def erlang_a(
    rate: npt.ArrayLike,
    aht: npt.ArrayLike,
    agents: npt.ArrayLike,
    patience: npt.ArrayLike,
    within: npt.ArrayLike = 20.0,
    short_abandon: npt.ArrayLike = SHORT_ABANDON,
    *,
    with_asa: bool = True,
    sl_names: tuple[str, ...] = PLANNING_SL,
) -> QueueMetrics:
    """Figures for ``rate`` arrivals per second, ``aht`` seconds of handling, ``agents`` agents,
    a mean patience of ``patience`` seconds, the service-level threshold ``within`` and the
    short-abandon threshold ``short_abandon`` (seconds; all broadcast together). A search that
    needs fewer figures can skip the ASA (``with_asa=False``: NaN), the one figure that needs a
    sum over queue lengths, and compute only the service levels in ``sl_names``."""
    lam, h, n, pat, t, s = np.broadcast_arrays(
        as_array(rate, "rate"),
        as_array(aht, "aht", positive=True),
        as_array(agents, "agents"),
        as_array(patience, "patience", positive=True),
        as_array(within, "within"),
        as_array(short_abandon, "short_abandon"),
    )
    for name in sl_names:
        check_sl_name(name)
    return figures(Chain(lam, h, n, pat), t, s, with_asa=with_asa, sl_names=sl_names)


def figures(
    ch: Chain,
    t: Array,
    s: Array,
    *,
    with_asa: bool = True,
    sl_names: tuple[str, ...] = PLANNING_SL,
    at_t: tuple[Array, Array] | None = None,
) -> QueueMetrics:
    """``erlang_a``'s figures from a chain already built; ``at_t`` is ``ch.served_within(t)``
    where a caller has it already (a staffing search keeps it from its last probe)."""
    n, pat = ch.n, ch.pat
    answered = ch.answered
    served_t, log_axz = ch.served_within(t) if at_t is None else at_t
    resolved_t: Array | None = None  # only the last definition needs it
    sl: dict[str, Array] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name in sl_names:
            if name == "answered_within_t_over_offered":
                sl[name] = served_t
            elif name == "answered_within_t_over_answered":
                sl[name] = np.where(answered > 0, np.minimum(served_t / answered, 1.0), np.nan)
            elif name == "answered_within_t_over_offered_minus_short_abandons":
                served_s, resolved_s = ch.within(s)
                short = np.maximum(resolved_s - served_s, 0.0)  # left before S seconds
                sl[name] = np.where(short < 1, np.minimum(served_t / (1.0 - short), 1.0), np.nan)
            else:
                if resolved_t is None:
                    resolved_t = ch.resolved_within(t, served_t, log_axz)
                sl[name] = resolved_t
        occ = np.where(n > 0, np.minimum(ch.a * answered / n, 1.0), 0.0)
        if with_asa:
            # E[wait; served] = P(wait) P(served | waited) (1/(x+1) + E[H]) * patience
            stages = 1.0 / (ch.x + 1.0) + mean_harmonic(ch.x + 1.0, ch.y)
            waited = ch.p_wait * ch.served_if_wait * stages * pat
            asa = np.where(answered > 0, waited / answered, np.nan)
        else:
            asa = np.full(n.shape, np.nan)
    return QueueMetrics(
        agents=np.asarray(n, dtype=np.float64),
        load=ch.a,
        p_wait=ch.p_wait,
        p_abandon=ch.p_abandon,
        asa=asa,
        occupancy=occ,
        service_level=sl,
    )
