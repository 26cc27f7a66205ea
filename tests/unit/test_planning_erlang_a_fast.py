"""The fast Erlang A staffing pinned to the reference path: a plain bisection over the agents with
``erlang_a`` itself must find the same staffing in every cell, and the figures the search keeps
from its probes must equal ``erlang_a``'s at that staffing; the ASA's sum (``mean_harmonic``) must
equal a brute-force sum over every queue length."""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from joignable.planning.erlang_a import erlang_a
from joignable.planning.metrics import PLANNING_SL, QueueMetrics
from joignable.planning.special import mean_harmonic
from joignable.planning.staffing import Target, staff

Array = npt.NDArray[np.float64]
REL = 1e-12


def reference_staffing(lam: Array, h: Array, pat: Array, target: Target) -> Array:
    """The fewest agents meeting ``target`` per cell: doubling, then bisection, on the figures of
    ``erlang_a`` (feasibility grows with the agents); n = 0 where there is no traffic."""

    def met(n: Array) -> npt.NDArray[np.bool_]:
        m = erlang_a(lam, h, n, pat, target.within, target.short_abandon)
        return target.met(m)

    lo = np.full(lam.shape, -1.0)  # infeasible (-1: none)
    hi = np.ones(lam.shape)
    while True:
        ok = met(hi)
        if ok.all():
            break
        lo = np.where(ok, lo, hi)
        hi = np.where(ok, hi, 2.0 * hi)
    hi = np.where(met(np.zeros(lam.shape)), 0.0, hi)
    lo = np.where(hi == 0, -1.0, np.maximum(lo, 0.0))
    while np.any(hi - lo > 1):
        open_ = hi - lo > 1
        mid = np.where(open_, np.floor(0.5 * (lo + hi)), hi)
        ok = met(mid)
        hi = np.where(open_ & ok, mid, hi)
        lo = np.where(open_ & ~ok, mid, lo)
    return np.where(lam > 0, hi, 0.0)


def assert_same_figures(fast: QueueMetrics, ref: QueueMetrics, atol: float = 1e-300) -> None:
    pairs = [
        (fast.agents, ref.agents),
        (fast.load, ref.load),
        (fast.p_wait, ref.p_wait),
        (fast.p_abandon, ref.p_abandon),
        (fast.asa, ref.asa),
        (fast.occupancy, ref.occupancy),
    ] + [(fast.service_level[k], ref.service_level[k]) for k in PLANNING_SL]
    for got, want in pairs:
        np.testing.assert_allclose(got, want, rtol=REL, atol=atol, equal_nan=True)


def check(arrivals: Array, aht: Array, patience: Array, target: Target) -> None:
    s = staff(arrivals, 900.0, aht, target, model="erlang-a", patience=patience)
    lam = arrivals / 900.0
    n = reference_staffing(lam, aht, patience, target)
    np.testing.assert_array_equal(s.productive, n)
    ref = erlang_a(lam, aht, n, patience, target.within, target.short_abandon)
    assert_same_figures(s.metrics, ref)


TARGETS = st.one_of(
    st.builds(
        Target,
        sl=st.floats(0.5, 0.95),
        within=st.sampled_from([0.0, 10.0, 20.0, 60.0]),
        sl_definition=st.sampled_from(PLANNING_SL),
    ),
    st.builds(Target, sl=st.none(), asa=st.floats(2.0, 120.0)),
    st.builds(Target, sl=st.none(), max_abandon=st.floats(0.01, 0.3)),
    st.builds(
        Target, sl=st.floats(0.6, 0.9), within=st.just(20.0), max_occupancy=st.floats(0.6, 0.95)
    ),
    st.builds(Target, sl=st.none(), max_occupancy=st.floats(0.3, 0.95)),
    st.builds(Target, sl=st.none(), asa=st.floats(5.0, 60.0), max_abandon=st.floats(0.02, 0.2)),
)


@settings(max_examples=int(os.environ.get("P17_EXAMPLES", "40")), deadline=None)
@given(
    target=TARGETS,
    seed=st.integers(0, 2**32 - 1),
    cells=st.integers(1, 60),
    top=st.sampled_from([5.0, 200.0, 3000.0]),
)
def test_fast_staffing_equals_the_reference_on_random_cells(
    target: Target, seed: int, cells: int, top: float
) -> None:
    rng = np.random.default_rng(seed)
    arrivals = np.round(np.exp(rng.uniform(np.log(0.5), np.log(top), cells))).astype(np.float64)
    arrivals[rng.random(cells) < 0.1] = 0.0  # some cells without traffic
    aht = rng.uniform(30.0, 900.0, cells)
    patience: Array = np.exp(rng.uniform(np.log(10.0), np.log(3600.0), cells))
    check(arrivals, aht, patience, target)


def test_fast_staffing_equals_the_reference_on_a_day_of_queues() -> None:
    # the benchmark's shape in small: a two-peak day of queues of all sizes
    rng = np.random.default_rng(5)
    hours = np.linspace(0.0, 24.0, 24, endpoint=False)
    day = 0.05 + np.exp(-(((hours - 10.5) / 2.0) ** 2))
    top = np.exp(rng.uniform(np.log(2.0), np.log(2000.0), 12))
    arrivals = np.maximum(np.round(day[:, None] / day.max() * top[None, :]), 1.0)
    aht = np.broadcast_to(np.round(rng.uniform(120.0, 600.0, 12)), arrivals.shape)
    check(arrivals.ravel(), aht.ravel(), np.full(arrivals.size, 120.0), Target(0.8, 20.0))


def test_fast_staffing_equals_the_reference_at_20000_agents() -> None:
    arrivals = np.array([57_000.0, 60_000.0, 66_000.0])  # 19,000 to 22,000 Erlangs
    aht = np.full(3, 300.0)
    for patience in (30.0, 120.0, 1800.0):
        for target in (Target(0.8, 20.0), Target(None, asa=10.0), Target(0.9, 10.0)):
            check(arrivals, aht, np.full(3, patience), target)


def brute_mean_harmonic(z: Array, y: Array) -> Array:
    """E[H_J] summed over every queue length from 0 far past the mode, in logs."""
    out = np.empty(z.size)
    for i, (zi, yi) in enumerate(zip(z, y, strict=True)):
        last = int(max(yi - zi, 0.0) + 40.0 * np.sqrt(max(yi, zi, 1.0)) + 400)
        j = np.arange(1, last + 1, dtype=np.float64)
        log_t = np.concatenate([[0.0], np.cumsum(np.log(yi) - np.log(zi + j))])
        harmonic = np.concatenate([[0.0], np.cumsum(1.0 / (zi + j))])
        w = np.exp(log_t - log_t.max())
        out[i] = (w * harmonic).sum() / w.sum()
    return out


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([3.0, 100.0, 20_000.0]))
def test_mean_harmonic_equals_the_brute_force_sum(seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    z = 1.0 + np.exp(rng.uniform(0.0, np.log(scale), 40))
    y = z * np.exp(rng.uniform(-2.5, 2.5, 40))
    y[:5] = rng.uniform(1e-3, 1.0, 5)  # nearly nobody waits
    np.testing.assert_allclose(mean_harmonic(z, y), brute_mean_harmonic(z, y), rtol=1e-12)
