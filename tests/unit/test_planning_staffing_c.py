"""The fast Erlang C staffing (a square-root staffing guess, 1/B by its recurrence, a short walk)
pinned to the plain search: from the first stable staffing up, one agent at a time, on the
figures of ``erlang_c`` itself; the same staffing in every cell, and the same figures there."""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt
import pytest
from benchmarks.planning import workload
from hypothesis import given, settings
from hypothesis import strategies as st

from joignable.planning import staffing_c
from joignable.planning.erlang_c import erlang_c
from joignable.planning.metrics import PLANNING_SL
from joignable.planning.special import log_inv_erlang_b
from joignable.planning.staffing import Target, staff
from tests.unit.test_planning_erlang_a_fast import assert_same_figures

Array = npt.NDArray[np.float64]


def plain_staffing(lam: Array, h: Array, target: Target) -> Array:
    """The fewest agents meeting ``target`` per cell, stepping up one agent at a time from the
    first stable staffing (and the occupancy cap's), on ``erlang_c``'s figures; 0 without
    traffic."""
    a = lam * h
    n = np.floor(a) + 1.0
    if target.max_occupancy is not None:
        n = np.maximum(n, np.ceil(a / target.max_occupancy - 1e-9))
    while True:
        short = ~target.met(erlang_c(lam, h, n, target.within)) & (a > 0)
        if not short.any():
            return np.where(a > 0, n, 0.0)
        n = n + short


def check(arrivals: Array, aht: Array, target: Target) -> None:
    s = staff(arrivals, 900.0, aht, target)
    lam = arrivals / 900.0
    n = plain_staffing(lam, aht, target)
    np.testing.assert_array_equal(s.productive, n)
    # 1e-15 absolute: a service level of 1 - C near 0 keeps only C's absolute rounding
    assert_same_figures(s.metrics, erlang_c(lam, aht, n, target.within), atol=1e-15)


TARGETS = st.one_of(
    st.builds(
        Target,
        sl=st.floats(0.05, 0.999),
        within=st.sampled_from([0.0, 5.0, 20.0, 60.0, 600.0]),
        sl_definition=st.sampled_from(PLANNING_SL),
    ),
    st.builds(Target, sl=st.none(), asa=st.floats(0.5, 600.0)),
    st.builds(Target, sl=st.floats(0.5, 0.99), within=st.just(20.0), asa=st.floats(2.0, 60.0)),
    st.builds(
        Target, sl=st.floats(0.6, 0.9), within=st.just(20.0), max_occupancy=st.floats(0.3, 0.95)
    ),
    st.builds(Target, sl=st.none(), max_occupancy=st.floats(0.1, 1.0)),
)


@settings(max_examples=int(os.environ.get("P17_EXAMPLES", "60")), deadline=None)
@given(
    target=TARGETS,
    seed=st.integers(0, 2**32 - 1),
    cells=st.integers(1, 80),
    top=st.sampled_from([0.05, 5.0, 200.0, 3000.0]),
)
def test_fast_staffing_equals_the_plain_search_on_random_cells(
    target: Target, seed: int, cells: int, top: float
) -> None:
    rng = np.random.default_rng(seed)
    arrivals = np.exp(rng.uniform(np.log(1e-3), np.log(top), cells))
    arrivals[rng.random(cells) < 0.1] = 0.0  # some cells without traffic
    aht = rng.uniform(10.0, 1800.0, cells)
    check(arrivals, aht, target)


def test_fast_staffing_equals_the_plain_search_on_a_day_of_queues() -> None:
    # the benchmark's shape in small: a two-peak day of queues of all sizes
    arrivals, aht = workload(np.random.default_rng(11), 24, 12, (2.0, 2000.0))
    aht = np.broadcast_to(aht, arrivals.shape)
    for target in (Target(0.8, 20.0), Target(0.95, 10.0), Target(None, asa=15.0)):
        check(arrivals.ravel(), aht.ravel(), target)


@pytest.mark.parametrize(
    "target", [Target(0.8, 20.0), Target(0.999, 0.0), Target(None, asa=1.0), Target(0.2, 600.0)]
)
def test_fast_staffing_equals_the_plain_search_at_the_extremes(target: Target) -> None:
    # a tiny trickle, a few Erlangs, and 20,000 agents (far above the recurrence's reach)
    arrivals = np.array([1e-6, 0.3, 4.0, 57_000.0, 66_000.0])
    check(arrivals, np.array([30.0, 600.0, 180.0, 300.0, 300.0]), target)


def test_the_first_guess_is_the_answer_or_one_short_on_a_day_of_queues() -> None:
    # what makes it fast (a check or two a cell), not a promise: on the benchmark's day of 100
    # queues the answer is the square-root staffing guess or one agent more in every cell
    arrivals, aht = workload(np.random.default_rng(42), 96, 100, (2.0, 2000.0))
    arrivals, aht = arrivals.ravel(), np.broadcast_to(aht, (96, 100)).ravel()
    a = arrivals / 900.0 * aht
    guess = staffing_c.first_guess(a, np.sqrt(a), 20.0 / aht, wait_bound=0.2, asa_h=None)
    guess = np.maximum(guess, np.floor(a) + 1)
    answer = staff(arrivals, 900.0, aht, Target(0.8, 20.0)).productive
    assert set(np.unique(answer - guess).tolist()) <= {0, 1}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.01, 1.0, 30.0, 5000.0]))
def test_recurrence_and_incomplete_gamma_agree_on_inverse_erlang_b(seed: int, scale: float) -> None:
    # 1/B by the recurrence (few agents) or the incomplete gamma function (many, or few cells
    # with many agents): both must hold
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.01, 1.0, 200) * scale
    n = np.maximum(np.floor(a) + rng.integers(1, 60, 200), 1.0)
    fast = staffing_c.inv_erlang_b(n, a)
    log_want = log_inv_erlang_b(n, a)
    # where P(wait) is still above 1e-13 or so (1/B below 1e15), to the last digits; beyond,
    # where B is 0 for every purpose, the two agree in logs (the gamma path's log of 1e200 is
    # good to about 1e-10 of a unit there)
    near = log_want < np.log(1e15)
    np.testing.assert_allclose(fast[near], np.exp(log_want[near]), rtol=1e-13)
    far = ~near & (log_want < 700.0)
    np.testing.assert_allclose(np.log(fast[far]), log_want[far], rtol=1e-11)
    assert np.all(fast[log_want > 710.0] == np.inf)  # past the largest float
