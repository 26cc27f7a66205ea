"""Who is calling, and what they may do.

Two ways in: a login session (a cookie, for the UI; any state-changing request must echo the
session's CSRF token in ``X-CSRF-Token``), or an API token (``Authorization: Bearer ...``, for
integrations; scoped, not tied to a person, and exempt from CSRF because a browser never sends it
on its own). Every route declares what it needs with ``require(...)`` or ``act_as_agent``;
``create_app`` refuses to start with a route that declares nothing and is not in ``PUBLIC``, so
the default is to deny.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import Request, WebSocket
from fastapi.encoders import jsonable_encoder
from fastapi.security import APIKeyCookie, HTTPBearer

from joignable.web.accounts import MAX_CACHED_TOKENS, Role, Token, User
from joignable.web.errors import CsrfFailed, Forbidden, Unauthenticated

SESSION_COOKIE = "joignable_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
GUARD = "__joignable_guard__"  # marks the dependencies that decide access


class Perm(StrEnum):
    CONFIG_READ = "config:read"
    CONFIG_WRITE = "config:write"
    CONTACTS_READ = "contacts:read"  # a contact, a customer's history
    CONTACTS_WRITE = "contacts:write"  # what a channel does: create, callback, cancel
    CONTACTS_EXPORT = "contacts:export"
    AGENTS_ACT = "agents:act"  # act as any agent (a supervisor, a CTI integration)
    AGENT_SELF = "agent:self"  # act as one's own agent
    STATS_READ = "stats:read"
    AUDIT_READ = "audit:read"
    USERS_MANAGE = "users:manage"
    TOKENS_MANAGE = "tokens:manage"
    WEBHOOKS_MANAGE = "webhooks:manage"
    KB_READ = "kb:read"  # search the base, run its flows
    KB_EDIT = "kb:edit"  # write drafts, comment, submit for review
    KB_PUBLISH = "kb:publish"  # publish, archive, roll back (experts only)
    PLAN = "plan:run"  # staffing, cost and simulation


ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm) - {Perm.AGENT_SELF},
    Role.SUPERVISOR: frozenset(
        {
            Perm.CONFIG_READ,
            Perm.CONTACTS_READ,
            Perm.CONTACTS_EXPORT,
            Perm.AGENTS_ACT,
            Perm.STATS_READ,
            Perm.AUDIT_READ,
            Perm.KB_READ,
            Perm.PLAN,
        }
    ),
    Role.AGENT: frozenset({Perm.CONFIG_READ, Perm.CONTACTS_READ, Perm.AGENT_SELF, Perm.KB_READ}),
    Role.KNOWLEDGE_EXPERT: frozenset(
        {Perm.CONFIG_READ, Perm.KB_READ, Perm.KB_EDIT, Perm.KB_PUBLISH}
    ),
}

# What a token may be given: never the management of people or of other tokens, which stay
# with a person who can be held to account in the audit log.
TOKEN_SCOPES = frozenset(Perm) - {Perm.USERS_MANAGE, Perm.TOKENS_MANAGE, Perm.AGENT_SELF}


# Published in the OpenAPI spec for every route that authenticates (``security_schemes``, and
# ``create_app``'s spec) rather than as dependencies: FastAPI solved them, and ``authenticate``
# under each guard, on every request (a fifth of POST /api/contacts' instructions), while
# ``authenticate`` reads the header itself (a wrong scheme must not fall through).
_bearer = HTTPBearer(auto_error=False, description="an API token (jgn_...)")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="a login session")
AUTHENTICATES = "__joignable_authenticates__"  # marks the dependencies that call authenticate
_PRINCIPAL = "joignable.principal"  # the request's caller, once found (in the ASGI scope)


def security_schemes() -> dict[str, dict[str, Any]]:
    """The spec's security schemes of a route marked ``AUTHENTICATES``, by name."""
    return {
        s.scheme_name: jsonable_encoder(s.model, by_alias=True, exclude_none=True)
        for s in (_bearer, _cookie)
    }


