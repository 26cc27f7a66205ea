"""What an agent does: presence, offers, conversations, wrap-up. An agent acts as itself; a
supervisor (or an integration with ``agents:act``) may act for any agent, which is audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from joignable.core.engine import Engine
from joignable.core.errors import UnknownAgent
from joignable.web.auth import Principal, act_as_agent
from joignable.web.schemas import PresenceIn, TransferIn, WrapupIn
from joignable.web.services import Services, Svc

router = APIRouter(prefix="/agents/{agent_id}", tags=["agent actions"])


def _on_behalf(svc: Services, who: Principal, agent_id: str, action: str, **detail: Any) -> None:
    if who.agent_id != agent_id:
        svc.accounts.record(who.name, f"agent.{action}", agent_id, **detail)


def _work(engine: Engine, agent_id: str) -> dict[str, Any]:
    agent = engine.state.agents.get(agent_id)
    if agent is None:
        raise UnknownAgent(f"no agent {agent_id!r}", agent=agent_id)
    contacts = engine.state.contacts
    return {
        "agent": agent_id,
        "presence": agent.presence.value,
        "state": agent.state_name(),
        "capacity": {ch.value: n for ch, n in agent.config.capacity.items()},
        "offers": [
            {
                "contact": cid,
                "channel": ch.value,
                "queue": contacts[cid].queue,
                "customer": contacts[cid].customer,
                "deadline": contacts[cid].offer_deadline,
                "number": contacts[cid].callback_number,  # a callback: the number to call
                "data": dict(contacts[cid].data),
            }
            for cid, ch in agent.offers.items()
        ],
        "contacts": [
            {
                "contact": cid,
                "channel": ch.value,
                "queue": contacts[cid].queue,
                "customer": contacts[cid].customer,
                "number": contacts[cid].callback_number,
                "accepted_at": contacts[cid].accepted_at,
                "data": dict(contacts[cid].data),
            }
            for cid, ch in agent.contacts.items()
        ],
        "wrapups": [
            {"contact": cid, "deadline": w.deadline, "queue": w.queue, "channel": w.channel.value}
            for cid, w in agent.wrapups.items()
        ],
    }


@router.get("/work")
async def work(
    agent_id: str, who: Annotated[Principal, Depends(act_as_agent)], svc: Svc
) -> dict[str, Any]:
    """The agent's offers (with their deadlines), conversations and wrap-ups."""
    out: dict[str, Any] = svc.center.read(lambda e: _work(e, agent_id))
    out["now"] = svc.clock()  # so a desk counts deadlines down on the center's clock
    return out


@router.put("/presence")
async def set_presence(
    agent_id: str,
    body: PresenceIn,
    who: Annotated[Principal, Depends(act_as_agent)],
    svc: Svc,
) -> dict[str, Any]:
    await svc.runtime.run("set_presence", agent_id, body.presence.value, body.reason)
    _on_behalf(svc, who, agent_id, "presence", presence=body.presence.value)
    return {"agent": agent_id, "presence": body.presence.value}


@router.post("/offers/{contact_id}/accept")
async def accept(
    agent_id: str,
    contact_id: str,
    who: Annotated[Principal, Depends(act_as_agent)],
    svc: Svc,
) -> dict[str, Any]:
    """Idempotent: accepting again answers ``accepted: false`` and changes nothing."""
    accepted = await svc.runtime.run("accept", agent_id, contact_id)
    return {"agent": agent_id, "contact": contact_id, "accepted": accepted}


@router.post("/offers/{contact_id}/reject")
async def reject(
    agent_id: str,
    contact_id: str,
    who: Annotated[Principal, Depends(act_as_agent)],
    svc: Svc,
) -> dict[str, Any]:
    """The contact goes back to its place in line."""
    await svc.runtime.run("reject", agent_id, contact_id)
    return {"agent": agent_id, "contact": contact_id, "rejected": True}


@router.post("/contacts/{contact_id}/complete")
async def complete(
    agent_id: str,
    contact_id: str,
    who: Annotated[Principal, Depends(act_as_agent)],
    svc: Svc,
) -> dict[str, Any]:
    """The conversation is over: the contact is handled and the agent goes to wrap-up."""
    await svc.runtime.run("complete", agent_id, contact_id)
    return {"agent": agent_id, "contact": contact_id, "wrapup": True}


@router.post("/contacts/{contact_id}/transfer")
async def transfer(
    agent_id: str,
    contact_id: str,
    body: TransferIn,
    who: Annotated[Principal, Depends(act_as_agent)],
    svc: Svc,
) -> dict[str, Any]:
    """To a queue or to a named agent (exactly one); the contact keeps its history and place."""
    await svc.runtime.run("transfer", agent_id, contact_id, body.queue, body.to_agent)
    return {"contact": contact_id, "queue": body.queue, "to_agent": body.to_agent}


@router.post("/contacts/{contact_id}/not-reached")
async def not_reached(
    agent_id: str,
    contact_id: str,
    who: Annotated[Principal, Depends(act_as_agent)],
    svc: Svc,
) -> dict[str, Any]:
    """A callback nobody answered: another attempt is planned while attempts remain."""
    retry = await svc.runtime.run("callback_not_reached", agent_id, contact_id)
    return {"contact": contact_id, "retry_planned": retry}


@router.post("/wrapups/{contact_id}")
async def end_wrapup(
    agent_id: str,
    contact_id: str,
    body: WrapupIn,
    who: Annotated[Principal, Depends(act_as_agent)],
    svc: Svc,
) -> dict[str, Any]:
    """End the wrap-up with a disposition (a wrap-up code, once any is defined) and notes."""
    svc.accounts.check_disposition(body.disposition)
    await svc.runtime.run("end_wrapup", agent_id, contact_id, body.disposition, body.notes)
    return {"agent": agent_id, "contact": contact_id, "disposition": body.disposition}
