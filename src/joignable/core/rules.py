"""Rules over the configuration: who meets a requirement, widening and overflow over time,
opening hours, valid times.

Kept apart from ``model.py`` because they run on every command and compile with the rest of the
core (mypyc), while the msgspec structs of ``model.py`` cannot be compiled.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from zoneinfo import ZoneInfo

from joignable.core.model import QueueConfig, Requirement


def meets(skills: dict[str, int], requirement: Requirement) -> bool:
    return all(skills.get(s, 0) >= lvl for s, lvl in requirement.items())


def meets_any(skills: dict[str, int], alternatives: list[Requirement]) -> bool:
    return any(meets(skills, r) for r in alternatives)


def step_alternatives(queue: QueueConfig, step: int) -> list[Requirement]:
    """The alternative requirements of a queue at widening step ``step`` (0 = no widening)."""
    base = dict(queue.requirements)
    alts: list[Requirement] = []
    lower = 0
    for s in queue.widening[:step]:
        lower = max(lower, s.lower_levels_by)
        alts.extend(s.also_accept)
    first = {k: max(1, v - lower) for k, v in base.items()}
    out = [first]
    for a in alts:
        if a not in out:
            out.append(dict(a))
    return out


def step_for_wait(queue: QueueConfig, wait: float) -> int:
    """How many widening steps (not counting overflow) apply after ``wait`` seconds."""
    n = 0
    for s in queue.widening:
        if s.overflow_to is None and wait >= s.after:
            n += 1
        elif s.overflow_to is None:
            break
    return n


def next_step_time(
    queue: QueueConfig, arrived: float, step: int, visited: list[str]
) -> float | None:
    """When the next widening (or overflow to a queue not yet visited) is due."""
    plain = [s for s in queue.widening if s.overflow_to is None]
    candidates: list[float] = []
    if step < len(plain):
        candidates.append(arrived + plain[step].after)
    for s in queue.widening:
        if s.overflow_to is not None and s.overflow_to not in visited:
            candidates.append(arrived + s.after)
    return min(candidates) if candidates else None


def overflow_target(queue: QueueConfig, wait: float, visited: list[str]) -> str | None:
    """The queue to overflow to after ``wait`` seconds; never back to a queue already visited."""
    target = None
    best = -1.0
    for s in queue.widening:
        if (
            s.overflow_to is not None
            and s.overflow_to not in visited
            and wait >= s.after
            and s.after > best
        ):
            target, best = s.overflow_to, s.after
    return target


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def is_open(queue: QueueConfig, at: float) -> bool:
    if queue.hours is None:
        return True
    local = dt.datetime.fromtimestamp(at, _zone(queue.timezone))
    minute = local.hour * 60 + local.minute
    return any(
        local.weekday() in slot.days and _minutes(slot.start) <= minute < _minutes(slot.end)
        for slot in queue.hours
    )


def next_opening(queue: QueueConfig, at: float) -> float | None:
    """The next moment the queue opens (searched minute by minute over a week, in slot starts)."""
    if queue.hours is None:
        return at
    zone = _zone(queue.timezone)
    local = dt.datetime.fromtimestamp(at, zone)
    best: float | None = None
    for day in range(8):
        d = (local + dt.timedelta(days=day)).date()
        for slot in queue.hours:
            if d.weekday() not in slot.days:
                continue
            start = _minutes(slot.start)
            t = dt.datetime(d.year, d.month, d.day, start // 60, start % 60, tzinfo=zone)
            ts = t.timestamp()
            if ts > at and (best is None or ts < best):
                best = ts
    return best


def validate_time(value: object, what: str = "time") -> float:
    if type(value) is float and value - value == 0.0:  # finite (inf - inf and nan are nan)
        return value
    if not isinstance(value, int | float) or math.isnan(value) or math.isinf(value):
        from joignable.core.errors import InvalidTime

        raise InvalidTime(f"{what} must be a finite number of seconds, got {value!r}")
    return float(value)
