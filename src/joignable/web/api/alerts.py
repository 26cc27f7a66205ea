"""``GET /api/stats/alerts``: the wallboard's alerts, and the figures of today they were read from.

The rules are in ``web.alerts`` (pure); this module only gathers their input. Queue and agent
states come from the live view (what the wallboard shows), today's KPIs from the interval
projection, and what only the routing state knows from the center under its lock: the waiting
contacts with who may take them (skills, channel, a personal line), the agents' skills and
channels, and the audit watchdog's alarms (``AlarmRaised`` with the contacts and agents it names,
kept in the state as it replays the log). Reading the waiting contacts is O(open contacts) under
the writer's lock, about a millisecond for a few thousand, once per wallboard refresh.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from fastapi import APIRouter, Depends, Query

from joignable.core.engine import Engine
from joignable.core.errors import InvalidInput
from joignable.core.model import Channel
from joignable.core.service_level import SL_DEFINITIONS
from joignable.core.state import Status
from joignable.web.alerts import (
    AgentNow,
    AlertConfig,
    AuditAlarm,
    QueueNow,
    Snapshot,
    WaitingContact,
    evaluate,
)
from joignable.web.auth import Perm, require
from joignable.web.services import Services, Svc

router = APIRouter(tags=["statistics"])
DEFAULTS = AlertConfig()
TZ_PATTERN = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise InvalidInput(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Paris", field="tz"
        ) from None


def day_start(now: float, tz: ZoneInfo) -> float:
    """Midnight of ``now``'s day in ``tz``, as seconds since the epoch."""
    local = dt.datetime.fromtimestamp(now, tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def _routing(engine: Engine) -> dict[str, Any]:
    """What only the routing state knows, copied out under the center's lock."""
    st = engine.state
    queues = {
        q.id: QueueNow(q.id, q.name, float(q.sl_threshold), float(q.sl_target))
        for q in st.queues.values()
    }
    agents = {
        a.config.id: (
            dict(a.config.skills),
            frozenset(ch.value for ch in a.channels),
            a.config.name,
        )
        for a in st.agents.values()
    }
    waiting = []
    for c in st.contacts.values():
        if c.status is not Status.WAITING:
            continue
        since = c.rank_time
        if c.accepted_at is not None:  # back in line after a transfer: waiting since then
            since = next((at for at, what, _ in reversed(c.history) if what == "transfer"), since)
        waiting.append(
            WaitingContact(
                id=c.id,
                queue=c.queue,
                channel=c.route_channel.value,
                since=since,
                alternatives=tuple(dict(r) for r in c.alternatives),
                only_agent=c.pool.fixed_agent if c.pool is not None else None,
                holding=c.callback_number is None and c.channel is not Channel.CALLBACK,
                answered=c.accepted_at is not None,
            )
        )
    alarms = [AuditAlarm(a.at, a.kind, a.message, a.contacts, a.agents) for a in st.alarms]
    return {"queues": queues, "agents": agents, "waiting": waiting, "alarms": alarms}


def gather(
    svc: Services, tz: ZoneInfo
) -> tuple[Snapshot, dict[str, Any], dict[str, str], float, float, int]:
    """The rules' input: (snapshot, today's KPIs per queue, agents' names, day start, now, seq)."""
    now = svc.clock()
    start = day_start(now, tz)
    p = svc.projections
    with p.lock:
        live = p.live.snapshot(now)
        seq = p.last_seq
        today = {q: p.kpis.totals(q, start) for q in p.kpis.queues()}
    center = svc.center
    # the state keeps each alarm with the contacts and agents its event names, so alarms
    # replayed from the log after a restart are shown with their ids too
    routing = center.read(_routing)
    alarms = routing["alarms"]
    staff = {}
    for aid, row in live["agents"].items():
        skills, channels, _ = routing["agents"].get(aid, ({}, frozenset(), ""))
        staff[aid] = AgentNow(aid, row["state"], float(row["since"]), skills, channels)
    snapshot = Snapshot(routing["queues"], staff, routing["waiting"], alarms)
    names = {aid: row[2] for aid, row in routing["agents"].items()}
    return snapshot, today, names, start, now, seq


@router.get("/stats/alerts", dependencies=[Depends(require(Perm.STATS_READ))])
async def alerts(
    svc: Svc,
    long_wait: float = Query(DEFAULTS.long_wait, ge=1, le=86_400, description="seconds"),
    sl_risk: float = Query(
        DEFAULTS.sl_risk, gt=0, le=1, description="fraction of a queue's SL threshold"
    ),
    idle_grace: float = Query(DEFAULTS.idle_grace, ge=0, le=86_400, description="seconds"),
    sl_min_contacts: int = Query(DEFAULTS.sl_min_contacts, ge=0, le=1_000_000),
    alarm_window: float = Query(DEFAULTS.alarm_window, ge=0, le=31 * 86_400),
    sl: str = Query(DEFAULTS.sl_definition, max_length=64, description="an SL definition"),
    tz: str = Query("UTC", max_length=64, pattern=TZ_PATTERN, description="where today starts"),
) -> dict[str, Any]:
    """Alerts that hold now (critical first), with the figures they were computed from: each
    queue's KPIs since midnight in ``tz`` and its SL threshold and target; agents' names."""
    config = AlertConfig(
        long_wait=long_wait,
        sl_risk=sl_risk,
        idle_grace=idle_grace,
        sl_min_contacts=sl_min_contacts,
        alarm_window=alarm_window,
        sl_definition=sl,
    )
    zone = time_zone(tz)
    snapshot, today, names, start, now, seq = gather(svc, zone)
    found = evaluate(snapshot, today, config, now)
    return {
        "at": now,
        "seq": seq,
        "day_start": start,
        "tz": tz,
        "config": dataclasses.asdict(config),
        "definition": {"name": config.sl_definition, "text": SL_DEFINITIONS[config.sl_definition]},
        "queues": {
            q.id: {"name": q.name, "sl_threshold": q.sl_threshold, "sl_target": q.sl_target}
            for q in snapshot.queues.values()
        },
        "today": {q: msgspec.to_builtins(k) for q, k in today.items()},
        "agents": {aid: {"name": name} for aid, name in sorted(names.items())},
        "alerts": msgspec.to_builtins(found),
    }
