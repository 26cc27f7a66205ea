"""Configuration of the center: skills, queues, agents. Immutable values carried by events.

The rules over these values (who meets a requirement, widening steps, opening hours) are in
``rules.py``: plain functions that compile with the core, which these msgspec structs cannot.
"""

from __future__ import annotations

import msgspec

# The kinds live in a module of their own, compiled with the core (see kinds.py).
from joignable.core.kinds import Channel, Outcome, Presence, Strategy

__all__ = ["Channel", "Outcome", "Presence", "Strategy"]  # and the structs below


# A requirement is a set of skills with minimum levels; an agent meets it when it has every
# skill at that level or above. A routing step accepts several alternative requirements.
Requirement = dict[str, int]


class WideningStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """After ``after`` seconds of wait, widen who may take the contact.

    The contact keeps its arrival time, hence its place in line, through every step.
    """

    after: float
    lower_levels_by: int = 0
    also_accept: list[Requirement] = []
    overflow_to: str | None = None


class OpeningSlot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    days: list[int]  # 0 = Monday ... 6 = Sunday
    start: str  # "08:00"
    end: str  # "18:00"


class QueueConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    name: str = ""
    requirements: Requirement = {}
    priority: int = 0
    sl_target: float = 0.8
    sl_threshold: float = 20.0
    widening: list[WideningStep] = []
    max_size: int | None = None
    callback_offer_after: float | None = None  # offer a callback when the estimated wait exceeds it
    callbacks_allowed: bool = True
    hours: list[OpeningSlot] | None = None  # None: always open
    timezone: str = "UTC"
    strategy: Strategy = Strategy.LONGEST_IDLE
    short_abandon: float = 5.0
    default_aht: float = 180.0


class AgentConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    name: str = ""
    skills: dict[str, int] = {}
    capacity: dict[Channel, int] = msgspec.field(
        default_factory=lambda: {Channel.VOICE: 1, Channel.CALLBACK: 1}
    )
    mixing: bool = False  # False: one channel at a time (three chats, or one call, not both)
    max_missed: int = 3  # consecutive missed offers before the agent is set away


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    offer_timeout: float = 20.0
    wrapup_limit: float = 30.0
    callback_max_attempts: int = 3
    callback_retry_delay: float = 300.0
    recover_agents_as: Presence = Presence.OFFLINE
    aht_smoothing: float = 0.1
