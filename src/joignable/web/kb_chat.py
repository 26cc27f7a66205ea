"""Self-service for a chat customer, while they wait: search the articles meant for customers,
run a customer flow, and either say it solved the problem (the contact ends as deflected, with
the customer's consent) or ask for a person (the path and answers go with the contact, so the
agent who takes it sees them and the customer never repeats themselves).

The customer proves who they are with their chat's token (``chat_api.chat_customer``), as for
the rest of the chat (the ``chatToken`` scheme of the published spec).
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from joignable.core.errors import ContactEnded, ContactNotActive
from joignable.web.api.knowledge import kb, version_view
from joignable.web.chat_api import Chats, Customer, contact_state
from joignable.web.chat_store import Sender
from joignable.web.kb_service import KbError, KnowledgeService, Run
from joignable.web.schemas import ID, Body
from joignable.web.services import Svc

router = APIRouter(prefix="/chat/{contact_id}/kb", tags=["self-service"])

RunId = Annotated[str, Path(max_length=64)]


class RunIn(Body):
    flow: str = Field(pattern=ID)


class AnswerIn(Body):
    value: Annotated[str, Field(max_length=500)] | int | float | bool


class SolvedIn(Body):
    run: str | None = Field(None, max_length=64, description="the flow run that solved it")
    article: str | None = Field(None, pattern=ID, description="or the article read")


class HandoverIn(Body):
    run: str | None = Field(None, max_length=64)


def _customer_run(k: KnowledgeService, run_id: str, contact_id: str) -> Run:
    run = k.run(run_id)
    if run.contact != contact_id or run.audience != "customer":
        raise KbError("run_unknown", f"no run {run_id!r} in this chat", run=run_id)
    return run


def _open(svc: Any, contact_id: str) -> str:
    """The contact's status; refused once it has ended (self-service is over then)."""
    status: str = contact_state(svc, contact_id)["status"]
    if status == "ended":
        raise ContactEnded(f"contact {contact_id!r} has ended", contact=contact_id)
    return status


@router.get("/search")
async def search(
    contact_id: Customer,
    svc: Svc,
    q: str = Query(min_length=1, max_length=500),
    lang: Annotated[Literal["fr", "en"] | None, Query()] = None,
) -> dict[str, Any]:
    """Articles and flows meant for customers, each saying why it matched."""
    from joignable.web.api.knowledge import search_view

    return await search_view(kb(svc), q, lang, "customer", 5, contact_id)


@router.get("/articles/{article_id}")
async def article(
    contact_id: Customer, svc: Svc, article_id: Annotated[str, Path(pattern=ID)]
) -> dict[str, Any]:
    k = kb(svc)
    v = k.published("article", article_id)
    if v.content.audience != "customer":
        raise KbError("kb_unknown", f"no article {article_id!r}", item=v.key)
    k.opened(v.key)
    return version_view(v)


@router.post("/runs", status_code=201)
async def start_run(contact_id: Customer, body: RunIn, svc: Svc) -> dict[str, Any]:
    _open(svc, contact_id)
    k = kb(svc)
    run = k.start_run(
        body.flow, {}, who=f"customer:{contact_id}", audience="customer", contact=contact_id
    )
    return k.run_view(run)


@router.get("/runs/{run_id}")
async def get_run(contact_id: Customer, run_id: RunId, svc: Svc) -> dict[str, Any]:
    k = kb(svc)
    return k.run_view(_customer_run(k, run_id, contact_id))


@router.post("/runs/{run_id}/answer")
async def answer(contact_id: Customer, run_id: RunId, body: AnswerIn, svc: Svc) -> dict[str, Any]:
    _open(svc, contact_id)
    k = kb(svc)
    return k.run_view(k.answer(_customer_run(k, run_id, contact_id), body.value))


@router.post("/runs/{run_id}/back")
async def back(contact_id: Customer, run_id: RunId, svc: Svc) -> dict[str, Any]:
    _open(svc, contact_id)
    k = kb(svc)
    return k.run_view(k.back(_customer_run(k, run_id, contact_id)))


@router.post("/solved")
async def solved(contact_id: Customer, body: SolvedIn, svc: Svc, store: Chats) -> dict[str, Any]:
    """ "This solved it": the contact ends as deflected (the customer's own word is the consent)
    and the chat closes. Refused once an agent has answered: the agent completes it then."""
    k = kb(svc)
    run = _customer_run(k, body.run, contact_id) if body.run else None
    if body.article:
        k.published("article", body.article)
    _open(svc, contact_id)
    await svc.runtime.run("deflect", contact_id, True)
    if run is not None:
        k.confirm_solved(run)
    if body.article:
        k.opened(f"article:{body.article}")
    with contextlib.suppress(KeyError):
        store.close_chat(contact_id)
    store.append(contact_id, Sender.SYSTEM, "", "kb_solved")
    return {"contact": contact_id, **contact_state(svc, contact_id)}


@router.post("/handover")
async def handover(
    contact_id: Customer, body: HandoverIn, svc: Svc, store: Chats
) -> dict[str, Any]:
    """ "Talk to a person": the customer keeps their place in line, and the agent who takes the
    contact receives what self-service learnt (the path, each question with its answer)."""
    k = kb(svc)
    run = _customer_run(k, body.run, contact_id) if body.run else None
    status = _open(svc, contact_id)
    if status not in ("waiting", "offered", "connected"):
        raise ContactNotActive(f"contact {contact_id!r} is {status}", contact=contact_id)
    queue = svc.center.read(lambda e: e.state.contacts[contact_id].queue)
    packet = k.hand_over(contact_id, run, queue)
    store.append(contact_id, Sender.SYSTEM, "", "kb_handover")
    return {"contact": contact_id, "handover": packet, **contact_state(svc, contact_id)}
