"""The routing engine: commands in, events out. Pure: no I/O, the clock is injected.

Every command first lets time pass (due timers fire), then validates everything it was given and
raises a ``DomainError`` before emitting anything, so a refused command changes nothing. Accepted
commands emit events, each applied to the state at once; routing then runs on whatever the events
made dirty (a contact that entered a line, an agent that gained room), which keeps the center
work-conserving after every step.
"""

from __future__ import annotations

import gc
import heapq
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from joignable.core import errors as er
from joignable.core import events as ev
from joignable.core.estimate import Estimate, estimate_contact, estimate_queue

# The events made on every contact's path, imported by name: from compiled code a module
# attribute (``ev.OfferMade``) is a generic lookup each time, a name of this module a dict read.
from joignable.core.events import (
    ContactArrived,
    ContactEnded,
    OfferAccepted,
    OfferMade,
    WrapupEnded,
    WrapupStarted,
)
from joignable.core.kinds import Channel, Outcome, Presence
from joignable.core.model import AgentConfig, QueueConfig, Requirement, Settings
from joignable.core.rules import (
    is_open,
    next_opening,
    overflow_target,
    step_alternatives,
    step_for_wait,
    validate_time,
)
from joignable.core.state import Agent, Contact, Pool, State, Status, Timer, before_in_line

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$")
_PRESENCES = frozenset(p.value for p in Presence)
_CHANNELS = frozenset(c.value for c in Channel)
_PHONE = re.compile(r"^\+?[0-9][0-9 .()-]{2,30}$")


class ArrivalResult(msgspec.Struct, gc=False):
    contact: str
    status: str  # queued | offered | callback_scheduled | closed | full
    reason: str = ""
    estimated_wait: float | None = None
    explanation: str = ""
    callback_offered: bool = False


def _check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise er.InvalidInput(
            f"{what} must be 1-64 letters, digits or _.:@- (starting with a letter or digit),"
            f" got {value!r}"
        )
    return value


_Config = TypeVar("_Config", Settings, QueueConfig, AgentConfig)


def _typed(value: _Config, what: str) -> _Config:
    """The configuration as the ledger will read it back. Callers build these structs without
    validation, so a wrong type (a name that is a number, a capacity for "fax") would be stored
    and then break every replay; converting checks the types and normalises enum keys."""
    try:
        typed: _Config = msgspec.convert(msgspec.to_builtins(value), type(value))
    except (msgspec.ValidationError, TypeError, ValueError) as exc:
        raise er.InvalidInput(f"{what}: {exc}") from None
    return typed


def _raw(value: object, what: str) -> dict[str, Any]:
    """A configuration as plain data, to check before converting it: callers build the structs
    without validation, so any field may hold anything."""
    try:
        raw = msgspec.to_builtins(value)
    except (TypeError, ValueError) as exc:
        raise er.InvalidInput(f"{what}: {exc}") from None
    if not isinstance(raw, dict):
        raise er.InvalidInput(f"{what} must be a {what} configuration, got {value!r}")
    return raw


def _finite(what: str, *values: float | None) -> None:
    """NaN passes every comparison check and infinity is stored as null: refuse both."""
    for v in values:
        if v is not None and not math.isfinite(v):
            raise er.InvalidInput(f"{what} must be a finite number of seconds, got {v!r}")


def _check_text(value: object, what: str, limit: int = 200) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise er.InvalidInput(f"{what} must be text of at most {limit} characters, got {value!r}")
    return value


def _merge(a: Requirement, b: Requirement) -> Requirement:
    out = dict(a)
    for k, v in b.items():
        out[k] = max(out.get(k, 0), v)
    return out


