"""The customer's chat in real time, over a WebSocket: its messages and where its contact stands.

The client opens ``/api/chat/{contact}/stream?after=SEQ`` and sends ``{"token": "jgc_..."}``
first (a secret in the URL would end up in access logs). It then receives every message after
``SEQ`` (``{"type": "message", "message": {...}}``) and the contact's state whenever it changes
(``{"type": "state", "state": {...}}``): a new message wakes the stream at once, and so does
every durable ledger batch, since someone ahead leaving or being answered moves the customer up.
A client that reconnects with the last seq it saw misses and repeats nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from joignable.core.errors import DomainError
from joignable.web.auth import Perm, authenticate_ws
from joignable.web.chat_api import contact_state, holder_status, message_json
from joignable.web.chat_presence import Attendance
from joignable.web.chat_store import ChatStore
from joignable.web.services import Services

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


async def _follow(
    websocket: WebSocket,
    svc: Services,
    store: ChatStore,
    contact_id: str,
    after: int,
    view: Callable[[], dict[str, Any] | None],
) -> None:
    """Send the messages after ``after``, then each new one, and ``view()`` whenever it changes
    (``None``: the caller may no longer follow this chat, and the stream closes)."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def poke() -> None:  # from whichever thread appended the message
        loop.call_soon_threadsafe(wake.set)

    async def follow_ledger() -> None:
        while True:
            await batches.get()
            wake.set()

    # Watch first, read after: a message or batch that lands in between wakes the loop again.
    store.watch(contact_id, poke)
    batches = svc.hub.open()
    feeder = asyncio.create_task(follow_ledger())
    gone = asyncio.create_task(_until_closed(websocket))
    last = max(0, after)
    sent: dict[str, Any] | None = None
    try:
        while True:
            wake.clear()
            state = view()
            if state is None:
                await websocket.close(code=4403, reason="forbidden")
                return
            for m in store.messages(contact_id, last):
                last = m.seq
                await websocket.send_json({"type": "message", "message": message_json(m)})
            if state != sent:
                sent = state
                await websocket.send_json({"type": "state", "state": state})
            woken = asyncio.create_task(wake.wait())
            done, _ = await asyncio.wait({woken, gone}, return_when=asyncio.FIRST_COMPLETED)
            if gone in done:
                woken.cancel()
                return
    except WebSocketDisconnect:
        return
    finally:
        store.unwatch(contact_id, poke)
        svc.hub.close(batches)
        for task in (feeder, gone):
            task.cancel()


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
        await _follow(
            websocket, svc, store, contact_id, after, lambda: contact_state(svc, contact_id)
        )
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

    def view() -> dict[str, Any] | None:
        status: str | None = svc.center.read(
            functools.partial(holder_status, agent_id=agent_id, contact_id=contact_id)
        )
        if status is None:
            return None
        chat = store.chat(contact_id)
        return {"status": status, "customer_left": chat is not None and chat.closed_at is not None}

    if view() is None:
        await websocket.close(code=4403, reason="forbidden")
        return
    await websocket.accept()
    await _follow(websocket, svc, store, contact_id, after, view)
