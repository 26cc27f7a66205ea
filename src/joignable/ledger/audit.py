"""The audit: proves from the event log alone that no contact was lost.

It is an independent check of the routing core, so it imports none of its state or engine code:
it rebuilds its own small picture of contacts and agents from the facts written in the events
(requirements, skills, capacities, channels) and checks four things:

- conservation: every contact ends exactly once, and for the contacts that arrived in a window
  ``arrived = handled + abandoned + callback_completed + callback_failed + deflected + failed +
  open``;
- capacity: no offer puts an agent above its capacity, mixes channels when it may not, or goes to
  an agent who is not available; no contact is offered to two agents at once;
- work conservation: no agent stays available while a contact it may take waits longer than a
  tolerance (measured in log time);
- the log itself: sequence numbers are gapless and increasing, time never goes back, leases
  (offers, wrap-ups, scheduled callbacks) end by their deadline.

The same ``Auditor`` runs live inside the runtime, fed event by event, so an alarm goes up as soon
as a discrepancy appears. It is incremental and only looks around what changed, so auditing a
log of a million events takes seconds, not hours.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from joignable.core import events as ev
from joignable.core.model import Channel, Outcome, Presence, Requirement
from joignable.core.rules import meets_any

# Alternative requirements in a canonical, hashable form: contacts with the same signature may be
# taken by exactly the same agents, so eligibility is computed once per signature, not per contact.
Sig = tuple[tuple[tuple[str, int], ...], ...]
LineKey = tuple[Channel, str | None, Sig | None]

# Contact states, as the audit understands them from the log.
WAITING = "waiting"
OFFERED = "offered"
CONNECTED = "connected"
SCHEDULED = "scheduled"  # a callback not yet due
ENDED = "ended"
LOST = "lost"  # the log shows it left the center without an end: neither ended nor open


class Discrepancy(msgspec.Struct, kw_only=True):
    """One thing the log shows went wrong, with the contacts and agents it concerns."""

    kind: str  # stable code, see the module docstring and ``KINDS``
    at: float  # log time (seconds since the epoch) at which it became a fact
    message: str  # a sentence a person understands
    contacts: list[str] = []
    agents: list[str] = []
    seq: int | None = None  # the event that revealed it, when there is one

    def to_alarm(self) -> ev.AlarmRaised:
        """The event the live watchdog appends to the ledger."""
        return ev.AlarmRaised(
            at=self.at,
            kind=self.kind,
            message=self.message,
            contacts=list(self.contacts),
            agents=list(self.agents),
        )


KINDS = {
    "conservation": "the window's contacts do not balance: some ended twice or were lost",
    "lost_contact": "a contact left the center without ending (its end is missing)",
    "ended_twice": "a contact ended more than once",
    "unknown_contact": "an event names a contact that never arrived",
    "duplicate_arrival": "a contact arrived twice with the same id",
    "after_end": "an event changes a contact that had already ended",
    "unknown_agent": "an event names an agent that was never configured",
    "over_capacity": "an offer put an agent above its capacity or mixed channels it may not mix",
    "agent_not_available": "an agent was offered a contact while not available",
    "ineligible_agent": "an agent was offered a contact it may not take (skills, line, channel)",
    "double_offer": "a contact was offered while already offered or connected",
    "offer_not_waiting": "a contact was offered while it was not waiting (a scheduled callback)",
    "invalid_transition": "an event does not fit the state of its contact or agent",
    "idle_agent_while_waiting": "an agent stayed available while a contact it could take waited",
    "stuck_offer": "an offer outlived its deadline, or survived a restart",
    "stuck_wrapup": "a wrap-up outlived its deadline",
    "missed_callback": "a scheduled callback did not become due on time",
    "gap_in_sequence": "events are missing from the log",
    "seq_out_of_order": "a sequence number repeats or goes back",
    "time_out_of_order": "an event is dated before the one logged before it",
}


class Counts(msgspec.Struct, kw_only=True):
    """Contacts that arrived in the window, and how each ended (up to the end of the log)."""

    arrived: int = 0
    handled: int = 0
    abandoned: int = 0
    callback_completed: int = 0
    callback_failed: int = 0
    deflected: int = 0
    failed: int = 0
    open: int = 0

    @property
    def accounted(self) -> int:
        return (
            self.handled
            + self.abandoned
            + self.callback_completed
            + self.callback_failed
            + self.deflected
            + self.failed
            + self.open
        )


class AuditReport(msgspec.Struct, kw_only=True):
    events: int
    first_seq: int | None
    last_seq: int | None
    start: float | None  # window, half-open [start, end); None: unbounded
    end: float | None
    tolerance: float
    counts: Counts
    balanced: bool
    discrepancies: list[Discrepancy]
    open_contacts: list[str] = []  # arrived in the window, not ended by the end of the log

    @property
    def ok(self) -> bool:
        return self.balanced and not self.discrepancies

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = msgspec.to_builtins(self)
        out["ok"] = self.ok
        return out

    def text(self, limit: int = 10) -> str:
        """A short summary for people; ``to_dict`` holds the full list."""
        c = self.counts
        terms = [
            (c.handled, "handled"),
            (c.abandoned, "abandoned"),
            (c.callback_completed, "callback completed"),
            (c.callback_failed, "callback failed"),
            (c.deflected, "deflected"),
            (c.failed, "failed"),
        ]
        parts = [f"{n:,} {label}" for n, label in terms if n or label == "handled"]
        parts.append(f"{c.open:,} open")
        eq = "=" if c.accounted == c.arrived else "≠"
        word = "contact" if c.arrived == 1 else "contacts"
        lines = [f"{c.arrived:,} {word} arrived: {' + '.join(parts)} {eq} {c.arrived:,}."]
        if self.ok:
            lines[0] += " No discrepancy."
            return "\n".join(lines)
        by_kind: dict[str, int] = {}
        for d in self.discrepancies:
            by_kind[d.kind] = by_kind.get(d.kind, 0) + 1
        n = len(self.discrepancies)
        summary = ", ".join(f"{v:,} {k}" for k, v in sorted(by_kind.items(), key=lambda x: -x[1]))
        lines.append(f"{n:,} discrepanc{'y' if n == 1 else 'ies'}: {summary}.")
        lines.extend(f"- {d.kind}: {d.message}" for d in self.discrepancies[:limit])
        if n > limit:
            lines.append(f"... and {n - limit:,} more (see the JSON report).")
        return "\n".join(lines)


# -- the audit's own picture of the center ---------------------------------------------------


class _Line:
    """Waiting contacts that exactly the same agents may take, on one channel."""

    __slots__ = ("channel", "eligible", "waiting", "since", "episode", "named")

    def __init__(self, channel: Channel, eligible: set[str], named: str | None) -> None:
        self.channel = channel
        self.eligible = eligible  # shared with every line of the same signature
        self.waiting: dict[str, float] = {}  # contact -> when it entered, in entry order
        self.since: float | None = None  # an eligible agent has been free since (starving)
        self.episode = 0  # bumped when starving starts or stops, to expire old heap entries
        self.named = named  # a person's own line (a transfer to them), or None for a queue's


class _Contact:
    __slots__ = (
        "id",
        "state",
        "channel",
        "queue",
        "sig",
        "named",
        "agent",
        "line",
        "epoch",
        "in_window",
        "deadline",
        "due",
        "outcome",
    )

    def __init__(self, cid: str, channel: Channel, queue: str, sig: Sig, in_window: bool) -> None:
        self.id = cid
        self.state = WAITING
        self.channel = channel  # the channel it is routed on (callback after a request)
        self.queue = queue
        self.sig = sig
        self.named: str | None = None  # only this agent may take it (a transfer to a person)
        self.agent: str | None = None  # holding an offer or connected
        self.line: _Line | None = None
        self.epoch = 0  # bumped on every entry in a line
        self.in_window = in_window
        self.deadline = 0.0  # of the current offer
        self.due: float | None = None  # of the scheduled callback
        self.outcome = ""


class _Agent:
    __slots__ = (
        "id",
        "skills",
        "capacity",
        "mixing",
        "available",
        "load",
        "total",
        "offers",
        "connected",
        "wrapups",
        "sigs",
        "free",
    )

    def __init__(self, aid: str) -> None:
        self.id = aid
        self.skills: dict[str, int] = {}
        self.capacity: dict[Channel, int] = {}
        self.mixing = False
        self.available = False
        self.load: dict[Channel, int] = {}  # offers + connected contacts + wrap-ups
        self.total = 0
        self.offers: dict[str, Channel] = {}
        self.connected: dict[str, Channel] = {}
        self.wrapups: dict[str, tuple[Channel, float]] = {}
        self.sigs: set[Sig] = set()  # signatures it meets
        self.free: tuple[Channel, ...] = ()  # channels it had room on at the last settle

    def add(self, channel: Channel, delta: int) -> None:
        self.load[channel] = self.load.get(channel, 0) + delta
        self.total += delta

    def free_channels(self) -> tuple[Channel, ...]:
        """Same rule as the center: available, room on the channel, no other channel unless
        mixing is allowed."""
        if not self.available:
            return ()
        load, total, mixing = self.load, self.total, self.mixing
        out: list[Channel] = []
        for ch, cap in self.capacity.items():
            n = load.get(ch, 0)
            if n < cap and (mixing or total == n):
                out.append(ch)
        return tuple(out)


def signature(alternatives: list[Requirement]) -> Sig:
    return tuple([tuple(sorted(a.items())) for a in alternatives])


def _names(ids: Iterable[str], limit: int = 5) -> str:
    ids = list(ids)
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


class Auditor:
    """Incremental audit: ``feed`` every ``(seq, event)`` in order, then ``finish``.

    ``feed`` returns what it found at this step so the runtime can raise an alarm at once.
    Work conservation is evaluated when log time advances (a command's events share one ``at``,
    and mid-command states are not meant to be conserving), only for the agents and lines the
    last events touched.
    """

    def __init__(
        self,
        tolerance: float = 2.0,
        window: tuple[float | None, float | None] = (None, None),
    ) -> None:
        self.tolerance = tolerance
        self.start, self.end = window
        self.discrepancies: list[Discrepancy] = []
        self.counts = Counts()
        self.events = 0
        self.first_seq: int | None = None
        self.last_seq: int | None = None
        self.last_at: float | None = None
        self._seq: int | None = None  # the event being fed, for the reports
        self._found: list[Discrepancy] = []
        self.contacts: dict[str, _Contact] = {}
        self.agents: dict[str, _Agent] = {}
        self.sig_agents: dict[Sig, set[str]] = {}  # signature -> agents that meet it
        self.sig_alts: dict[Sig, list[Requirement]] = {}
        self.named_sets: dict[str, set[str]] = {}
        self.holders: dict[str, set[str]] = {}  # skill -> agents who have it (any level)
        self.lines: dict[LineKey, _Line] = {}
        self.nonempty: dict[Channel, set[_Line]] = {}
        self.free: dict[Channel, set[str]] = {}  # channel -> agents with room on it
        self.dirty_agents: dict[str, None] = {}
        self.dirty_lines: set[_Line] = set()
        self.starving: set[_Line] = set()
        # (start, n, contact, line, episode, contact epoch): when each starving pair began
        self.idle_heap: list[tuple[float, int, str, _Line, int, int]] = []
        # (deadline, n, kind, contact, agent, token): leases that must end by their deadline
        self.deadlines: list[tuple[float, int, str, str, str, float]] = []
        self.limbo: set[str] = set()  # failed callbacks with no retry: must end in the same step
        self.reported_idle: set[str] = set()
        self.twice: list[str] = []  # window contacts that ended more than once
        self.lost: list[str] = []
        self._n = 0
        self._handlers: dict[type, Callable[[Any], None]] = {
            ev.AgentConfigured: self._agent_configured,
            ev.PresenceChanged: self._presence,
            ev.ContactArrived: self._arrived,
            ev.ContactRequeued: self._requeued,
            ev.OfferMade: self._offer_made,
            ev.OfferAccepted: self._offer_accepted,
            ev.OfferReleased: self._offer_released,
            ev.CallbackRequested: self._callback_requested,
            ev.CallbackDue: self._callback_due,
            ev.CallbackAttemptFailed: self._callback_failed,
            ev.ContactEnded: self._ended,
            ev.WrapupStarted: self._wrapup_started,
            ev.WrapupEnded: self._wrapup_ended,
            ev.Recovered: self._recovered,
        }

    # -- entry points ----------------------------------------------------------------------------

    def feed(self, seq: int, event: ev.AnyEvent) -> list[Discrepancy]:
        found: list[Discrepancy] = []
        self._found = found
        self._seq = seq
        self.events += 1
        last = self.last_seq
        if last is None:
            self.first_seq = seq
        elif seq <= last:
            self._report(
                "seq_out_of_order",
                event.at,
                f"Event #{seq} comes after event #{last}: sequence numbers must increase.",
            )
        elif seq != last + 1:
            missing = f"#{last + 1}" if seq == last + 2 else f"#{last + 1} to #{seq - 1}"
            self._report(
                "gap_in_sequence",
                event.at,
                f"Event {missing} is missing from the log (#{last} is followed by #{seq}).",
            )
        if last is None or seq > last:
            self.last_seq = seq
        at = event.at
        if self.last_at is None:
            self.last_at = at
        elif at > self.last_at:
            # The previous instant is complete: its state held until now.
            self._settle(self.last_at)
            self._check_idle(at)
            self.last_at = at
        elif at < self.last_at:
            self._report(
                "time_out_of_order",
                at,
                f"Event #{seq} is dated {self.last_at - at:.3f} s before the event logged"
                " before it.",
            )
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)
        self._seq = None
        return found

    def check(self, now: float) -> list[Discrepancy]:
        """Let time pass with no event (the live watchdog's tick): report what has now lasted
        too long. ``now`` is the runtime's clock; the log may later receive events dated before
        it (timers fire at their due time), which is fine."""
        found: list[Discrepancy] = []
        self._found = found
        if self.last_at is not None:
            self._settle(self.last_at)
            if now > self.last_at:
                self._check_deadlines(now)
                self._check_idle(now)
        return found

    def finish(self) -> AuditReport:
        """Close the books: settle the last instant and balance the window's contacts."""
        self._found = []
        if self.last_at is not None:
            self._settle(self.last_at)
            self._check_idle(self.last_at)
        open_ids = [
            x.id for x in self.contacts.values() if x.in_window and x.state not in (ENDED, LOST)
        ]
        c = msgspec.structs.replace(self.counts, open=len(open_ids))
        discrepancies = list(self.discrepancies)
        balanced = c.arrived == c.accounted and not self.twice and not self.lost
        if not balanced:
            parts = []
            if self.twice:
                parts.append(f"ended more than once: {_names(dict.fromkeys(self.twice))}")
            if self.lost:
                parts.append(f"left without an end: {_names(self.lost)}")
            discrepancies.append(
                Discrepancy(
                    kind="conservation",
                    at=self.last_at or 0.0,
                    message=f"{c.arrived:,} contacts arrived but {c.accounted:,} are accounted"
                    f" for (ended or open); {'; '.join(parts) or 'no contact named'}.",
                    contacts=list(dict.fromkeys(self.twice + self.lost)),
                )
            )
        return AuditReport(
            events=self.events,
            first_seq=self.first_seq,
            last_seq=self.last_seq,
            start=self.start,
            end=self.end,
            tolerance=self.tolerance,
            counts=c,
            balanced=balanced,
            discrepancies=discrepancies,
            open_contacts=open_ids,
        )

    # -- reporting -------------------------------------------------------------------------------

    def _report(
        self,
        kind: str,
        at: float,
        message: str,
        contacts: list[str] | None = None,
        agents: list[str] | None = None,
    ) -> None:
        if (self.start is not None and at < self.start) or (
            self.end is not None and at >= self.end
        ):
            return  # outside the window: the state is still followed, the fault not reported
        d = Discrepancy(
            kind=kind,
            at=at,
            message=message,
            contacts=contacts or [],
            agents=[a for a in (agents or []) if a],
            seq=self._seq,
        )
        self.discrepancies.append(d)
        self._found.append(d)

    def _contact(self, cid: str, at: float, what: str) -> _Contact | None:
        """The open contact an event names, or None after reporting why it cannot apply."""
        c = self.contacts.get(cid)
        if c is None:
            self._report(
                "unknown_contact", at, f"{what} names contact {cid}, which never arrived.", [cid]
            )
            return None
        if c.state is ENDED or c.state is LOST:
            self._report(
                "after_end",
                at,
                f"{what} names contact {cid}, which had already ended ({c.outcome or 'lost'}).",
                [cid],
            )
            return None
        return c

    def _agent(self, aid: str, at: float, what: str, cid: str | None = None) -> _Agent | None:
        a = self.agents.get(aid)
        if a is None:
            self._report(
                "unknown_agent",
                at,
                f"{what} names agent {aid}, which was never configured.",
                [cid] if cid else [],
                [aid],
            )
        return a

    # -- lines and eligibility -------------------------------------------------------------------

    def _candidates(self, alternatives: list[Requirement]) -> Iterable[str]:
        """Who may meet one of ``alternatives``: the holders of each one's rarest skill (levels
        are at least 1), not every agent; a new signature then costs a few hundred checks, not
        one per agent of the center."""
        found: set[str] = set()
        holders = self.holders
        for alt in alternatives:
            if not alt or min(alt.values()) < 1:
                return list(self.agents)
            rarest = min(alt, key=lambda skill: len(holders.get(skill, ())))
            found.update(holders.get(rarest, ()))
        return found

    def _eligible(self, sig: Sig, alternatives: list[Requirement]) -> set[str]:
        agents = self.sig_agents.get(sig)
        if agents is None:
            agents = set()
            for aid in self._candidates(alternatives):
                a = self.agents[aid]
                if meets_any(a.skills, alternatives):
                    agents.add(a.id)
                    a.sigs.add(sig)
            self.sig_agents[sig] = agents
            self.sig_alts[sig] = alternatives
        return agents

    def _line(self, c: _Contact) -> _Line:
        key: LineKey = (c.channel, c.named, None if c.named else c.sig)
        line = self.lines.get(key)
        if line is None:
            if c.named is not None:
                eligible = self.named_sets.setdefault(c.named, {c.named})
            else:
                eligible = self.sig_agents[c.sig]
            line = self.lines[key] = _Line(c.channel, eligible, c.named)
        return line

    def _wait(self, c: _Contact, at: float) -> None:
        c.state = WAITING
        line = self._line(c)
        if not line.waiting:
            self.nonempty.setdefault(line.channel, set()).add(line)
        line.waiting[c.id] = at
        c.line = line
        c.epoch += 1
        self.dirty_lines.add(line)
        if line.since is not None:  # joins a line already starving: its own wait starts now
            self._n += 1
            heapq.heappush(self.idle_heap, (at, self._n, c.id, line, line.episode, c.epoch))

    def _unwait(self, c: _Contact) -> None:
        line = c.line
        if line is not None:
            del line.waiting[c.id]
            if not line.waiting:
                self.nonempty[line.channel].discard(line)
            c.line = None

    def _free_eligible(self, line: _Line) -> list[str]:
        """Agents free on the line's channel that may take its contacts (smaller set first)."""
        free = self.free.get(line.channel)
        if not free:
            return []
        el = line.eligible
        if len(free) <= len(el):
            return [a for a in free if a in el]
        return [a for a in el if a in free]

    def _start(self, line: _Line, t: float) -> None:
        line.since = t
        line.episode += 1
        self.starving.add(line)
        heap, ep = self.idle_heap, line.episode
        contacts = self.contacts
        for cid in line.waiting:
            self._n += 1
            heapq.heappush(heap, (t, self._n, cid, line, ep, contacts[cid].epoch))

    def _stop(self, line: _Line) -> None:
        line.since = None
        line.episode += 1
        self.starving.discard(line)

    # -- evaluation when time advances ------------------------------------------------------------

    def _settle(self, t: float) -> None:
        """The events at ``t`` are all in: update who is free and which lines starve."""
        if self.dirty_agents:
            self._settle_agents(t)
        if self.dirty_lines:
            free = self.free
            for line in self.dirty_lines:
                if line.waiting and line.since is None:
                    fr = free.get(line.channel)
                    if fr and not fr.isdisjoint(line.eligible):
                        self._start(line, t)
            self.dirty_lines.clear()
        if self.starving:  # rare (never in a healthy log): re-check each one
            for line in list(self.starving):
                fr = self.free.get(line.channel)
                if not line.waiting or not fr or fr.isdisjoint(line.eligible):
                    self._stop(line)
        if self.limbo:
            for cid in sorted(self.limbo):
                c = self.contacts[cid]
                if c.state is SCHEDULED and c.due is None:
                    self._lose(
                        c,
                        t,
                        f"Contact {cid}'s last callback attempt failed with no retry planned,"
                        " but the contact never ended.",
                    )
            self.limbo.clear()
        heap = self.deadlines
        if heap and heap[0][0] < t - self.tolerance:
            self._check_deadlines(t)

    def _settle_agents(self, t: float) -> None:
        """Re-index the agents the last events touched; a free one may start a line starving."""
        free, lines, nonempty, agents = self.free, self.lines, self.nonempty, self.agents
        for aid in self.dirty_agents:
            a = agents[aid]
            now_free = a.free_channels()
            if now_free != a.free:
                for ch in a.free:
                    free[ch].discard(aid)
                for ch in now_free:
                    fr = free.get(ch)
                    if fr is None:
                        fr = free[ch] = set()
                    fr.add(aid)
                a.free = now_free
            for ch in now_free:
                candidates = nonempty.get(ch)
                if not candidates:
                    continue
                # Look from the smaller side: the lines waiting on this channel, or the agent's.
                if len(candidates) <= len(a.sigs) + 1:
                    for line in candidates:
                        if line.since is None and aid in line.eligible:
                            self._start(line, t)
                else:
                    keys: list[LineKey] = [(ch, None, s) for s in a.sigs]
                    keys.append((ch, aid, None))
                    for k in keys:
                        ln = lines.get(k)
                        if ln is not None and ln.waiting and ln.since is None:
                            self._start(ln, t)
        self.dirty_agents.clear()

    def _check_deadlines(self, t: float) -> None:
        """Leases end at their deadline (the center fires its timers before anything later)."""
        heap = self.deadlines
        limit = t - self.tolerance
        while heap and heap[0][0] < limit:
            deadline, _, kind, cid, aid, token = heapq.heappop(heap)
            c = self.contacts.get(cid)
            if kind == "offer":
                if c is not None and c.state is OFFERED and c.agent == aid and c.deadline == token:
                    self._report(
                        "stuck_offer",
                        t,
                        f"The offer of {cid} to {aid} was still pending {t - deadline:.1f} s"
                        " after its deadline.",
                        [cid],
                        [aid],
                    )
            elif kind == "callback":
                if c is not None and c.state is SCHEDULED and c.due == token:
                    self._report(
                        "missed_callback",
                        t,
                        f"The callback of {cid} was due {t - deadline:.1f} s ago and never came"
                        " back in line.",
                        [cid],
                    )
            else:
                a = self.agents.get(aid)
                w = a.wrapups.get(cid) if a is not None else None
                if w is not None and w[1] == token:
                    self._report(
                        "stuck_wrapup",
                        t,
                        f"{aid}'s wrap-up of {cid} was still running {t - deadline:.1f} s after"
                        " its deadline.",
                        [cid],
                        [aid],
                    )

    def _check_idle(self, now: float) -> None:
        """Report pairs (free agent, waiting contact it may take) older than the tolerance."""
        heap = self.idle_heap
        limit = now - self.tolerance
        contacts = self.contacts
        while heap and heap[0][0] < limit:
            start, _, cid, line, episode, epoch = heapq.heappop(heap)
            c = contacts[cid]
            if (
                line.episode != episode
                or c.line is not line
                or c.epoch != epoch
                or cid in self.reported_idle
            ):
                continue  # the pair broke up since: the contact was offered or the agent left
            self.reported_idle.add(cid)
            agents = sorted(self._free_eligible(line))
            self._report(
                "idle_agent_while_waiting",
                start + self.tolerance,
                f"Contact {cid} waited at least {now - start:.1f} s on {line.channel}"
                + (f" for {line.named}" if line.named else f" in queue {c.queue}")
                + f" while {_names(agents)} stayed available and could take it.",
                [cid],
                agents,
            )

    # -- handlers ----------------------------------------------------------------------------------

    def _agent_configured(self, e: ev.AgentConfigured) -> None:
        cfg = e.agent
        a = self.agents.get(cfg.id)
        if a is None:
            a = self.agents[cfg.id] = _Agent(cfg.id)
        for skill in a.skills:
            self.holders.get(skill, set()).discard(a.id)
        a.skills = dict(cfg.skills)
        for skill in a.skills:
            self.holders.setdefault(skill, set()).add(a.id)
        a.capacity = dict(cfg.capacity)
        a.mixing = cfg.mixing
        # Skills may have changed: redo this agent's memberships (signatures are few).
        for sig, agents in self.sig_agents.items():
            if meets_any(a.skills, self.sig_alts[sig]):
                agents.add(a.id)
                a.sigs.add(sig)
            else:
                agents.discard(a.id)
                a.sigs.discard(sig)
        self.dirty_agents[a.id] = None

    def _presence(self, e: ev.PresenceChanged) -> None:
        a = self._agent(e.agent, e.at, "A presence change")
        if a is not None:
            a.available = e.presence == Presence.AVAILABLE
            self.dirty_agents[a.id] = None

    def _arrived(self, e: ev.ContactArrived) -> None:
        cid = e.contact
        if cid in self.contacts:
            self._report(
                "duplicate_arrival",
                e.at,
                f"Contact {cid} arrived again while it already existed.",
                [cid],
            )
            return
        in_window = (self.start is None or e.at >= self.start) and (
            self.end is None or e.at < self.end
        )
        sig = signature(e.alternatives)
        self._eligible(sig, e.alternatives)
        c = self.contacts[cid] = _Contact(cid, e.channel, e.queue, sig, in_window)
        if in_window:
            self.counts.arrived += 1
        self._wait(c, e.at)

    def _requeued(self, e: ev.ContactRequeued) -> None:
        c = self._contact(e.contact, e.at, f"A {e.reason}")
        if c is None:
            return
        if c.state is WAITING:
            self._unwait(c)
        elif c.state is CONNECTED and c.agent is not None:
            self._release(c, self.agents[c.agent].connected)  # a transfer frees the agent
        else:
            self._report(
                "invalid_transition",
                e.at,
                f"Contact {c.id} was requeued ({e.reason}) while {c.state}.",
                [c.id],
                [c.agent or ""],
            )
            if c.state is OFFERED and c.agent is not None:
                self._release(c, self.agents[c.agent].offers)
        if e.to_agent is not None:
            self._agent(e.to_agent, e.at, f"The transfer of {c.id}", c.id)
        c.queue = e.queue
        c.named = e.to_agent
        c.sig = signature(e.alternatives)
        self._eligible(c.sig, e.alternatives)
        self._wait(c, e.at)

    def _release(self, c: _Contact, held: dict[str, Channel]) -> None:
        """Free the slot a contact held on its agent (offer or conversation)."""
        assert c.agent is not None
        a = self.agents[c.agent]
        ch = held.pop(c.id)
        a.add(ch, -1)
        self.dirty_agents[a.id] = None
        c.agent = None

    def _offer_made(self, e: ev.OfferMade) -> None:
        cid, aid, ch = e.contact, e.agent, e.channel
        c = self._contact(cid, e.at, f"The offer to {aid}")
        a = self._agent(aid, e.at, f"The offer of {cid}", cid)
        if c is None or a is None:
            return
        if c.state is OFFERED or c.state is CONNECTED:
            self._report(
                "double_offer",
                e.at,
                f"Contact {cid} was offered to {aid} while still"
                f" {'offered to' if c.state is OFFERED else 'in conversation with'} {c.agent}.",
                [cid],
                [aid, c.agent or ""],
            )
            return  # not applied: the first holder keeps it, the second agent keeps its room
        if c.state is not WAITING:
            self._report(
                "offer_not_waiting",
                e.at,
                f"Contact {cid} was offered to {aid} while it was a callback scheduled for later.",
                [cid],
                [aid],
            )
            return
        if ch != c.channel:
            self._report(
                "ineligible_agent",
                e.at,
                f"Contact {cid} waits on the {c.channel} channel but was offered to {aid} on {ch}.",
                [cid],
                [aid],
            )
        elif aid not in (c.line.eligible if c.line is not None else ()):
            who = f"only {c.named} may take it" if c.named else "it lacks the skills required"
            self._report(
                "ineligible_agent",
                e.at,
                f"Contact {cid} was offered to {aid}, but {who}.",
                [cid],
                [aid],
            )
        if not a.available:
            self._report(
                "agent_not_available",
                e.at,
                f"Contact {cid} was offered to {aid}, who was not available.",
                [cid],
                [aid],
            )
        n, cap = a.load.get(ch, 0), a.capacity.get(ch, 0)
        if n + 1 > cap:
            self._report(
                "over_capacity",
                e.at,
                f"Contact {cid} was offered to {aid} on {ch}, where {aid} already held {n} of"
                f" {cap} slot{'s' if cap != 1 else ''}.",
                [cid, *a.offers, *a.connected, *a.wrapups],
                [aid],
            )
        elif not a.mixing and a.total > n:
            busy = sorted({str(x) for x, k in a.load.items() if k and x != ch})
            self._report(
                "over_capacity",
                e.at,
                f"Contact {cid} was offered to {aid} on {ch} while {aid}, who works one channel"
                f" at a time, was busy on {', '.join(busy)}.",
                [cid, *a.offers, *a.connected, *a.wrapups],
                [aid],
            )
        self._unwait(c)
        c.state = OFFERED
        c.agent = aid
        c.deadline = e.deadline
        a.offers[cid] = ch
        a.add(ch, 1)
        self.dirty_agents[aid] = None
        self._n += 1
        heapq.heappush(self.deadlines, (e.deadline, self._n, "offer", cid, aid, e.deadline))

    def _offer_accepted(self, e: ev.OfferAccepted) -> None:
        c = self._contact(e.contact, e.at, f"An accept by {e.agent}")
        if c is None:
            return
        if c.state is OFFERED and c.agent == e.agent:
            a = self.agents[e.agent]
            a.connected[c.id] = a.offers.pop(c.id)
            c.state = CONNECTED
        else:
            self._report(
                "invalid_transition",
                e.at,
                f"{e.agent} accepted {c.id}, which was not offered to {e.agent} ({c.state}"
                f"{' with ' + c.agent if c.agent else ''}).",
                [c.id],
                [e.agent],
            )

    def _offer_released(self, e: ev.OfferReleased) -> None:
        c = self._contact(e.contact, e.at, f"The release ({e.reason}) of an offer to {e.agent}")
        if c is None:
            return
        if c.state is OFFERED and c.agent == e.agent:
            self._release(c, self.agents[e.agent].offers)
            c.named = None  # a missed transfer to a person falls back to the queue
            self._wait(c, e.at)
        else:
            self._report(
                "invalid_transition",
                e.at,
                f"An offer of {c.id} to {e.agent} was released ({e.reason}), but there was none"
                f" ({c.state}).",
                [c.id],
                [e.agent],
            )

    def _callback_requested(self, e: ev.CallbackRequested) -> None:
        c = self._contact(e.contact, e.at, "A callback request")
        if c is None:
            return
        if c.state is WAITING:
            self._unwait(c)
        else:
            self._report(
                "invalid_transition",
                e.at,
                f"A callback was requested for {c.id} while {c.state}.",
                [c.id],
                [c.agent or ""],
            )
            if c.state is not SCHEDULED and c.agent is not None:
                a = self.agents[c.agent]
                self._release(c, a.offers if c.state is OFFERED else a.connected)
        c.channel = Channel.CALLBACK
        if e.due is None:
            self._wait(c, e.at)  # virtual hold: keeps its place (and a named agent, if any)
        else:
            c.state = SCHEDULED
            c.due = e.due
            self._n += 1
            heapq.heappush(self.deadlines, (e.due, self._n, "callback", c.id, "", e.due))

    def _callback_due(self, e: ev.CallbackDue) -> None:
        c = self._contact(e.contact, e.at, "A callback coming due")
        if c is None:
            return
        if c.state is not SCHEDULED:
            self._report(
                "invalid_transition",
                e.at,
                f"The callback of {c.id} came due while it was {c.state}, not scheduled.",
                [c.id],
            )
            return
        c.due = None
        c.named = None
        self._wait(c, e.at)

    def _callback_failed(self, e: ev.CallbackAttemptFailed) -> None:
        c = self._contact(e.contact, e.at, "A failed callback attempt")
        if c is None:
            return
        if not (c.state is CONNECTED and c.agent == e.agent):
            self._report(
                "invalid_transition",
                e.at,
                f"{e.agent} reported a failed callback of {c.id}, which was not connected to"
                f" {e.agent} ({c.state}).",
                [c.id],
                [e.agent],
            )
            return
        self._release(c, self.agents[e.agent].connected)
        c.state = SCHEDULED
        c.due = e.retry_at
        if e.retry_at is None:
            self.limbo.add(c.id)  # its end must follow in the same step
        else:
            self._n += 1
            heapq.heappush(self.deadlines, (e.retry_at, self._n, "callback", c.id, "", e.retry_at))

    def _ended(self, e: ev.ContactEnded) -> None:
        cid = e.contact
        c = self.contacts.get(cid)
        if c is None:
            self._report(
                "unknown_contact",
                e.at,
                f"Contact {cid} ended ({e.outcome}) but never arrived.",
                [cid],
            )
            return
        if c.state is ENDED:
            self._report(
                "ended_twice",
                e.at,
                f"Contact {cid} ended again ({e.outcome}) after it had ended ({c.outcome}).",
                [cid],
            )
            if c.in_window:
                self._count(e.outcome)  # counted again, so the window no longer balances
                self.twice.append(cid)
            return
        if c.state is WAITING:
            self._unwait(c)
        elif c.agent is not None:
            a = self.agents[c.agent]
            self._release(c, a.offers if c.state is OFFERED else a.connected)
        if c.state is LOST and c.in_window:
            self.lost.remove(cid)  # its end did come, only later
        c.state = ENDED
        c.outcome = e.outcome.value
        c.due = None
        if c.in_window:
            self._count(e.outcome)

    def _count(self, outcome: Outcome) -> None:
        name = outcome.value  # the outcomes are named like the count fields
        setattr(self.counts, name, getattr(self.counts, name) + 1)

    def _lose(self, c: _Contact, at: float, message: str, agent: str | None = None) -> None:
        self._report("lost_contact", at, message, [c.id], [agent or c.agent or ""])
        if c.state is WAITING:
            self._unwait(c)
        elif c.agent is not None and c.state in (OFFERED, CONNECTED):
            a = self.agents[c.agent]
            self._release(c, a.offers if c.state is OFFERED else a.connected)
        c.state = LOST
        if c.in_window:
            self.lost.append(c.id)

    def _wrapup_started(self, e: ev.WrapupStarted) -> None:
        a = self._agent(e.agent, e.at, f"The wrap-up of {e.contact}", e.contact)
        c = self.contacts.get(e.contact)
        if c is None:
            self._report(
                "unknown_contact",
                e.at,
                f"{e.agent} started wrap-up for contact {e.contact}, which never arrived.",
                [e.contact],
                [e.agent],
            )
        elif c.state is not ENDED and c.state is not LOST:
            # The center ends a contact before its wrap-up starts: the end is missing.
            self._lose(
                c,
                e.at,
                f"{e.agent} started wrap-up for contact {c.id}, but the contact never ended"
                f" (it was {c.state}): its end is missing from the log.",
                e.agent,
            )
        if a is None:
            return
        if e.contact in a.wrapups:
            self._report(
                "invalid_transition",
                e.at,
                f"{a.id} started a second wrap-up for {e.contact}.",
                [e.contact],
                [a.id],
            )
            return
        a.wrapups[e.contact] = (e.channel, e.deadline)
        a.add(e.channel, 1)
        self.dirty_agents[a.id] = None
        self._n += 1
        heapq.heappush(self.deadlines, (e.deadline, self._n, "wrapup", e.contact, a.id, e.deadline))

    def _wrapup_ended(self, e: ev.WrapupEnded) -> None:
        a = self._agent(e.agent, e.at, f"The end of wrap-up of {e.contact}", e.contact)
        if a is None:
            return
        w = a.wrapups.pop(e.contact, None)
        if w is None:
            self._report(
                "invalid_transition",
                e.at,
                f"{a.id} ended a wrap-up of {e.contact} that had not started.",
                [e.contact],
                [a.id],
            )
            return
        a.add(w[0], -1)
        self.dirty_agents[a.id] = None

    def _recovered(self, e: ev.Recovered) -> None:
        # Offers pending at the crash must have been released before this event.
        for a in self.agents.values():
            for cid in a.offers:
                self._report(
                    "stuck_offer",
                    e.at,
                    f"The offer of {cid} to {a.id} survived the restart: it should have been"
                    " released before recovery completed.",
                    [cid],
                    [a.id],
                )


def audit(
    events: Iterable[tuple[int, ev.AnyEvent]],
    *,
    start: float | None = None,
    end: float | None = None,
    tolerance: float = 2.0,
) -> AuditReport:
    """Audit a whole log, in order. The window only selects which arrivals are counted and
    which discrepancies are reported: the whole log is read to know the state at its start."""
    auditor = Auditor(tolerance, (start, end))
    feed = auditor.feed
    for seq, event in events:
        feed(seq, event)
    return auditor.finish()
