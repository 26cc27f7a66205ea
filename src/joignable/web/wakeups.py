"""Work handed from a writer thread to event loops, one wake-up per loop.

Each ``call_soon_threadsafe`` writes to the loop's self-pipe and costs a turn of the loop; a
group commit that answers hundreds of requests, or pushes a batch to thousands of streams, must
not pay it per request or per stream. A writer collects its calls per loop in a ``Wakeups`` and
sends them together. The ledger's ``AsyncCenter`` and the chat store's writer both do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any


def _run_all(calls: list[tuple[Callable[..., None], tuple[Any, ...]]]) -> None:
    for fn, args in calls:
        fn(*args)


def _settle(fut: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if fut.done():  # its waiter gave up (a timeout, a cancelled request)
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)


class Wakeups:
    """Calls to make on event loops, gathered in another thread and sent with ``send``."""

    __slots__ = ("_by_loop",)

    def __init__(self) -> None:
        self._by_loop: dict[
            asyncio.AbstractEventLoop, list[tuple[Callable[..., None], tuple[Any, ...]]]
        ] = {}

    def call(self, loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
        self._by_loop.setdefault(loop, []).append((fn, args))

    def resolve(
        self,
        loop: asyncio.AbstractEventLoop,
        fut: asyncio.Future[Any],
        result: Any = None,
        error: BaseException | None = None,
    ) -> None:
        """Give ``fut`` its result (or ``error``) on its loop."""
        self.call(loop, _settle, fut, result, error)

    def send(self) -> None:
        """One ``call_soon_threadsafe`` per loop (a closed loop's calls are dropped)."""
        by_loop, self._by_loop = self._by_loop, {}
        for loop, calls in by_loop.items():
            # a loop closing meanwhile refuses the call: its waiters are gone with it
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_run_all, calls)
