"""Logging in and out (a cookie session for the UI), who am I, and a health check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from joignable.web.auth import CSRF_HEADER, SESSION_COOKIE, Principal, require
from joignable.web.errors import Unauthenticated
from joignable.web.schemas import Login
from joignable.web.services import Svc

router = APIRouter(tags=["session"])


@router.get("/health")
async def health(svc: Svc) -> dict[str, Any]:
    return {"status": "ok", "durable_seq": svc.center.durable}


@router.post("/session")
async def login(body: Login, request: Request, response: Response, svc: Svc) -> dict[str, Any]:
    """Open a session: sets the session cookie and returns the CSRF token that every
    state-changing request of this session must send in the ``X-CSRF-Token`` header."""
    accounts = svc.accounts
    # argon2 costs tens of milliseconds of CPU by design: not on the event loop
    user = await run_in_threadpool(accounts.check_password, body.username, body.password)
    if user is None:
        accounts.record(body.username, "login.failed", body.username)
        raise Unauthenticated("wrong username or password")
    sid, csrf = accounts.open_session(user)
    accounts.record(user.username, "login", user.username)
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=int(12 * 3600),
    )
    return {
        "user": user.username,
        "role": user.role.value,
        "csrf_token": csrf,
        "csrf_header": CSRF_HEADER,
    }


@router.delete("/session")
async def logout(
    request: Request,
    response: Response,
    who: Annotated[Principal, Depends(require())],
    svc: Svc,
) -> dict[str, Any]:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        svc.accounts.close_session(sid)
    response.delete_cookie(SESSION_COOKIE)
    return {"logged_out": who.name}


@router.get("/me")
async def me(who: Annotated[Principal, Depends(require())]) -> dict[str, Any]:
    return {
        "name": who.name,
        "role": who.role.value if who.role else None,
        "agent_id": who.agent_id,
        "token": who.token,
        "permissions": sorted(who.permissions),
    }
