"""Forecast arrivals per interval from the ledger's history, then the staffing for that day.

The model: arrivals in interval ``s`` of a day that is weekday ``w`` are Poisson with a mean
``lambda(w, s)`` that repeats every week (weekly seasonality: Mondays are not Sundays; intraday
seasonality: a curve over each day). The estimate of ``lambda(w, s)`` is a weighted average of the
same interval on the same weekday in past weeks, the weights halving every ``half_life`` weeks so a
changing volume is followed. It is the baseline workforce planners use, and for a stable seasonal
Poisson stream it is unbiased with a known error: ``Var = lambda * sum(w^2) / sum(w)^2``, reported
as ``std`` beside each figure. A weekday with no history borrows the mean of the days that have.

Why not a library: statsforecast (MSTL, numba) is far heavier than the rest of joignable, and
statsmodels' Holt-Winters would have to fit 672 seasonal states (a week of 15-minute intervals) by
numerical optimisation, slow and poorly conditioned on counts this small; neither is installed.
The per-slot average needs NumPy only and its error is exact.

Days are local days: with a time zone (an IANA name, default UTC), each day runs from local
midnight to local midnight and its intervals follow the local clock, so a center in Nouméa or
Los Angeles plans its own Mondays. A day the clocks go forward has fewer intervals (92 quarter
hours), a day they go back more (100). The pattern is kept per wall-clock slot (``09:00`` is
``09:00`` in summer and in winter): in the history, a slot a day skips is missing (not zero) and
a slot it repeats holds the mean of its two occurrences; a forecast day takes each of its
intervals from its wall-clock slot.

Special days (public holidays, sales, a strike...) are a list of dates given by the planner.
They are **excluded from the weekday pattern** (a Christmas Monday would drag every Monday
down), and a special day is forecast from **its own pattern**: the special days of the history,
weighted by age like the weekdays (so last year's holiday counts if the history reaches it).

Reading the ledger is this module's business (the queueing math never does): ``history`` counts
``offered`` per queue and interval with ``ledger.kpis``, the same definition as every report.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from joignable.core import events as ev
from joignable.core.errors import DomainError
from joignable.ledger.kpis import check_interval, kpis_from_events
from joignable.planning.staffing import Staffing, Target, staff

DAY = 86_400
Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class History:
    """Arrivals per day and interval for each queue: ``counts[q][d, s]`` in local day ``d``
    (from ``start``, the first day's local midnight) and wall-clock slot ``s`` (NaN: a slot the
    day did not have); ``aht[q]``: mean handle time measured."""

    start: float
    interval: int
    counts: dict[str, Array]
    aht: dict[str, float | None]
    tz: str = "UTC"

    @property
    def days(self) -> int:
        return next(iter(self.counts.values())).shape[0] if self.counts else 0

    @property
    def first_day(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.start, zone(self.tz)).date()


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Paris``), or ValueError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Europe/Paris)") from None


def day_starts(day: dt.date, tz: str, interval: int) -> list[float]:
    """The UTC start of each interval of the local ``day``: 96 quarter hours on most days, 92
    or 100 on the days the clocks change. ValueError where the zone's offsets do not fall on
    the intervals (an interval of an hour in India, at UTC+05:30)."""
    z = zone(tz)
    begin = dt.datetime.combine(day, dt.time(), z).timestamp()
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), z).timestamp()
    if begin % interval or end % interval:
        raise ValueError(
            f"{tz}'s midnight is not at an interval's start: choose an interval that divides its"
            " offset from UTC (900 s always does)"
        )
    return [float(t) for t in np.arange(begin, end, interval)]


def _slot(t: float, z: ZoneInfo, interval: int) -> tuple[dt.date, int]:
    local = dt.datetime.fromtimestamp(t, z)
    return local.date(), (local.hour * 3600 + local.minute * 60 + local.second) // interval


def _interval(interval: int) -> int:
    try:
        return check_interval(interval)
    except DomainError as exc:
        raise ValueError(str(exc)) from None


def history(events: Iterable[ev.Event], interval: int = 900, tz: str = "UTC") -> History:
    """Offered contacts per queue, local day and wall-clock slot, from a ledger's events."""
    interval = _interval(interval)
    z = zone(tz)
    kpis = kpis_from_events(events, interval)
    rows = [k for k in kpis.intervals() if k.start is not None and k.queue is not None]
    if not rows:
        return History(0.0, interval, {}, {}, tz)
    first = _slot(min(k.start for k in rows if k.start is not None), z, interval)[0]
    last = _slot(max(k.start for k in rows if k.start is not None), z, interval)[0]
    days = (last - first).days + 1
    slots = DAY // interval
    # how often each day has each wall-clock slot: 1, or 0 and 2 on the days clocks change
    seen = np.zeros((days, slots))
    for d in range(days):
        for t in day_starts(first + dt.timedelta(days=d), tz, interval):
            seen[d, _slot(t, z, interval)[1]] += 1
    counts = {q: np.zeros((days, slots)) for q in kpis.queues()}
    for k in rows:
        assert k.start is not None and k.queue is not None
        date, s = _slot(k.start, z, interval)
        counts[k.queue][(date - first).days, s] += k.offered
    with np.errstate(invalid="ignore", divide="ignore"):
        counts = {q: np.where(seen > 0, c / seen, np.nan) for q, c in counts.items()}
    aht = {q: kpis.totals(q).aht for q in counts}
    start = dt.datetime.combine(first, dt.time(), z).timestamp()
    return History(start, interval, counts, aht, tz)


