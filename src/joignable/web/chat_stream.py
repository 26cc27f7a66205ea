"""The customer's chat in real time, over a WebSocket: its messages and where its contact stands.

The client opens ``/api/chat/{contact}/stream?after=SEQ`` and sends ``{"token": "jgc_..."}``
first (a secret in the URL would end up in access logs). It then receives every message after
``SEQ`` (``{"type": "message", "message": {...}}``) and the contact's state whenever it changes
(``{"type": "state", "state": {...}}``): a new message is pushed at once (from memory, once
durable), the contact's own events wake the stream, and while it waits so do its queue's (someone
ahead leaving or being answered moves the customer up), at most every ``WAITING_REFRESH`` s.
A client that reconnects with the last seq it saw misses and repeats nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from typing import Any

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from joignable.core.engine import Engine
from joignable.core.errors import DomainError
from joignable.core.state import Status
from joignable.web.auth import Perm, authenticate_ws
from joignable.web.chat_api import contact_state, holder_status
from joignable.web.chat_presence import Attendance
from joignable.web.chat_store import ChatStore, Message, Sender
from joignable.web.services import Services

_ENCODE = msgspec.json.Encoder().encode
HELLO_SECONDS = 10.0  # to send the token before the stream is closed
router = APIRouter()


async def _hello(websocket: WebSocket, store: ChatStore, contact_id: str) -> bool:
    """Read the token; close with 4401 (no valid token) or 4403 (another contact's)."""
    try:
        hello: Any = await asyncio.wait_for(websocket.receive_json(), HELLO_SECONDS)
    except (TimeoutError, ValueError, KeyError):
        hello = None
    token = hello.get("token") if isinstance(hello, dict) else None
    owner = store.contact_for_token(token.strip()) if isinstance(token, str) else None
    if owner == contact_id:
        return True
    code, reason = (4401, "unauthenticated") if owner is None else (4403, "forbidden")
    await websocket.close(code=code, reason=reason)
    return False


async def _until_closed(websocket: WebSocket) -> None:
    """The client sends nothing more; reading is how its departure is noticed."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()


View = Callable[[], tuple[dict[str, Any] | None, str | None]]


async def _follow(
    websocket: WebSocket,
    svc: Services,
    store: ChatStore,
    contact_id: str,
    after: int,
    view: View,
) -> None:
    """Send the messages after ``after``, then each new one, and the state from ``view()``
    whenever it changes; ``view`` also names the queue the contact waits in, if it waits
    (``None`` for the state: the caller may no longer follow this chat, and the stream closes).

    The stream wakes only for what concerns it: its chat's new messages, pushed from memory once
    durable; ledger events naming its contact; while it waits, its queue's changes (at most
    every ``WAITING_REFRESH`` s). It follows before it reads: what lands in between comes twice
    and is skipped by its seq."""
    wake = asyncio.Event()
    pushed: list[Message] = []
    stale = True  # the state must be read again
    gone = False

    def on_messages(messages: list[Message]) -> None:
        nonlocal stale
        pushed.extend(messages)
        # the chat's closing comes with a system message: the agent's view shows it
        stale = stale or any(m.sender is Sender.SYSTEM for m in messages)
        wake.set()

    def on_event() -> None:
        nonlocal stale
        stale = True
        wake.set()

    async def until_closed() -> None:
        nonlocal gone
        try:
            await _until_closed(websocket)
        finally:  # however the reading ended, the client is gone
            gone = True
            wake.set()

    follow_key = store.follow(contact_id, on_messages)
    event_key = svc.hub.watch_contact(contact_id, on_event)
    queue: str | None = None
    queue_key = 0
    reader = asyncio.create_task(until_closed())
    last = max(0, after)
    sent: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    try:
        pushed[:0] = store.messages(contact_id, last)  # the backlog, before anything pushed
        while not gone:
            wake.clear()
            if stale:
                stale = False
                state, waits_in = view()
                if state is None:
                    await websocket.close(code=4403, reason="forbidden")
                    return
                if waits_in != queue:
                    if queue is not None:
                        svc.hub.unwatch(queue_key, queue=queue)
                    queue = waits_in
                    if queue is not None:
                        queue_key = svc.hub.watch_queue(queue, on_event)
            messages, pushed[:] = list(pushed), []
            for m in messages:
                if m.seq <= last:
                    continue
                if m.seq > last + 1:  # missed (never expected): read from the store
                    for found in store.messages(contact_id, last):
                        last = found.seq
                        await websocket.send_text(_message(found))
                    continue
                last = m.seq
                await websocket.send_text(_message(m))
            if state != sent:
                sent = state
                await websocket.send_text(_ENCODE({"type": "state", "state": state}).decode())
            await wake.wait()
    except WebSocketDisconnect:
        return
    finally:
        store.unfollow(contact_id, follow_key)
        svc.hub.unwatch(event_key, contact=contact_id)
        if queue is not None:
            svc.hub.unwatch(queue_key, queue=queue)
        reader.cancel()


def _message(m: Message) -> str:
    """A message's frame, encoded by msgspec (the same JSON as ``message_json``'s, faster)."""
    return _ENCODE({"type": "message", "message": m}).decode()


def _waiting_queue(engine: Engine, contact_id: str) -> str | None:
    c = engine.state.contacts.get(contact_id)
    return c.queue if c is not None and c.status is Status.WAITING else None


@router.websocket("/chat/{contact_id}/stream")
async def chat_stream(websocket: WebSocket, contact_id: str, after: int = 0) -> None:
    """The customer's stream (its token in the first frame)."""
    svc: Services = websocket.app.state.services
    store: ChatStore = websocket.app.state.chats
    await websocket.accept()
    try:
        if not await _hello(websocket, store, contact_id):
            return
    except WebSocketDisconnect:
        return
    attendance: Attendance = websocket.app.state.chat_attendance
    attendance.opened(contact_id, svc.clock())  # an open stream is a customer still there
    try:

        def view() -> tuple[dict[str, Any] | None, str | None]:
            queue = svc.center.read(functools.partial(_waiting_queue, contact_id=contact_id))
            return contact_state(svc, contact_id), queue

        await _follow(websocket, svc, store, contact_id, after, view)
    finally:
        attendance.closed(contact_id, svc.clock())


