"""The knowledge base for staff: search, articles and flows, review, flow runs, the learning loop
(a contact's solving article, proposals, gaps, suggestions), analytics, health and training.

Who may do what: every reader (``kb:read``: agents, supervisors, experts) searches and runs
flows; editors (``kb:edit``) write drafts, comment, submit and send back; publishing, archiving a
published version and rolling back need ``kb:publish`` (experts) — the review rules of
``knowledge.review`` decide the rest, with coded refusals. Search and index builds are CPU work:
they run in a worker thread, never on the event loop.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from joignable.core.engine import Engine
from joignable.core.errors import UnknownAgent, UnknownContact
from joignable.knowledge.model import Flow
from joignable.knowledge.review import Actor, Version
from joignable.web.auth import GUARD, Perm, Principal, authenticate, require
from joignable.web.errors import Forbidden, error_body
from joignable.web.kb_service import (
    FileProblems,
    KbError,
    KnowledgeService,
    Run,
    actor_role,
    content_data,
)
from joignable.web.schemas import ID, Body
from joignable.web.services import Services, Svc

router = APIRouter(prefix="/kb", tags=["knowledge"])

READ = require(Perm.KB_READ)
EDIT = require(Perm.KB_EDIT)
PUBLISH = require(Perm.KB_PUBLISH)
# The agent's desk: what solved a contact, what self-service attached to it.
DESK = require(Perm.KB_READ, Perm.CONTACTS_READ)
COACH = require(Perm.KB_READ, Perm.AGENTS_ACT)  # supervisors: results, skill levels


async def overseer(
    principal: Annotated[Principal, Depends(authenticate)],
) -> Principal:
    """Experts (``kb:edit``) and supervisors (``stats:read``): the review queue, gaps,
    suggestions, analytics and health."""
    perms = principal.permissions
    if Perm.KB_READ in perms and (Perm.KB_EDIT in perms or Perm.STATS_READ in perms):
        return principal
    raise Forbidden("this needs kb:edit, or kb:read with stats:read", needs="kb:edit")


setattr(overseer, GUARD, frozenset({Perm.KB_READ}))

Reader = Annotated[Principal, Depends(READ)]
Editor = Annotated[Principal, Depends(EDIT)]
Publisher = Annotated[Principal, Depends(PUBLISH)]
Desk = Annotated[Principal, Depends(DESK)]
Coach = Annotated[Principal, Depends(COACH)]
Overseer = Annotated[Principal, Depends(overseer)]
Kind = Literal["article", "flow"]
ItemId = Annotated[str, Path(pattern=ID)]
Lang = Literal["fr", "en"]


def kb(svc: Services) -> KnowledgeService:
    if svc.knowledge is None:  # open_services always opens one; a hand-built Services may not
        raise KbError("kb_unknown", "this server has no knowledge base")
    return svc.knowledge


def actor(who: Principal) -> Actor:
    perms = who.permissions
    return Actor(who.name, actor_role(Perm.KB_EDIT in perms, Perm.KB_PUBLISH in perms))


def version_view(v: Version, full: bool = True) -> dict[str, Any]:
    kind, _, ident = v.key.partition(":")
    out: dict[str, Any] = {
        "key": v.key,
        "kind": kind,
        "id": ident,
        "version": v.number,
        "state": v.state,
        "owner": v.owner,
        "title": v.content.title,
        "lang": v.content.lang,
        "audience": v.content.audience,
    }
    if full:
        out["content"] = content_data(v.content)
        out["history"] = [asdict(c) for c in v.history]
        out["nodes"] = {n: asdict(r) for n, r in v.nodes.items()}
        out["unreviewed"] = v.unreviewed()
    return out


def hit_view(k: KnowledgeService, hit: Any) -> dict[str, Any]:
    item = k.item_of(hit.id)
    kind = "flow" if isinstance(item, Flow) else "article"
    return {
        "key": hit.id,
        "kind": kind,
        "id": item.id,
        "title": hit.title,
        "lang": item.lang,
        "audience": item.audience,
        "score": round(hit.score, 4),
        "coverage": round(hit.coverage, 3),
        "why": [{"kind": r.kind, "text": r.text} for r in hit.why],
    }


async def search_view(
    k: KnowledgeService,
    q: str,
    lang: str | None,
    audience: str,
    k_: int,
    contact: str | None,
) -> dict[str, Any]:
    hits, gap, used = await run_in_threadpool(
        k.search, q, lang=lang, audience=audience, k=k_, contact=contact
    )
    out = {"query": q, "lang": used, "gap": gap, "results": [hit_view(k, h) for h in hits]}
    if audience == "agent":  # staff see whether meaning is searched too (customers need not)
        out["dense"] = k.dense_status
    return out


# -- search and content ------------------------------------------------------------------------


@router.get("/search")
async def search(
    who: Reader,
    svc: Svc,
    q: str = Query(min_length=1, max_length=500, description="the request, as typed"),
    lang: Annotated[Lang | None, Query(description="guessed from the words when absent")] = None,
    audience: Literal["agent", "customer"] = "agent",
    k: int = Query(5, ge=1, le=20),
    contact_id: str | None = Query(None, max_length=64, description="the contact it is for"),
) -> dict[str, Any]:
    """The best flows and articles, each saying why it matched; a search without a good answer
    is kept as a gap for experts."""
    if contact_id is not None:
        _known_contact(svc, contact_id)
    return await search_view(kb(svc), q, lang, audience, k, contact_id)


def _published_list(k: KnowledgeService, kind: str, lang: str | None) -> list[dict[str, Any]]:
    items = k.base.articles if kind == "article" else k.base.flows
    out = []
    for ident in sorted(items):
        item = items[ident]
        if lang is None or item.lang == lang:
            v = k.published(kind, ident)
            out.append(version_view(v, full=False))
    return out


@router.get("/articles")
async def list_articles(who: Reader, svc: Svc, lang: Lang | None = None) -> list[dict[str, Any]]:
    """The published articles."""
    return _published_list(kb(svc), "article", lang)


@router.get("/articles/{article_id}")
async def get_article(
    article_id: ItemId, who: Reader, svc: Svc, opened: bool = False
) -> dict[str, Any]:
    """A published article; ``opened=true`` when a person opens it from search (analytics)."""
    k = kb(svc)
    v = k.published("article", article_id)
    if opened:
        k.opened(v.key)
    return version_view(v)


@router.get("/flows")
async def list_flows(who: Reader, svc: Svc, lang: Lang | None = None) -> list[dict[str, Any]]:
    return _published_list(kb(svc), "flow", lang)


@router.get("/flows/{flow_id}")
async def get_flow(flow_id: ItemId, who: Reader, svc: Svc) -> dict[str, Any]:
    return version_view(kb(svc).published("flow", flow_id))


# -- review --------------------------------------------------------------------------------------


class DraftIn(Body):
    kind: Kind
    content: dict[str, Any] = Field(description="an article or a flow in the file format")
    note: str = Field("", max_length=2000)


class NoteIn(Body):
    text: str = Field("", max_length=4000)


class PublishIn(Body):
    force: bool = Field(False, description="publish even if the replay gate finds regressions")


@router.get("/items/{kind}/{item_id}")
async def item_versions(kind: Kind, item_id: ItemId, who: Editor, svc: Svc) -> dict[str, Any]:
    """Every version of an article or flow, drafts included, with its history."""
    key = f"{kind}:{item_id}"
    versions = kb(svc).versions(key)
    return {"key": key, "versions": [version_view(v) for v in versions]}


@router.post("/drafts", status_code=201)
async def create_draft(body: DraftIn, who: Editor, svc: Svc) -> dict[str, Any]:
    """A new version (a new item, or a change to one) as a draft; validated against the
    published base (an unknown article, a dangling choice... are refused, each named)."""
    k = kb(svc)
    v = await run_in_threadpool(k.propose, body.kind, body.content, actor(who), body.note)
    return version_view(v)


MAX_FILE_CHARS = 2_000_000  # a base of a few thousand articles


class ImportIn(Body):
    text: str = Field(min_length=1, max_length=MAX_FILE_CHARS, description="the file, as is")
    format: Literal["yaml", "json"] = "yaml"
    note: str = Field("", max_length=2000)


@router.post("/import", status_code=201, responses={422: {"description": "kb_invalid_file"}})
async def import_file(body: ImportIn, who: Publisher, svc: Svc) -> Any:
    """A whole knowledge file (docs/knowledge.md), every article and flow as a new draft, for
    review as any other change; experts only. On any problem nothing is imported, and each
    problem is named with its place in the file (``problems``: path, code, message)."""
    k = kb(svc)
    note = body.note or "imported from a file"
    try:
        versions = await run_in_threadpool(k.import_file, body.text, body.format, actor(who), note)
    except FileProblems as e:
        problems = [{"path": p.path, "code": p.code, "message": p.message} for p in e.problems]
        return JSONResponse(error_body(e.code, e.message, problems=problems), e.status)
    return {"imported": len(versions), "versions": [version_view(v, False) for v in versions]}


VersionNo = Annotated[int, Path(ge=1, le=1_000_000)]


async def _move(
    svc: Services,
    who: Principal,
    action: str,
    kind: str,
    item_id: str,
    number: int,
    text: str = "",
    force: bool = False,
) -> dict[str, Any]:
    k = kb(svc)
    v = await run_in_threadpool(
        k.move, action, f"{kind}:{item_id}", number, actor(who), text, force
    )
    return version_view(v)


@router.post("/items/{kind}/{item_id}/versions/{number}/submit")
async def submit(
    kind: Kind, item_id: ItemId, number: VersionNo, who: Editor, svc: Svc
) -> dict[str, Any]:
    """A draft goes to review."""
    return await _move(svc, who, "submit", kind, item_id, number)


@router.post("/items/{kind}/{item_id}/versions/{number}/comment")
async def comment(
    kind: Kind, item_id: ItemId, number: VersionNo, body: NoteIn, who: Editor, svc: Svc
) -> dict[str, Any]:
    return await _move(svc, who, "comment", kind, item_id, number, body.text)


@router.post("/items/{kind}/{item_id}/versions/{number}/send-back")
async def send_back(
    kind: Kind, item_id: ItemId, number: VersionNo, body: NoteIn, who: Editor, svc: Svc
) -> dict[str, Any]:
    """A version in review goes back to draft, with the reviewer's note (a rejection)."""
    return await _move(svc, who, "send_back", kind, item_id, number, body.text)


