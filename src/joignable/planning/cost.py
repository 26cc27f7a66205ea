"""What unanswered customers cost, and the staffing that costs least in total.

A contact that abandons is not free: some of those customers call again (another contact to
handle, and pay for), some are called back (a callback to pay for), and the others give up for
good (the value of their contact is lost). Agents cost money by the hour. With the arrivals and an
Erlang A model of their patience, every staffing has a price; the cheapest one, and the price of
a policy such as "at most 15 % unanswered", follow. All money is in one currency of your choice.

Deliberately simple: a caller who tries again is priced as one repeat contact (``repeat_cost``)
rather than fed back into the arrivals of a later interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from joignable.planning.erlang_a import erlang_a
from joignable.planning.metrics import Array, as_array
from joignable.planning.staffing import Target, staff


@dataclass(frozen=True)
class Economics:
    """The money side, per contact and per agent hour.

    Of the customers who abandon, ``callback_share`` are called back (``callback_cost`` each,
    and they are kept); of the others, ``give_up_share`` give up for good (``value`` lost each)
    and the rest call again (``repeat_cost`` each)."""

    value: float  # what a handled contact is worth (revenue, or the cost it saves)
    agent_cost_per_hour: float  # what one scheduled agent costs an hour, all included
    give_up_share: float = 0.5
    repeat_cost: float = 0.0
    callback_share: float = 0.0
    callback_cost: float = 0.0

    def check(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{f.name} must be a number, 0 or more")
        for share in ("give_up_share", "callback_share"):
            if getattr(self, share) > 1:
                raise ValueError(f"{share} must be between 0 and 1")


@dataclass(frozen=True)
class Costs:
    """Per interval (arrays): contacts and money. ``unanswered`` is the money lost to customers
    who abandoned: value of those who gave up + repeat contacts + callbacks."""

    agents: Array  # productive agents (handling contacts)
    scheduled: Array  # agents paid for: productive / (1 - shrinkage)
    abandoned: Array  # contacts
    gave_up: Array  # customers lost for good
    repeats: Array  # contacts that come again
    callbacks: Array
    staff: Array  # money
    lost_value: Array
    repeat_cost: Array
    callback_cost: Array
    unanswered: Array
    total: Array

    def take(self, index: npt.NDArray[np.intp], axis: int = -1) -> Costs:
        """The values at ``index`` along ``axis`` (e.g. the cheapest staffing of each interval)."""
        return Costs(
            **{
                f.name: np.take_along_axis(getattr(self, f.name), index, axis=axis)
                for f in fields(self)
            }
        )

    def sum(self) -> dict[str, float]:
        """Totals over every interval (a day of intervals gives the day)."""
        return {f.name: float(np.sum(getattr(self, f.name))) for f in fields(self)}


def costs(
    arrivals: npt.ArrayLike,
    period: npt.ArrayLike,
    aht: npt.ArrayLike,
    patience: npt.ArrayLike,
    agents: npt.ArrayLike,
    econ: Economics,
    shrinkage: npt.ArrayLike = 0.0,
) -> Costs:
    """The costs of staffing each interval with ``agents`` productive agents (Erlang A)."""
    econ.check()
    arr = as_array(arrivals, "arrivals")
    per = as_array(period, "period", positive=True)
    shr = as_array(shrinkage, "shrinkage")
    if np.any(shr >= 1):
        raise ValueError("shrinkage must be at least 0 and below 1")
    n = as_array(agents, "agents")
    m = erlang_a(arr / per, aht, n, patience, with_asa=False)
    abandoned = arr * m.p_abandon
    callbacks = abandoned * econ.callback_share
    gave_up = (abandoned - callbacks) * econ.give_up_share
    repeats = abandoned - callbacks - gave_up
    scheduled = np.broadcast_to(n / (1.0 - shr), abandoned.shape)
    staff_cost = scheduled * econ.agent_cost_per_hour * per / 3600.0
    lost_value = gave_up * econ.value
    repeat_cost = repeats * econ.repeat_cost
    callback_cost = callbacks * econ.callback_cost
    unanswered = lost_value + repeat_cost + callback_cost
    return Costs(
        agents=np.broadcast_to(n, abandoned.shape).astype(np.float64),
        scheduled=scheduled,
        abandoned=abandoned,
        gave_up=gave_up,
        repeats=repeats,
        callbacks=callbacks,
        staff=staff_cost,
        lost_value=lost_value,
        repeat_cost=repeat_cost,
        callback_cost=callback_cost,
        unanswered=unanswered,
        total=staff_cost + unanswered,
    )


def curve(
    arrivals: npt.ArrayLike,
    period: float,
    aht: float,
    patience: float,
    econ: Economics,
    shrinkage: float = 0.0,
) -> Costs:
    """The cost of every staffing from 0 agents to well past the load, for each interval: arrays
    of shape (intervals..., k), agents 0..k-1 along the last axis. Past a + 6 sqrt(a) + 10 agents
    nobody waits in practice, so more agents only add their cost."""
    arr = np.atleast_1d(as_array(arrivals, "arrivals"))
    load = arr * aht / as_array(period, "period", positive=True)
    top = int(np.ceil(np.max(load + 6.0 * np.sqrt(load) + 10.0)))
    n = np.arange(top + 1, dtype=np.float64)
    return costs(arr[..., None], period, aht, patience, n, econ, shrinkage)


def curve_rows(c: Costs) -> list[dict[str, float | None]]:
    """A one-interval curve as JSON-ready rows (agents, staff, unanswered, total; a non-finite
    cost is null): what `plan cost --json` and the planner's API both publish."""

    def num(v: float) -> float | None:
        return float(v) if math.isfinite(v) else None

    return [
        {"agents": int(n), "staff": num(s), "unanswered": num(u), "total": num(t)}
        for n, s, u, t in zip(
            c.agents.ravel(), c.staff.ravel(), c.unanswered.ravel(), c.total.ravel(), strict=True
        )
    ]


def cheapest(
    arrivals: npt.ArrayLike,
    period: float,
    aht: float,
    patience: float,
    econ: Economics,
    shrinkage: float = 0.0,
) -> Costs:
    """The staffing of least total cost in each interval, with its costs."""
    c = curve(arrivals, period, aht, patience, econ, shrinkage)
    best = np.argmin(c.total, axis=-1)[..., None]
    return _squeeze(c.take(best))


def policy(
    arrivals: npt.ArrayLike,
    period: float,
    aht: float,
    patience: float,
    econ: Economics,
    max_unanswered: float,
    shrinkage: float = 0.0,
) -> Costs:
    """The costs of the fewest agents that keep abandonment at or below ``max_unanswered``."""
    arr = np.atleast_1d(as_array(arrivals, "arrivals"))
    s = staff(
        arr,
        period,
        aht,
        Target(None, max_abandon=max_unanswered),
        model="erlang-a",
        patience=patience,
    )
    return costs(arr, period, aht, patience, s.productive, econ, shrinkage)


def _squeeze(c: Costs) -> Costs:
    return Costs(**{f.name: getattr(c, f.name)[..., 0] for f in fields(c)})
