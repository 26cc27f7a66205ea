"""Whether a waiting chat customer is still there.

A web customer who closes the tab says nothing. Left in line, the contact would hold its place
for ever, lengthen everyone's estimate and reach an agent who finds nobody. So the server notes
when each customer was last heard from (a request with its token, or an open stream); a chat
still waiting with no stream and no word for ``GONE_AFTER`` seconds is an abandon
(``customer_gone``), with its wait. A customer who asked for a callback may go: it is called.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter

from fastapi import FastAPI

from joignable.center import CenterStopped
from joignable.core.engine import Engine
from joignable.core.errors import DomainError
from joignable.core.state import Status
from joignable.web.chat_store import ChatStore, Sender
from joignable.web.services import Services

GONE_AFTER = 90.0  # a page polls every 2 s and reconnects its stream: this is well past a blip
REAP_EVERY = 10.0
log = logging.getLogger("joignable.web")


class Attendance:
    """When each open chat's customer was last heard from, and its open streams. Touched from
    the event loop only."""

    def __init__(self) -> None:
        self.last_seen: dict[str, float] = {}
        self.streams: Counter[str] = Counter()

    def seen(self, contact: str, now: float) -> None:
        self.last_seen[contact] = now

    def opened(self, contact: str, now: float) -> None:
        self.streams[contact] += 1
        self.seen(contact, now)

    def closed(self, contact: str, now: float) -> None:
        self.streams[contact] -= 1
        if self.streams[contact] <= 0:
            del self.streams[contact]
        self.seen(contact, now)

    def silent(self, now: float, after: float = GONE_AFTER) -> list[str]:
        return [c for c, t in self.last_seen.items() if t < now - after and not self.streams[c]]

    def forget(self, contact: str) -> None:
        self.last_seen.pop(contact, None)


def _still_waiting(engine: Engine, contact_id: str) -> bool:
    c = engine.state.contacts.get(contact_id)
    return (
        c is not None and c.status in (Status.WAITING, Status.OFFERED) and c.callback_number is None
    )


async def reap_once(
    services: Services, store: ChatStore, attendance: Attendance, now: float
) -> list[str]:
    """Abandon the silent customers' chats that still wait; stop watching the others (answered,
    ended, or to be called back). Returns the contacts abandoned."""
    reaped = []
    for contact in attendance.silent(now):
        attendance.forget(contact)
        if not services.center.read(functools.partial(_still_waiting, contact_id=contact)):
            continue
        try:
            await services.runtime.run("abandon", contact, "customer_gone")
        except DomainError:  # answered or ended in between: nothing to do
            continue
        await store.post(contact, Sender.SYSTEM, "", "customer_gone", close=True)
        reaped.append(contact)
    return reaped


async def reaper(app: FastAPI) -> None:
    """Run ``reap_once`` every ``REAP_EVERY`` seconds for the app's life."""
    services: Services = app.state.services
    while True:
        await asyncio.sleep(REAP_EVERY)
        try:
            await reap_once(services, app.state.chats, app.state.chat_attendance, services.clock())
        except CenterStopped:
            log.exception("the center stopped; silent chat customers are no longer released")
            return