@router.post("/items/{kind}/{item_id}/versions/{number}/publish")
async def publish(
    kind: Kind, item_id: ItemId, number: VersionNo, body: PublishIn, who: Publisher, svc: Svc
) -> dict[str, Any]:
    """Publish a version in review (the one published before is archived). Refused with
    ``kb_publish_blocked`` when the linked queries rank it lower or recorded paths end
    elsewhere, unless ``force``."""
    return await _move(svc, who, "publish", kind, item_id, number, force=body.force)


@router.post("/items/{kind}/{item_id}/versions/{number}/archive")
async def archive(
    kind: Kind, item_id: ItemId, number: VersionNo, who: Editor, svc: Svc
) -> dict[str, Any]:
    """Withdraw a draft (editors) or archive the published version (experts)."""
    return await _move(svc, who, "archive", kind, item_id, number)


@router.post("/items/{kind}/{item_id}/rollback")
async def rollback(kind: Kind, item_id: ItemId, who: Publisher, svc: Svc) -> dict[str, Any]:
    """Publish again what was published before, as a new version."""
    k = kb(svc)
    v = await run_in_threadpool(k.rollback, f"{kind}:{item_id}", actor(who))
    return version_view(v)


@router.get("/review")
async def review_queue(who: Overseer, svc: Svc) -> dict[str, Any]:
    """What experts have to look at: versions in review and drafts, gaps, suggestions."""
    k = kb(svc)
    queue = await run_in_threadpool(k.review_queue)
    return {
        "in_review": [version_view(v) for v in queue if v.state == "in_review"],
        "drafts": [version_view(v) for v in queue if v.state == "draft"],
        "gaps": await run_in_threadpool(k.gap_list),
        "synonyms": await run_in_threadpool(k.synonym_suggestions),
    }