def history_from_ledger(db: str, interval: int = 900, tz: str = "UTC") -> History:
    """``history`` of the ledger at ``db`` (a SQLite file), opened read-only."""
    from joignable.ledger.store import open_store  # SQLite only when a ledger is read

    try:
        store = open_store(db, readonly=True)
        try:
            return history((e for _, e in store.read()), interval, tz)
        finally:
            store.close()
    except DomainError as exc:
        raise ValueError(str(exc)) from None


@dataclass(frozen=True)
class Forecast:
    """Expected arrivals per interval of one day, and the standard error of each figure."""

    day: float  # the day's first instant (its local midnight)
    interval: int
    arrivals: Array
    std: Array
    weeks: int  # past same-weekdays (or special days) the figures rest on (0: borrowed)
    starts: Array | None = None  # each interval's start (epoch seconds), when not every 900 s
    special: bool = False  # forecast from the special days' pattern


def seasonal(
    counts: npt.ArrayLike,
    first_day: float,
    day: float,
    *,
    half_life: float = 2.0,
    special: Collection[int] = (),
    special_day: bool = False,
) -> Forecast:
    """Forecast ``day`` from ``counts[d, s]``, arrivals in interval ``s`` of the UTC day
    ``first_day + d * 86400`` (NaN: no such interval that day). ``half_life``: in weeks, how
    fast old weeks stop counting. ``special``: the history's special days (indices ``d``), left
    out of the weekday pattern; ``special_day``: ``day`` is one, forecast from them."""
    if first_day % DAY or day % DAY:
        raise ValueError("days start at a UTC midnight")
    c = _counts(counts)
    ahead = int((day - first_day) // DAY)
    mean, std, weeks = pattern(
        c, ahead, half_life=half_life, special=special, special_day=special_day
    )
    return Forecast(day, DAY // c.shape[1], mean, std, weeks, special=special_day)


def _counts(counts: npt.ArrayLike) -> Array:
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] == 0 or c.shape[1] == 0 or DAY % c.shape[1]:
        raise ValueError("counts must be days x intervals, the intervals dividing a day")
    if not np.all(np.isnan(c) | (np.isfinite(c) & (c >= 0))):
        raise ValueError("counts must be numbers, 0 or more")
    return c


def pattern(
    counts: Array,
    ahead: int,
    *,
    half_life: float = 2.0,
    special: Collection[int] = (),
    special_day: bool = False,
) -> tuple[Array, Array, int]:
    """Expected arrivals per slot of the day ``ahead`` days after the history's first, their
    standard errors, and how many past days of its kind they rest on."""
    c = counts
    if not (math.isfinite(half_life) and half_life > 0):
        raise ValueError("half_life must be above 0 weeks")
    if ahead < c.shape[0]:
        raise ValueError("forecast a day after the history")
    days = np.arange(c.shape[0])
    is_special = np.isin(days, np.fromiter(special, dtype=np.int64, count=len(special)))
    if special_day:
        same = days[is_special]
        if not len(same):
            raise ValueError(
                "a special day is forecast from the special days of the history, and it holds"
                " none: give a history that reaches one (last year's), or drop the date"
            )
        rows = same
    else:
        # Same weekday: the days ahead - 7, ahead - 14, ... that the history holds, not special.
        same = np.arange(ahead - 7, -1, -7)
        same = same[(same < c.shape[0])]
        same = same[~is_special[same]]
        # no such weekday yet: every ordinary day, weighted by age in weeks
        rows = same if len(same) else days[~is_special]
        if not len(rows):
            raise ValueError("every day of the history is a special day: nothing to learn from")
    weeks_back = (ahead - rows) / 7.0
    w = 0.5 ** ((weeks_back - weeks_back.min()) / half_life)
    x = c[rows]
    present = ~np.isnan(x)  # a slot a day skipped (clocks going forward) does not count
    wm = w[:, None] * present
    total = wm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        wn = np.where(total > 0, wm / total, 0.0)
    mean = np.sum(wn * np.nan_to_num(x), axis=0)
    # Poisson counts: the weighted mean's variance is lambda * sum(w^2) (w summing to 1).
    std = np.sqrt(mean * np.sum(wn * wn, axis=0))
    return mean, std, len(same)


def forecast_day(
    h: History,
    queue: str,
    day: dt.date,
    *,
    half_life: float = 2.0,
    special_days: Collection[dt.date] = (),
) -> Forecast:
    """The local ``day``'s arrivals per interval for ``queue``, in the history's time zone:
    each interval from its wall-clock slot (92 or 100 intervals on the days clocks change)."""
    c = _counts(h.counts[queue])
    first = h.first_day
    special = {(d - first).days for d in special_days if 0 <= (d - first).days < c.shape[0]}
    ahead = (day - first).days
    is_special = day in special_days
    mean, std, weeks = pattern(
        c, ahead, half_life=half_life, special=special, special_day=is_special
    )
    z = zone(h.tz)
    starts = np.array(day_starts(day, h.tz, h.interval))
    slots = np.array([_slot(t, z, h.interval)[1] for t in starts])
    return Forecast(
        float(starts[0]), h.interval, mean[slots], std[slots], weeks, starts, is_special
    )


def staffing(
    forecast: Forecast,
    aht: float,
    target: Target,
    *,
    model: str = "erlang-c",
    patience: float | None = None,
    shrinkage: float = 0.0,
) -> Staffing:
    """The agents per interval of the forecast day, with the existing staffing search."""
    return staff(
        forecast.arrivals,
        forecast.interval,
        aht,
        target,
        model=model,
        patience=patience,
        shrinkage=shrinkage,
    )