@dataclass(frozen=True, slots=True)
class Principal:
    name: str  # a username, or "token:<id>"
    permissions: frozenset[Perm]
    role: Role | None = None
    agent_id: str | None = None
    token: str | None = None  # the token's id when called with one

    @staticmethod
    def of_user(user: User) -> Principal:
        return Principal(user.username, ROLE_PERMISSIONS[user.role], user.role, user.agent_id)

    @staticmethod
    def of_token(token: Token) -> Principal:
        found = _TOKEN_PRINCIPALS.get(token.id)  # a token's scopes never change
        if found is None:
            perms = frozenset(Perm(s) for s in token.scopes if s in TOKEN_SCOPES)
            found = Principal(f"token:{token.id}", perms, token=token.id)
            if len(_TOKEN_PRINCIPALS) >= MAX_CACHED_TOKENS:
                _TOKEN_PRINCIPALS.clear()
            _TOKEN_PRINCIPALS[token.id] = found
        return found


_TOKEN_PRINCIPALS: dict[str, Principal] = {}  # by token id: built once, not at every request


async def authenticate(request: Request) -> Principal:
    """The caller, found once per request: the guards call this themselves rather than
    depend on it (one dependency less for FastAPI to solve on every request)."""
    found: Principal | None = request.scope.get(_PRINCIPAL)
    if found is None:
        found = request.scope[_PRINCIPAL] = _caller(request)
    return found


setattr(authenticate, AUTHENTICATES, True)


def _caller(request: Request) -> Principal:
    accounts = request.app.state.services.accounts
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated("use 'Authorization: Bearer <token>'")
        token = accounts.token_for_secret(secret.strip())
        if token is None:
            raise Unauthenticated("this API token is unknown or revoked")
        return Principal.of_token(token)
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        session = accounts.session(sid)
        if session is None:
            raise Unauthenticated("the session has expired: log in again")
        if request.method not in _SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                raise CsrfFailed(f"a state-changing request needs the {CSRF_HEADER} header")
        return Principal.of_user(session.user)
    raise Unauthenticated("log in, or send an API token")


def authenticate_ws(websocket: WebSocket) -> Principal:
    """A WebSocket's caller: a bearer token, or a session cookie from a page of our own origin
    (a browser sends cookies on a cross-site WebSocket too, and no CSRF header can be set)."""
    accounts = websocket.app.state.services.accounts
    header = websocket.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        token = accounts.token_for_secret(secret.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            raise Unauthenticated("this API token is unknown or revoked")
        return Principal.of_token(token)
    origin = websocket.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != websocket.headers.get("host"):
        raise Forbidden("a session stream is only open to pages of this site")
    sid = websocket.cookies.get(SESSION_COOKIE)
    session = accounts.session(sid) if sid else None
    if session is None:
        raise Unauthenticated("log in, or send an API token")
    return Principal.of_user(session.user)


def require(*perms: Perm) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through callers holding every one of ``perms`` (none: anyone
    authenticated)."""
    needed = frozenset(perms)

    async def guard(request: Request) -> Principal:
        principal = await authenticate(request)
        missing = needed - principal.permissions
        if missing:
            raise Forbidden(
                f"this needs {', '.join(sorted(missing))}", needs=",".join(sorted(missing))
            )
        return principal

    setattr(guard, GUARD, needed)
    setattr(guard, AUTHENTICATES, True)
    return guard


async def act_as_agent(agent_id: str, request: Request) -> Principal:
    """Agent actions: one's own agent, or any agent with ``agents:act``."""
    principal = await authenticate(request)
    if Perm.AGENTS_ACT in principal.permissions:
        return principal
    if Perm.AGENT_SELF in principal.permissions and principal.agent_id == agent_id:
        return principal
    raise Forbidden(f"{principal.name} may not act as agent {agent_id!r}", agent=agent_id)


setattr(act_as_agent, GUARD, frozenset({Perm.AGENT_SELF}))
setattr(act_as_agent, AUTHENTICATES, True)
