"""Self-service for a chat customer, while they wait: search the articles meant for customers,
run a customer flow, and either say it solved the problem (the contact ends as deflected, with
the customer's consent) or ask for a person (the path and answers go with the contact, so the
agent who takes it sees them and the customer never repeats themselves).

The customer proves who they are with their chat's token (``chat_api.chat_customer``), as for
the rest of the chat (the ``chatToken`` scheme of the published spec).

Before starting a chat, anyone may search the customers' articles, read them and run a customer
flow (``/api/kb/public``: public like starting a chat, and limited per address the same way, as
search costs CPU). A run started there is a capability (its random id); the chat started next
adopts it, so a hand-over carries the answers given before the chat too. A problem solved before
any chat counts as a deflected run in the knowledge analytics: there is no contact to end.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

from joignable.core.errors import ContactEnded, ContactNotActive, DomainError
from joignable.web.api.knowledge import contact_facts, kb, search_view, version_view
from joignable.web.chat_api import Chats, Customer, StartLimiter, contact_state
from joignable.web.chat_store import Sender
from joignable.web.kb_service import KbError, KnowledgeService, Run
from joignable.web.schemas import ID, Body
from joignable.web.services import Svc

log = logging.getLogger("joignable.web.kb")
router = APIRouter(prefix="/chat/{contact_id}/kb", tags=["self-service"])
public_router = APIRouter(prefix="/kb/public", tags=["self-service"])

PUBLIC_PREFIX = "/api/kb/public"
# Anyone may look for an answer before starting a chat.
PUBLIC = frozenset(
    {
        ("GET", f"{PUBLIC_PREFIX}/search"),
        ("GET", f"{PUBLIC_PREFIX}/articles/{{article_id}}"),
        ("POST", f"{PUBLIC_PREFIX}/runs"),
        ("GET", f"{PUBLIC_PREFIX}/runs/{{run_id}}"),
        ("POST", f"{PUBLIC_PREFIX}/runs/{{run_id}}/answer"),
        ("POST", f"{PUBLIC_PREFIX}/runs/{{run_id}}/back"),
        ("POST", f"{PUBLIC_PREFIX}/solved"),
    }
)
PUBLIC_CALLS_PER_MINUTE = 120  # per address: typing as you search is a call every few keys
ANONYMOUS = "anonymous"

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
    if run.contact is None and run.who == ANONYMOUS:  # started before the chat: adopted
        k.adopt(run, contact_id)
    if run.contact != contact_id or run.audience != "customer":
        raise KbError("run_unknown", f"no run {run_id!r} in this chat", run=run_id)
    return run


def _anonymous_run(k: KnowledgeService, run_id: str) -> Run:
    run = k.run(run_id)
    if run.contact is not None or run.who != ANONYMOUS:
        raise KbError("run_unknown", f"no run {run_id!r} before a chat", run=run_id)
    return run


def _limit(request: Request) -> None:
    limiter = getattr(request.app.state, "kb_public_calls", None)
    if limiter is None:
        limiter = StartLimiter(PUBLIC_CALLS_PER_MINUTE, request.app.state.services.clock)
        request.app.state.kb_public_calls = limiter
    limiter.check(request.client.host if request.client is not None else "")


def _customer_article(k: KnowledgeService, article_id: str) -> dict[str, Any]:
    v = k.published("article", article_id)
    if v.content.audience != "customer":
        raise KbError("kb_unknown", f"no article {article_id!r}", item=v.key)
    k.opened(v.key)
    return version_view(v)


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

    return await search_view(kb(svc), q, lang, "customer", 5, contact_id)


@router.get("/articles/{article_id}")
async def article(
    contact_id: Customer, svc: Svc, article_id: Annotated[str, Path(pattern=ID)]
) -> dict[str, Any]:
    return _customer_article(kb(svc), article_id)


@router.post("/runs", status_code=201)
async def start_run(contact_id: Customer, body: RunIn, svc: Svc) -> dict[str, Any]:
    _open(svc, contact_id)
    k = kb(svc)
    who, facts = f"customer:{contact_id}", contact_facts(svc, contact_id)
    run = k.start_run(body.flow, facts, who=who, audience="customer", contact=contact_id)
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
    # awaited, not blocking the event loop: the chat closes with its message in one write
    await store.post(contact_id, Sender.SYSTEM, "", "kb_solved", close=True)
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
    if status == "waiting" and packet["queue"] not in (None, queue):
        await _move_to(svc, contact_id, packet)
        k.keep_handover(contact_id, packet)  # the agent sees whether it moved
    await store.post(contact_id, Sender.SYSTEM, "", "kb_handover")
    return {"contact": contact_id, "handover": packet, **contact_state(svc, contact_id)}


async def _move_to(svc: Any, contact_id: str, packet: dict[str, Any]) -> None:
    """A hand-over node names its queue: the waiting contact moves there through the engine's
    transfer, keeping its place by arrival. A queue the center does not have (a flow written
    for another organisation), or a contact offered meanwhile, stays where it is: the packet
    says so (``moved``), and the agent who takes it sees the path all the same."""
    try:
        await svc.runtime.run("transfer", None, contact_id, packet["queue"])
    except DomainError as e:
        packet["moved"] = False
        packet["not_moved"] = e.message
        log.warning("hand-over of %s to %s: %s", contact_id, packet["queue"], e.message)
    else:
        packet["moved"] = True


# -- before a chat -------------------------------------------------------------------------------


class PublicSolvedIn(Body):
    run: str | None = Field(None, max_length=64)
    article: str | None = Field(None, pattern=ID)


@public_router.get("/search")
async def public_search(
    request: Request,
    svc: Svc,
    q: str = Query(min_length=1, max_length=500),
    lang: Annotated[Literal["fr", "en"] | None, Query()] = None,
) -> dict[str, Any]:
    """Articles and flows meant for customers, before any chat (not kept with a contact)."""

    _limit(request)
    return await search_view(kb(svc), q, lang, "customer", 5, None)


@public_router.get("/articles/{article_id}")
async def public_article(
    request: Request, svc: Svc, article_id: Annotated[str, Path(pattern=ID)]
) -> dict[str, Any]:
    _limit(request)
    return _customer_article(kb(svc), article_id)


@public_router.post("/runs", status_code=201)
async def public_start(request: Request, body: RunIn, svc: Svc) -> dict[str, Any]:
    """A customer flow before any chat; its id is what continues it (keep it secret)."""
    _limit(request)
    k = kb(svc)
    run = k.start_run(body.flow, {}, who=ANONYMOUS, audience="customer", contact=None)
    return k.run_view(run)


@public_router.get("/runs/{run_id}")
async def public_run(request: Request, run_id: RunId, svc: Svc) -> dict[str, Any]:
    _limit(request)
    k = kb(svc)
    return k.run_view(_anonymous_run(k, run_id))


@public_router.post("/runs/{run_id}/answer")
async def public_answer(
    request: Request, run_id: RunId, body: AnswerIn, svc: Svc
) -> dict[str, Any]:
    _limit(request)
    k = kb(svc)
    return k.run_view(k.answer(_anonymous_run(k, run_id), body.value))


@public_router.post("/runs/{run_id}/back")
async def public_back(request: Request, run_id: RunId, svc: Svc) -> dict[str, Any]:
    _limit(request)
    k = kb(svc)
    return k.run_view(k.back(_anonymous_run(k, run_id)))


@public_router.post("/solved")
async def public_solved(request: Request, body: PublicSolvedIn, svc: Svc) -> dict[str, Any]:
    """Solved before any chat: the run counts as deflected in the knowledge analytics (there
    is no contact to end)."""
    _limit(request)
    k = kb(svc)
    if body.run:
        k.confirm_solved(_anonymous_run(k, body.run))
    if body.article:
        _customer_article(k, body.article)
    return {"deflected": True, "run": body.run, "article": body.article}
