"""Invariants of the queueing formulas over random inputs (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from joignable.planning.erlang_a import erlang_a
from joignable.planning.erlang_c import erlang_c
from joignable.planning.metrics import PLANNING_SL
from joignable.planning.staffing import Target, staff

STRICT = "answered_within_t_over_offered"
load = st.floats(0.01, 2000.0)
aht = st.floats(10.0, 1200.0)
patience = st.floats(1.0, 3600.0)
within = st.floats(0.0, 120.0)
FEW = settings(max_examples=60, deadline=None)


def agents_around(a: float) -> np.ndarray:
    return np.arange(max(0.0, np.floor(a - 4 * np.sqrt(a) - 3)), np.ceil(a + 6 * np.sqrt(a) + 6))


@FEW
@given(load, aht, patience, within)
def test_every_sl_rises_with_agents_and_probabilities_stay_in_0_1(
    a: float, h: float, p: float, t: float
) -> None:
    n = agents_around(a)
    for m in (erlang_c(a / h, h, n, t), erlang_a(a / h, h, n, p, t)):
        for x in (m.p_wait, m.p_abandon, m.occupancy):
            assert np.all((x >= 0) & (x <= 1))
        for name in PLANNING_SL:
            sl = m.service_level[name]
            ok = ~np.isnan(sl)
            assert np.all((sl[ok] >= 0) & (sl[ok] <= 1 + 1e-12))
            assert np.all(np.diff(sl[ok]) >= -1e-9), name
        assert np.all(np.diff(m.p_wait) <= 1e-12)
        strict = m.service_level[STRICT]
        for name in PLANNING_SL:  # docs/kpis.md: the strict definition is never above another
            other = m.service_level[name]
            ok = ~np.isnan(other)
            assert np.all(strict[ok] <= other[ok] + 1e-9)


@FEW
@given(load, aht, within, st.floats(1.05, 3.0))
def test_erlang_a_tends_to_erlang_c_as_patience_grows(
    a: float, h: float, t: float, headroom: float
) -> None:
    n = np.ceil(a * headroom + 1)  # a stable Erlang C
    c = erlang_c(a / h, h, n, t)
    m = erlang_a(a / h, h, n, h * 1e8, t)  # patience 10^8 handle times
    assert np.allclose(m.p_wait, c.p_wait, rtol=1e-5, atol=1e-9)
    assert np.allclose(m.service_level[STRICT], c.service_level[STRICT], rtol=1e-5, atol=1e-9)
    assert np.allclose(m.asa, c.asa, rtol=1e-4, atol=1e-9)
    assert float(m.p_abandon) < 1e-5


@FEW
@given(st.floats(0.9, 1.05), aht, patience, within)
def test_stable_and_finite_at_20000_agents(ratio: float, h: float, p: float, t: float) -> None:
    n = 20_000.0
    a = n * ratio
    for m in (erlang_c(a / h, h, n, t), erlang_a(a / h, h, n, p, t)):
        for x in (m.p_wait, m.p_abandon, m.occupancy, m.service_level[STRICT]):
            assert np.isfinite(x).all() and np.all((x >= 0) & (x <= 1))
    m = erlang_a(a / h, h, [n - 1, n, n + 1], p, t)
    assert np.all(np.diff(m.p_wait) <= 0) and np.all(np.isfinite(m.asa))


@FEW
@given(st.lists(st.tuples(load, aht, patience, st.floats(0.0, 60.0)), min_size=1, max_size=8))
def test_vectorised_equals_scalar(rows: list[tuple[float, float, float, float]]) -> None:
    a, h, p, frac = (np.array(c) for c in zip(*rows, strict=True))
    n = np.floor(a) + frac  # fractional agents too
    many = erlang_a(a / h, h, n, p, 20.0)
    for i in range(len(rows)):
        one = erlang_a(a[i] / h[i], h[i], n[i], p[i], 20.0)
        pairs = [(one.p_wait, many.p_wait), (one.p_abandon, many.p_abandon)]
        pairs += [(one.asa, many.asa), (one.occupancy, many.occupancy)]
        pairs += [(one.service_level[k], many.service_level[k]) for k in PLANNING_SL]
        for x, y in pairs:  # equal to rounding: the ASA's sums are grouped differently
            np.testing.assert_allclose(x, y[i], rtol=1e-12, atol=0)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(load, aht, patience), min_size=1, max_size=6),
    st.sampled_from(PLANNING_SL),
    st.floats(0.5, 0.95),
    within,
)
def test_erlang_a_staffing_is_minimal(
    rows: list[tuple[float, float, float]], name: str, sl: float, t: float
) -> None:
    a, h, p = (np.array(c) for c in zip(*rows, strict=True))
    target = Target(sl, t, name)
    s = staff(a * 900 / h, 900, h, target, model="erlang-a", patience=p)
    n = s.productive.astype(float)
    assert np.all(target.met(erlang_a(a / h, h, n, p, t)))
    below = n > 0
    fewer = erlang_a(a / h, h, np.maximum(n - 1, 0), p, t)
    assert not np.any(target.met(fewer)[below])
