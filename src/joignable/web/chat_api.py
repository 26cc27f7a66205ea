"""The web chat channel's API: a customer starts a chat, follows its place in line, exchanges
messages with the agent, asks for a callback instead of waiting, leaves.

The customer holds a capability token for its one contact (``X-Chat-Token``), never a login:
``chat_customer`` lets it reach that contact and nothing else. A browser never attaches that
header on its own, so a customer's request needs no CSRF token. Agents reach the transcript of a
conversation they hold through ``act_as_agent``, as for their other actions; staff with
``contacts:read`` read any transcript afterwards.

A customer who ticks "remember me" gets a first-party cookie holding a random visitor id (no name,
no address, nothing else; ``VISITOR_COOKIE``, renewed for ``VISITOR_DAYS`` at each chat started
with the box ticked, dropped when a chat starts with it unticked); the chat's contact then carries
``visitor:<id>`` as its customer reference, so the agent sees that browser's previous contacts.
Only ``POST /api/chat`` reads it (the page sends no cookie elsewhere); docs/desk.md says more.

A chat token lasts the chat's life and ``TOKEN_GRACE`` after it (the customer left, or the
contact ended): past that it is refused with 401 ``chat_token_expired``, so a token found later in
a browser's storage opens nothing. The spec publishes the header as the ``chatToken`` scheme.
"""

from __future__ import annotations

import contextlib
import functools
import re
import secrets
from collections import deque
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.security import APIKeyHeader
from pydantic import Field

from joignable.core.engine import Engine
from joignable.core.errors import (
    Conflict,
    ContactEnded,
    ContactNotActive,
    DomainError,
    UnknownContact,
)
from joignable.core.state import Status
from joignable.web.auth import GUARD, Perm, Principal, act_as_agent, require
from joignable.web.chat_presence import Attendance
from joignable.web.chat_store import TOKEN_GRACE, ChatNotStored, ChatStore, Message, Sender
from joignable.web.errors import Forbidden, Unauthenticated
from joignable.web.schemas import ID, Body, msgspec_response
from joignable.web.services import Services, Svc

CHAT_HEADER = "X-Chat-Token"
# Starting a chat is public and creates a contact: one address may start this many a minute
# (behind a proxy every customer shares its address: raise it there).
CHATS_PER_MINUTE = 20
LANGUAGES = ("en", "fr")
# Anyone may start a chat (that is the point of a public channel) or list its topics.
PUBLIC = frozenset({("POST", "/api/chat"), ("GET", "/api/chat/topics")})
VISITOR_COOKIE = "joignable_visitor"
VISITOR_DAYS = 180  # a returning customer is recognised for this long after their last chat
VISITOR_PREFIX = "visitor:"  # the customer reference of a remembered browser
_VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")  # secrets.token_urlsafe(16)


class ChatIn(Body):
    name: str = Field(min_length=1, max_length=100)
    topic: str = Field(pattern=ID, description="the queue the chat goes to")
    language: str = Field("en", pattern="^(en|fr)$")
    remember: bool = Field(
        False,
        description="remember this browser (a random id in a first-party cookie) so the agent"
        " sees its previous contacts; false forgets a browser remembered before",
    )


class ChatMessageIn(Body):
    text: str = Field(min_length=1, max_length=4000)


class ChatCallbackIn(Body):
    number: str = Field(min_length=3, max_length=40)


class ContactNotHeld(Conflict):
    code = "contact_not_held"


class TooManyChats(DomainError):
    code = "too_many_requests"
    status = 429