# -- the learning loop ---------------------------------------------------------------------------


class GapDraftIn(Body):
    article_id: str = Field(pattern=ID)


@router.get("/gaps")
async def gaps(who: Overseer, svc: Svc) -> list[dict[str, Any]]:
    """Searches without a good answer, grouped by similarity, most frequent first."""
    return await run_in_threadpool(kb(svc).gap_list)


@router.post("/gaps/{n}/draft", status_code=201)
async def gap_draft(
    n: Annotated[int, Path(ge=0, le=100_000)], body: GapDraftIn, who: Editor, svc: Svc
) -> dict[str, Any]:
    """A draft article from a gap, seeded with the customers' own words."""
    k = kb(svc)
    v = await run_in_threadpool(k.draft_from_gap, n, body.article_id, actor(who))
    return version_view(v)


@router.get("/suggestions")
async def suggestions(who: Overseer, svc: Svc) -> dict[str, Any]:
    """Synonyms learned from queries that ended on the same article."""
    return {"synonyms": await run_in_threadpool(kb(svc).synonym_suggestions)}


def _known_contact(svc: Services, contact_id: str) -> None:
    with svc.projections.lock:
        known = contact_id in svc.projections.contacts.records
    if not known and not svc.center.read(lambda e: contact_id in e.state.contacts):
        raise UnknownContact(f"no contact {contact_id!r}", contact=contact_id)


