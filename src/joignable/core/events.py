"""Events: past-tense facts, the only thing the ledger stores.

State is ``fold(apply, events)``: every change to the routing state goes through an event, so
replaying the log rebuilds exactly the same state. Events are self-describing enough for the audit
to check the center without the routing code (requirements and skills are written out in them).
"""

from __future__ import annotations

import msgspec

from joignable.core.model import (
    AgentConfig,
    Channel,
    Outcome,
    Presence,
    QueueConfig,
    Requirement,
    Settings,
)


# gc=False: events are immutable values that never take part in a reference cycle, so the
# garbage collector need not track them (a busy center makes tens of thousands a second, and
# every tracked allocation brings the next collection closer).
class Event(msgspec.Struct, tag_field="type", kw_only=True, gc=False):
    at: float


class SettingsChanged(Event, tag="settings_changed"):
    settings: Settings


class SkillDefined(Event, tag="skill_defined"):
    skill: str
    name: str = ""


class QueueConfigured(Event, tag="queue_configured"):
    queue: QueueConfig


class AgentConfigured(Event, tag="agent_configured"):
    agent: AgentConfig


class PresenceChanged(Event, tag="presence_changed"):
    agent: str
    presence: Presence
    reason: str = ""


class ContactArrived(Event, tag="contact_arrived"):
    contact: str
    channel: Channel
    queue: str
    customer: str = ""
    priority: int = 0
    skills: Requirement = {}  # required on top of the queue's
    alternatives: list[Requirement] = []  # who may take it now (for the audit)
    data: dict[str, str] = {}


class ContactRequeued(Event, tag="contact_requeued"):
    """The contact's routing changed: widened, overflowed or transferred. It keeps its place."""

    contact: str
    queue: str
    step: int
    alternatives: list[Requirement]
    reason: str  # widened | overflow | transfer
    to_agent: str | None = None
    by_agent: str | None = None


class OfferMade(Event, tag="offer_made"):
    contact: str
    agent: str
    channel: Channel
    deadline: float


class OfferAccepted(Event, tag="offer_accepted"):
    contact: str
    agent: str


class OfferReleased(Event, tag="offer_released"):
    contact: str
    agent: str
    reason: str  # rejected | timeout | logout | disconnected | recovery | cancelled | ended


class CallbackRequested(Event, tag="callback_requested"):
    contact: str
    number: str
    due: float | None = None  # None: virtual hold, keeps its place in line


class CallbackDue(Event, tag="callback_due"):
    contact: str


class CallbackAttemptFailed(Event, tag="callback_attempt_failed"):
    contact: str
    agent: str
    attempt: int
    retry_at: float | None


class ContactEnded(Event, tag="contact_ended"):
    contact: str
    outcome: Outcome
    reason: str = ""
    agent: str | None = None
    wait: float = 0.0  # seconds from arrival (or callback due time) to answer or to the end


class WrapupStarted(Event, tag="wrapup_started"):
    agent: str
    contact: str
    deadline: float
    channel: Channel
    queue: str
    accepted_at: float


class WrapupEnded(Event, tag="wrapup_ended"):
    agent: str
    contact: str
    disposition: str = ""
    notes: str = ""
    reason: str = "done"  # done | timeout


class AlarmRaised(Event, tag="alarm_raised"):
    kind: str
    message: str
    contacts: list[str] = []
    agents: list[str] = []


class Recovered(Event, tag="recovered"):
    last_seq: int


AnyEvent = (
    SettingsChanged
    | SkillDefined
    | QueueConfigured
    | AgentConfigured
    | PresenceChanged
    | ContactArrived
    | ContactRequeued
    | OfferMade
    | OfferAccepted
    | OfferReleased
    | CallbackRequested
    | CallbackDue
    | CallbackAttemptFailed
    | ContactEnded
    | WrapupStarted
    | WrapupEnded
    | AlarmRaised
    | Recovered
)

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)


def encode(event: Event) -> bytes:
    return _encoder.encode(event)


def encode_many(events: list[Event]) -> bytes:
    """A JSON array of the events, each as ``encode`` gives it."""
    return _encoder.encode(events)


def decode(raw: bytes | str) -> AnyEvent:
    return _decoder.decode(raw)


# Each event type's tag, read once: ``__struct_config__`` builds a new object at every access.
_TAGS: dict[type[Event], str] = {t: t.__struct_config__.tag for t in AnyEvent.__args__}


def event_type(event: Event) -> str:
    return _TAGS[type(event)]
