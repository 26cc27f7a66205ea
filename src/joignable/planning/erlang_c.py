"""Erlang C: the M/M/n queue (Poisson arrivals, exponential handle times, n agents, nobody
abandons). With no abandonment every service-level definition gives the same number.

P(wait) is computed as 1/C = (1 - rho) / B + rho from the Erlang B of the same agents and load, in
logs, so it holds at 20,000 agents; fractional agents use the continuous extension of B.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from joignable.planning.metrics import PLANNING_SL, Array, QueueMetrics, as_array
from joignable.planning.special import log_inv_erlang_b


def p_wait_from_log_inv_b(n: Array, a: Array, log_inv_b: Array) -> Array:
    """Erlang C's P(wait) from log(1/B(n, a)); 1 when the queue is unstable (n <= a)."""
    stable = n > a
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(stable, a / np.where(n > 0, n, 1.0), 0.5)
        c = np.exp(-np.logaddexp(np.log1p(-rho) + log_inv_b, np.log(rho)))
    c = np.where(a == 0, 0.0, c)
    return np.asarray(np.where(stable | (a == 0), c, 1.0), dtype=np.float64)


def erlang_c(
    rate: npt.ArrayLike,
    aht: npt.ArrayLike,
    agents: npt.ArrayLike,
    within: npt.ArrayLike = 20.0,
) -> QueueMetrics:
    """Figures for ``rate`` arrivals per second, ``aht`` seconds of handling, ``agents`` agents
    and a service-level threshold of ``within`` seconds (all broadcast together)."""
    lam, h, n, t = np.broadcast_arrays(
        as_array(rate, "rate"),
        as_array(aht, "aht", positive=True),
        as_array(agents, "agents"),
        as_array(within, "within"),
    )
    a = lam * h
    c = p_wait_from_log_inv_b(n, a, log_inv_erlang_b(n, a))
    stable = (n > a) | (a == 0)
    drain = (n - a) / h  # the rate at which the queue empties: n mu - lambda
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sl = np.where(stable, 1.0 - c * np.exp(-drain * t), 0.0)
        asa = np.where(stable, np.where(c > 0, c / drain, 0.0), np.inf)
        occ = np.where(n > 0, np.minimum(a / n, 1.0), np.where(a > 0, 1.0, 0.0))
    return QueueMetrics(
        agents=np.asarray(n, dtype=np.float64),
        load=a,
        p_wait=c,
        p_abandon=np.zeros(a.shape),
        asa=asa,
        occupancy=occ,
        service_level={name: sl for name in PLANNING_SL},
    )
