"""Domain errors: every refusal carries a stable code and a sentence a person understands.

A command that raises one of these has changed nothing: the engine validates before it emits.
The web layer maps codes to HTTP statuses in one table (``HTTP_STATUS``).
"""

from __future__ import annotations


class DomainError(Exception):
    """A refused command. ``code`` is stable and documented; ``message`` is for people."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, **self.details}


class NotFound(DomainError):
    code = "not_found"
    status = 404


class UnknownQueue(NotFound):
    code = "unknown_queue"


class UnknownAgent(NotFound):
    code = "unknown_agent"


class UnknownContact(NotFound):
    code = "unknown_contact"


class UnknownSkill(DomainError):
    code = "unknown_skill"
    status = 422


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 422


class InvalidCapacity(InvalidInput):
    code = "invalid_capacity"


class InvalidTime(InvalidInput):
    code = "invalid_time"


class Conflict(DomainError):
    code = "conflict"
    status = 409


class NoSuchOffer(Conflict):
    code = "no_such_offer"


class OfferExpired(Conflict):
    code = "offer_expired"


class ContactNotActive(Conflict):
    code = "contact_not_active"


class ContactEnded(Conflict):
    code = "contact_ended"


class AgentNotReady(Conflict):
    code = "agent_not_ready"


class AlreadyExists(Conflict):
    code = "already_exists"


ALL_ERRORS: tuple[type[DomainError], ...] = (
    DomainError,
    NotFound,
    UnknownQueue,
    UnknownAgent,
    UnknownContact,
    UnknownSkill,
    InvalidInput,
    InvalidCapacity,
    InvalidTime,
    Conflict,
    NoSuchOffer,
    OfferExpired,
    ContactNotActive,
    ContactEnded,
    AgentNotReady,
    AlreadyExists,
)

# The one table from error code to HTTP status, used by every entry point that speaks HTTP.
HTTP_STATUS: dict[str, int] = {cls.code: cls.status for cls in ALL_ERRORS}
