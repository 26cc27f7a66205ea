"""People and integrations: users with roles, API tokens, and the administrative audit log."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from joignable.core.errors import InvalidInput
from joignable.web.auth import TOKEN_SCOPES, Perm, Principal, require
from joignable.web.schemas import TokenIn, UserIn, UserPatch
from joignable.web.services import Svc

router = APIRouter(tags=["administration"])
USERS = require(Perm.USERS_MANAGE)
TOKENS = require(Perm.TOKENS_MANAGE)


@router.get("/users", dependencies=[Depends(USERS)])
async def list_users(svc: Svc) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(u) for u in svc.accounts.users()]


@router.post("/users", status_code=201)
async def create_user(
    body: UserIn, who: Annotated[Principal, Depends(USERS)], svc: Svc
) -> dict[str, Any]:
    user = await run_in_threadpool(
        svc.accounts.create_user, body.username, body.password, body.role, body.name, body.agent_id
    )
    svc.accounts.record(who.name, "user.create", user.username, role=user.role.value)
    return msgspec.to_builtins(user)  # type: ignore[no-any-return]


@router.patch("/users/{username}")
async def update_user(
    username: str,
    body: UserPatch,
    who: Annotated[Principal, Depends(USERS)],
    svc: Svc,
) -> dict[str, Any]:
    """Change a role, a name, the linked agent, deactivate (which ends the user's sessions), or
    set a new password. Users are never deleted: the audit log keeps naming them."""
    if who.name == username and (body.active is False or body.role not in (None, who.role)):
        raise InvalidInput("an administrator cannot deactivate or demote themselves")
    user = await run_in_threadpool(
        lambda: svc.accounts.update_user(
            username,
            role=body.role,
            name=body.name,
            agent_id=body.agent_id,
            active=body.active,
            password=body.password,
        )
    )
    changed = body.model_dump(exclude_none=True, exclude={"password"})
    if body.password is not None:
        changed["password"] = "changed"  # the fact, never the value
    svc.accounts.record(who.name, "user.update", username, **changed)
    return msgspec.to_builtins(user)  # type: ignore[no-any-return]


@router.get("/tokens", dependencies=[Depends(TOKENS)])
async def list_tokens(svc: Svc) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(t) for t in svc.accounts.tokens()]


@router.post("/tokens", status_code=201)
async def create_token(
    body: TokenIn, who: Annotated[Principal, Depends(TOKENS)], svc: Svc
) -> dict[str, Any]:
    """A token for an integration. Its secret is in this answer only: only a hash is kept."""
    refused = sorted(set(body.scopes) - TOKEN_SCOPES)
    if refused:
        raise InvalidInput(f"a token cannot hold {', '.join(refused)}")
    token, secret = svc.accounts.create_token(body.name, [str(s) for s in body.scopes], who.name)
    svc.accounts.record(who.name, "token.create", token.id, name=token.name, scopes=token.scopes)
    return {**msgspec.to_builtins(token), "secret": secret}


@router.delete("/tokens/{token_id}")
async def revoke_token(
    token_id: str, who: Annotated[Principal, Depends(TOKENS)], svc: Svc
) -> dict[str, Any]:
    token = svc.accounts.revoke_token(token_id)
    svc.accounts.record(who.name, "token.revoke", token.id)
    return msgspec.to_builtins(token)  # type: ignore[no-any-return]


@router.get("/audit-log", dependencies=[Depends(require(Perm.AUDIT_READ))])
async def audit_log(
    svc: Svc,
    after: int = Query(0, ge=0, le=2**62, description="entries with a greater id"),
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Administrative actions, oldest first: page with ``after`` = the last id seen."""
    return [msgspec.to_builtins(e) for e in svc.accounts.audit_log(after, limit)]
