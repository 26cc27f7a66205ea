"""The wallboard's alert rules: pure functions of a snapshot, today's KPIs, thresholds and a clock.

Nothing here reads the center, the ledger or the clock: ``web.api.alerts`` gathers the inputs
(the live view, the routing state, the audit's alarms) and calls :func:`evaluate`, so the rules
can be tested, and reasoned about, on values alone. Every alert has a stable ``code`` (a program
reads it), a ``severity``, the queue, agents and contacts it is about, and a sentence in French
and in English (a person reads it). The codes, and what each one means, are in ``CODES`` and in
``docs/wallboard.md``; never reuse a code for another rule, add one.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import msgspec

from joignable.core.errors import InvalidInput
from joignable.core.rules import meets_any
from joignable.core.service_level import DEFAULT_SL, SL_DEFINITIONS
from joignable.ledger.kpis import IntervalKpis


class Severity(StrEnum):
    CRITICAL = "critical"  # a customer or the proof that none is lost is hurt now
    WARNING = "warning"  # act before it becomes critical


# code -> what it means (the docs say the same, at more length). Order = display order.
CODES: dict[str, str] = {
    "audit_discrepancy": "the live audit found a discrepancy in the ledger (an alarm event)",
    "long_wait": "contacts of a queue have been holding longer than the long-wait threshold",
    "sl_at_risk": "the oldest holding contact of a queue is about to miss (or has missed) its"
    " service-level threshold",
    "sl_below_target": "a queue's service level today is under its target",
    "idle_agent": "an agent has been available while a contact it could take waits",
}
_ORDER = {code: i for i, code in enumerate(CODES)}
_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1}


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Thresholds of the rules (the queues' own SL threshold and target come with each queue)."""

    long_wait: float = 120.0  # seconds a holding contact may wait before ``long_wait``
    sl_risk: float = 0.8  # fraction of a queue's SL threshold at which ``sl_at_risk`` starts
    idle_grace: float = 10.0  # seconds both idle and waiting before ``idle_agent``
    sl_min_contacts: int = 1  # contacts with a known fate today before SL is judged
    alarm_window: float = 86_400.0  # audit alarms raised within this many seconds are shown
    sl_definition: str = DEFAULT_SL  # the named definition the SL rule reads

    def __post_init__(self) -> None:
        def bad(name: str, rule: str) -> InvalidInput:
            value = getattr(self, name)
            return InvalidInput(f"{name} must be {rule}; got {value!r}", field=name)

        for name, low, high in (
            ("long_wait", 1.0, 86_400.0),
            ("idle_grace", 0.0, 86_400.0),
            ("alarm_window", 0.0, 31 * 86_400.0),
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not low <= v <= high:
                raise bad(name, f"a number of seconds from {low:g} to {high:g}")
        r = self.sl_risk
        if isinstance(r, bool) or not isinstance(r, int | float) or not 0 < r <= 1:
            raise bad("sl_risk", "a fraction above 0 and at most 1")
        n = self.sl_min_contacts
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 1_000_000:
            raise bad("sl_min_contacts", "a whole number from 0 to 1000000")
        if self.sl_definition not in SL_DEFINITIONS:
            raise bad("sl_definition", "one of " + ", ".join(SL_DEFINITIONS))


# -- what the rules read ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueNow:
    id: str
    name: str = ""
    sl_threshold: float = 20.0  # seconds (the queue's configuration)
    sl_target: float = 0.8

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class AgentNow:
    id: str
    state: str  # as the live view shows it: available, busy, reserved, wrap-up, away, offline
    since: float  # start of that state
    skills: Mapping[str, int] = field(default_factory=dict)
    channels: frozenset[str] = frozenset()  # the channels its capacity allows at all


@dataclass(frozen=True, slots=True)
class WaitingContact:
    """A contact in line for an agent: a customer holding, or a callback due."""

    id: str
    queue: str
    channel: str  # the channel it is routed on
    since: float  # when its current wait started
    alternatives: tuple[Mapping[str, int], ...] = ({},)  # who may take it now (any of these)
    only_agent: str | None = None  # on one agent's personal line (a transfer to that agent)
    holding: bool = True  # False: a callback (nobody is on hold)
    answered: bool = False  # answered once already (back in line after a transfer)

    def wait(self, now: float) -> float:
        return max(0.0, now - self.since)

    def may_take(self, agent: AgentNow) -> bool:
        if self.only_agent is not None and self.only_agent != agent.id:
            return False
        return self.channel in agent.channels and meets_any(
            dict(agent.skills), [dict(a) for a in self.alternatives]
        )


@dataclass(frozen=True, slots=True)
class AuditAlarm:
    at: float
    kind: str
    message: str
    contacts: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    queues: Mapping[str, QueueNow]
    agents: Mapping[str, AgentNow]
    waiting: Sequence[WaitingContact] = ()
    alarms: Sequence[AuditAlarm] = ()


# -- what they say ---------------------------------------------------------------------------


class Alert(msgspec.Struct, kw_only=True, frozen=True):
    code: str
    severity: Severity
    key: str  # stable while the same condition lasts: a page updates an alert in place
    since: float  # when the condition started (a wait's start, an alarm's time...)
    queue: str | None = None
    agents: list[str] = []
    contacts: list[str] = []
    text: dict[str, str] = {}  # language ("en", "fr") -> the sentence


def duration(seconds: float) -> str:
    """``45 s``, ``2:05``, ``1h02``: the same as the terminal wallboard."""
    s = int(math.floor(seconds + 0.5))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s // 3600}h{s % 3600 // 60:02d}"


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def _pct_fr(ratio: float) -> str:
    return f"{ratio * 100:.1f} %".replace(".", ",")


# -- the rules -------------------------------------------------------------------------------


def _holding_by_queue(snapshot: Snapshot) -> dict[str, list[WaitingContact]]:
    out: dict[str, list[WaitingContact]] = {}
    for c in snapshot.waiting:
        if c.holding:
            out.setdefault(c.queue, []).append(c)
    for line in out.values():
        line.sort(key=lambda c: (c.since, c.id))
    return out


def _long_wait(snapshot: Snapshot, config: AlertConfig, now: float) -> list[Alert]:
    out = []
    for qid, line in sorted(_holding_by_queue(snapshot).items()):
        over = [c for c in line if c.wait(now) >= config.long_wait]
        if not over:
            continue
        label = snapshot.queues[qid].label if qid in snapshot.queues else qid
        n, longest, limit = len(over), duration(over[0].wait(now)), duration(config.long_wait)
        out.append(
            Alert(
                code="long_wait",
                severity=Severity.CRITICAL,
                key=f"long_wait:{qid}",
                since=over[0].since,
                queue=qid,
                contacts=[c.id for c in over],
                text={
                    "en": f"{label}: {n} contact{'s' * (n > 1)} waiting over {limit}"
                    f" (longest {longest}).",
                    "fr": f"{label} : {n} contact{'s' * (n > 1)} en attente depuis plus de"
                    f" {limit} (le plus ancien : {longest}).",
                },
            )
        )
    return out


def _sl_at_risk(snapshot: Snapshot, config: AlertConfig, now: float) -> list[Alert]:
    out = []
    for qid, line in sorted(_holding_by_queue(snapshot).items()):
        q = snapshot.queues.get(qid)
        fresh = [c for c in line if not c.answered]  # an answered contact's SL is settled
        if q is None or not fresh:
            continue
        oldest = fresh[0]
        wait = oldest.wait(now)
        if wait < config.sl_risk * q.sl_threshold:
            continue
        w, t = duration(wait), duration(q.sl_threshold)
        if wait < q.sl_threshold:
            en = f"{q.label}: service level at risk, the oldest contact has waited {w} of {t}."
            fr = (
                f"{q.label} : niveau de service menacé, le contact le plus ancien attend depuis"
                f" {w} sur {t}."
            )
        else:
            en = f"{q.label}: service level at risk, the oldest contact has waited {w}, past {t}."
            fr = (
                f"{q.label} : niveau de service menacé, le contact le plus ancien attend depuis"
                f" {w}, au-delà de {t}."
            )
        out.append(
            Alert(
                code="sl_at_risk",
                severity=Severity.WARNING,
                key=f"sl_at_risk:{qid}",
                since=oldest.since,
                queue=qid,
                contacts=[oldest.id],
                text={"en": en, "fr": fr},
            )
        )
    return out


def decided(k: IntervalKpis) -> int:
    """Contacts whose fate is known (the SL denominator of the strictest definition)."""
    return k.offered - k.waiting


def _sl_below_target(
    snapshot: Snapshot, today: Mapping[str, IntervalKpis], config: AlertConfig
) -> list[Alert]:
    out = []
    name = config.sl_definition
    for qid in sorted(today):
        k = today[qid]
        q = snapshot.queues.get(qid)
        target = k.sl_target if k.sl_target is not None else (q.sl_target if q else None)
        value = k.sl.get(name)
        if target is None or value is None or decided(k) < config.sl_min_contacts:
            continue
        if value >= target:
            continue
        label = q.label if q is not None else qid
        out.append(
            Alert(
                code="sl_below_target",
                severity=Severity.WARNING,
                key=f"sl_below_target:{qid}",
                since=k.start if k.start is not None else 0.0,
                queue=qid,
                text={
                    "en": f"{label}: service level today {_pct(value)}, under its"
                    f" {_pct(target)} target ({name}).",
                    "fr": f"{label} : niveau de service du jour {_pct_fr(value)}, sous son"
                    f" objectif de {_pct_fr(target)} ({name}).",
                },
            )
        )
    return out


def _digest(a: AuditAlarm) -> str:
    """A short stable digest of an alarm's message and ids, so its key is unique and short."""
    raw = "\x1f".join([a.message, *a.contacts, "", *a.agents])
    return hashlib.blake2s(raw.encode(), digest_size=6).hexdigest()


def _audit(snapshot: Snapshot, config: AlertConfig, now: float) -> list[Alert]:
    out = []
    # the same alarm twice (same time, kind, message and ids) is one fact: shown once
    alarms = {a for a in snapshot.alarms if now - a.at <= config.alarm_window}
    for a in sorted(alarms, key=lambda a: (a.at, a.kind, a.message, a.contacts, a.agents)):
        out.append(
            Alert(
                code="audit_discrepancy",
                severity=Severity.CRITICAL,
                key=f"audit_discrepancy:{a.at!r}:{a.kind}:{_digest(a)}",
                since=a.at,
                agents=sorted(a.agents),
                contacts=sorted(a.contacts),
                # the auditor writes its message in English; the kind is a stable code
                text={
                    "en": f"Audit discrepancy ({a.kind}): {a.message}",
                    "fr": f"Écart d'audit ({a.kind}) : {a.message}",
                },
            )
        )
    return out


def _idle(snapshot: Snapshot, config: AlertConfig, now: float) -> list[Alert]:
    grace = config.idle_grace
    long_waiting = sorted(
        (c for c in snapshot.waiting if c.wait(now) >= grace), key=lambda c: (c.since, c.id)
    )
    if not long_waiting:
        return []
    out = []
    for aid in sorted(snapshot.agents):
        a = snapshot.agents[aid]
        if a.state != "available" or now - a.since < grace:
            continue
        could = [c for c in long_waiting if c.may_take(a)]
        if not could:
            continue
        idle = duration(max(0.0, now - a.since))
        queues = sorted({c.queue for c in could})
        labels = ", ".join(snapshot.queues[q].label if q in snapshot.queues else q for q in queues)
        n = len(could)
        out.append(
            Alert(
                code="idle_agent",
                severity=Severity.WARNING,
                key=f"idle_agent:{aid}",
                since=max(a.since, could[0].since),
                queue=queues[0] if len(queues) == 1 else None,
                agents=[aid],
                contacts=[c.id for c in could],
                text={
                    "en": f"Agent {aid} has been available for {idle} while {n} contact"
                    f"{'s' * (n > 1)} it could take wait{'s' * (n == 1)} ({labels}).",
                    "fr": f"L'agent {aid} est disponible depuis {idle} alors que {n} contact"
                    f"{'s' * (n > 1)} qu'il pourrait prendre attend{'ent' * (n > 1)}"
                    f" ({labels}).",
                },
            )
        )
    return out


def evaluate(
    snapshot: Snapshot,
    today: Mapping[str, IntervalKpis],
    config: AlertConfig,
    now: float,
) -> list[Alert]:
    """Every alert that holds at ``now``: critical ones first, then by code and key."""
    found = [
        *_audit(snapshot, config, now),
        *_long_wait(snapshot, config, now),
        *_sl_at_risk(snapshot, config, now),
        *_sl_below_target(snapshot, today, config),
        *_idle(snapshot, config, now),
    ]
    found.sort(key=lambda a: (_SEVERITY_ORDER[a.severity], _ORDER[a.code], a.key))
    return found
