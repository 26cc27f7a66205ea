"""The kinds of things the core names: channels, presences, outcomes, routing strategies.

A module of their own so that it compiles with the core (setup.py): a compiled module reads a
member of an enum compiled with it from a C static, while a member of an enum defined in
interpreted code costs a generic attribute lookup through the enum's metaclass, several hundred
instructions at every ``presence is Presence.AVAILABLE``.
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    VOICE = "voice"
    CHAT = "chat"
    EMAIL = "email"
    CALLBACK = "callback"


class Presence(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    AWAY = "away"


class Outcome(StrEnum):
    HANDLED = "handled"
    ABANDONED = "abandoned"
    CALLBACK_COMPLETED = "callback_completed"
    CALLBACK_FAILED = "callback_failed"
    DEFLECTED = "deflected"
    FAILED = "failed"


class Strategy(StrEnum):
    LONGEST_IDLE = "longest-idle"
    MOST_SKILLED = "most-skilled"
    LEAST_OCCUPIED = "least-occupied"
    ROUND_ROBIN = "round-robin"
