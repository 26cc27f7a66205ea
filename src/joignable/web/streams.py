"""Real-time streams over WebSocket: the ledger's events as they become durable.

Every message carries the event's ledger sequence number. A client resuming with ``?after=SEQ``
first receives what it missed, read from the ledger, then the live events, with no gap and no
duplicate: the live queue is opened before the backlog is read, and anything at or below the
last seq sent is skipped. A wallboard (``stats:read``) sees every event; an agent sees those
that name its agent.
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
from joignable.core.errors import DomainError
from joignable.ledger.store import SQLiteStore
from joignable.web.auth import Perm, Principal, authenticate_ws

router = APIRouter()
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


@router.websocket("/api/stream")
async def stream(websocket: WebSocket, after: int = 0) -> None:
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
    queue = svc.hub.open()  # before the backlog: nothing falls between the two
    last = max(0, after)
    try:
        backlog = await run_in_threadpool(_backlog, svc.db_path, last, svc.center.durable)
        batches: list[list[Pair]] = [backlog]
        while True:
            for batch in batches:
                for seq, event in batch:
                    if seq > last:
                        last = seq
                        if _visible(principal, event):
                            await websocket.send_json(_message(seq, event))
            batches = [await queue.get()]
    except WebSocketDisconnect:
        pass
    finally:
        svc.hub.close(queue)