class SolvedByIn(Body):
    article: str = Field(
        min_length=1, max_length=130, description="article:<id>, flow:<id>, or an article id"
    )
    query: str | None = Field(
        None, max_length=500, description="the request; the contact's last search if absent"
    )


def _key(ref: str) -> str:
    return ref if ref.startswith(("article:", "flow:")) else f"article:{ref}"


@router.post("/contacts/{contact_id}/solved-by")
async def solved_by(contact_id: str, body: SolvedByIn, who: Desk, svc: Svc) -> dict[str, Any]:
    """The article (or flow) that solved this contact: its request becomes a new phrasing, so
    the next person who asks the same way finds it first."""
    _known_contact(svc, contact_id)
    k = kb(svc)
    return await run_in_threadpool(
        k.solved_by, contact_id, _key(body.article), body.query, who.name
    )


class ProposalIn(Body):
    title: str = Field(min_length=1, max_length=300)
    lang: Lang
    body: str = Field("", max_length=20_000)
    steps: list[str] = Field(default_factory=list, max_length=50)
    audience: Literal["agent", "customer"] = "agent"
    article_id: str | None = Field(None, pattern=ID, description="a new id if absent")
    note: str = Field("", max_length=2000)


@router.post("/contacts/{contact_id}/proposals", status_code=201)
async def propose_from_contact(
    contact_id: str, body: ProposalIn, who: Desk, svc: Svc
) -> dict[str, Any]:
    """An agent proposes a new article (or a new version of one) from a contact in one step:
    it lands as a draft for review, with the contact's request as its first phrasing."""
    _known_contact(svc, contact_id)
    k = kb(svc)
    ident = body.article_id or f"{body.lang}-from-{contact_id}".lower()[:64]
    query = k.last_query(contact_id)
    data: dict[str, Any] = {
        "id": ident,
        "title": body.title,
        "lang": body.lang,
        "audience": body.audience,
        "kind": "procedure" if body.steps else "answer",
        "body": body.body,
        "steps": [s for s in body.steps if s.strip()],
        "phrasings": [query] if query else [],
    }
    note = body.note or f"proposed from contact {contact_id}"
    v = await run_in_threadpool(k.propose, "article", data, actor(who), note)
    return version_view(v)


@router.get("/contacts/{contact_id}")
async def contact_knowledge(contact_id: str, who: Desk, svc: Svc) -> dict[str, Any]:
    """What knowledge did for a contact: its flow runs (each path), the hand-over packet of a
    self-service customer, the articles linked as solving it."""
    _known_contact(svc, contact_id)
    k = kb(svc)
    return {
        "contact": contact_id,
        "query": k.last_query(contact_id),
        "handover": k.handover_of(contact_id),
        "runs": k.runs_of(contact_id),
        "solved_by": k.solved_links(contact_id),
    }


# -- flow runs -----------------------------------------------------------------------------------


Value = Annotated[str, Field(max_length=500)] | int | float | bool


def contact_facts(svc: Services, contact_id: str) -> dict[str, Any]:
    """What an open contact carries (its data from the channel: the customer's product...):
    known facts for a run, so their questions are not asked again."""

    def read(e: Engine) -> dict[str, Any]:
        c = e.state.contacts.get(contact_id)
        return dict(c.data) if c is not None else {}

    found: dict[str, Any] = svc.center.read(read)
    return found


class RunIn(Body):
    flow: str = Field(pattern=ID)
    facts: dict[Annotated[str, Field(max_length=64)], Value] = Field(
        default_factory=dict, max_length=50, description="what is known (skips its questions)"
    )
    contact_id: str | None = Field(None, max_length=64, description="save the path with it")


class AnswerIn(Body):
    value: Value = Field(description="a choice's value or label, or input")


def _own_run(k: KnowledgeService, run_id: str, who: Principal) -> Run:
    run = k.run(run_id)
    if run.who != who.name and Perm.AGENTS_ACT not in who.permissions:
        raise Forbidden(f"run {run_id} is someone else's", run=run_id)
    return run


