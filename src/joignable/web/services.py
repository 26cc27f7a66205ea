"""What the routes reach through ``request.app.state.services``, built by ``bootstrap``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from joignable.center import Center
from joignable.web.accounts import Accounts
from joignable.web.projections import Projections
from joignable.web.runtime import AsyncCenter
from joignable.web.streams import Hub

if TYPE_CHECKING:
    from joignable.web.kb_service import KnowledgeService


@dataclass
class Services:
    db_path: str  # the ledger's file, for readers that need a connection of their own
    center: Center
    runtime: AsyncCenter
    projections: Projections
    accounts: Accounts
    hub: Hub
    clock: Callable[[], float] = time.time
    tick_every: float = 1.0  # 0: no timer task (tests that drive time themselves)
    on_close: list[Callable[[], None]] = field(default_factory=list)
    knowledge: KnowledgeService | None = None  # the knowledge base (web.kb_service)
    # Offer web-chat customers "remember me" (a first-party cookie with a random id, so agents
    # see their earlier chats). A deployment that must not set it says `serve --no-remember`.
    remember_visitors: bool = True

    def close(self) -> None:
        for fn in reversed(self.on_close):
            fn()


async def services(request: Request) -> Services:
    # async: a plain ``def`` dependency runs in FastAPI's thread pool, a thread hop per request
    found: Services = request.app.state.services
    return found


Svc = Annotated[Services, Depends(services)]
