"""Webhook subscriptions and their delivery log (administrators, or a token with the scope)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from joignable.web.auth import Perm, Principal, require
from joignable.web.schemas import Body
from joignable.web.services import Svc
from joignable.web.webhooks import Dispatcher, EventType, check_url

router = APIRouter(tags=["webhooks"])
MANAGE = require(Perm.WEBHOOKS_MANAGE)


class WebhookIn(Body):
    url: str = Field(min_length=1, max_length=2000, description="http:// or https://")
    events: list[EventType] = Field(min_length=1, description="the event types to receive")
    description: str = Field("", max_length=200)


def dispatcher(request: Request) -> Dispatcher:
    found: Dispatcher = request.app.state.webhooks
    return found


Hooks = Annotated[Dispatcher, Depends(dispatcher)]


@router.get("/webhooks", dependencies=[Depends(MANAGE)])
async def list_webhooks(hooks: Hooks) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(h) for h in hooks.store.all()]


@router.post("/webhooks", status_code=201)
async def create_webhook(
    body: WebhookIn, who: Annotated[Principal, Depends(MANAGE)], hooks: Hooks, svc: Svc
) -> dict[str, Any]:
    """Subscribe a URL to event types, from the next durable event on. The signing secret is in
    this answer only: keep it to verify the ``Joignable-Signature`` header (docs/webhooks.md)."""
    url = check_url(body.url.strip(), hooks.allow_private)
    hook, secret = hooks.store.create(
        url, [e.value for e in body.events], body.description, who.name, svc.center.durable
    )
    svc.accounts.record(who.name, "webhook.create", hook.id, url=hook.url, events=hook.events)
    hooks.poke()
    return {**msgspec.to_builtins(hook), "secret": secret}


@router.get("/webhooks/{webhook_id}", dependencies=[Depends(MANAGE)])
async def get_webhook(webhook_id: str, hooks: Hooks) -> dict[str, Any]:
    return msgspec.to_builtins(hooks.store.get(webhook_id))  # type: ignore[no-any-return]


@router.delete("/webhooks/{webhook_id}")
async def delete_webhook(
    webhook_id: str, who: Annotated[Principal, Depends(MANAGE)], hooks: Hooks, svc: Svc
) -> dict[str, Any]:
    """Stop sending and forget the subscription's delivery log (the audit log keeps the fact)."""
    hook = hooks.store.delete(webhook_id)
    svc.accounts.record(who.name, "webhook.delete", hook.id, url=hook.url)
    hooks.poke()
    return msgspec.to_builtins(hook)  # type: ignore[no-any-return]


@router.post("/webhooks/{webhook_id}/resume")
async def resume_webhook(
    webhook_id: str, who: Annotated[Principal, Depends(MANAGE)], hooks: Hooks, svc: Svc
) -> dict[str, Any]:
    """Send again after a pause, starting with the event that failed."""
    before = hooks.store.get(webhook_id)
    hook = hooks.store.resume(webhook_id)
    svc.accounts.record(
        who.name, "webhook.resume", hook.id, paused_reason=before.paused_reason or None
    )
    hooks.poke()
    return msgspec.to_builtins(hook)  # type: ignore[no-any-return]


@router.get("/webhooks/{webhook_id}/deliveries", dependencies=[Depends(MANAGE)])
async def deliveries(
    webhook_id: str,
    hooks: Hooks,
    before: int | None = Query(None, ge=1, le=2**62, description="entries with a smaller id"),
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """The delivery log, newest first: each event's status (pending, delivered, failed),
    attempts, the receiver's last status and error, and when the next try is."""
    return [msgspec.to_builtins(d) for d in hooks.store.deliveries(webhook_id, before, limit)]