@router.post("/runs", status_code=201)
async def start_run(body: RunIn, who: Reader, svc: Svc) -> dict[str, Any]:
    """Start a flow: known facts skip their questions; it stops at the first question."""
    facts: dict[str, Any] = {}
    if body.contact_id is not None:
        _known_contact(svc, body.contact_id)
        facts = contact_facts(svc, body.contact_id)
    facts.update(body.facts)  # what the agent says wins over what the contact carried
    k = kb(svc)
    run = k.start_run(body.flow, facts, who=who.name, audience="agent", contact=body.contact_id)
    return k.run_view(run)


RunId = Annotated[str, Path(max_length=64)]


@router.get("/runs/{run_id}")
async def get_run(run_id: RunId, who: Reader, svc: Svc) -> dict[str, Any]:
    k = kb(svc)
    return k.run_view(_own_run(k, run_id, who))


@router.post("/runs/{run_id}/answer")
async def answer_run(run_id: RunId, body: AnswerIn, who: Reader, svc: Svc) -> dict[str, Any]:
    k = kb(svc)
    return k.run_view(k.answer(_own_run(k, run_id, who), body.value))


@router.post("/runs/{run_id}/back")
async def back_run(run_id: RunId, who: Reader, svc: Svc) -> dict[str, Any]:
    """Go back one answer."""
    k = kb(svc)
    return k.run_view(k.back(_own_run(k, run_id, who)))


# -- analytics and health ------------------------------------------------------------------------


@router.get("/analytics")
async def analytics(who: Overseer, svc: Svc) -> dict[str, Any]:
    """Per flow (runs, outcomes, hand-overs, drop-offs, deflections), per node and per article."""
    rep = await run_in_threadpool(kb(svc).analytics)

    def plain(obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in fields(obj) if f.name != "nodes"}

    return {
        "flows": {
            f: {
                **plain(s),
                "nodes": {
                    n: {**plain(ns), "mean_seconds": round(ns.mean_seconds, 2)}
                    for n, ns in s.nodes.items()
                },
            }
            for f, s in rep.flows.items()
        },
        "articles": {
            a: {**plain(s), "resolution": round(s.resolution, 3)} for a, s in rep.articles.items()
        },
    }


@router.get("/health")
async def health(
    who: Overseer, svc: Svc, stale_days: float = Query(180, ge=0, le=3650)
) -> list[dict[str, str]]:
    """Content that needs an expert: stale, low resolution, never used."""
    flags = await run_in_threadpool(kb(svc).health, stale_days)
    return [asdict(f) for f in flags]


# -- training ------------------------------------------------------------------------------------


def trainee(who: Principal) -> str:
    return who.agent_id or who.name


class PracticeIn(Body):
    flow: str = Field(pattern=ID)
    skill: str | None = Field(None, pattern=ID, description="the routing skill it trains")
    seed: int = Field(0, ge=0, le=2**31)


class PickIn(Body):
    value: Value


def _practice_view(k: KnowledgeService, pid: str, who: Principal) -> dict[str, Any]:
    practice, skill = k.practice(pid, trainee(who))
    out: dict[str, Any] = {
        "practice": pid,
        "flow": practice.scenario.flow,
        "skill": skill,
        "done": practice.done,
        "answered": practice.answered,
        "correct": practice.correct,
    }
    if practice.done:
        out["score"] = round(practice.score(), 4)
        out["expected_end"] = practice.scenario.expected_end
        out["ended_at"] = practice.state.node
    else:
        q, says = practice.prompt()
        out["question"] = {
            "text": q.text,
            "choices": [{"label": c.label, "value": c.value} for c in q.choices],
            "input": q.input,
        }
        out["customer_says"] = says
    return out


@router.post("/training/practice", status_code=201)
async def practise(body: PracticeIn, who: Reader, svc: Svc) -> dict[str, Any]:
    """Practise a flow against a simulated customer who answers in their own words."""
    k = kb(svc)
    pid = k.practise(body.flow, trainee(who), body.skill, body.seed)
    return _practice_view(k, pid, who)


@router.post("/training/practice/{practice_id}/pick")
async def pick(
    practice_id: Annotated[str, Path(max_length=64)], body: PickIn, who: Reader, svc: Svc
) -> dict[str, Any]:
    """The trainee's reading of what the customer said; the run goes on with it."""
    k = kb(svc)
    right, _ = k.pick(practice_id, trainee(who), body.value)
    return {"right": right, **_practice_view(k, practice_id, who)}


