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
The per-slot average needs NumPy only and its error is exact. Days are UTC days, as the ledger's
interval KPIs are aligned on midnight UTC.

Reading the ledger is this module's business (the queueing math never does): ``history`` counts
``offered`` per queue and interval with ``ledger.kpis``, the same definition as every report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

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
    """Arrivals per day and interval for each queue: ``counts[q][d, s]`` in day ``d`` (from
    ``start``, a UTC midnight) and interval ``s``; ``aht[q]``: mean handle time measured."""

    start: float
    interval: int
    counts: dict[str, Array]
    aht: dict[str, float | None]

    @property
    def days(self) -> int:
        return next(iter(self.counts.values())).shape[0] if self.counts else 0


def _interval(interval: int) -> int:
    try:
        return check_interval(interval)
    except DomainError as exc:
        raise ValueError(str(exc)) from None


def history(events: Iterable[ev.Event], interval: int = 900) -> History:
    """Offered contacts per queue, UTC day and interval, from a ledger's events."""
    interval = _interval(interval)
    kpis = kpis_from_events(events, interval)
    rows = [k for k in kpis.intervals() if k.start is not None and k.queue is not None]
    if not rows:
        return History(0.0, interval, {}, {})
    first = min(k.start for k in rows if k.start is not None)
    last = max(k.start for k in rows if k.start is not None)
    start = first - first % DAY
    days = int((last - start) // DAY) + 1
    slots = DAY // interval
    counts = {q: np.zeros((days, slots)) for q in kpis.queues()}
    for k in rows:
        assert k.start is not None and k.queue is not None
        i = int(k.start - start) // interval
        counts[k.queue][i // slots, i % slots] = k.offered
    aht = {q: kpis.totals(q).aht for q in counts}
    return History(start, interval, counts, aht)


def history_from_ledger(db: str, interval: int = 900) -> History:
    """``history`` of the ledger at ``db`` (a SQLite file), opened read-only."""
    from joignable.ledger.store import open_store  # SQLite only when a ledger is read

    try:
        store = open_store(db, readonly=True)
        try:
            return history((e for _, e in store.read()), interval)
        finally:
            store.close()
    except DomainError as exc:
        raise ValueError(str(exc)) from None


@dataclass(frozen=True)
class Forecast:
    """Expected arrivals per interval of one day, and the standard error of each figure."""

    day: float  # the day's first instant (a UTC midnight)
    interval: int
    arrivals: Array
    std: Array
    weeks: int  # past same-weekdays the figures rest on (0: borrowed from other weekdays)


def seasonal(
    counts: npt.ArrayLike, first_day: float, day: float, *, half_life: float = 2.0
) -> Forecast:
    """Forecast ``day`` from ``counts[d, s]``, arrivals in interval ``s`` of the UTC day
    ``first_day + d * 86400``. ``half_life``: in weeks, how fast old weeks stop counting."""
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] == 0 or c.shape[1] == 0 or DAY % c.shape[1]:
        raise ValueError("counts must be days x intervals, the intervals dividing a day")
    if not np.all(np.isfinite(c) & (c >= 0)):
        raise ValueError("counts must be numbers, 0 or more")
    if not (math.isfinite(half_life) and half_life > 0):
        raise ValueError("half_life must be above 0 weeks")
    if first_day % DAY or day % DAY:
        raise ValueError("days start at a UTC midnight")
    ahead = int((day - first_day) // DAY)
    if ahead < c.shape[0]:
        raise ValueError("forecast a day after the history")
    # Same weekday: the days ahead - 7, ahead - 14, ... that the history holds.
    same = np.arange(ahead - 7, -1, -7)
    same = same[same < c.shape[0]]
    if len(same):
        weeks_back = (ahead - same) / 7.0
        rows = c[same]
    else:  # no such weekday yet: every day, weighted by age in weeks
        rows = c
        weeks_back = (ahead - np.arange(c.shape[0])) / 7.0
    w = 0.5 ** ((weeks_back - weeks_back.min()) / half_life)
    w /= w.sum()
    mean = w @ rows
    # Poisson counts: the weighted mean's variance is lambda * sum(w^2) (w summing to 1).
    std = np.sqrt(mean * float(np.sum(w * w)))
    return Forecast(day, DAY // c.shape[1], mean, std, len(same))


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
