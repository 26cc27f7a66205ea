"""The one place that wires things: ledger + Center + accounts + projections + web app.

Nothing is opened at import time; ``open_services`` opens, ``Services.close`` closes, and
``serve`` runs the whole under uvicorn.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher

from joignable.center import Center
from joignable.ledger.store import SQLiteStore, open_store
from joignable.web.accounts import Accounts, Role
from joignable.web.projections import Projections
from joignable.web.runtime import AsyncCenter
from joignable.web.services import Services
from joignable.web.streams import Hub

DEMO_AGENTS = 6


@dataclass(frozen=True, slots=True)
class Login:
    role: Role
    username: str
    password: str
    agent_id: str | None = None


def open_services(
    db: str,
    *,
    clock: Callable[[], float] = time.time,
    tick_every: float = 1.0,
    hasher: PasswordHasher | None = None,
    dense_search: bool = False,
) -> Services:
    """Open the ledger (recovering the center from it), the accounts, the projections and the
    knowledge base (its tables in the same file; ``dense_search`` loads the embedding model in
    the background at the first search, which only a real server wants)."""
    from joignable.web.kb_service import KnowledgeService

    store = open_store(db)
    center = Center(store, clock)
    path = store.path
    try:
        accounts = Accounts(path, clock, hasher)
        reader = SQLiteStore(path, readonly=True)  # its own connection, for catching up
        projections = Projections()
        projections.attach(center, reader)
        runtime = AsyncCenter(center)
        hub = Hub(center)
        knowledge = KnowledgeService(path, clock, dense=dense_search)
    except BaseException:
        center.close()
        raise
    return Services(
        db_path=path,
        center=center,
        runtime=runtime,
        projections=projections,
        accounts=accounts,
        hub=hub,
        clock=clock,
        tick_every=tick_every,
        on_close=[accounts.close, reader.close, center.close, knowledge.close],
        knowledge=knowledge,
    )


def seed_demo(services: Services, seed: int = 1) -> list[Login]:
    """On a new ledger, a small organisation to log into: the demo's queues and skills, a few
    agents, wrap-up codes, and one user per role with a fresh random password (returned, to be
    shown once; only its hash is stored). Does nothing on a ledger that has a configuration."""
    from joignable import demo

    center, accounts = services.center, services.accounts
    if center.read(lambda e: bool(e.state.queues)) or accounts.user_count():
        _demo_knowledge(services)
        return []
    center.run("configure", demo.SETTINGS)
    for skill in demo.skills():
        center.run("define_skill", skill, skill.capitalize())
    for queue in demo.queues():
        center.run("configure_queue", queue)
    agents = demo.agent_configs(DEMO_AGENTS, random.Random(seed), demo.skills())
    for agent in agents:
        center.run("configure_agent", agent)
    for code in sorted({d for spec in demo.SPECS.values() for d in spec.dispositions}):
        accounts.put_wrapup_code(code, code.replace("_", " ").capitalize())
    first = agents[0]
    logins = [
        Login(Role.ADMIN, "admin", secrets.token_urlsafe(12)),
        Login(Role.SUPERVISOR, "supervisor", secrets.token_urlsafe(12)),
        Login(Role.AGENT, first.id, secrets.token_urlsafe(12), first.id),
        Login(Role.KNOWLEDGE_EXPERT, "expert", secrets.token_urlsafe(12)),
    ]
    for login in logins:
        name = first.name if login.agent_id else login.role.value.replace("_", " ").capitalize()
        accounts.create_user(login.username, login.password, login.role, name, login.agent_id)
    accounts.record("bootstrap", "demo.seed", services.db_path, users=[x.username for x in logins])
    if services.knowledge is not None:
        services.knowledge.seed_demo()  # Fibrelia's articles and flows, published
    return logins


def _demo_knowledge(services: Services) -> None:
    """A demo ledger made before the knowledge base existed gets the demo base now (its catalog
    is empty; versions are never deleted, so a base emptied by its experts stays so). A ledger
    of one's own gets nothing: see ``joignable kb import`` in docs/knowledge.md."""
    audit = services.accounts.audit_log(0, 20)
    if services.knowledge is not None and any(e.action == "demo.seed" for e in audit):
        services.knowledge.seed_demo()  # does nothing on a catalog with anything in it


def serve(
    db: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    on_ready: Callable[[Services, list[Login]], None] | None = None,
    *,
    remember_visitors: bool = True,
) -> None:
    """Run the API in this process, which holds the center (the single writer of ``db``)."""
    from joignable.web.app import create_app
    from joignable.web.cli import run_server

    services = open_services(db, dense_search=True)
    services.remember_visitors = remember_visitors
    try:
        logins = seed_demo(services)
        if on_ready is not None:
            on_ready(services, logins)
        run_server(create_app(services), host=host, port=port)
    finally:
        services.close()
