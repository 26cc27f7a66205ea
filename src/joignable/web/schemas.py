"""Request bodies.

Simple bodies are pydantic models (FastAPI validates them and publishes their schema). The
configuration bodies are the core's own msgspec structs (``QueueConfig``, ``AgentConfig``,
``Settings``): decoded with msgspec and published with msgspec's JSON schema, so the API cannot
drift from what the engine stores and no model is written twice.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from fastapi import Request, Response
from pydantic import BaseModel, ConfigDict, Field

from joignable.core.errors import InvalidInput
from joignable.core.model import AgentConfig, Channel, Presence, QueueConfig, Settings
from joignable.web.accounts import Role
from joignable.web.auth import Perm

ID = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$"  # as the engine checks ids

MSGSPEC_BODIES: tuple[type[Any], ...] = (QueueConfig, AgentConfig, Settings)

_T = TypeVar("_T")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Login(Body):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class SkillIn(Body):
    id: str = Field(pattern=ID)
    name: str = Field("", max_length=200)


class WrapupCodeIn(Body):
    label: str = Field("", max_length=200)


class UserIn(Body):
    username: str = Field(pattern=ID)
    password: str = Field(min_length=10, max_length=256)
    role: Role
    name: str = Field("", max_length=200)
    agent_id: str | None = Field(None, pattern=ID)


class UserPatch(Body):
    role: Role | None = None
    name: str | None = Field(None, max_length=200)
    agent_id: str | None = Field(None, description="'' unlinks", max_length=64)
    active: bool | None = None
    password: str | None = Field(None, min_length=10, max_length=256)


class TokenIn(Body):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Perm] = Field(min_length=1)


class ContactIn(Body):
    queue: str
    channel: Channel = Channel.CHAT
    customer: str = Field("", max_length=200)
    priority: int = 0
    skills: dict[str, int] | None = None
    callback_number: str | None = None
    data: dict[str, str] | None = None


class ScheduleIn(Body):
    queue: str
    number: str
    due: float | None = None
    customer: str = Field("", max_length=200)


class CallbackIn(Body):
    number: str
    due: float | None = None


class PresenceIn(Body):
    presence: Presence
    reason: str = Field("", max_length=200)


class TransferIn(Body):
    queue: str | None = None
    to_agent: str | None = None


class WrapupIn(Body):
    disposition: str = Field("", max_length=64)
    notes: str = Field("", max_length=10_000)


def spec_of(struct: type[Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body is a msgspec struct (see ``msgspec_body``)."""
    ref = {"$ref": f"#/components/schemas/{struct.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def msgspec_components() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        MSGSPEC_BODIES, ref_template="#/components/schemas/{name}"
    )
    return components


async def msgspec_body(request: Request, struct: type[_T]) -> _T:
    try:
        return msgspec.json.decode(await request.body(), type=struct)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidInput(f"body: {exc}") from None


def msgspec_response(value: Any, status: int = 200) -> Response:
    """``value`` (a msgspec struct, or builtins) encoded by msgspec. A route returns this where
    FastAPI would otherwise validate and encode a plain dict against ``dict[str, Any]`` (a
    tenth of a contact's server time); it keeps ``response_model`` for the published spec."""
    return Response(msgspec.json.encode(value), status, media_type="application/json")