@router.get("/training/quiz/{flow_id}")
async def get_quiz(
    flow_id: ItemId, who: Reader, svc: Svc, seed: int = Query(0, ge=0, le=2**31)
) -> dict[str, Any]:
    """Multiple-choice items from a flow (the answers are not in it)."""
    from joignable.knowledge.training import quiz

    k = kb(svc)
    f = k.published("flow", flow_id).content
    assert isinstance(f, Flow)
    items = quiz(k.base, f, seed=seed)
    return {
        "flow": flow_id,
        "seed": seed,
        "items": [{"prompt": i.prompt, "options": list(i.options)} for i in items],
    }


class QuizIn(Body):
    seed: int = Field(0, ge=0, le=2**31)
    picks: list[int] = Field(max_length=500)
    skill: str | None = Field(None, pattern=ID)


@router.post("/training/quiz/{flow_id}")
async def answer_quiz(flow_id: ItemId, body: QuizIn, who: Reader, svc: Svc) -> dict[str, Any]:
    """Grade a quiz (the same seed gives the same items); the result goes to the gradebook."""
    from joignable.knowledge.training import quiz, quiz_score

    k = kb(svc)
    f = k.published("flow", flow_id).content
    assert isinstance(f, Flow)
    items = quiz(k.base, f, seed=body.seed)
    if len(body.picks) != len(items):
        raise KbError("kb_invalid_content", f"{len(items)} answers expected, got {len(body.picks)}")
    score = quiz_score(items, body.picks)
    k.add_result(trainee(who), body.skill or flow_id, "quiz", flow_id, score)
    right = [i.answer for i in items]
    return {"flow": flow_id, "score": round(score, 4), "right": right}


def _result_view(r: Any) -> dict[str, Any]:
    return asdict(r)


@router.get("/training/results")
async def my_results(who: Reader, svc: Svc) -> list[dict[str, Any]]:
    """The caller's own training results."""
    k = kb(svc)
    me = trainee(who)
    return [_result_view(r) for r in k.gradebook.results if r.agent == me]


@router.get("/training/gradebook")
async def gradebook(who: Coach, svc: Svc) -> list[dict[str, Any]]:
    """Every agent's results per skill, and the routing level they suggest."""
    k = kb(svc)
    pairs = sorted({(r.agent, r.skill) for r in k.gradebook.results})
    out = []
    for agent, skill in pairs:
        results = k.gradebook.of(agent, skill)
        out.append(
            {
                "agent": agent,
                "skill": skill,
                "results": len(results),
                "mean": round(sum(r.score for r in results) / len(results), 4),
                "suggested_level": k.gradebook.suggested_level(agent, skill),
            }
        )
    return out


class ApplyLevelIn(Body):
    level: int | None = Field(None, ge=0, le=100, description="the suggested level if absent")


def _with_skill(engine: Engine, agent_id: str, skill: str, level: int) -> Any:
    agent = engine.state.agents.get(agent_id)
    if agent is None:
        raise UnknownAgent(f"no agent {agent_id!r}", agent=agent_id)
    skills = dict(agent.config.skills)
    before = skills.get(skill)
    if level > 0:
        skills[skill] = level
    else:
        skills.pop(skill, None)
    return msgspec.structs.replace(agent.config, skills=skills), before


@router.post("/training/agents/{agent_id}/skills/{skill}/apply")
async def apply_level(
    agent_id: Annotated[str, Path(pattern=ID)],
    skill: Annotated[str, Path(pattern=ID)],
    body: ApplyLevelIn,
    who: Coach,
    svc: Svc,
) -> dict[str, Any]:
    """A supervisor applies the level training suggests (or one of their own) to the agent's
    routing skill, through the same configuration command as ``POST /api/agents``; audited."""
    k = kb(svc)
    level = body.level
    if level is None:
        level = k.gradebook.suggested_level(agent_id, skill)
        if level is None:
            raise KbError(
                "no_suggestion",
                f"{agent_id} has too few results in {skill} for a suggestion",
                agent=agent_id,
            )
    config, before = svc.center.read(lambda e: _with_skill(e, agent_id, skill, level))
    await svc.runtime.run("configure_agent", config)
    svc.accounts.record(
        who.name, "agent.skill_level", agent_id, skill=skill, level=level, before=before
    )
    return {"agent": agent_id, "skill": skill, "level": level, "before": before}
