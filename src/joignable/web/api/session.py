"""Logging in and out (a cookie session for the UI), who am I, and a health check."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from joignable.web.accounts import LoginThrottled
from joignable.web.auth import CSRF_HEADER, SESSION_COOKIE, Principal, require
from joignable.web.errors import Unauthenticated, error_body
from joignable.web.schemas import Login
from joignable.web.services import Svc

router = APIRouter(tags=["session"])


@router.get("/health")
async def health(svc: Svc) -> dict[str, Any]:
    return {"status": "ok", "durable_seq": svc.center.durable}


def _throttled(exc: LoginThrottled) -> dict[str, Any]:
    seconds = str(exc.details["retry_after"])
    body = error_body(exc.code, exc.message, **exc.details)
    # a Response is passed through as is: the only way to add Retry-After to a coded error
    return cast(dict[str, Any], JSONResponse(body, exc.status, headers={"Retry-After": seconds}))


@router.post(
    "/session",
    responses={
        401: {"description": "wrong username or password (code unauthenticated)"},
        429: {
            "description": "too many failed logins for this username or from this address "
            "(code login_throttled): retry after the Retry-After header's seconds"
        },
    },
)
async def login(body: Login, request: Request, response: Response, svc: Svc) -> dict[str, Any]:
    """Open a session: sets the session cookie and returns the CSRF token that every
    state-changing request of this session must send in the ``X-CSRF-Token`` header.

    Failed logins slow further tries, per username and per client address (docs/api.md):
    past a few, each one locks the key for longer (1 s, 2 s, 4 s... at most 15 minutes)."""
    accounts = svc.accounts
    address = request.client.host if request.client is not None else ""
    try:
        accounts.throttle.check(body.username, address)
    except LoginThrottled as exc:
        return _throttled(exc)
    # argon2 costs tens of milliseconds of CPU by design: not on the event loop
    user = await run_in_threadpool(accounts.check_password, body.username, body.password)
    if user is None:
        accounts.record(body.username, "login.failed", body.username, address=address)
        for lock in accounts.throttle.failed(body.username, address):
            accounts.record(
                body.username,
                "login.throttled",
                f"{lock.scope}:{lock.key}",
                seconds=lock.seconds,
                failures=lock.failures,
            )
        raise Unauthenticated("wrong username or password")
    accounts.throttle.succeeded(user.username, address)
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
