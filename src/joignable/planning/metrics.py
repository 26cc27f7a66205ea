"""What a queueing model predicts for an interval, and the checks on its inputs.

Service levels carry the names of ``joignable.core.service_level``, so a forecast and the ledger's
measured KPIs can be compared name by name. ``callbacks_kept`` has no meaning for a queueing model
(no promise is modelled) and is never reported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from joignable.core.service_level import DEFAULT_SL
from joignable.planning.names import PLANNING_SL

Array = npt.NDArray[np.float64]

# docs/kpis.md: a caller who left in less than S seconds is a short abandon (default S = 5 s).
SHORT_ABANDON = 5.0

__all__ = ["DEFAULT_SL", "PLANNING_SL", "SHORT_ABANDON", "Array", "QueueMetrics", "check_sl_name"]


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state figures of one model, one value per interval (arrays of the same shape).

    ``asa`` is over answered contacts only (abandons excluded, as in docs/kpis.md): NaN when
    nobody is answered, infinite when the queue is unstable (Erlang C with agents <= load).
    ``occupancy`` is the share of the agents' time spent handling contacts."""

    agents: Array
    load: Array
    p_wait: Array
    p_abandon: Array
    asa: Array
    occupancy: Array
    service_level: dict[str, Array]

    def reshape(self, shape: tuple[int, ...]) -> QueueMetrics:
        return QueueMetrics(
            agents=self.agents.reshape(shape),
            load=self.load.reshape(shape),
            p_wait=self.p_wait.reshape(shape),
            p_abandon=self.p_abandon.reshape(shape),
            asa=self.asa.reshape(shape),
            occupancy=self.occupancy.reshape(shape),
            service_level={k: v.reshape(shape) for k, v in self.service_level.items()},
        )

    def row(self, i: int | tuple[int, ...] = ()) -> dict[str, object]:
        """One interval as plain JSON-ready values (None for NaN or infinity)."""

        def num(a: Array) -> float | None:
            v = float(a[i])
            return v if math.isfinite(v) else None

        return {
            "agents": num(self.agents),
            "load": num(self.load),
            "p_wait": num(self.p_wait),
            "p_abandon": num(self.p_abandon),
            "asa": num(self.asa),
            "occupancy": num(self.occupancy),
            "service_level": {k: num(v) for k, v in self.service_level.items()},
        }


def check_sl_name(name: str) -> str:
    if name not in PLANNING_SL:
        known = ", ".join(PLANNING_SL)
        raise ValueError(f"unknown service-level definition {name!r} (known: {known})")
    return name


def as_array(value: npt.ArrayLike, name: str, *, positive: bool = False) -> Array:
    """A float array of finite values >= 0 (> 0 when ``positive``), or ValueError naming it."""
    arr = np.asarray(value, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be a finite number")
    if positive and (arr <= 0).any():
        raise ValueError(f"{name} must be above 0")
    if not positive and (arr < 0).any():
        raise ValueError(f"{name} must not be negative")
    return arr
