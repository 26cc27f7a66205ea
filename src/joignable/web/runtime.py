"""The bridge between the event loop and the single writer.

A command runs on the Center at once (it is fast, under the Center's lock); the request then
awaits durability on an asyncio future that the writer thread resolves through ``subscribe``,
so the loop never blocks on an fsync and many requests wait for the same group commit.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from typing import Any

from joignable.center import Center, CenterStopped
from joignable.core import events as ev
from joignable.core.errors import DomainError
from joignable.web.wakeups import Wakeups

DURABLE_TIMEOUT = 30.0  # as Center.wait_durable: past it the center is as good as stopped


class AsyncCenter:
    """``await run(command, ...)``: the Center's ``run`` without blocking the event loop."""

    def __init__(self, center: Center) -> None:
        self.center = center
        self._lock = threading.Lock()
        self._order = itertools.count()  # ties in the heap never compare futures
        self._waiters: list[tuple[int, int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        center.subscribe(self._on_durable)

    def _on_durable(self, batch: list[tuple[int, ev.Event]]) -> None:
        """In the writer thread, after each stored batch: wake the requests it made durable."""
        durable = batch[-1][0]
        wake = Wakeups()  # one wake-up per loop, not per request
        with self._lock:
            while self._waiters and self._waiters[0][0] <= durable:
                _, _, loop, fut = heapq.heappop(self._waiters)
                wake.resolve(loop, fut)
        wake.send()

    async def wait_durable(self, seq: int) -> None:
        center = self.center
        if center.durable >= seq:
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._lock:
            # The writer sets ``durable`` before it calls listeners: checked under our lock,
            # either the write is already visible here or the listener will find this waiter.
            if center.durable >= seq:
                return
            heapq.heappush(self._waiters, (seq, next(self._order), loop, fut))
        try:
            await asyncio.wait_for(fut, DURABLE_TIMEOUT)
        except TimeoutError:
            # A failed writer calls no listener: ask the center why (it raises CenterStopped).
            center.wait_durable(seq, timeout=0)
            raise CenterStopped(f"the ledger did not confirm seq {seq} in time") from None

    async def run(self, command: str, *args: Any, **kwargs: Any) -> Any:
        """Run a command and return once its events are durable; a refusal is raised after the
        events of the time that passed inside it are durable too (as ``Center.run`` does)."""
        try:
            result, last = self.center.submit(command, *args, **kwargs)
        except DomainError:
            await self.wait_durable(self.center.seq)
            raise
        await self.wait_durable(last)
        return result
