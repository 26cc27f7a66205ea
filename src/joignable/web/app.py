"""``create_app(services)``: the ASGI app. Builds routes only; bootstrap wires what they use."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from starlette.concurrency import run_in_threadpool

from joignable.center import CenterStopped
from joignable.web import (
    chat_api,
    chat_page,
    chat_presence,
    chat_stream,
    errors,
    kb_chat,
    kb_page,
    streams,
    webhooks,
)
from joignable.web.api import admin, agents, config, contacts, session, stats
from joignable.web.api import alerts as alerts_api
from joignable.web.api import knowledge as knowledge_api
from joignable.web.api import planning as planning_api
from joignable.web.api import webhooks as webhooks_api
from joignable.web.auth import AUTHENTICATES, GUARD, security_schemes
from joignable.web.schemas import msgspec_components
from joignable.web.services import Services
from joignable.web.staff_pages import install as install_staff_pages
from joignable.web.wallboard_page import install as install_wallboard

log = logging.getLogger("joignable.web")

# Routes anyone may call: logging in, and a health check that reveals nothing.
PUBLIC = frozenset(
    {("POST", "/api/session"), ("GET", "/api/health"), *chat_api.PUBLIC, *kb_chat.PUBLIC}
)


def _depends_on(route: APIRoute, marker: str) -> bool:
    """Whether a dependency of ``route`` (at any depth) carries ``marker``."""
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        if dep.call is not None and hasattr(dep.call, marker):
            return True
        pending.extend(dep.dependencies)
    return False


# Matched in this order, route by route: the channels' and agents' routes, the most called,
# come first (24 routes ahead of POST /api/contacts took a tenth of its server time).
ROUTERS = (
    contacts.router,
    agents.router,
    session.router,
    config.router,
    admin.router,
    planning_api.router,
    stats.router,
    alerts_api.router,
    knowledge_api.router,
    webhooks_api.router,
)
PREFIX = "/api"
# The web chat's routes: the customer's (a chat token, see web.chat_api) and the agent's.
CHAT_ROUTERS = (
    chat_api.router,
    chat_api.staff_router,
    chat_stream.router,
    kb_chat.router,
    kb_chat.public_router,
)


def _routes(routers: tuple[APIRouter, ...]) -> list[tuple[str, str, APIRoute]]:
    return [
        (method, PREFIX + route.path, route)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods or ())
    ]


def api_routes() -> list[tuple[str, str, APIRoute]]:
    """Every (method, full path, route) of the API. Read from the routers themselves: recent
    FastAPI versions keep included routers nested rather than copying their routes."""
    return _routes(ROUTERS)


def chat_routes() -> list[tuple[str, str, APIRoute]]:
    return _routes(CHAT_ROUTERS)


def check_guards() -> None:
    """Default deny: a route that states no access rule is a bug caught at start-up."""
    for method, path, route in [*api_routes(), *chat_routes()]:
        if (method, path) not in PUBLIC and not _depends_on(route, GUARD):
            raise RuntimeError(f"{method} {path} declares no access rule")


async def _tick(services: Services) -> None:
    """Let time pass in the center: offer deadlines, wrap-up limits, callbacks coming due.

    ``Center.tick`` waits for its write, so it runs in a worker thread."""
    center = services.center
    while True:
        due = center.next_timer()
        delay = services.tick_every
        if due is not None:
            delay = min(delay, max(0.01, due - services.clock()))
        await asyncio.sleep(delay)
        try:
            await run_in_threadpool(center.tick)
        except CenterStopped:
            log.exception("the center stopped; timers no longer fire")
            return


def _telemetry() -> TelemetryConfig:
    """FastAPI's OpenTelemetry when the environment configures it (``OTEL_*``,
    ``FASTAPI_OTEL_AUTO_CONFIGURE``), else off: otherwise it looks for providers at every
    request, reading the environment each time (2% of the instructions of POST /api/contacts), only
    to find none."""
    if any(k.startswith(("OTEL_", "FASTAPI_OTEL_")) for k in os.environ):
        return {}
    return {"tracing": False, "metrics": False, "logs": False}


def _document_security(spec: dict[str, Any], components: dict[str, Any]) -> None:
    """Every route that authenticates its caller accepts an API token or a session."""
    schemes = security_schemes()
    marked = False
    for method, path, route in [*api_routes(), *chat_routes()]:
        if _depends_on(route, AUTHENTICATES):
            operation = spec["paths"][path][method.lower()]
            operation.setdefault("security", []).extend({name: []} for name in schemes)
            marked = True
    if marked:
        components.setdefault("securitySchemes", {}).update(schemes)


def create_app(services: Services) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = []
        if services.tick_every > 0:  # else tests drive time themselves
            tasks = [
                asyncio.create_task(_tick(services)),
                asyncio.create_task(chat_presence.reaper(app)),
            ]
        # webhooks send in tests too: their own task, never in the center's way
        tasks.append(asyncio.create_task(webhooks.run(app)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="joignable",
        summary="Contact-center API: configuration, contacts, agent actions, statistics.",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=_telemetry(),
        # FastAPI's doc pages load their scripts from a CDN; joignable serves every asset itself,
        # so only the spec is published (/openapi.json).
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    errors.install(app)
    check_guards()
    # The chat's routes right after the channels' and agents': a chat message is the most
    # frequent request (behind the other 8 routers, matching took a quarter of its server time).
    for router in (*ROUTERS[:2], *CHAT_ROUTERS, *ROUTERS[2:]):
        app.include_router(router, prefix=PREFIX)
    app.include_router(streams.router)  # a WebSocket: authenticates itself (authenticate_ws)
    chat_api.install(app, services)
    webhooks.install(app, services)
    planning_api.install_page(app)  # /planner: staffing and cost for supervisors (logged in)
    chat_page.install(app)  # the customer's page and its assets (no API: public by design)
    install_staff_pages(app)  # /login and /desk: pages over the guarded API
    install_wallboard(app)  # /wallboard: supervisors and admins (logged in)
    kb_page.install(app)  # /kb: the experts' and supervisors' page (logged in)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            spec = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            components = spec.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for name, schema in msgspec_components().items():
                schemas.setdefault(name, schema)
            _document_security(spec, components)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