class StartLimiter:
    """A sliding minute per client address, so one script cannot fill the queues."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.starts: dict[str, deque[float]] = {}

    def check(self, address: str) -> None:
        now = self.clock()
        if len(self.starts) > 10_000:  # forget addresses that have been quiet for a minute
            self.starts = {a: q for a, q in self.starts.items() if q and q[-1] > now - 60}
        recent = self.starts.setdefault(address, deque())
        while recent and recent[0] <= now - 60:
            recent.popleft()
        if len(recent) >= self.per_minute:
            raise TooManyChats(
                f"no more than {self.per_minute} chats a minute from one address",
                retry_after=round(recent[0] + 60 - now, 1),
            )
        recent.append(now)


def install(app: FastAPI, services: Services) -> None:
    """Open the chat tables beside the ledger; they close with the services."""
    store = ChatStore(services.db_path, services.clock)
    store.contact_ended_at = functools.partial(_contact_ended_at, services)
    services.on_close.append(store.close)
    app.state.chats = store
    app.state.chat_starts = StartLimiter(CHATS_PER_MINUTE, services.clock)
    attendance = Attendance()
    now = services.clock()
    for contact in store.open_contacts():  # after a restart: a grace period to come back
        attendance.seen(contact, now)
    app.state.chat_attendance = attendance


async def chats(request: Request) -> ChatStore:  # async: no hop to the thread pool
    store: ChatStore = request.app.state.chats
    return store


Chats = Annotated[ChatStore, Depends(chats)]


class ChatTokenExpired(Unauthenticated):
    code = "chat_token_expired"


# Documented in the spec as a security scheme; checked by hand below (coded refusals).
_chat_token = APIKeyHeader(
    name=CHAT_HEADER,
    scheme_name="chatToken",
    auto_error=False,
    description="the customer's chat token (jgc_...), from POST /api/chat",
)


def _contact_ended_at(svc: Services, contact_id: str) -> float | None:
    with svc.projections.lock:
        record = svc.projections.contacts.records.get(contact_id)
        return record.ended_at if record is not None else None


async def chat_customer(
    contact_id: str,
    request: Request,
    store: Chats,
    token: Annotated[str | None, Depends(_chat_token)] = None,
) -> str:
    """The customer of ``contact_id``, proven by the token its chat started with."""
    if not token:
        raise Unauthenticated(f"send this chat's token in {CHAT_HEADER}")
    found = store.token_owner(token.strip())
    if found is None:
        raise Unauthenticated("this chat token is unknown")
    owner, closed_at = found
    if owner != contact_id:
        raise Forbidden("this chat token is for another contact")
    if store.token_expired(owner, closed_at):
        raise ChatTokenExpired(
            f"this chat ended more than {TOKEN_GRACE / 60:g} minutes ago: start a new one"
        )
    attendance: Attendance = request.app.state.chat_attendance
    attendance.seen(owner, request.app.state.services.clock())
    return owner


setattr(chat_customer, GUARD, frozenset())  # an access rule of its own (a capability)

Customer = Annotated[str, Depends(chat_customer)]

router = APIRouter(prefix="/chat", tags=["web chat"])
staff_router = APIRouter(tags=["web chat"])


def message_json(m: Message) -> dict[str, Any]:
    return msgspec.to_builtins(m)  # type: ignore[no-any-return]


def _live(engine: Engine, contact_id: str) -> dict[str, Any] | None:
    c = engine.state.contacts.get(contact_id)
    if c is None:
        return None
    out: dict[str, Any] = {
        "status": c.status.value,
        "callback": c.callback_number is not None,
        "agent_name": None,
    }
    if c.status is Status.CONNECTED and c.agent is not None:
        agent = engine.state.agents.get(c.agent)
        out["agent_name"] = (agent.config.name if agent is not None else "") or c.agent
    if c.status is Status.WAITING:
        out["estimate"] = msgspec.to_builtins(engine.estimate(contact_id))
    return out


def contact_state(svc: Services, contact_id: str) -> dict[str, Any]:
    """Where the customer's contact stands: live from the engine while open, else how it ended."""
    live: dict[str, Any] | None = svc.center.read(lambda e: _live(e, contact_id))
    if live is not None:
        return live
    with svc.projections.lock:
        record = svc.projections.contacts.records.get(contact_id)
        outcome, wait = (record.outcome, record.wait) if record is not None else (None, None)
    return {"status": "ended", "outcome": outcome, "wait": wait, "callback": False}


def topic_list(engine: Engine) -> list[dict[str, str]]:
    """What a customer may pick: the queues, by name."""
    names = sorted((q.name or q.id, q.id) for q in engine.state.queues.values())
    return [{"id": qid, "name": name} for name, qid in names]


@router.get("/topics")
async def topics(svc: Svc) -> list[dict[str, str]]:
    found: list[dict[str, str]] = svc.center.read(topic_list)
    return found


