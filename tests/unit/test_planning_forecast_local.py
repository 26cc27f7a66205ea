"""Forecast for a center far from UTC (local days, the days clocks change) and special days
(left out of the weekday pattern, forecast from one another), against a known truth."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from joignable.cli import main
from joignable.ledger.store import SQLiteStore
from joignable.planning import simulate as sim
from joignable.planning.forecast import (
    DAY,
    day_starts,
    forecast_day,
    history,
    pattern,
    seasonal,
)
from joignable.planning.twin import DAY0, run_twin, single_queue
from tests.unit.test_planning_forecast import W2, chi2, rates
from tests.unit.test_planning_forecast_cli import ledger  # noqa: F401 (a fixture)

NY = "America/New_York"  # UTC-5 in winter, UTC-4 in summer


def local_rate(t: float, base: float) -> float:
    """The truth: arrivals in the quarter hour starting at ``t``, a workday curve on the local
    clock (a peak at 10:30 local time, whatever the offset)."""
    local = dt.datetime.fromtimestamp(t, ZoneInfo(NY))
    hours = local.hour + local.minute / 60 + 0.125
    weekday = [1.0, 1.1, 1.05, 1.0, 0.9, 0.5, 0.25][local.weekday()]
    return base * weekday * (0.05 + np.exp(-((hours - 10.5) ** 2) / 4))


def ledger_from(first: dt.date, days: int, base: float, path: Path, seed: int) -> str:
    """``days`` local days of traffic from ``first`` (New York), through the core, in a ledger."""
    starts = [t for d in range(days) for t in day_starts(first + dt.timedelta(d), NY, 900)]
    center = single_queue(
        [local_rate(t, base) for t in starts],
        [6],
        sim.exponential(150),
        patience=sim.exponential(60),
    )
    r = run_twin(center, seed=seed, start=starts[0])
    store = SQLiteStore(str(path))
    store.append(list(enumerate(r.events, 1)))
    store.close()
    return str(path)


def test_days_the_clocks_change_have_92_or_100_quarter_hours() -> None:
    assert len(day_starts(dt.date(2024, 3, 10), NY, 900)) == 92
    assert len(day_starts(dt.date(2023, 11, 5), NY, 900)) == 100
    assert len(day_starts(dt.date(2024, 3, 11), NY, 900)) == 96
    start = day_starts(dt.date(2024, 1, 8), NY, 900)[0]
    assert start == dt.datetime(2024, 1, 8, 5, tzinfo=dt.UTC).timestamp()  # local midnight
    with pytest.raises(ValueError, match="unknown time zone"):
        day_starts(dt.date(2024, 1, 8), "Mars/Olympus", 900)
    with pytest.raises(ValueError, match="interval"):
        day_starts(dt.date(2024, 1, 8), "Asia/Kolkata", 3600)  # UTC+05:30


@pytest.mark.parametrize(
    ("first", "target", "intervals"),
    [
        (dt.date(2024, 2, 18), dt.date(2024, 3, 10), 92),  # clocks go forward that Sunday
        (dt.date(2023, 10, 15), dt.date(2023, 11, 5), 100),  # and back
        (dt.date(2023, 10, 23), dt.date(2023, 11, 13), 96),  # a history across the change
    ],
)
def test_local_days_follow_the_local_clock_across_the_clock_changes(
    tmp_path: Path, first: dt.date, target: dt.date, intervals: int
) -> None:
    db = ledger_from(first, 21, 8.0, tmp_path / "ledger.db", seed=5)
    h = history([e for _, e in SQLiteStore(db, readonly=True).read()], 900, NY)
    assert h.first_day == first and h.days == 21
    f = forecast_day(h, "q", target)
    assert f.starts is not None and len(f.arrivals) == len(f.starts) == intervals
    truth = np.array([local_rate(t, 8.0) for t in f.starts])
    # unbiased with the stated error (3 past same weekdays, half-life 2 weeks): chi-square
    w = 0.5 ** (np.arange(3) / 2.0)
    w2 = float(np.sum((w / w.sum()) ** 2))
    assert chi2(f.arrivals, truth, np.sqrt(truth * w2)) < stats.chi2.ppf(0.999, intervals)
    # the peak is at 10:30 local time, not at 10:30 UTC
    peak = dt.datetime.fromtimestamp(float(f.starts[int(np.argmax(f.arrivals))]), ZoneInfo(NY))
    assert 9 <= peak.hour <= 11
    # the same history read in UTC puts that peak five or four hours later
    utc = history([e for _, e in SQLiteStore(db, readonly=True).read()], 900)
    g = forecast_day(utc, "q", utc.first_day + dt.timedelta(days=utc.days))
    assert g.starts is not None and len(g.arrivals) == 96
    assert (
        13
        <= dt.datetime.fromtimestamp(float(g.starts[int(np.argmax(g.arrivals))]), dt.UTC).hour
        <= 16
    )


def test_the_cli_forecasts_a_local_day(tmp_path: Path) -> None:
    db = ledger_from(dt.date(2024, 2, 18), 21, 8.0, tmp_path / "ledger.db", seed=6)
    r = CliRunner().invoke(
        main, ["plan", "forecast", "--db", db, "--timezone", NY, "--aht", "150", "--json"]
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["day"] == "2024-03-10" and doc["timezone"] == NY
    labels = doc["intervals"]
    assert len(labels) == len(doc["queues"]["q"]["agents"]) == 92
    assert "01:45" in labels and "02:00" not in labels and labels[8] == "03:00"  # 02:xx skipped
    text = CliRunner().invoke(main, ["plan", "forecast", "--db", db, "--timezone", NY])
    assert text.stdout.startswith(f"forecast for 2024-03-10 ({NY}) from 21 day(s) of history")
    bad = CliRunner().invoke(main, ["plan", "forecast", "--db", db, "--timezone", "Nowhere/City"])
    assert bad.exit_code == 2 and "unknown time zone" in bad.stderr


HOLIDAY = np.r_[np.zeros(40), np.full(32, 0.5), np.zeros(24)]  # open 10:00-18:00, half volume


def test_special_days_are_left_out_of_the_weekday_pattern_and_forecast_from_each_other() -> None:
    rng = np.random.default_rng(21)
    lam = rates(9)
    holidays = [14, 35, 49]  # three Mondays of the history are holidays: a flat afternoon
    for d in holidays:
        lam[d] = 40.0 * HOLIDAY
    counts = rng.poisson(lam[:56]).astype(float)
    monday = DAY0 + 56 * DAY
    truth = lam[56]  # an ordinary Monday (rates' Monday curve)
    sd = np.sqrt(truth * W2)

    def check(f_arrivals: np.ndarray, expected: np.ndarray, std: np.ndarray) -> bool:
        keep = expected > 0
        return chi2(f_arrivals[keep], expected[keep], std[keep]) < stats.chi2.ppf(0.999, keep.sum())

    f = seasonal(counts, DAY0, monday, half_life=4.0, special=holidays)
    assert f.weeks == 8 - len(holidays) and not f.special
    weeks_back = np.array([2, 4, 5, 7, 8])  # the ordinary Mondays: days 42, 28, 21, 7, 0
    w = 0.5 ** ((weeks_back - 2) / 4.0)
    w2 = float(np.sum((w / w.sum()) ** 2))
    assert check(f.arrivals, truth, np.sqrt(truth * w2))
    # without the list, the holidays drag the Monday down: the same check rejects it
    naive = seasonal(counts, DAY0, monday, half_life=4.0)
    assert not check(naive.arrivals, truth, sd)
    # a holiday is forecast from the holidays: closed in the morning, flat in the afternoon
    g = seasonal(counts, DAY0, monday, half_life=4.0, special=holidays, special_day=True)
    assert g.special and g.weeks == 3
    assert g.arrivals[:40].sum() == 0 and g.arrivals[72:].sum() == 0
    hw = 0.5 ** ((np.array([6, 3, 1]) - 1) / 4.0)  # days 14, 35, 49: 6, 3 and 1 weeks back
    hw2 = float(np.sum((hw / hw.sum()) ** 2))
    assert check(g.arrivals, 40.0 * HOLIDAY, np.sqrt(40.0 * HOLIDAY * hw2))
    with pytest.raises(ValueError, match="holds none"):
        seasonal(counts, DAY0, monday, special_day=True)


def test_special_days_from_the_command_line(ledger: str) -> None:  # noqa: F811
    db = ledger
    base = ["plan", "forecast", "--db", db, "--aht", "150", "--json"]
    plain = json.loads(CliRunner().invoke(main, base).stdout)["queues"]["q"]
    # the first Monday of the history (2023-11-20) was a holiday; 2023-12-04 is one too: the
    # forecast rests on that single day, and the next ordinary Monday on the other one
    special = CliRunner().invoke(main, [*base, "--holidays", "2023-11-20,2023-12-04"])
    assert special.exit_code == 0, special.output
    doc = json.loads(special.stdout)
    assert doc["special_day"] is True and doc["queues"]["q"]["weeks"] == 1
    ordinary = json.loads(CliRunner().invoke(main, [*base, "--holidays", "2023-11-20"]).stdout)
    assert ordinary["special_day"] is False and ordinary["queues"]["q"]["weeks"] == 1
    assert plain["weeks"] == 2
    bad = CliRunner().invoke(main, [*base, "--holidays", "Christmas"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.stderr


# -- invariants of the pattern (hypothesis) ----------------------------------------------------

history_shape = st.tuples(st.integers(1, 40), st.sampled_from([4, 24, 96]))


@settings(max_examples=60, deadline=None)
@given(history_shape, st.integers(0, 13), st.floats(0.1, 10.0), st.integers(0, 2**32 - 1))
def test_a_missing_slot_counts_for_nothing_and_special_days_are_ignored(
    shape: tuple[int, int], later: int, half_life: float, seed: int
) -> None:
    days, slots = shape
    rng = np.random.default_rng(seed)
    counts = rng.poisson(5.0, (days, slots)).astype(float)
    ahead = days + later
    mean, std, weeks = pattern(counts, ahead, half_life=half_life)
    # the per-slot weighted mean, weights summing to 1 and halving every half_life weeks
    same = np.arange(ahead - 7, -1, -7)
    same = same[same < days]
    rows = same if len(same) else np.arange(days)
    w = 0.5 ** ((ahead - rows) / 7.0 / half_life)
    w /= w.sum()
    np.testing.assert_allclose(mean, w @ counts[rows], rtol=1e-12)
    np.testing.assert_allclose(std, np.sqrt(mean * np.sum(w * w)), rtol=1e-12)
    assert weeks == len(same)
    # a day without some slots (clocks going forward): those slots rest on the other days only,
    # the others do not move
    if len(rows) > 1:
        gap = counts.copy()
        gap[rows[0], : slots // 4] = np.nan
        m2, s2, _ = pattern(gap, ahead, half_life=half_life)
        np.testing.assert_allclose(m2[slots // 4 :], mean[slots // 4 :], rtol=1e-12)
        w2 = w[1:] / w[1:].sum()
        np.testing.assert_allclose(
            m2[: slots // 4], w2 @ counts[rows[1:], : slots // 4], rtol=1e-12
        )
        np.testing.assert_allclose(s2[: slots // 4], np.sqrt(m2[: slots // 4] * np.sum(w2 * w2)))
    # whatever happened on a special day does not change an ordinary day's forecast
    special = (
        {int(d) for d in rng.choice(days, size=min(3, days - 1), replace=False)}
        if days > 1
        else set()
    )
    odd = counts.copy()
    for d in special:
        odd[d] = rng.poisson(50.0, slots)
    a, _, _ = pattern(counts, ahead, half_life=half_life, special=special)
    b, _, _ = pattern(odd, ahead, half_life=half_life, special=special)
    np.testing.assert_array_equal(a, b)
    if special:  # and a special day rests on them alone
        c, _, n = pattern(odd, ahead, half_life=half_life, special=special, special_day=True)
        assert n == len(special) and c.min() >= odd[sorted(special)].min(axis=0).min() - 1e-9
