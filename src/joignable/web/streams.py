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
import contextlib
import itertools
import math
import threading
from collections.abc import Callable
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


# A waiting customer's place in line and estimate move with its queue: its stream is woken at
# most this often for the queue's changes (its own contact's events wake it at once).
WAITING_REFRESH = 0.5
EVERY_QUEUE = "*"  # in ``Batch.queues``: an event that may move any queue's estimates


class _Fanout:
    """The streams of one event loop, touched on that loop only: full feeds (filtered by agent
    or not), watchers of one contact's events, and waiting customers' watchers per queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.feeds: dict[int, tuple[str | None, Callable[[list[Pair]], None]]] = {}
        self.contacts: dict[str, dict[int, Callable[[], None]]] = {}
        self.queues: dict[str, dict[int, Callable[[], None]]] = {}
        self.stale: set[str] = set()  # queues changed since the waiting watchers were woken
        self.refresh: asyncio.TimerHandle | None = None
        self.refreshed = -math.inf

    def deliver(self, batch: Batch) -> None:
        for agent, deliver in list(self.feeds.values()):
            if agent is None:
                deliver(batch.pairs)
            elif (mine := batch.by_agent.get(agent)) is not None:
                deliver(mine)
        for contact in batch.contacts:
            for wake in list(self.contacts.get(contact, {}).values()):
                wake()
        if self.queues and batch.queues:
            self.stale |= batch.queues
            if self.refresh is None:
                delay = max(0.0, self.refreshed + WAITING_REFRESH - self.loop.time())
                self.refresh = self.loop.call_later(delay, self._refresh)

    def _refresh(self) -> None:
        self.refresh = None
        self.refreshed = self.loop.time()
        stale, self.stale = self.stale, set()
        names = self.queues.keys() if EVERY_QUEUE in stale else stale & self.queues.keys()
        for queue in list(names):
            for wake in list(self.queues.get(queue, {}).values()):
                wake()


class Batch:
    """A durable batch as the streams need it, worked out once in the writer thread: the events
    naming each agent, the contacts named, and the queues whose waiting lines may have moved."""

    __slots__ = ("pairs", "by_agent", "contacts", "queues")

    def __init__(self, pairs: list[Pair], queue_of: dict[str, str]) -> None:
        self.pairs = pairs
        self.by_agent: dict[str, list[Pair]] = {}
        self.contacts: set[str] = set()
        queues: set[str] = set()
        for pair in pairs:
            e = pair[1]
            agent = getattr(e, "agent", None)
            if isinstance(agent, str):
                self.by_agent.setdefault(agent, []).append(pair)
            contact = getattr(e, "contact", None)
            if isinstance(contact, str):
                self.contacts.add(contact)
                if isinstance(e, ev.ContactArrived | ev.ContactRequeued):
                    queue_of[contact] = e.queue
                # unknown: a contact from before this process, or one ended (a wrap-up's end
                # frees its agent)
                queues.add(queue_of.get(contact, EVERY_QUEUE))
                if isinstance(e, ev.ContactEnded):
                    queue_of.pop(contact, None)
            else:  # presence, configuration, settings: any estimate may change
                queues.add(EVERY_QUEUE)
        self.queues = frozenset(queues)


class Hub:
    """Fans durable batches out to the connected streams: one wake-up per event loop per
    batch, and each stream only learns of what concerns it."""

    def __init__(self, center: Center) -> None:
        self._lock = threading.Lock()
        self._loops: dict[asyncio.AbstractEventLoop, _Fanout] = {}
        self._queue_of: dict[str, str] = {}  # open contacts' queues (the writer thread's)
        self._keys = itertools.count(1)
        center.subscribe(self._on_batch)

    def _on_batch(self, pairs: list[Pair]) -> None:
        batch = Batch(pairs, self._queue_of)
        with self._lock:
            for loop in [lp for lp in self._loops if lp.is_closed()]:
                del self._loops[loop]
            targets = list(self._loops.values())
        for fan in targets:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                fan.loop.call_soon_threadsafe(fan.deliver, batch)

    def _here(self) -> _Fanout:
        loop = asyncio.get_running_loop()
        with self._lock:
            fan = self._loops.get(loop)
            if fan is None:
                fan = self._loops[loop] = _Fanout(loop)
        return fan

    def follow(self, deliver: Callable[[list[Pair]], None], agent: str | None = None) -> int:
        """Call ``deliver(pairs)`` on the running loop with each durable batch (only the events
        naming ``agent``, if given, and not at all when none does). Returns the key to
        ``unfollow`` with."""
        key = next(self._keys)
        self._here().feeds[key] = (agent, deliver)
        return key

    def unfollow(self, key: int) -> None:
        self._here().feeds.pop(key, None)

    def watch_contact(self, contact: str, wake: Callable[[], None]) -> int:
        """Call ``wake()`` on the running loop after each durable batch naming ``contact``."""
        key = next(self._keys)
        self._here().contacts.setdefault(contact, {})[key] = wake
        return key

    def watch_queue(self, queue: str, wake: Callable[[], None]) -> int:
        """Call ``wake()`` on the running loop, at most every ``WAITING_REFRESH`` seconds, after
        batches that may move ``queue``'s waiting line or estimates."""
        key = next(self._keys)
        self._here().queues.setdefault(queue, {})[key] = wake
        return key

    def unwatch(self, key: int, contact: str | None = None, queue: str | None = None) -> None:
        fan = self._here()
        for table, name in ((fan.contacts, contact), (fan.queues, queue)):
            if name is not None and (found := table.get(name)) is not None:
                found.pop(key, None)
                if not found:
                    del table[name]


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
    inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    store: ChatStore | None = getattr(websocket.app.state, "chats", None)
    wanted = chats or chat_after is not None
    if not (wanted and _sees_chats(principal)):
        store = None
    # A wallboard gets every batch; an agent only the events naming it (``_visible``).
    agent = None if Perm.STATS_READ in principal.permissions else principal.agent_id

    def on_batch(pairs: list[Pair]) -> None:
        inbox.put_nowait(("ledger", pairs))

    def on_messages(new: list[tuple[int, str, Message]]) -> None:
        inbox.put_nowait(("chat", new))

    # Both live feeds open before their backlogs are read: nothing falls between the two.
    key = svc.hub.follow(on_batch, agent)
    chat_key = store.follow_all(on_messages) if store is not None else None
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
                for chat_id, contact, message in item:
                    if chat_id > last_chat:
                        last_chat = chat_id
                        if _chat_visible(svc, principal, contact):
                            await websocket.send_json(_chat_message(chat_id, contact, message))
            items = []
            if catching_up and store is not None:
                # the messages written before this stream: from the store, a page at a time
                page = store.messages_since(last_chat, CHAT_PAGE)
                catching_up = len(page) == CHAT_PAGE
                if page:
                    items = [("chat", page)]
            if not items:
                items = [await inbox.get()]
    except WebSocketDisconnect:
        pass
    finally:
        svc.hub.unfollow(key)
        if store is not None and chat_key is not None:
            store.unfollow_all(chat_key)