def visitor(request: Request, response: Response, remember: bool) -> str:
    """The customer reference of this browser ("" when not remembered), and the cookie set or
    dropped on ``response`` accordingly. A cookie that is not one of ours is replaced."""
    secure = request.url.scheme == "https"
    if not remember:
        if VISITOR_COOKIE in request.cookies:
            response.delete_cookie(
                VISITOR_COOKIE, path="/api/chat", secure=secure, httponly=True, samesite="lax"
            )
        return ""
    vid = request.cookies.get(VISITOR_COOKIE, "")
    if not _VISITOR_ID.match(vid):
        vid = secrets.token_urlsafe(16)
    response.set_cookie(
        VISITOR_COOKIE,
        vid,
        max_age=VISITOR_DAYS * 86_400,
        path="/api/chat",  # sent to the chat API only, never to staff pages
        secure=secure,
        httponly=True,  # no script needs it
        samesite="lax",  # not sent with another site's requests
    )
    return VISITOR_PREFIX + vid


@router.post("", status_code=201)
async def start_chat(
    body: ChatIn, request: Request, response: Response, svc: Svc, store: Chats
) -> dict[str, Any]:
    """A customer starts a chat: the contact arrives in the topic's queue. The answer carries the
    chat's token (shown once) and where the contact stands (queued with its estimate and the
    reason for it, or why not: closed, full). With ``remember``, a returning browser keeps its
    customer reference (a cookie), so the agent sees its previous contacts."""
    limiter: StartLimiter = request.app.state.chat_starts
    limiter.check(request.client.host if request.client is not None else "")
    name = body.name.strip()
    customer = visitor(request, response, body.remember and svc.remember_visitors)
    result = await svc.runtime.run(
        "arrive", body.topic, "chat", customer=customer, data={"name": name, "via": "web chat"}
    )
    try:
        token = await store.start(result.contact, name, body.topic, body.language)
    except ChatNotStored:
        # The contact is in line but its chat could not be stored: nobody could talk to it. It
        # ends as failed, with the reason, rather than wait for an agent in vain; the customer
        # is told to try again (a contact ended already, say refused as full, stays as it is).
        with contextlib.suppress(DomainError):
            await svc.runtime.run("fail", result.contact, "chat_not_stored")
        raise
    attendance: Attendance = request.app.state.chat_attendance
    attendance.seen(result.contact, svc.clock())
    out: dict[str, Any] = msgspec.to_builtins(result)
    out["token"] = token
    out["state"] = contact_state(svc, result.contact)
    return out


@router.get("/{contact_id}")
async def chat_state(
    contact_id: Customer,
    svc: Svc,
    store: Chats,
    after: int = Query(0, ge=0, le=2**53, description="the last message seq already received"),
) -> dict[str, Any]:
    """The contact's state and the messages after ``after``: a client that reconnects with the
    last seq it saw gets exactly what it missed."""
    return {
        "contact": contact_id,
        **contact_state(svc, contact_id),
        "messages": [message_json(m) for m in store.messages(contact_id, after)],
    }


def _open_chat(store: ChatStore, contact_id: str) -> str:
    chat = store.chat(contact_id)
    if chat is None:
        raise UnknownContact(f"no chat {contact_id!r}", contact=contact_id)
    if chat.closed_at is not None:
        raise ContactEnded(f"chat {contact_id!r} is closed", contact=contact_id)
    return chat.name


@router.post("/{contact_id}/messages", status_code=201, response_model=dict[str, Any])
async def customer_message(
    contact_id: Customer, body: ChatMessageIn, svc: Svc, store: Chats
) -> Response:
    name = _open_chat(store, contact_id)
    if contact_state(svc, contact_id)["status"] == "ended":
        raise ContactEnded(f"contact {contact_id!r} has ended", contact=contact_id)
    # encoded by msgspec (the spec keeps response_model): the hot path of a chat
    return msgspec_response(await store.post(contact_id, Sender.CUSTOMER, name, body.text), 201)


@router.post("/{contact_id}/callback")
async def customer_callback(
    contact_id: Customer, body: ChatCallbackIn, svc: Svc, store: Chats
) -> dict[str, Any]:
    """Be called back instead of waiting, keeping one's place in line."""
    _open_chat(store, contact_id)
    created = await svc.runtime.run("request_callback", contact_id, body.number.strip())
    if created:
        await store.post(contact_id, Sender.SYSTEM, "", "callback_requested")
    return {"contact": contact_id, "requested": created, **contact_state(svc, contact_id)}