class Engine:
    def __init__(self, clock: Callable[[], float], state: State | None = None) -> None:
        # Typed as what it may return, not what it should: a broken clock is refused, not trusted.
        self.clock: Callable[[], object] = clock
        self.state = state if state is not None else State()
        self.pending: list[ev.Event] = []
        self._steps: dict[str, tuple[QueueConfig, dict[int, list[Requirement]]]] = {}

    # -- plumbing ----------------------------------------------------------------------------

    def take(self) -> list[ev.Event]:
        """The events emitted since the last call, to be written to the ledger."""
        out, self.pending = self.pending, []
        return out

    def _emit(self, event: ev.Event) -> None:
        self.state.apply(event)
        self.pending.append(event)

    def _begin(self) -> float:
        now = max(validate_time(self.clock(), "clock"), self.state.last_at)
        self._fire_timers(now)
        return now

    def tick(self) -> float:
        """Let time pass: fire due timers (offer deadlines, widening, wrap-up, callbacks)."""
        now = self._begin()
        self._dispatch(now)
        return now

    def next_timer(self) -> float | None:
        first = self.state.timers.first()
        return first.due if first is not None else None

    def _agent(self, agent_id: object) -> Agent:
        agent = self.state.agents.get(agent_id) if isinstance(agent_id, str) else None
        if agent is None:
            raise er.UnknownAgent(f"no agent {agent_id!r}", agent=str(agent_id))
        return agent

    def _contact(self, contact_id: object) -> Contact:
        contact = self.state.contacts.get(contact_id) if isinstance(contact_id, str) else None
        if contact is None:
            if isinstance(contact_id, str) and contact_id in self.state.ended:
                raise er.ContactEnded(
                    f"contact {contact_id!r} has already ended"
                    f" ({self.state.ended[contact_id].value})",
                    contact=contact_id,
                )
            raise er.UnknownContact(f"no contact {contact_id!r}", contact=str(contact_id))
        return contact

    def _queue(self, queue_id: object) -> QueueConfig:
        q = self.state.queues.get(queue_id) if isinstance(queue_id, str) else None
        if q is None:
            raise er.UnknownQueue(f"no queue {queue_id!r}", queue=str(queue_id))
        return q

    def _check_requirement(self, req: object, what: str) -> Requirement:
        if not isinstance(req, dict):
            raise er.InvalidInput(f"{what} must map skill names to levels")
        for skill, level in req.items():
            if skill not in self.state.skills:
                raise er.UnknownSkill(f"{what}: no skill {skill!r} is defined", skill=str(skill))
            if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 10:
                raise er.InvalidInput(f"{what}: level of {skill!r} must be 1-10, got {level!r}")
        return req

    # -- configuration -----------------------------------------------------------------------

    def configure(self, settings: Settings) -> None:
        now = self._begin()
        settings = _typed(settings, "settings")
        _finite(
            "offer timeout, wrap-up limit and callback retry delay",
            settings.offer_timeout,
            settings.wrapup_limit,
            settings.callback_retry_delay,
        )
        if settings.offer_timeout <= 0 or settings.wrapup_limit < 0:
            raise er.InvalidInput("offer timeout must be > 0 and wrap-up limit >= 0 seconds")
        if settings.callback_max_attempts < 1 or settings.callback_retry_delay < 0:
            raise er.InvalidInput("callbacks need at least 1 attempt and a delay >= 0")
        if not 0 < settings.aht_smoothing <= 1:
            raise er.InvalidInput("aht_smoothing must be in (0, 1]")
        self._emit(ev.SettingsChanged(at=now, settings=settings))

    def define_skill(self, skill: object, name: object = "") -> None:
        now = self._begin()
        skill_id = _check_id(skill, "skill")
        label = _check_text(name, "skill name")
        self._emit(ev.SkillDefined(at=now, skill=skill_id, name=label))

    def configure_queue(self, queue: QueueConfig) -> None:
        now = self._begin()
        raw = _raw(queue, "queue")
        _check_id(raw.get("id"), "queue id")
        queue = _typed(queue, f"queue {raw['id']}")
        self._check_requirement(queue.requirements, f"queue {queue.id}")
        _finite(
            f"delays of queue {queue.id}",
            queue.sl_threshold,
            queue.short_abandon,
            queue.default_aht,
            queue.callback_offer_after,
            *(step.after for step in queue.widening),
        )
        if queue.callback_offer_after is not None and queue.callback_offer_after < 0:
            raise er.InvalidInput("callback_offer_after must be >= 0 s")
        if not 0 < queue.sl_target <= 1 or queue.sl_threshold <= 0:
            raise er.InvalidInput("service level target must be in (0, 1] and threshold > 0 s")
        if queue.max_size is not None and queue.max_size < 0:
            raise er.InvalidInput("max_size must be >= 0")
        if queue.short_abandon < 0 or queue.default_aht <= 0:
            raise er.InvalidInput("short_abandon must be >= 0 and default_aht > 0")
        last = -1.0
        for step in queue.widening:
            if step.after <= 0 or step.after < last:
                raise er.InvalidInput("widening steps need increasing delays > 0 s")
            last = step.after
            if step.lower_levels_by < 0:
                raise er.InvalidInput("lower_levels_by must be >= 0")
            for alt in step.also_accept:
                self._check_requirement(alt, f"queue {queue.id} widening")
            if step.overflow_to is not None and step.overflow_to not in self.state.queues:
                raise er.UnknownQueue(
                    f"overflow target {step.overflow_to!r} is not a queue",
                    queue=step.overflow_to,
                )
        try:
            from joignable.core.rules import _minutes, _zone

            _zone(queue.timezone)
            if queue.hours is not None and not queue.hours:
                # never open: its callbacks would have no opening to wait for and go out at once
                raise ValueError("give at least one slot (no hours at all means always open)")
            for slot in queue.hours or []:
                if not slot.days or any(d not in range(7) for d in slot.days):
                    raise ValueError("days must be 0 (Monday) to 6 (Sunday)")
                if not 0 <= _minutes(slot.start) < _minutes(slot.end) <= 24 * 60:
                    raise ValueError("start must be before end, as HH:MM")
        except (ValueError, KeyError, LookupError) as exc:
            raise er.InvalidInput(f"opening hours of queue {queue.id}: {exc}") from None
        self._emit(ev.QueueConfigured(at=now, queue=queue))
        self._fire_timers(now)  # widening or overflow due under the new delays
        self._dispatch(now)

    def configure_agent(self, agent: AgentConfig) -> None:
        now = self._begin()
        raw = _raw(agent, "agent")
        agent_id = _check_id(raw.get("id"), "agent id")
        self._check_requirement(raw.get("skills"), f"agent {agent_id}")
        capacity = raw.get("capacity")
        if not isinstance(capacity, dict):
            raise er.InvalidInput("capacity must map channels to whole numbers")
        for channel, cap in capacity.items():
            if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0 or cap > 100:
                raise er.InvalidCapacity(
                    f"capacity for {channel} must be a whole number 0-100, got {cap!r}",
                    agent=agent_id,
                )
        agent = _typed(agent, f"agent {agent_id}")
        if agent.max_missed < 1:
            raise er.InvalidInput("max_missed must be at least 1")
        self._emit(ev.AgentConfigured(at=now, agent=agent))
        self._dispatch(now)

    # -- agents ------------------------------------------------------------------------------

    def set_presence(self, agent_id: object, presence: object, reason: object = "") -> None:
        now = self._begin()
        agent = self._agent(agent_id)
        why_text = _check_text(reason, "reason")
        if not isinstance(presence, str) or presence not in _PRESENCES:
            raise er.InvalidInput(
                f"presence must be one of {[p.value for p in Presence]}, got {presence!r}"
            )
        state = Presence(presence)
        if state is not Presence.AVAILABLE:
            why = "logout" if state is Presence.OFFLINE else "away"
            self._release_all(agent, why, now)
        self._emit(ev.PresenceChanged(at=now, agent=agent.id, presence=state, reason=why_text))
        self._dispatch(now)

    def disconnect(self, agent_id: object) -> None:
        """The agent's connection was lost: its offers go back, it stops receiving new ones."""
        now = self._begin()
        agent = self._agent(agent_id)
        self._release_all(agent, "disconnected", now)
        if agent.presence is Presence.AVAILABLE:
            self._emit(
                ev.PresenceChanged(
                    at=now, agent=agent.id, presence=Presence.AWAY, reason="disconnected"
                )
            )
        self._dispatch(now)

    def _release_all(self, agent: Agent, reason: str, now: float) -> None:
        for cid in list(agent.offers):
            self._emit(ev.OfferReleased(at=now, contact=cid, agent=agent.id, reason=reason))
            # a widening or overflow that came due during the offer applies now
            self._catch_up(self.state.contacts[cid], now)
        # contacts waiting on this agent's personal line go back to their queue
        for pool in agent.pools:
            if pool.fixed_agent == agent.id:
                for line in pool.waiting.values():
                    for c in line.contacts():
                        self._requeue(c, c.queue, "transfer", now)

    def accept(self, agent_id: object, contact_id: object) -> bool:
        """Accept an offer. Idempotent: accepting again returns False and changes nothing."""
        now = self._begin()
        agent = self._agent(agent_id)
        contact = self._contact(contact_id)
        if contact.status is Status.CONNECTED and contact.agent == agent.id:
            return False
        if contact.status is Status.OFFERED and contact.agent == agent.id:
            self._emit(OfferAccepted(at=now, contact=contact.id, agent=agent.id))
            return True
        self._no_offer(agent, contact)
        return False  # unreachable

    def _no_offer(self, agent: Agent, contact: Contact) -> None:
        for _, what, who in reversed(contact.history):
            if who == agent.id and what in ("offer_timeout", "offer_recovery"):
                raise er.OfferExpired(
                    f"the offer of {contact.id} to {agent.id} expired", contact=contact.id
                )
            if who == agent.id:
                break
        raise er.NoSuchOffer(
            f"{agent.id} has no offer for {contact.id}", contact=contact.id, agent=agent.id
        )

    def reject(self, agent_id: object, contact_id: object) -> None:
        now = self._begin()
        agent = self._agent(agent_id)
        contact = self._contact(contact_id)
        if not (contact.status is Status.OFFERED and contact.agent == agent.id):
            self._no_offer(agent, contact)
        self._emit(ev.OfferReleased(at=now, contact=contact.id, agent=agent.id, reason="rejected"))
        self._after_miss(agent, now)
        self._catch_up(contact, now)
        self._dispatch(now)

    def _after_miss(self, agent: Agent, now: float) -> None:
        if agent.missed >= agent.config.max_missed and agent.presence is Presence.AVAILABLE:
            self._release_all(agent, "away", now)
            self._emit(
                ev.PresenceChanged(
                    at=now, agent=agent.id, presence=Presence.AWAY, reason="missed_offers"
                )
            )

    def _connected(self, agent: Agent, contact: Contact) -> None:
        if contact.status is not Status.CONNECTED or contact.agent != agent.id:
            raise er.ContactNotActive(
                f"{contact.id} is not in conversation with {agent.id}",
                contact=contact.id,
                agent=agent.id,
            )

    def complete(self, agent_id: object, contact_id: object) -> None:
        """The conversation is over: the contact is handled, the agent goes to wrap-up."""
        now = self._begin()
        agent = self._agent(agent_id)
        contact = self._contact(contact_id)
        self._connected(agent, contact)
        cb = contact.route_channel is Channel.CALLBACK
        outcome = Outcome.CALLBACK_COMPLETED if cb else Outcome.HANDLED
        self._end(contact, outcome, "", now, agent.id)
        limit = self.state.settings.wrapup_limit
        self._emit(
            WrapupStarted(
                at=now,
                agent=agent.id,
                contact=contact.id,
                deadline=now + limit,
                channel=contact.route_channel,
                queue=contact.queue,
                accepted_at=contact.accepted_at if contact.accepted_at is not None else now,
            )
        )
        if limit == 0:
            self._emit(WrapupEnded(at=now, agent=agent.id, contact=contact.id))
        self._dispatch(now)

    def end_wrapup(
        self, agent_id: object, contact_id: object, disposition: object = "", notes: object = ""
    ) -> None:
        now = self._begin()
        agent = self._agent(agent_id)
        if not isinstance(contact_id, str) or contact_id not in agent.wrapups:
            raise er.Conflict(
                f"{agent.id} is not in wrap-up for {contact_id!r}", contact=str(contact_id)
            )
        code = _check_text(disposition, "disposition", 64)
        text = _check_text(notes, "notes", 10_000)
        self._emit(
            WrapupEnded(at=now, agent=agent.id, contact=contact_id, disposition=code, notes=text)
        )
        self._dispatch(now)

    def callback_not_reached(self, agent_id: object, contact_id: object) -> bool:
        """The agent called and nobody answered. Returns True when another attempt is planned."""
        now = self._begin()
        agent = self._agent(agent_id)
        contact = self._contact(contact_id)
        self._connected(agent, contact)
        if contact.route_channel is not Channel.CALLBACK:
            raise er.Conflict(f"{contact.id} is not a callback", contact=contact.id)
        s = self.state.settings
        attempt = contact.attempts + 1
        retry = now + s.callback_retry_delay if attempt < s.callback_max_attempts else None
        self._emit(
            ev.CallbackAttemptFailed(
                at=now, contact=contact.id, agent=agent.id, attempt=attempt, retry_at=retry
            )
        )
        if retry is None:
            self._end(contact, Outcome.CALLBACK_FAILED, "not_reached", now, None)
        self._dispatch(now)
        return retry is not None

    def transfer(
        self,
        agent_id: object,
        contact_id: object,
        queue: object = None,
        to_agent: object = None,
    ) -> None:
        """Hand a contact in conversation to a queue or a named agent, keeping history and place.
        Without an agent (``agent_id`` None): move a waiting contact to another queue, keeping
        its place by arrival (self-service handing over to the queue its flow names)."""
        now = self._begin()
        if agent_id is None:
            contact = self._contact(contact_id)
            if contact.status is not Status.WAITING:
                raise er.ContactNotActive(f"{contact.id} is not waiting", contact=contact.id)
            if queue is None or to_agent is not None:
                raise er.InvalidInput("a waiting contact moves to a queue only")
            moved_to = self._queue(queue)
            if moved_to.id != contact.queue:
                self._requeue(contact, moved_to.id, "transfer", now)
                self._dispatch(now)
            return
        agent = self._agent(agent_id)
        contact = self._contact(contact_id)
        self._connected(agent, contact)
        if (queue is None) == (to_agent is None):
            raise er.InvalidInput("transfer to exactly one of: a queue, a named agent")
        if to_agent is not None:
            target = self._agent(to_agent)
            if target.id == agent.id:
                raise er.InvalidInput("an agent cannot transfer a contact to itself")
            if target.presence is not Presence.AVAILABLE:
                raise er.AgentNotReady(f"{target.id} is not available", agent=target.id)
            if not target.capacity.get(contact.route_channel, 0):
                # otherwise the contact would wait on a line its agent can never serve
                raise er.AgentNotReady(
                    f"{target.id} takes no {contact.route_channel} contacts", agent=target.id
                )
            self._emit(
                ev.ContactRequeued(
                    at=now,
                    contact=contact.id,
                    queue=contact.queue,
                    step=contact.step,
                    alternatives=contact.alternatives,
                    reason="transfer",
                    to_agent=target.id,
                    by_agent=agent.id,
                )
            )
        else:
            q = self._queue(queue)
            self._requeue(contact, q.id, "transfer", now, by_agent=agent.id)
        self._dispatch(now)

    # -- contacts ----------------------------------------------------------------------------

    def _alternatives(self, queue: QueueConfig, step: int, extra: Requirement) -> list[Requirement]:
        if extra:
            return [_merge(a, extra) for a in step_alternatives(queue, step)]
        # Most contacts ask nothing beyond their queue: one list per queue and step, shared by
        # their events and contacts (none of them changes it).
        cached = self._steps.get(queue.id)
        if cached is None or cached[0] is not queue:
            cached = self._steps[queue.id] = (queue, {})
        alts = cached[1].get(step)
        if alts is None:
            alts = cached[1][step] = step_alternatives(queue, step)
        return alts

    def arrive(
        self,
        queue: object,
        channel: object = Channel.VOICE,
        customer: object = "",
        priority: object = 0,
        skills: object = None,
        contact_id: object = None,
        callback_number: object = None,
        data: object = None,
    ) -> ArrivalResult:
        """A customer contact arrives. A full or closed queue answers explicitly, never drops.

        ``channel`` is a Channel (or its name), ``skills`` what the contact needs beyond its
        queue, ``data`` text fields for the agent; every argument is checked here."""
        now = self._begin()
        q = self._queue(queue)
        if not isinstance(channel, str) or channel not in _CHANNELS:
            raise er.InvalidInput(
                f"channel must be one of {[c.value for c in Channel]}, got {channel!r}"
            )
        kind = channel if type(channel) is Channel else Channel(channel)
        if not isinstance(priority, int) or isinstance(priority, bool) or abs(priority) > 1000:
            raise er.InvalidInput(f"priority must be a whole number -1000..1000, got {priority!r}")
        extra = self._check_requirement(skills or {}, "contact skills")
        who = _check_text(customer, "customer reference")
        info: dict[str, str] = {}
        if data is not None:
            if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in data.items()
            ):
                raise er.InvalidInput("contact data must map text to text")
            info = dict(data)
        number = None if callback_number is None else self._check_number(callback_number)
        if kind is Channel.CALLBACK and number is None:
            raise er.InvalidInput("a callback contact needs a number to call")
        if kind is Channel.CALLBACK and not q.callbacks_allowed:
            raise er.Conflict(f"queue {q.id} does not take callbacks", queue=q.id)
        if contact_id is None:
            cid = self._new_id()
        else:
            cid = _check_id(contact_id, "contact id")
            if cid in self.state.contacts or cid in self.state.ended:
                raise er.AlreadyExists(f"contact {cid!r} exists", contact=cid)
        closed = not is_open(q, now)
        full = (
            q.max_size is not None
            and kind is not Channel.CALLBACK
            and self.state.queue_live.get(q.id, 0) >= q.max_size
        )
        # A callback (asked for, or offered because the queue is closed or full) is never
        # planned twice for one number and queue: the open one answers.
        if number is not None and (
            kind is Channel.CALLBACK or ((closed or full) and q.callbacks_allowed)
        ):
            dup = self.state.open_callbacks.get((q.id, number))
            if dup is not None:
                return ArrivalResult(contact=dup, status="callback_scheduled", reason="duplicate")
        self._emit(
            ContactArrived(
                at=now,
                contact=cid,
                channel=kind,
                queue=q.id,
                customer=who,
                priority=priority,
                skills=extra,
                alternatives=self._alternatives(q, 0, extra),
                data=info,
            )
        )
        contact = self.state.contacts[cid]
        if closed or full:
            why = "closed" if closed else "full"
            if number is not None and q.callbacks_allowed:
                due = next_opening(q, now) if closed else None
                self._emit(ev.CallbackRequested(at=now, contact=cid, number=number, due=due))
                self._dispatch(now)
                return ArrivalResult(contact=cid, status="callback_scheduled", reason=why)
            self._end(contact, Outcome.FAILED, f"queue_{why}", now, None)
            return ArrivalResult(
                contact=cid,
                status=why,
                reason=f"queue {q.id} is {why}"
                + (", a callback can be requested" if q.callbacks_allowed else ""),
            )
        if kind is Channel.CALLBACK:
            assert number is not None
            self._emit(ev.CallbackRequested(at=now, contact=cid, number=number))
        self._dispatch(now)
        if contact.status is not Status.WAITING:
            return ArrivalResult(contact=cid, status="offered", estimated_wait=0.0)
        est = estimate_contact(self.state, contact)
        offer_cb = (
            q.callbacks_allowed
            and q.callback_offer_after is not None
            and kind is not Channel.CALLBACK
            and (est.seconds is None or est.seconds > q.callback_offer_after)
        )
        return ArrivalResult(
            contact=cid,
            status="queued",
            estimated_wait=est.seconds,
            explanation=est.text,
            callback_offered=offer_cb,
        )

    def _new_id(self) -> str:
        n = self.state.seq
        while True:
            n += 1
            cid = f"c{n}"
            if cid not in self.state.contacts and cid not in self.state.ended:
                return cid

    def _check_number(self, number: object) -> str:
        if not isinstance(number, str) or not _PHONE.match(number):
            raise er.InvalidInput(f"callback number must look like a phone number, got {number!r}")
        return number

    def schedule_callback(
        self, queue: object, number: object, due: object = None, customer: object = ""
    ) -> ArrivalResult:
        """A callback at a time the customer picks (or as soon as possible). Never two for one
        request: a second request for the same number and queue returns the open one."""
        now = self._begin()
        q = self._queue(queue)
        phone = self._check_number(number)
        who = _check_text(customer, "customer reference")
        if not q.callbacks_allowed:
            raise er.Conflict(f"queue {q.id} does not take callbacks", queue=q.id)
        at = None if due is None else validate_time(due, "callback time")
        if at is not None and at < now - 1:
            raise er.InvalidTime("the callback time is in the past")
        dup = self.state.open_callbacks.get((q.id, phone))
        if dup is not None:
            return ArrivalResult(contact=dup, status="callback_scheduled", reason="duplicate")
        cid = self._new_id()
        self._emit(
            ContactArrived(
                at=now,
                contact=cid,
                channel=Channel.CALLBACK,
                queue=q.id,
                customer=who,
                alternatives=self._alternatives(q, 0, {}),
            )
        )
        when = at if at is not None and at > now else None
        if when is None and not is_open(q, now):
            when = next_opening(q, now)
        self._emit(ev.CallbackRequested(at=now, contact=cid, number=phone, due=when))
        self._dispatch(now)
        return ArrivalResult(contact=cid, status="callback_scheduled")

    def request_callback(self, contact_id: object, number: object, due: object = None) -> bool:
        """A waiting customer asks to be called back instead of holding. With no ``due`` it keeps
        its place in line (virtual hold). Idempotent: a second request returns False."""
        now = self._begin()
        contact = self._contact(contact_id)
        phone = self._check_number(number)
        q = self._queue(contact.queue)
        if not q.callbacks_allowed:
            raise er.Conflict(f"queue {q.id} does not take callbacks", queue=q.id)
        if contact.callback_number is not None:
            return False
        dup = self.state.open_callbacks.get((q.id, phone))
        if dup is not None:
            raise er.AlreadyExists(
                f"a callback to {phone} is already planned in queue {q.id} ({dup})",
                contact=dup,
            )
        if contact.status not in (Status.WAITING, Status.OFFERED):
            raise er.ContactNotActive(f"{contact.id} is not waiting", contact=contact.id)
        at = None if due is None else validate_time(due, "callback time")
        if at is not None:
            if at < now - 1:
                raise er.InvalidTime("the callback time is in the past")
            if at <= now:
                at = None
        if contact.status is Status.OFFERED and contact.agent is not None:
            self._emit(
                ev.OfferReleased(
                    at=now, contact=contact.id, agent=contact.agent, reason="cancelled"
                )
            )
        self._emit(ev.CallbackRequested(at=now, contact=contact.id, number=phone, due=at))
        self._catch_up(contact, now)  # a widening due while it was offered applies now
        self._dispatch(now)
        return True

    def abandon(self, contact_id: object, reason: object = "customer_left") -> None:
        """The customer left (or cancelled) before an answer."""
        now = self._begin()
        contact = self._contact(contact_id)
        why = _check_text(reason, "reason")
        if contact.status is Status.CONNECTED:
            raise er.ContactNotActive(
                f"{contact.id} is already answered: the agent completes it", contact=contact.id
            )
        self._end(contact, Outcome.ABANDONED, why, now, None)
        self._dispatch(now)

    def deflect(self, contact_id: object, consent: object) -> None:
        """Self-service solved it, and the customer said so."""
        now = self._begin()
        contact = self._contact(contact_id)
        if consent is not True:
            raise er.InvalidInput("a contact is deflected only with the customer's consent")
        if contact.status is Status.CONNECTED:
            raise er.ContactNotActive(f"{contact.id} is with an agent", contact=contact.id)
        self._end(contact, Outcome.DEFLECTED, "self_service", now, None)
        self._dispatch(now)

    def fail(self, contact_id: object, reason: object) -> None:
        now = self._begin()
        contact = self._contact(contact_id)
        if not isinstance(reason, str) or not reason.strip():
            raise er.InvalidInput("a failure needs a reason")
        self._end(contact, Outcome.FAILED, reason, now, contact.agent)
        self._dispatch(now)

    def _end(
        self, contact: Contact, outcome: Outcome, reason: str, now: float, agent: str | None
    ) -> None:
        if contact.status is Status.OFFERED and contact.agent is not None:
            self._emit(
                ev.OfferReleased(
                    at=now, contact=contact.id, agent=contact.agent, reason="cancelled"
                )
            )
        answered = contact.accepted_at if contact.accepted_at is not None else now
        self._emit(
            ContactEnded(
                at=now,
                contact=contact.id,
                outcome=outcome,
                reason=reason,
                agent=agent,
                wait=max(0.0, answered - contact.rank_time),
            )
        )

    # -- recovery ----------------------------------------------------------------------------

    def raise_alarm(self, kind: str, message: str, contacts: list[str], agents: list[str]) -> None:
        """Record what the watchdog saw, in the log, where supervisors and the audit find it."""
        now = max(validate_time(self.clock(), "clock"), self.state.last_at)
        self._emit(
            ev.AlarmRaised(at=now, kind=kind, message=message, contacts=contacts, agents=agents)
        )

    def recover(self, last_seq: int) -> None:
        """After a restart: release offers pending at the crash, set agents as configured."""
        now = max(validate_time(self.clock(), "clock"), self.state.last_at)
        st = self.state
        for contact in list(st.contacts.values()):
            if contact.status is Status.OFFERED and contact.agent is not None:
                self._emit(
                    ev.OfferReleased(
                        at=now, contact=contact.id, agent=contact.agent, reason="recovery"
                    )
                )
                self._catch_up(contact, now)
        target = st.settings.recover_agents_as
        for agent in st.agents.values():
            if agent.presence is not target and target is not Presence.AVAILABLE:
                self._release_all(agent, "recovery", now)  # personal lines go back to queues
                self._emit(
                    ev.PresenceChanged(at=now, agent=agent.id, presence=target, reason="recovery")
                )
        self._emit(ev.Recovered(at=now, last_seq=last_seq))
        self._fire_timers(now)
        self._dispatch(now)

    # -- estimates ---------------------------------------------------------------------------

    def estimate(self, contact_id: object) -> Estimate:
        contact = self._contact(contact_id)
        return estimate_contact(self.state, contact)

    def estimate_queue(self, queue: object) -> Estimate:
        return estimate_queue(self.state, self._queue(queue))

    # -- timers ------------------------------------------------------------------------------

    def _fire_timers(self, now: float) -> None:
        st = self.state
        timers = st.timers
        while (entry := timers.pop_due(now)) is not None:
            at = max(entry.due, st.last_at)
            self._on_timer(entry.kind, entry.contact, entry.agent, entry.token, at)
            self._dispatch(at)

    def _on_timer(self, kind: Timer, cid: str, aid: str, token: Any, at: float) -> None:
        st = self.state
        if kind is Timer.OFFER:
            c = st.contacts.get(cid)
            if c and c.status is Status.OFFERED and c.agent == aid and c.offer_deadline == token:
                self._emit(ev.OfferReleased(at=at, contact=cid, agent=aid, reason="timeout"))
                self._after_miss(st.agents[aid], at)
                self._catch_up(c, at)
        elif kind is Timer.STEP:
            c = st.contacts.get(cid)
            if c and c.status is Status.WAITING and (c.queue, c.step) == token:
                self._catch_up(c, at)
        elif kind is Timer.WRAPUP:
            w = st.agents[aid].wrapups.get(cid)
            if w is not None and w.deadline == token:
                self._emit(WrapupEnded(at=at, agent=aid, contact=cid, reason="timeout"))
        elif kind is Timer.CALLBACK:
            c = st.contacts.get(cid)
            if c and c.status is Status.SCHEDULED and c.callback_due == token:
                self._emit(ev.CallbackDue(at=at, contact=cid))

    def _catch_up(self, contact: Contact, now: float) -> None:
        """Apply the widening and overflow a waiting contact is due, after ``now - rank`` s."""
        if contact.status is not Status.WAITING or (
            contact.pool is not None and contact.pool.fixed_agent is not None
        ):
            return
        q = self.state.queues[contact.queue]
        wait = now - contact.rank_time
        target = overflow_target(q, wait, contact.visited)
        if target is not None and target in self.state.queues:
            self._requeue(contact, target, "overflow", now)
            return
        step = step_for_wait(q, wait)
        if step != contact.step:
            self._emit(
                ev.ContactRequeued(
                    at=now,
                    contact=contact.id,
                    queue=q.id,
                    step=step,
                    alternatives=self._alternatives(q, step, contact.skills),
                    reason="widened",
                )
            )

    def _requeue(
        self, contact: Contact, queue: str, reason: str, now: float, by_agent: str | None = None
    ) -> None:
        q = self.state.queues[queue]
        step = step_for_wait(q, now - contact.rank_time)
        self._emit(
            ev.ContactRequeued(
                at=now,
                contact=contact.id,
                queue=queue,
                step=step,
                alternatives=self._alternatives(q, step, contact.skills),
                reason=reason,
                by_agent=by_agent,
            )
        )

    # -- routing -----------------------------------------------------------------------------

    def _dispatch(self, now: float) -> None:
        """Offer work until no free agent can take a waiting contact (work conservation).

        Only lines touched since the last dispatch can hold a match: the lines contacts entered
        and the lines where an agent gained room. Their heads are served most urgent first, each
        to the best free agent of its line under the queue's strategy, so that when several
        contacts come back at once (an agent logs out with three chats offered) or several
        agents free up at once, no contact is passed over by a less urgent one it could have
        had. An offer only takes room away, so a line dropped for want of a free agent never
        gains one back during the loop.
        """
        st = self.state
        dirty = st.dirty_agents
        if not dirty and not st.dirty_contacts:
            return  # nothing gained room and nothing entered a line (most timers)
        while len(dirty) == 1 and not st.dirty_contacts:
            # The common case: one agent gained room (an end of wrap-up, a release) and it is in
            # no free index yet. Work conservation holds before it: no line with a waiting
            # contact has a free agent, so it is the only candidate for every head it sees, and
            # it takes the most urgent of them without entering any index.
            agent = st.agents[next(iter(dirty))]
            dirty.clear()
            if agent.indexed:
                self._serve(self._lines([agent.id], []), now)
                break
            best: Contact | None = None
            for channel in agent.free_channels:
                for pool in agent.pools:
                    head = pool.heads.get(channel)
                    if head is not None and (best is None or before_in_line(head, best)):
                        best = head
            if best is None:
                break
            self._offer(best, agent, now)  # it may still have room: loop
        else:  # not the common case (or no longer): the general way, every touched line
            if dirty or st.dirty_contacts:
                st.index_pending()
                self._serve(self._lines(list(dirty), list(st.dirty_contacts)), now)
        st.index_pending()
        dirty.clear()  # offers only take room away: nothing new to match
        st.dirty_contacts.clear()

    def _lines(self, agents: list[str], contacts: list[str]) -> list[tuple[Pool, Channel]]:
        """The lines where a match may have appeared: those the agents gained room in and those
        the contacts entered, in a fixed order (for determinism)."""
        st = self.state
        lines: dict[tuple[Pool, Channel], None] = {}
        for aid in agents:
            agent = st.agents[aid]
            for channel in agent.free_channels:
                for pool in agent.pools:
                    lines[(pool, channel)] = None
        for cid in contacts:
            c = st.contacts.get(cid)
            if c is not None and c.status is Status.WAITING and c.pool is not None:
                lines[(c.pool, c.route_channel)] = None
        st.dirty_agents.clear()
        st.dirty_contacts.clear()
        return list(lines)

    def _serve(self, lines: list[tuple[Pool, Channel]], now: float) -> None:
        """Serve the heads of ``lines``, most urgent first, each to its line's best free agent."""
        st = self.state
        heads: list[tuple[Contact, int, Pool, Channel]] = []
        for n, (pool, channel) in enumerate(lines):
            head = pool.heads.get(channel)
            if head is not None:
                free = pool.free.get(channel)
                if free is not None and free.top() is not None:
                    heads.append((head, n, pool, channel))
        if len(heads) == 1:  # the common case: one line to serve, no ordering to keep
            head, _, pool, channel = heads[0]
            free = pool.free[channel]
            best = free.top()
            while head is not None and best is not None:
                self._offer(head, best.agent, now)
                st.index_pending()
                head = pool.heads.get(channel)
                best = free.top()
            return
        heapq.heapify(heads)
        while heads:
            head, n, pool, channel = heapq.heappop(heads)
            free = pool.free[channel]
            best = free.top()
            if best is None:
                continue  # its free agents were given more urgent work
            self._offer(head, best.agent, now)
            st.index_pending()  # an agent with room left after this offer is back in its lines
            head = pool.heads.get(channel)
            if head is not None and free.top() is not None:
                heapq.heappush(heads, (head, n, pool, channel))

    def _offer(self, contact: Contact, agent: Agent, now: float) -> None:
        self._emit(
            OfferMade(
                at=now,
                contact=contact.id,
                agent=agent.id,
                channel=contact.route_channel,
                deadline=now + self.state.settings.offer_timeout,
            )
        )


def replay(events: list[ev.AnyEvent] | Any, clock: Callable[[], float]) -> Engine:
    """Rebuild an engine from past events (no routing runs: the log already holds decisions)."""
    engine = Engine(clock)
    engine.state.replaying = True  # agents are re-indexed once, by flush()
    apply = engine.state.apply
    collecting = gc.isenabled()
    gc.disable()  # a bulk load makes many objects and no cycle: the collector would only cost
    try:
        for e in events:
            apply(e)
        engine.state.flush()
    finally:
        if collecting:
            gc.enable()
    engine.state.dirty_agents.clear()
    engine.state.dirty_contacts.clear()
    return engine
