"""Real-time streams over WebSocket: the ledger's events as they become durable.

Every message carries the event's ledger sequence number. A client resuming with ``?after=SEQ``
first receives what it missed, read from the ledger, then the live events, with no gap and no
duplicate: the live queue is opened before the backlog is read, and anything at or below the
last seq sent is skipped. A wallboard (``stats:read``) sees every event; an agent sees those
that name its agent.

Web chat messages come on the same stream for staff who may read contacts: all of them with
``stats:read`` too (a supervisor), else those of the chats the agent holds when they are written.
They are asked for (``?chats=true``, or ``?chat_after=ID``), so the streams that do not want
them (a desk, a wallboard) cost nothing per message. They are not ledger events, so they carry
their own ``chat_id`` (increasing across all chats): ``?chat_after=ID`` first sends those after
``ID``, then the live ones; ``?chats=true`` alone, only new ones.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from joignable.center import Center
from joignable.core import events as ev
from joignable.core.engine import Engine
from joignable.core.errors import DomainError
from joignable.core.state import Status
from joignable.ledger.store import SQLiteStore
from joignable.web.auth import Perm, Principal, authenticate_ws
from joignable.web.chat_store import ChatStore, Message

router = APIRouter()
CHAT_PAGE = 500
Pair = tuple[int, ev.Event]


class Hub:
    """Fans durable batches out to the connected streams (each one an asyncio queue)."""

    def __init__(self, center: Center) -> None:
        self._lock = threading.Lock()
        self._queues: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[list[Pair]]]] = []
        center.subscribe(self._on_batch)

    def _on_batch(self, batch: list[Pair]) -> None:
        with self._lock:
            targets = list(self._queues)
        for loop, queue in targets:
            if not loop.is_closed():
                loop.call_soon_threadsafe(queue.put_nowait, batch)

    def open(self) -> asyncio.Queue[list[Pair]]:
        queue: asyncio.Queue[list[Pair]] = asyncio.Queue()
        with self._lock:
            self._queues.append((asyncio.get_running_loop(), queue))
        return queue

    def close(self, queue: asyncio.Queue[list[Pair]]) -> None:
        with self._lock:
            self._queues = [(lp, q) for lp, q in self._queues if q is not queue]


def _visible(principal: Principal, event: ev.Event) -> bool:
    if Perm.STATS_READ in principal.permissions:
        return True
    return principal.agent_id is not None and getattr(event, "agent", None) == principal.agent_id


def _message(seq: int, event: ev.Event) -> dict[str, Any]:
    return {"seq": seq, "type": ev.event_type(event), "event": msgspec.to_builtins(event)}


def _backlog(path: str, after: int, upto: int) -> list[Pair]:
    store = SQLiteStore(path, readonly=True)
    try:
        return list(store.read(after + 1, upto))
    finally:
        store.close()


def _sees_chats(principal: Principal) -> bool:
    perms = principal.permissions
    return Perm.CONTACTS_READ in perms and (
        Perm.STATS_READ in perms or principal.agent_id is not None
    )


def _holds(engine: Engine, agent_id: str, contact_id: str) -> bool:
    c = engine.state.contacts.get(contact_id)
    return c is not None and c.agent == agent_id and c.status in (Status.OFFERED, Status.CONNECTED)


def _chat_visible(svc: Any, principal: Principal, contact: str) -> bool:
    if Perm.STATS_READ in principal.permissions:
        return True
    agent = principal.agent_id
    return agent is not None and bool(svc.center.read(lambda e: _holds(e, agent, contact)))


def _chat_message(chat_id: int, contact: str, message: Message) -> dict[str, Any]:
    return {
        "type": "chat_message",
        "chat_id": chat_id,
        "contact": contact,
        "message": msgspec.to_builtins(message),
    }


@router.websocket("/api/stream")
async def stream(
    websocket: WebSocket, after: int = 0, chats: bool = False, chat_after: int | None = None
) -> None:
    svc = websocket.app.state.services
    try:
        principal = authenticate_ws(websocket)
    except DomainError as exc:
        await websocket.close(code=4401 if exc.status == 401 else 4403, reason=exc.code)
        return
    if Perm.STATS_READ not in principal.permissions and principal.agent_id is None:
        await websocket.close(code=4403, reason="forbidden")
        return
    await websocket.accept()
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    store: ChatStore | None = getattr(websocket.app.state, "chats", None)
    wanted = chats or chat_after is not None
    if not (wanted and _sees_chats(principal)):
        store = None

    def on_message(chat_id: int, contact: str, message: Message) -> None:  # appending thread
        loop.call_soon_threadsafe(inbox.put_nowait, ("chat", (chat_id, contact, message)))

    async def forward() -> None:
        while True:
            inbox.put_nowait(("ledger", await queue.get()))

    # Both live feeds open before their backlogs are read: nothing falls between the two.
    queue = svc.hub.open()
    if store is not None:
        store.watch_all(on_message)
    feeder = asyncio.create_task(forward())
    last = max(0, after)
    try:
        last_chat = 0
        catching_up = store is not None and chat_after is not None
        if store is not None:
            last_chat = store.last_id() if chat_after is None else max(0, chat_after)
        backlog = await run_in_threadpool(_backlog, svc.db_path, last, svc.center.durable)
        items: list[tuple[str, Any]] = [("ledger", backlog)]
        while True:
            for kind, item in items:
                if kind == "ledger":
                    for seq, event in item:
                        if seq > last:
                            last = seq
                            if _visible(principal, event):
                                await websocket.send_json(_message(seq, event))
                    continue
                chat_id, contact, message = item
                if chat_id > last_chat:
                    last_chat = chat_id
                    if _chat_visible(svc, principal, contact):
                        await websocket.send_json(_chat_message(chat_id, contact, message))
            items = []
            if catching_up and store is not None:
                # the messages written before this stream: from the store, a page at a time
                page = store.messages_since(last_chat, CHAT_PAGE)
                catching_up = len(page) == CHAT_PAGE
                items = [("chat", m) for m in page]
            if not items:
                items = [await inbox.get()]
    except WebSocketDisconnect:
        pass
    finally:
        feeder.cancel()
        svc.hub.close(queue)
        if store is not None:
            store.unwatch_all(on_message)