@router.post("/{contact_id}/leave")
async def customer_leave(contact_id: Customer, svc: Svc, store: Chats) -> dict[str, Any]:
    """The customer leaves. Before an answer it is an abandon, with its wait; in conversation
    the agent is told and completes the contact (it was answered)."""
    _open_chat(store, contact_id)
    status = contact_state(svc, contact_id)["status"]
    if status not in ("connected", "ended"):
        # answered in between: then a departure in conversation, as below
        with contextlib.suppress(ContactNotActive):
            await svc.runtime.run("abandon", contact_id, "customer_left")
    # closed with the message that says why: the streams it wakes read the chat as closed
    await store.post(contact_id, Sender.SYSTEM, "", "customer_left", close=True)
    return {"contact": contact_id, **contact_state(svc, contact_id)}


# -- the agent's side ------------------------------------------------------------------------


def holder_status(engine: Engine, agent_id: str, contact_id: str) -> str | None:
    """The contact's status if the agent holds it (offered or in conversation), else None."""
    c = engine.state.contacts.get(contact_id)
    if c is None or c.agent != agent_id or c.status not in (Status.OFFERED, Status.CONNECTED):
        return None
    return c.status.value


def _held_by(engine: Engine, agent_id: str, contact_id: str) -> tuple[str, str]:
    """The agent's name and the contact's status, if the agent holds it; refused otherwise."""
    status = holder_status(engine, agent_id, contact_id)
    if status is None:
        # who may act as the agent was decided already: this is about the contact's state
        if contact_id not in engine.state.contacts:
            raise UnknownContact(f"no open contact {contact_id!r}", contact=contact_id)
        raise ContactNotHeld(
            f"agent {agent_id} does not hold contact {contact_id}", contact=contact_id
        )
    agent = engine.state.agents.get(agent_id)
    return ((agent.config.name if agent is not None else "") or agent_id), status


AgentPrincipal = Annotated[Principal, Depends(act_as_agent)]


@staff_router.get("/agents/{agent_id}/chats/{contact_id}/messages")
async def agent_read(
    agent_id: str,
    contact_id: str,
    who: AgentPrincipal,
    svc: Svc,
    store: Chats,
    after: int = Query(0, ge=0, le=2**53),
) -> dict[str, Any]:
    """The conversation so far (an offered chat can be read before it is accepted)."""
    _, status = svc.center.read(lambda e: _held_by(e, agent_id, contact_id))
    chat = store.chat(contact_id)
    return {
        "contact": contact_id,
        "status": status,
        "customer_name": chat.name if chat is not None else "",
        "customer_left": chat is not None and chat.closed_at is not None,
        "messages": [message_json(m) for m in store.messages(contact_id, after)],
    }


@staff_router.post(
    "/agents/{agent_id}/chats/{contact_id}/messages",
    status_code=201,
    response_model=dict[str, Any],
)
async def agent_message(
    agent_id: str,
    contact_id: str,
    body: ChatMessageIn,
    who: AgentPrincipal,
    svc: Svc,
    store: Chats,
) -> Response:
    name, status = svc.center.read(lambda e: _held_by(e, agent_id, contact_id))
    if status != Status.CONNECTED.value:
        raise ContactNotActive(f"accept contact {contact_id} first", contact=contact_id)
    chat = store.chat(contact_id)
    if chat is None:
        raise UnknownContact(f"contact {contact_id!r} is not a web chat", contact=contact_id)
    if chat.closed_at is not None:
        raise ContactEnded(f"the customer of {contact_id} has left", contact=contact_id)
    return msgspec_response(await store.post(contact_id, Sender.AGENT, name, body.text), 201)


@staff_router.get(
    "/contacts/{contact_id}/transcript", dependencies=[Depends(require(Perm.CONTACTS_READ))]
)
async def transcript(contact_id: str, store: Chats) -> dict[str, Any]:
    """A chat's whole transcript, stored with its contact."""
    chat = store.chat(contact_id)
    if chat is None:
        raise UnknownContact(f"no chat {contact_id!r}", contact=contact_id)
    return {
        **msgspec.to_builtins(chat),
        "messages": [message_json(m) for m in store.messages(contact_id, 0, limit=100_000)],
    }