@router.websocket("/agents/{agent_id}/chats/{contact_id}/stream")
async def agent_chat_stream(
    websocket: WebSocket, agent_id: str, contact_id: str, after: int = 0
) -> None:
    """The agent's side of a chat it holds, with the rules of the agent routes (its own agent,
    or ``agents:act``), a session cookie of this site or a bearer token. Once the contact is no
    longer the agent's (completed, transferred, taken back), the stream closes with 4403."""
    svc: Services = websocket.app.state.services
    store: ChatStore = websocket.app.state.chats
    try:
        who = authenticate_ws(websocket)
    except DomainError as exc:
        await websocket.close(code=4401 if exc.status == 401 else 4403, reason=exc.code)
        return
    own = Perm.AGENT_SELF in who.permissions and who.agent_id == agent_id
    if not (own or Perm.AGENTS_ACT in who.permissions):
        await websocket.close(code=4403, reason="forbidden")
        return

    def view() -> tuple[dict[str, Any] | None, str | None]:
        status: str | None = svc.center.read(
            functools.partial(holder_status, agent_id=agent_id, contact_id=contact_id)
        )
        if status is None:
            return None, None
        chat = store.chat(contact_id)
        left = chat is not None and chat.closed_at is not None
        return {"status": status, "customer_left": left}, None

    if view()[0] is None:
        await websocket.close(code=4403, reason="forbidden")
        return
    await websocket.accept()
    await _follow(websocket, svc, store, contact_id, after, view)
