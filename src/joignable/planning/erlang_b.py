"""Erlang B (M/M/n/n, blocked contacts are lost) and its extended form for redials.

Erlang B answers the trunk question: with n lines (or agents and no queue) and a Erlangs offered,
what share is blocked? The extended form (Jewell's "Extended Erlang B") adds that a share of the
blocked callers try again, which raises the traffic actually offered to the lines.
Fractional n uses the standard continuous extension (see ``special.log_inv_erlang_b``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from joignable.planning.metrics import Array, as_array
from joignable.planning.special import log_inv_erlang_b


def blocking(lines: npt.ArrayLike, load: npt.ArrayLike) -> Array:
    """The probability that an arrival finds all ``lines`` busy, with ``load`` Erlangs offered."""
    n = as_array(lines, "lines")
    a = as_array(load, "load")
    return np.asarray(np.exp(-log_inv_erlang_b(n, a)), dtype=np.float64)


def load_for_blocking(lines: npt.ArrayLike, target: npt.ArrayLike) -> Array:
    """The offered load (Erlangs) that ``lines`` lines carry at a blocking probability ``target``.

    B rises with the load, and B >= 1 - n/a, so the root lies in [0, n / (1 - target)]; bisection
    to machine precision (60 halvings of that bracket)."""
    n, p = np.broadcast_arrays(as_array(lines, "lines"), as_array(target, "target"))
    if np.any((p <= 0) | (p >= 1)):
        raise ValueError("the blocking target must be between 0 and 1, both excluded")
    lo = np.zeros(n.shape)
    hi = n / (1.0 - p) + 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        high = np.exp(-log_inv_erlang_b(n, mid)) > p
        hi = np.where(high, mid, hi)
        lo = np.where(high, lo, mid)
    return np.asarray(0.5 * (lo + hi), dtype=np.float64)


def lines_for_blocking(load: npt.ArrayLike, target: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The fewest lines that keep blocking at or below ``target``: 1/B grows by the recurrence
    1/B(k) = 1 + (k/a) / B(k-1), run in logs from k = 0 for every interval at once."""
    a, p = np.broadcast_arrays(as_array(load, "load"), as_array(target, "target"))
    if np.any((p <= 0) | (p >= 1)):
        raise ValueError("the blocking target must be between 0 and 1, both excluded")
    log_inv = np.zeros(a.shape)  # k = 0: B = 1
    lines = np.zeros(a.shape, dtype=np.int64)
    todo = (a > 0) & (log_inv < -np.log(p))
    k = 0
    while todo.any():
        k += 1
        with np.errstate(divide="ignore"):
            step = np.logaddexp(0.0, np.log(k / np.where(a > 0, a, 1.0)) + log_inv)
        log_inv = np.where(todo, step, log_inv)
        lines = np.where(todo, k, lines)
        todo &= log_inv < -np.log(p)
    return lines


@dataclass(frozen=True)
class Redials:
    """Extended Erlang B: what happens when a share of blocked callers call again."""

    blocking: Array  # the probability that one attempt is blocked
    offered: Array  # first attempts + redials, Erlangs
    carried: Array  # Erlangs the lines carry
    lost: Array  # Erlangs of callers who were blocked and gave up


def with_redials(
    lines: npt.ArrayLike, load: npt.ArrayLike, recall: npt.ArrayLike, tol: float = 1e-12
) -> Redials:
    """``load`` Erlangs of first attempts; a share ``recall`` in [0, 1) of blocked attempts is
    tried again. The offered traffic solves A = a + recall * B(n, A) * A, iterated from A = a
    (the map is increasing and bounded by a / (1 - recall), so the iteration converges)."""
    n, a, r = np.broadcast_arrays(
        as_array(lines, "lines"), as_array(load, "load"), as_array(recall, "recall")
    )
    if np.any(r >= 1):
        raise ValueError("recall must be below 1 (a share of blocked callers who try again)")
    offered = a.copy()
    for _ in range(10_000):
        b = np.exp(-log_inv_erlang_b(n, offered))
        nxt = a + r * b * offered
        done = np.all(np.abs(nxt - offered) <= tol * np.maximum(nxt, 1.0))
        offered = nxt
        if done:
            break
    b = np.exp(-log_inv_erlang_b(n, offered))
    return Redials(
        blocking=b,
        offered=offered,
        carried=offered * (1.0 - b),
        lost=(1.0 - r) * b * offered,
    )
