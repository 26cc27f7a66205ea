"""Contacts as a channel drives them (create, callback, cancel by the customer), a contact's
state and honest estimate, a customer's history, and the CSV export."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse

from joignable.core.engine import Engine
from joignable.core.errors import UnknownContact
from joignable.core.state import Status
from joignable.web.auth import Perm, require
from joignable.web.projections import ContactRecord, csv_rows
from joignable.web.schemas import CallbackIn, ContactIn, ScheduleIn, msgspec_response
from joignable.web.services import Svc

router = APIRouter(tags=["contacts"])
WRITE = [Depends(require(Perm.CONTACTS_WRITE))]
READ = [Depends(require(Perm.CONTACTS_READ))]


@router.post("/contacts", status_code=201, dependencies=WRITE, response_model=dict[str, Any])
async def create_contact(body: ContactIn, svc: Svc) -> Response:
    """A customer contact arrives from a channel. The answer says what happened (queued with an
    estimated wait and its explanation, offered at once, or why not: closed, full)."""
    result = await svc.runtime.run(
        "arrive",
        body.queue,
        body.channel.value,
        customer=body.customer,
        priority=body.priority,
        skills=body.skills,
        callback_number=body.callback_number,
        data=body.data,
    )
    return msgspec_response(result, 201)


@router.post("/callbacks", status_code=201, dependencies=WRITE)
async def schedule_callback(body: ScheduleIn, svc: Svc) -> dict[str, Any]:
    """A callback at a time the customer picks (or as soon as possible); never two for one
    number and queue."""
    result = await svc.runtime.run(
        "schedule_callback", body.queue, body.number, due=body.due, customer=body.customer
    )
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


def _live(engine: Engine, contact_id: str) -> dict[str, Any] | None:
    c = engine.state.contacts.get(contact_id)
    if c is None:
        return None
    out: dict[str, Any] = {"status": c.status.value, "queue": c.queue, "agent": c.agent}
    if c.status is Status.WAITING:
        out["estimate"] = msgspec.to_builtins(engine.estimate(contact_id))
    return out


@router.get("/contacts/{contact_id}", dependencies=READ)
async def get_contact(contact_id: str, svc: Svc) -> dict[str, Any]:
    """The contact's record and, while it is open, where it stands now."""
    with svc.projections.lock:
        record = svc.projections.contacts.records.get(contact_id)
        out = msgspec.to_builtins(record) if record is not None else None
    if out is None:
        raise UnknownContact(f"no contact {contact_id!r}", contact=contact_id)
    out["live"] = svc.center.read(lambda e: _live(e, contact_id))
    return out  # type: ignore[no-any-return]


@router.post("/contacts/{contact_id}/callback", dependencies=WRITE)
async def request_callback(contact_id: str, body: CallbackIn, svc: Svc) -> dict[str, Any]:
    """The waiting customer would rather be called back; with no ``due`` it keeps its place."""
    created = await svc.runtime.run("request_callback", contact_id, body.number, body.due)
    return {"contact": contact_id, "requested": created}


@router.post("/contacts/{contact_id}/cancel", dependencies=WRITE)
async def cancel_contact(contact_id: str, svc: Svc) -> dict[str, Any]:
    """The customer leaves before an answer: an abandon, with its wait."""
    await svc.runtime.run("abandon", contact_id, "customer_cancelled")
    return {"contact": contact_id, "outcome": "abandoned"}


@router.get("/customers/{customer}/contacts", dependencies=READ)
async def customer_history(
    customer: str,
    svc: Svc,
    limit: int = Query(50, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """The customer's contacts, most recent first (what the agent sees before answering)."""
    p = svc.projections
    with p.lock:
        ids = p.contacts.by_customer.get(customer, [])[-limit:]
        return [msgspec.to_builtins(p.contacts.records[c]) for c in reversed(ids)]


@router.get(
    "/export/contacts.csv",
    dependencies=[Depends(require(Perm.CONTACTS_EXPORT))],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_contacts(
    svc: Svc,
    start: float | None = Query(None, ge=0, le=1e11, description="arrived at or after (Unix s)"),
    end: float | None = Query(None, ge=0, le=1e11, description="arrived before (Unix s)"),
) -> StreamingResponse:
    """One row per contact, in arrival order."""
    p = svc.projections
    with p.lock:  # a snapshot of the list: the records after it may still change, which is fine
        rows: list[ContactRecord] = [
            msgspec.structs.replace(r)
            for r in p.contacts.records.values()
            if (start is None or r.arrived_at >= start) and (end is None or r.arrived_at < end)
        ]
    return StreamingResponse(
        csv_rows(rows),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="contacts.csv"'},
    )
