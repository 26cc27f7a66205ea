"""Configuration: settings, skills, queues, agents (through the engine, hence the ledger) and
wrap-up codes (not routing state: in the accounts store). Every change is in the admin audit."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Path, Request

from joignable.core.engine import Engine
from joignable.core.errors import UnknownAgent, UnknownQueue
from joignable.core.model import AgentConfig, QueueConfig, Settings
from joignable.web.auth import Perm, Principal, require
from joignable.web.schemas import ID, SkillIn, WrapupCodeIn, msgspec_body, spec_of
from joignable.web.services import Svc

router = APIRouter(tags=["configuration"])
READ = Depends(require(Perm.CONFIG_READ))
WRITE = require(Perm.CONFIG_WRITE)


def agent_view(engine: Engine, agent_id: str) -> dict[str, Any]:
    agent = engine.state.agents.get(agent_id)
    if agent is None:
        raise UnknownAgent(f"no agent {agent_id!r}", agent=agent_id)
    return {
        "config": msgspec.to_builtins(agent.config),
        "presence": agent.presence.value,
        "state": agent.state_name(),
    }


@router.get("/settings", dependencies=[READ])
async def get_settings(svc: Svc) -> dict[str, Any]:
    out: dict[str, Any] = svc.center.read(lambda e: msgspec.to_builtins(e.state.settings))
    return out


@router.put("/settings", openapi_extra=spec_of(Settings))
async def put_settings(
    request: Request, who: Annotated[Principal, Depends(WRITE)], svc: Svc
) -> dict[str, Any]:
    settings = await msgspec_body(request, Settings)
    await svc.runtime.run("configure", settings)
    svc.accounts.record(who.name, "settings.configure", "settings", **msgspec.to_builtins(settings))
    return msgspec.to_builtins(settings)  # type: ignore[no-any-return]


@router.get("/skills", dependencies=[READ])
async def list_skills(svc: Svc) -> list[dict[str, str]]:
    skills: dict[str, str] = svc.center.read(lambda e: dict(e.state.skills))
    return [{"id": k, "name": v} for k, v in sorted(skills.items())]


@router.post("/skills", status_code=201)
async def define_skill(
    body: SkillIn, who: Annotated[Principal, Depends(WRITE)], svc: Svc
) -> dict[str, str]:
    await svc.runtime.run("define_skill", body.id, body.name)
    svc.accounts.record(who.name, "skill.define", body.id, name=body.name)
    return {"id": body.id, "name": body.name}


@router.get("/queues", dependencies=[READ])
async def list_queues(svc: Svc) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = svc.center.read(
        lambda e: [msgspec.to_builtins(q) for _, q in sorted(e.state.queues.items())]
    )
    return out


@router.get("/queues/{queue_id}", dependencies=[READ])
async def get_queue(queue_id: str, svc: Svc) -> dict[str, Any]:
    def view(e: Engine) -> dict[str, Any]:
        q = e.state.queues.get(queue_id)
        if q is None:
            raise UnknownQueue(f"no queue {queue_id!r}", queue=queue_id)
        return {
            "config": msgspec.to_builtins(q),
            "estimate": msgspec.to_builtins(e.estimate_queue(q.id)),
        }

    out: dict[str, Any] = svc.center.read(view)
    return out


@router.post("/queues", openapi_extra=spec_of(QueueConfig))
async def configure_queue(
    request: Request, who: Annotated[Principal, Depends(WRITE)], svc: Svc
) -> dict[str, Any]:
    """Create a queue or replace its configuration (contacts keep their place)."""
    queue = await msgspec_body(request, QueueConfig)
    await svc.runtime.run("configure_queue", queue)
    svc.accounts.record(who.name, "queue.configure", queue.id, config=msgspec.to_builtins(queue))
    return msgspec.to_builtins(queue)  # type: ignore[no-any-return]


@router.get("/agents", dependencies=[READ])
async def list_agents(svc: Svc) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = svc.center.read(
        lambda e: [agent_view(e, a) for a in sorted(e.state.agents)]
    )
    return out


@router.get("/agents/{agent_id}", dependencies=[READ])
async def get_agent(agent_id: str, svc: Svc) -> dict[str, Any]:
    out: dict[str, Any] = svc.center.read(lambda e: agent_view(e, agent_id))
    return out


@router.post("/agents", openapi_extra=spec_of(AgentConfig))
async def configure_agent(
    request: Request, who: Annotated[Principal, Depends(WRITE)], svc: Svc
) -> dict[str, Any]:
    """Create an agent or replace its configuration (skills, capacity per channel)."""
    agent = await msgspec_body(request, AgentConfig)
    await svc.runtime.run("configure_agent", agent)
    svc.accounts.record(who.name, "agent.configure", agent.id, config=msgspec.to_builtins(agent))
    return msgspec.to_builtins(agent)  # type: ignore[no-any-return]


@router.get("/wrapup-codes", dependencies=[READ])
async def list_wrapup_codes(svc: Svc) -> list[dict[str, str]]:
    return [msgspec.to_builtins(c) for c in svc.accounts.wrapup_codes()]


@router.put("/wrapup-codes/{code}")
async def put_wrapup_code(
    body: WrapupCodeIn,
    who: Annotated[Principal, Depends(WRITE)],
    svc: Svc,
    code: str = Path(pattern=ID),
) -> dict[str, str]:
    """Create or relabel a wrap-up code; once any exists, a wrap-up must use one of them."""
    saved = svc.accounts.put_wrapup_code(code, body.label)
    svc.accounts.record(who.name, "wrapup_code.put", code, label=body.label)
    return msgspec.to_builtins(saved)  # type: ignore[no-any-return]


@router.delete("/wrapup-codes/{code}")
async def delete_wrapup_code(
    code: str, who: Annotated[Principal, Depends(WRITE)], svc: Svc
) -> dict[str, str]:
    svc.accounts.delete_wrapup_code(code)
    svc.accounts.record(who.name, "wrapup_code.delete", code)
    return {"deleted": code}
