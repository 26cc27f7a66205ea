"""Projections from events: the live queue picture and interval KPIs.

Both are folds over the ledger's events and read nothing else (no routing state), so they can be
rebuilt from the log at any time, run on an exported log, and two reports computed from the same
events cannot disagree. Every definition, and why it was chosen, is in ``docs/kpis.md``; the names
of the service-level definitions are stable because the planning module is to report the same.

Attribution in one sentence: a contact belongs to the queue where it arrived and to the interval in
which it arrived; overflows and transfers are flows counted when they happen, in the queue left and
the queue entered; a callback's kept promise is counted in the interval of its promised time.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from joignable.core import events as ev
from joignable.core.errors import InvalidInput
from joignable.core.model import Channel, Outcome, Presence, QueueConfig
from joignable.core.rules import meets
from joignable.core.service_level import DEFAULT_SL, SL_DEFINITIONS

KPI_VERSION = 1  # bump when a definition changes meaning, so old exports are not compared blindly

AGENT_STATES = ("offline", "available", "reserved", "busy", "wrap-up", "away")

_DAY = 86_400
_COMPLETED = (Outcome.HANDLED, Outcome.CALLBACK_COMPLETED)
_DEFAULT_QUEUE = QueueConfig(id="unknown")  # thresholds for a queue whose config we never saw


def check_interval(interval: object) -> int:
    """Interval length in seconds: whole, at least a minute, and dividing a day.

    Dividing a day keeps intervals aligned on midnight UTC, and 15-minute ones on local quarter
    hours in every time zone (all offsets are multiples of 15 minutes).
    """
    whole = (
        isinstance(interval, int | float)
        and not isinstance(interval, bool)
        and float(interval).is_integer()
    )
    n = int(interval) if whole else 0  # type: ignore[call-overload]
    if n < 60 or _DAY % n:
        raise InvalidInput(
            "interval must be a whole number of seconds, at least 60, that divides a day (86400),"
            f" e.g. 900 (15 min) or 1800 (30 min); got {interval!r}",
            interval=repr(interval),
        )
    return n


# -- interval KPIs -----------------------------------------------------------------------------


class IntervalKpis(msgspec.Struct, kw_only=True):
    """KPIs of one queue over one interval (or, from ``totals``, over a range; queue None = all).

    Arrivals are split by what happened to them first, so ``offered = answered + abandoned +
    callbacks_requested + deflected + failed + waiting``; ``outcomes`` gives how they ended, so
    ``offered = sum(outcomes) + open``.
    """

    queue: str | None
    start: float | None
    end: float | None
    offered: int = 0
    answered: int = 0  # by an agent while the customer held, before any callback request
    answered_within_t: int = 0
    abandoned: int = 0  # left while holding, never answered, not a callback
    abandoned_within_t: int = 0
    short_abandoned: int = 0  # abandoned with a wait under the queue's short_abandon
    callbacks_requested: int = 0  # became a callback before being answered
    deflected: int = 0  # solved by self-service before being answered, not a callback
    failed: int = 0  # failed before being answered, not a callback
    waiting: int = 0  # no answer, abandon or callback yet: their fate is still open
    handled: int = 0
    callbacks_completed: int = 0
    callbacks_failed: int = 0
    open: int = 0  # not ended yet (waiting, talking, or a callback to make)
    outcomes: dict[str, int] = {}
    callbacks_due: int = 0  # by the interval of the promised time
    callbacks_kept: int = 0
    transferred_out: int = 0  # by the interval of the move
    transferred_in: int = 0
    overflowed_out: int = 0
    overflowed_in: int = 0
    sl: dict[str, float | None] = {}
    sl_threshold: float | None = None
    sl_target: float | None = None
    sl_met: bool | None = None  # the default definition against the queue's target
    short_abandon: float | None = None
    asa: float | None = None  # over answered contacts only
    longest_wait: float | None = None  # of answered and abandoned contacts
    aht: float | None = None  # talk + wrap-up, over contacts whose wrap-up ended
    talk: float | None = None
    wrap: float | None = None
    aht_count: int = 0


class Occupancy(msgspec.Struct, kw_only=True):
    """Agent time over a range: ``occupancy = handling / staffed`` (None when nobody staffed)."""

    start: float | None
    end: float | None
    agent: str | None  # None: every agent
    staffed: float = 0.0  # seconds available, or with a contact in conversation or wrap-up
    handling: float = 0.0  # seconds with at least one contact in conversation or wrap-up
    occupancy: float | None = None


class _Acc:
    """Mutable counters of one (queue, interval): applying an event only adds to these."""

    __slots__ = (
        "queue",
        "start",
        "offered",
        "answered",
        "answered_t",
        "wait_sum",
        "longest",
        "abandoned",
        "abandoned_t",
        "short",
        "callbacks",
        "deflected",
        "failed",
        "outcomes",
        "cb_due",
        "cb_kept",
        "xfer_out",
        "xfer_in",
        "ovf_out",
        "ovf_in",
        "aht_n",
        "talk",
        "wrap",
    )

    def __init__(self, queue: str, start: float) -> None:
        self.queue = queue
        self.start = start
        self.offered = self.answered = self.answered_t = 0
        self.abandoned = self.abandoned_t = self.short = 0
        self.callbacks = self.deflected = self.failed = 0
        self.cb_due = self.cb_kept = 0
        self.xfer_out = self.xfer_in = self.ovf_out = self.ovf_in = 0
        self.aht_n = 0
        self.wait_sum = self.talk = self.wrap = 0.0
        self.longest: float | None = None
        self.outcomes: dict[Outcome, int] = dict.fromkeys(Outcome, 0)


_SUMMED = [s for s in _Acc.__slots__ if s not in ("queue", "start", "longest", "outcomes")]


class _Contact:
    """What the projection remembers of an open contact."""

    __slots__ = ("acc", "queue", "arrived", "fate", "callback", "promised", "agent", "leg", "talk")

    def __init__(self, acc: _Acc | None, queue: str, arrived: float) -> None:
        self.acc = acc  # where it is counted (None: arrived before the events we were given)
        self.queue = queue  # where it is now
        self.arrived = arrived
        self.fate = False  # answered, abandoned, callback, deflected or failed: counted once
        self.callback = False
        self.promised: float | None = None  # the time promised to a scheduled callback
        self.agent: str | None = None  # the agent in conversation with it
        self.leg = 0.0  # when that conversation started
        self.talk = 0.0  # conversation time so far, all legs


class _Staff:
    """An agent's time, for occupancy: staffed when available or working, working with a
    contact in conversation or wrap-up. Offers do not count as work (see docs/kpis.md)."""

    __slots__ = ("available", "work", "since", "buckets")

    def __init__(self, since: float) -> None:
        self.available = False
        self.work = 0  # contacts in conversation + contacts in wrap-up
        self.since = since  # start of the current span (flags unchanged since)
        self.buckets: dict[float, list[float]] = {}  # interval start -> [staffed, handling]


def _sum(accs: list[_Acc]) -> _Acc:
    t = _Acc("", 0.0)
    for a in accs:
        for name in _SUMMED:
            setattr(t, name, getattr(t, name) + getattr(a, name))
        for o, n in a.outcomes.items():
            t.outcomes[o] += n
        if a.longest is not None and (t.longest is None or a.longest > t.longest):
            t.longest = a.longest
    return t


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


class _Fold:
    """What both projections share: fold events in order, skipping any already applied."""

    last_seq: int
    last_at: float | None
    events_applied: int
    _handlers: dict[type, Callable[[Any], None]]

    def apply(self, event: ev.Event, seq: int | None = None) -> bool:
        """Fold one event. With the ledger's ``seq``, an event already applied is skipped, so a
        projection can resume from its checkpoint. Returns whether the event was applied."""
        if seq is not None:
            if seq <= self.last_seq:
                return False
            self.last_seq = seq
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)
        self.last_at = event.at
        self.events_applied += 1
        return True


class KpiProjection(_Fold):
    """Interval KPIs per queue, and agent occupancy, folded incrementally from events."""

    def __init__(self, interval: int = 900, *, callback_tolerance: float = 300.0) -> None:
        self.interval = check_interval(interval)
        tol = callback_tolerance
        if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 <= tol < _DAY:
            raise InvalidInput(f"callback_tolerance must be 0-86400 s, got {callback_tolerance!r}")
        self.callback_tolerance = float(callback_tolerance)
        self.last_seq = 0
        self.last_at: float | None = None
        self.events_applied = 0
        self.unmatched = 0  # events about contacts that arrived before the first event we saw
        self._queues: dict[str, QueueConfig] = {}
        self._accs: dict[tuple[str, float], _Acc] = {}
        # The same accumulators by interval start, the starts sorted: reading a range (today,
        # for the wallboard's every refresh) visits the intervals in it, not the whole history.
        self._by_start: dict[float, list[_Acc]] = {}
        self._starts: list[float] = []
        self._acc_queues: set[str] = set()
        self.visited = 0  # accumulators looked at by reads, so a test can count the cost
        self._open: dict[str, _Contact] = {}
        self._done: dict[str, tuple[_Contact, float | None]] = {}  # awaiting wrap-up end
        self._staff: dict[str, _Staff] = {}
        self._occ: dict[float, list[float]] = {}  # all agents: start -> [staffed, handling]
        self._handlers: dict[type, Callable[[Any], None]] = {
            ev.QueueConfigured: self._queue,
            ev.AgentConfigured: self._agent_configured,
            ev.PresenceChanged: self._presence,
            ev.ContactArrived: self._arrived,
            ev.ContactRequeued: self._requeued,
            ev.OfferAccepted: self._accepted,
            ev.CallbackRequested: self._callback_requested,
            ev.CallbackAttemptFailed: self._attempt_failed,
            ev.ContactEnded: self._ended,
            ev.WrapupStarted: self._wrapup_started,
            ev.WrapupEnded: self._wrapup_ended,
        }

    # -- applying events -------------------------------------------------------------------------

    def _bucket(self, at: float) -> float:
        return at - at % self.interval

    def _acc(self, queue: str, start: float) -> _Acc:
        acc = self._accs.get((queue, start))
        if acc is None:
            acc = self._new_acc(queue, start)
        return acc

    def _new_acc(self, queue: str, start: float) -> _Acc:
        acc = self._accs[(queue, start)] = _Acc(queue, start)
        row = self._by_start.get(start)
        if row is None:
            row = self._by_start[start] = []
            starts = self._starts
            if not starts or start > starts[-1]:
                starts.append(start)  # the usual case: time moves on
            else:
                insort(starts, start)  # a callback promised in another interval
        row.append(acc)
        self._acc_queues.add(queue)
        return acc

    def _config(self, queue: str) -> QueueConfig:
        return self._queues.get(queue, _DEFAULT_QUEUE)

    def _queue(self, e: ev.QueueConfigured) -> None:
        self._queues[e.queue.id] = e.queue

    def _staff_of(self, agent: str, at: float) -> _Staff:
        s = self._staff.get(agent)
        if s is None:
            s = self._staff[agent] = _Staff(at)
        return s

    def _agent_configured(self, e: ev.AgentConfigured) -> None:
        self._staff_of(e.agent.id, e.at)

    def _work(self, agent: str, at: float, delta: int) -> None:
        """Add or remove a contact in conversation or wrap-up for an agent.

        Only going from no work to some (or back) changes what the agent's time counts as, so
        only then is the span behind closed: most events cost a couple of attribute updates.
        """
        s = self._staff.get(agent)
        if s is None:
            s = self._staff_of(agent, at)
        work = s.work
        s.work = new = work + delta if work + delta > 0 else 0
        if (work == 0) != (new == 0):
            self._close(s, at, s.available or work > 0, work > 0)

    def _presence(self, e: ev.PresenceChanged) -> None:
        s = self._staff_of(e.agent, e.at)
        available = e.presence == Presence.AVAILABLE
        if available != s.available:
            was_staffed = s.available or s.work > 0
            s.available = available
            if not s.work:  # an agent at work stays staffed whatever its presence says
                self._close(s, e.at, was_staffed, False)

    def _close(self, s: _Staff, at: float, staffed: bool, working: bool) -> None:
        """Close the span since ``s.since`` (counted when it was staffed); a new one opens."""
        if staffed and at > s.since:
            self._span(s, s.since, at, working, self._occ)
        s.since = at

    def _span(
        self, s: _Staff, t0: float, t1: float, working: bool, total: dict[float, list[float]]
    ) -> None:
        """Add a staffed span, clipped to interval boundaries, to the agent and to ``total``."""
        step = self.interval
        b = t0 - t0 % step
        while b < t1:
            seg = (t1 if t1 < b + step else b + step) - (t0 if t0 > b else b)
            for buckets in (s.buckets, total):
                cell = buckets.get(b)
                if cell is None:
                    cell = buckets[b] = [0.0, 0.0]
                cell[0] += seg
                if working:
                    cell[1] += seg
            b += step

    def _arrived(self, e: ev.ContactArrived) -> None:
        if e.contact in self._open:
            self.unmatched += 1
            return
        key = (e.queue, e.at - e.at % self.interval)
        acc = self._accs.get(key)
        if acc is None:
            acc = self._new_acc(*key)
        acc.offered += 1
        c = self._open[e.contact] = _Contact(acc, e.queue, e.at)
        if e.channel == Channel.CALLBACK:  # asked for a callback from the start
            c.callback = c.fate = True
            acc.callbacks += 1

    def _end_leg(self, c: _Contact, at: float, keep_working: bool = False) -> None:
        if c.agent is not None:
            c.talk += at - c.leg
            if not keep_working:
                self._work(c.agent, at, -1)
            c.agent = None

    def _requeued(self, e: ev.ContactRequeued) -> None:
        c = self._open.get(e.contact)
        if c is None:
            self.unmatched += 1
            return
        self._end_leg(c, e.at)  # a transfer ends the first agent's conversation
        start = self._bucket(e.at)
        if e.reason == "overflow":
            self._acc(c.queue, start).ovf_out += 1
            self._acc(e.queue, start).ovf_in += 1
        elif e.reason == "transfer" and e.by_agent is not None:
            # without by_agent it is a personal line falling back to its queue: nobody moved it
            self._acc(c.queue, start).xfer_out += 1
            self._acc(e.queue, start).xfer_in += 1
        c.queue = e.queue

    def _accepted(self, e: ev.OfferAccepted) -> None:
        c = self._open.get(e.contact)
        if c is None:  # still track the agent's work, for occupancy
            self.unmatched += 1
            c = self._open[e.contact] = _Contact(None, "", e.at)
            c.fate = True
        if c.agent is not None:
            self._end_leg(c, e.at)
        c.agent, c.leg = e.agent, e.at
        self._work(e.agent, e.at, 1)
        acc = c.acc
        if not c.fate and acc is not None:
            c.fate = True
            wait = e.at - c.arrived  # live contacts keep their arrival as rank time
            acc.answered += 1
            acc.wait_sum += wait
            if acc.longest is None or wait > acc.longest:
                acc.longest = wait
            if wait <= self._config(acc.queue).sl_threshold:
                acc.answered_t += 1

    def _callback_requested(self, e: ev.CallbackRequested) -> None:
        c = self._open.get(e.contact)
        if c is None:
            self.unmatched += 1
            return
        c.callback = True
        if not c.fate and c.acc is not None:
            c.fate = True
            c.acc.callbacks += 1
        if e.due is not None and c.promised is None:
            c.promised = e.due

    def _attempt_failed(self, e: ev.CallbackAttemptFailed) -> None:
        c = self._open.get(e.contact)
        if c is not None:
            self._end_leg(c, e.at)

    def _ended(self, e: ev.ContactEnded) -> None:
        c = self._open.pop(e.contact, None)
        if c is None:
            self.unmatched += 1
            return
        leg, agent = c.leg, c.agent
        completed = agent is not None and e.outcome in _COMPLETED
        # A completed contact goes straight to wrap-up (WrapupStarted follows at the same
        # instant): its unit of work carries over instead of ending and restarting.
        self._end_leg(c, e.at, keep_working=completed)
        if completed:
            self._done[e.contact] = (c, None)
        acc = c.acc
        if acc is None:
            return
        if not c.fate:
            c.fate = True
            out = e.outcome
            if out == Outcome.ABANDONED:
                q = self._config(acc.queue)
                acc.abandoned += 1
                if e.wait <= q.sl_threshold:
                    acc.abandoned_t += 1
                if e.wait < q.short_abandon:
                    acc.short += 1
                if acc.longest is None or e.wait > acc.longest:
                    acc.longest = e.wait
            elif out == Outcome.DEFLECTED:
                acc.deflected += 1
            else:  # failed (handled without an answer cannot happen: count it as failed)
                acc.failed += 1
        acc.outcomes[e.outcome] += 1
        if c.promised is not None:
            self._promise(c, e, leg if agent is not None else None)

    def _promise(self, c: _Contact, e: ev.ContactEnded, reached_at: float | None) -> None:
        """A scheduled callback is due once reached, failed, or ended after its deadline."""
        assert c.promised is not None and c.acc is not None
        deadline = c.promised + self.callback_tolerance
        completed = e.outcome == Outcome.CALLBACK_COMPLETED
        if completed or e.outcome == Outcome.CALLBACK_FAILED or e.at > deadline:
            acc = self._acc(c.acc.queue, self._bucket(c.promised))
            acc.cb_due += 1
            if completed and reached_at is not None and reached_at <= deadline:
                acc.cb_kept += 1

    def _wrapup_started(self, e: ev.WrapupStarted) -> None:
        done = self._done.get(e.contact)
        if done is not None and done[1] is None:
            self._done[e.contact] = (done[0], e.at)  # the work carried over from ContactEnded
        else:
            self._work(e.agent, e.at, 1)

    def _wrapup_ended(self, e: ev.WrapupEnded) -> None:
        self._work(e.agent, e.at, -1)
        done = self._done.pop(e.contact, None)
        if done is not None and done[1] is not None and done[0].acc is not None:
            acc = done[0].acc
            acc.aht_n += 1
            acc.talk += done[0].talk
            acc.wrap += e.at - done[1]

    # -- reading ---------------------------------------------------------------------------------

    def _select(self, queue: str | None, start: float | None, end: float | None) -> list[_Acc]:
        """The accumulators of ``queue`` (None: all) whose interval starts in [start, end), in
        time order; costs O(intervals in the range), whatever the history before or after."""
        starts = self._starts
        i = 0 if start is None else bisect_left(starts, start)
        j = len(starts) if end is None else bisect_left(starts, end)
        out: list[_Acc] = []
        by_start = self._by_start
        if queue is None:
            for b in starts[i:j]:
                out.extend(by_start[b])
        else:
            accs = self._accs
            for b in starts[i:j]:
                a = accs.get((queue, b))
                if a is not None:
                    out.append(a)
        self.visited += j - i if queue is not None else len(out)
        return out

    def intervals(
        self, queue: str | None = None, start: float | None = None, end: float | None = None
    ) -> list[IntervalKpis]:
        """One row per (queue, interval) with any activity whose start is in [start, end)."""
        accs = sorted(self._select(queue, start, end), key=lambda a: (a.start, a.queue))
        return [self._kpis([a], a.queue, a.start, a.start + self.interval) for a in accs]

    def totals(
        self, queue: str | None = None, start: float | None = None, end: float | None = None
    ) -> IntervalKpis:
        """The intervals in [start, end) summed, ratios recomputed from the sums (never an
        average of ratios, which would weigh a quiet interval like a busy one)."""
        accs = self._select(queue, start, end)
        if start is None and accs:
            start = min(a.start for a in accs)
        if end is None and accs:
            end = max(a.start for a in accs) + self.interval
        return self._kpis(accs, queue, start, end)

    def queues(self) -> list[str]:
        return sorted(self._acc_queues | set(self._queues))

    def _kpis(
        self, accs: list[_Acc], queue: str | None, start: float | None, end: float | None
    ) -> IntervalKpis:
        t = accs[0] if len(accs) == 1 else _sum(accs)
        waiting = t.offered - t.answered - t.abandoned - t.callbacks - t.deflected - t.failed
        decided = t.offered - waiting  # a contact enters SL once its fate is known
        sl: dict[str, float | None] = {
            "answered_within_t_over_offered": _ratio(t.answered_t, decided),
            "answered_within_t_over_answered": _ratio(t.answered_t, t.answered),
            "answered_within_t_over_offered_minus_short_abandons": _ratio(
                t.answered_t, decided - t.short
            ),
            "answered_or_abandoned_within_t_over_offered": _ratio(
                t.answered_t + t.abandoned_t, decided
            ),
            "callbacks_kept": _ratio(t.cb_kept, t.cb_due),
        }
        configs = [self._config(q) for q in ([queue] if queue else {a.queue for a in accs})]
        threshold = {c.sl_threshold for c in configs}
        target = {c.sl_target for c in configs}
        short = {c.short_abandon for c in configs}
        sl_target = target.pop() if len(target) == 1 else None
        default = sl[DEFAULT_SL]
        return IntervalKpis(
            queue=queue,
            start=start,
            end=end,
            offered=t.offered,
            answered=t.answered,
            answered_within_t=t.answered_t,
            abandoned=t.abandoned,
            abandoned_within_t=t.abandoned_t,
            short_abandoned=t.short,
            callbacks_requested=t.callbacks,
            deflected=t.deflected,
            failed=t.failed,
            waiting=waiting,
            handled=t.outcomes[Outcome.HANDLED],
            callbacks_completed=t.outcomes[Outcome.CALLBACK_COMPLETED],
            callbacks_failed=t.outcomes[Outcome.CALLBACK_FAILED],
            open=t.offered - sum(t.outcomes.values()),
            outcomes={o.value: n for o, n in t.outcomes.items()},
            callbacks_due=t.cb_due,
            callbacks_kept=t.cb_kept,
            transferred_out=t.xfer_out,
            transferred_in=t.xfer_in,
            overflowed_out=t.ovf_out,
            overflowed_in=t.ovf_in,
            sl=sl,
            sl_threshold=threshold.pop() if len(threshold) == 1 else None,
            sl_target=sl_target,
            sl_met=None if default is None or sl_target is None else default >= sl_target,
            short_abandon=short.pop() if len(short) == 1 else None,
            asa=_ratio(t.wait_sum, t.answered),
            longest_wait=t.longest,
            aht=_ratio(t.talk + t.wrap, t.aht_n),
            talk=_ratio(t.talk, t.aht_n),
            wrap=_ratio(t.wrap, t.aht_n),
            aht_count=t.aht_n,
        )

    # -- occupancy -------------------------------------------------------------------------------

    def _occupancy_cells(self, agent: str | None, now: float | None) -> dict[float, list[float]]:
        """Closed spans per interval, plus the spans still open up to ``now`` when given."""
        if agent is None:
            staff = list(self._staff.values())
            cells = {b: list(v) for b, v in self._occ.items()}
        else:
            s = self._staff.get(agent)
            staff = [s] if s is not None else []
            cells = {b: list(v) for b, v in s.buckets.items()} if s is not None else {}
        if now is not None:
            scratch = _Staff(now)
            for s in staff:
                if (s.available or s.work > 0) and now > s.since:
                    self._span(scratch, s.since, now, s.work > 0, cells)
        return cells

    def occupancy_intervals(
        self,
        agent: str | None = None,
        start: float | None = None,
        end: float | None = None,
        now: float | None = None,
    ) -> list[Occupancy]:
        """Occupancy per interval, for one agent or all (with ``now``: including open spans)."""
        cells = self._occupancy_cells(agent, now)
        return [
            Occupancy(
                start=b,
                end=b + self.interval,
                agent=agent,
                staffed=v[0],
                handling=v[1],
                occupancy=_ratio(v[1], v[0]),
            )
            for b, v in sorted(cells.items())
            if (start is None or b >= start) and (end is None or b < end)
        ]

    def occupancy(
        self,
        start: float | None = None,
        end: float | None = None,
        agent: str | None = None,
        now: float | None = None,
    ) -> Occupancy:
        """Occupancy over the intervals starting in [start, end), from summed seconds."""
        rows = self.occupancy_intervals(agent, start, end, now)
        staffed = sum(r.staffed for r in rows)
        handling = sum(r.handling for r in rows)
        return Occupancy(
            start=start if start is not None else (rows[0].start if rows else None),
            end=end if end is not None else (rows[-1].end if rows else None),
            agent=agent,
            staffed=staffed,
            handling=handling,
            occupancy=_ratio(handling, staffed),
        )

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        """Everything, as plain JSON-ready values (for ``--json``)."""
        return {
            "version": KPI_VERSION,
            "interval": self.interval,
            "callback_tolerance": self.callback_tolerance,
            "definitions": dict(SL_DEFINITIONS),
            "default_sl": DEFAULT_SL,
            "intervals": msgspec.to_builtins(self.intervals()),
            "totals": msgspec.to_builtins(
                [self.totals(q) for q in self.queues()] + [self.totals()]
            ),
            "occupancy": msgspec.to_builtins(self.occupancy_intervals(now=now)),
            "last_seq": self.last_seq,
            "events_applied": self.events_applied,
            "unmatched": self.unmatched,
        }


def kpis_from_events(
    events: Iterable[ev.Event], interval: int = 900, *, callback_tolerance: float = 300.0
) -> KpiProjection:
    """Fold a whole log (any ``AnyEvent``, decoded from the ledger or straight from the engine)."""
    projection = KpiProjection(interval, callback_tolerance=callback_tolerance)
    apply = projection.apply
    for event in events:
        apply(event)
    return projection


# -- live view ---------------------------------------------------------------------------------

# Where an open contact stands, as a wallboard counts it.
_WAITING = "waiting"  # a customer holding
_CB_WAITING = "callbacks_waiting"  # a callback in line for an agent
_CB_SCHEDULED = "callbacks_scheduled"  # a callback not yet due
_OFFERED = "offered"  # ringing at an agent
_CONNECTED = "connected"
_LINES = (_WAITING, _CB_WAITING, _CB_SCHEDULED, _OFFERED, _CONNECTED)


class _LiveContact:
    __slots__ = ("queue", "line", "since", "agent", "callback", "due")

    def __init__(self, queue: str, line: str, since: float, callback: bool) -> None:
        self.queue = queue
        self.line = line
        self.since = since  # start of the current wait (arrival, due time, or transfer)
        self.agent: str | None = None
        self.callback = callback
        self.due: float | None = None


class _LiveAgent:
    __slots__ = ("skills", "presence", "offers", "contacts", "wrapups", "state", "since")

    def __init__(self, since: float) -> None:
        self.skills: dict[str, int] = {}
        self.presence = Presence.OFFLINE
        self.offers = self.contacts = self.wrapups = 0
        self.state = "offline"
        self.since = since


class LiveView(_Fold):
    """The live picture of queues and agents, kept up to date event by event in O(1) each.

    A snapshot costs O(agents + waiting contacts), which a wallboard refreshing every second
    affords; applying an event must stay cheap because the runtime feeds every one.
    """

    def __init__(self) -> None:
        self.last_seq = 0
        self.last_at: float | None = None
        self.events_applied = 0
        self._queues: dict[str, QueueConfig] = {}
        self._lines: dict[str, dict[str, dict[str, float]]] = {}  # queue -> line -> contact: since
        self._contacts: dict[str, _LiveContact] = {}
        self._agents: dict[str, _LiveAgent] = {}
        self._members: dict[str, list[str]] | None = None  # queue -> agents, rebuilt on config
        self._handlers: dict[type, Callable[[Any], None]] = {
            ev.QueueConfigured: self._queue,
            ev.AgentConfigured: self._agent_configured,
            ev.PresenceChanged: self._presence,
            ev.ContactArrived: self._arrived,
            ev.ContactRequeued: self._requeued,
            ev.OfferMade: self._offer_made,
            ev.OfferAccepted: self._accepted,
            ev.OfferReleased: self._released,
            ev.CallbackRequested: self._callback_requested,
            ev.CallbackDue: self._callback_due,
            ev.CallbackAttemptFailed: self._attempt_failed,
            ev.ContactEnded: self._ended,
            ev.WrapupStarted: self._wrapup_started,
            ev.WrapupEnded: self._wrapup_ended,
        }

    # -- agents ----------------------------------------------------------------------------------

    def _agent(self, agent: str, at: float) -> _LiveAgent:
        a = self._agents.get(agent)
        if a is None:
            a = self._agents[agent] = _LiveAgent(at)
            self._members = None
        return a

    def _touch(self, a: _LiveAgent, at: float) -> None:
        """Recompute what the wallboard shows; the same precedence as the routing state."""
        if a.presence == Presence.OFFLINE and not (a.offers or a.contacts or a.wrapups):
            state = "offline"
        elif a.offers:
            state = "reserved"
        elif a.contacts:
            state = "busy"
        elif a.wrapups:
            state = "wrap-up"
        elif a.presence == Presence.AVAILABLE:
            state = "available"
        else:
            state = "away"
        if state != a.state:
            a.state, a.since = state, at

    def _bump(self, agent: str | None, at: float, offers: int = 0, contacts: int = 0) -> None:
        if agent is None:
            return
        a = self._agents.get(agent) or self._agent(agent, at)
        n = a.offers + offers
        a.offers = n if n > 0 else 0  # never below 0, even on a log that starts mid-stream
        n = a.contacts + contacts
        a.contacts = n if n > 0 else 0
        self._touch(a, at)

    def _queue(self, e: ev.QueueConfigured) -> None:
        self._queues[e.queue.id] = e.queue
        self._lines.setdefault(e.queue.id, {line: {} for line in _LINES})
        self._members = None

    def _agent_configured(self, e: ev.AgentConfigured) -> None:
        self._agent(e.agent.id, e.at).skills = dict(e.agent.skills)
        self._members = None

    def _presence(self, e: ev.PresenceChanged) -> None:
        a = self._agent(e.agent, e.at)
        a.presence = e.presence
        self._touch(a, e.at)

    def _wrapup_started(self, e: ev.WrapupStarted) -> None:
        a = self._agents.get(e.agent) or self._agent(e.agent, e.at)
        a.wrapups += 1
        self._touch(a, e.at)

    def _wrapup_ended(self, e: ev.WrapupEnded) -> None:
        a = self._agents.get(e.agent) or self._agent(e.agent, e.at)
        a.wrapups = a.wrapups - 1 if a.wrapups > 0 else 0
        self._touch(a, e.at)

    # -- contacts --------------------------------------------------------------------------------

    def _move(self, cid: str, c: _LiveContact, line: str | None, queue: str | None = None) -> None:
        """Take the contact out of its line and put it in another (None: it has ended)."""
        lines = self._lines.get(c.queue)
        if lines is not None and c.line:
            lines[c.line].pop(cid, None)
        if line is None:
            return
        if queue is not None:
            c.queue = queue
        lines = self._lines.get(c.queue)
        if lines is None:
            lines = self._lines[c.queue] = {name: {} for name in _LINES}
        c.line = line
        lines[line][cid] = c.since

    def _in_line(self, c: _LiveContact) -> str:
        return _CB_WAITING if c.callback else _WAITING

    def _arrived(self, e: ev.ContactArrived) -> None:
        callback = e.channel == Channel.CALLBACK
        c = self._contacts[e.contact] = _LiveContact(e.queue, "", e.at, callback)
        self._move(e.contact, c, self._in_line(c), e.queue)

    def _requeued(self, e: ev.ContactRequeued) -> None:
        c = self._contacts.get(e.contact)
        if c is None:
            return
        if c.line == _CONNECTED:  # transferred: the customer starts holding again now
            self._bump(c.agent, e.at, contacts=-1)
            c.agent = None
            c.since = e.at
        self._move(e.contact, c, self._in_line(c), e.queue)

    def _offer_made(self, e: ev.OfferMade) -> None:
        c = self._contacts.get(e.contact)
        self._bump(e.agent, e.at, offers=1)
        if c is not None:
            c.agent = e.agent
            self._move(e.contact, c, _OFFERED)

    def _accepted(self, e: ev.OfferAccepted) -> None:
        c = self._contacts.get(e.contact)
        self._bump(e.agent, e.at, offers=-1, contacts=1)
        if c is not None:
            self._move(e.contact, c, _CONNECTED)

    def _released(self, e: ev.OfferReleased) -> None:
        c = self._contacts.get(e.contact)
        self._bump(e.agent, e.at, offers=-1)
        if c is not None:  # back to its place: the wait keeps running from the same start
            c.agent = None
            self._move(e.contact, c, self._in_line(c))

    def _callback_requested(self, e: ev.CallbackRequested) -> None:
        c = self._contacts.get(e.contact)
        if c is None:
            return
        c.callback = True
        if e.due is None:  # virtual hold: keeps its place and its wait
            self._move(e.contact, c, _CB_WAITING)
        else:
            c.due = e.due
            self._move(e.contact, c, _CB_SCHEDULED)

    def _callback_due(self, e: ev.CallbackDue) -> None:
        c = self._contacts.get(e.contact)
        if c is None:
            return
        c.since = c.due if c.due is not None else e.at
        c.due = None
        self._move(e.contact, c, _CB_WAITING)

    def _attempt_failed(self, e: ev.CallbackAttemptFailed) -> None:
        c = self._contacts.get(e.contact)
        self._bump(e.agent, e.at, contacts=-1)
        if c is not None:
            c.agent = None
            c.due = e.retry_at
            self._move(e.contact, c, _CB_SCHEDULED)

    def _ended(self, e: ev.ContactEnded) -> None:
        c = self._contacts.pop(e.contact, None)
        if c is None:
            return
        if c.line == _CONNECTED:
            self._bump(c.agent, e.at, contacts=-1)
        elif c.line == _OFFERED:
            self._bump(c.agent, e.at, offers=-1)
        self._move(e.contact, c, None)

    # -- reading ---------------------------------------------------------------------------------

    def agent_state(self, agent: str) -> str | None:
        a = self._agents.get(agent)
        return a.state if a is not None else None

    def _membership(self) -> dict[str, list[str]]:
        """Agents who may take each queue's contacts before any widening."""
        if self._members is None:
            self._members = {
                q: [aid for aid, a in self._agents.items() if meets(a.skills, cfg.requirements)]
                for q, cfg in self._queues.items()
            }
        return self._members

    def snapshot(self, now: float) -> dict[str, Any]:
        """Queues (waiting, longest current wait, callbacks, agents by state) and agents."""
        members = self._membership()
        queues: dict[str, Any] = {}
        for q in sorted(self._lines):
            lines = self._lines[q]
            held = lines[_WAITING]
            cbs = lines[_CB_WAITING]
            by_state = dict.fromkeys(AGENT_STATES, 0)
            for aid in members.get(q, ()):
                by_state[self._agents[aid].state] += 1
            queues[q] = {
                "waiting": len(held),
                "longest_wait": max(0.0, now - min(held.values())) if held else None,
                "callbacks_waiting": len(cbs),
                "oldest_callback_wait": max(0.0, now - min(cbs.values())) if cbs else None,
                "callbacks_scheduled": len(lines[_CB_SCHEDULED]),
                "offered": len(lines[_OFFERED]),
                "connected": len(lines[_CONNECTED]),
                "agents": by_state,
            }
        everyone = dict.fromkeys(AGENT_STATES, 0)
        agents: dict[str, Any] = {}
        for aid in sorted(self._agents):
            a = self._agents[aid]
            everyone[a.state] += 1
            agents[aid] = {
                "state": a.state,
                "since": a.since,
                "seconds_in_state": max(0.0, now - a.since),
                "presence": a.presence.value,
                "offers": a.offers,
                "contacts": a.contacts,
                "wrapups": a.wrapups,
            }
        return {"at": now, "queues": queues, "agents_by_state": everyone, "agents": agents}
