"""Honest wait estimates, with the reason in words.

The estimate is what a supervisor could check by hand: the contacts ahead in the same line, the
agents who may take it, and the queue's recent handle time (a smoothed average of real handle
times). With nobody eligible logged in there is no number to give, and we say so rather than
invent one.
"""

from __future__ import annotations

import msgspec

from joignable.core.kinds import Channel, Presence
from joignable.core.model import QueueConfig
from joignable.core.rules import meets_any, step_alternatives
from joignable.core.state import Agent, Contact, State, Status


class Estimate(msgspec.Struct, gc=False):
    position: int  # 1 = next in line
    ahead: int
    eligible: int  # agents logged in (available) who may take it
    busy: int  # of those, how many are busy right now
    seconds: float | None  # None: no eligible agent is logged in
    text: str


def _capacity(agent: Agent, channel: Channel) -> int:
    return agent.capacity.get(channel, 0)


def _describe(ahead: int, eligible: int, busy: int, seconds: float | None) -> str:
    parts = [f"{ahead} ahead of you" if ahead else "you are next in line"]
    if eligible == 0:
        parts.append("no eligible agent is logged in")
        return ", ".join(parts)
    parts.append(
        f"{busy} eligible agent{'s' if busy != 1 else ''} busy"
        if busy
        else f"{eligible} eligible agent{'s' if eligible != 1 else ''} free"
    )
    assert seconds is not None
    parts.append(f"about {_round(seconds)}")
    return ", ".join(parts)


def _round(seconds: float) -> str:
    if seconds < 60:
        return f"{max(0, int(round(seconds / 5.0)) * 5)} s"
    return f"{int(round(seconds / 60.0))} min"


def _figures(
    agents: list[Agent], channel: Channel, ahead: int, aht: float
) -> tuple[int, int, float | None]:
    eligible = [a for a in agents if a.presence is Presence.AVAILABLE and _capacity(a, channel)]
    free = sum(1 for a in eligible if a.free_for(channel))
    slots = sum(_capacity(a, channel) for a in eligible)
    return _counted(len(eligible), free, slots, ahead, aht)


def _counted(
    eligible: int, free: int, slots: int, ahead: int, aht: float
) -> tuple[int, int, float | None]:
    if not slots:
        return 0, 0, None
    busy = eligible - free
    # Contacts ahead (and this one) are served by `slots` parallel servers of mean time `aht`;
    # a free slot serves at once.
    if ahead < free:
        return eligible, busy, 0.0
    return eligible, busy, (ahead + 1 - free) * aht / slots


def estimate_contact(state: State, contact: Contact) -> Estimate:
    channel = contact.route_channel
    pool = contact.pool
    ahead = 0
    staffed = free = slots = 0
    if pool is not None:
        # O(log n): the pool keeps its logged-in staff and capacity per channel, and its free
        # agents (those who could take this contact now) are exactly its free index.
        staffed, slots = pool.staffed.get(channel, 0), pool.slots.get(channel, 0)
        free_index = pool.free.get(channel)
        # Usually empty for a waiting contact (work conservation): ``top`` says so in O(1).
        if free_index is not None and free_index.top() is not None:
            free = len(free_index)
        if contact.status is Status.WAITING:
            line = pool.waiting.get(channel)
            if line is not None:
                ahead = line.index(contact)
    aht = state.aht.get(contact.queue, 180.0)
    eligible, busy, seconds = _counted(staffed, free, slots, ahead, aht)
    if contact.status is not Status.WAITING:
        seconds = 0.0 if contact.status is not Status.SCHEDULED else seconds
    return Estimate(
        ahead + 1, ahead, eligible, busy, seconds, _describe(ahead, eligible, busy, seconds)
    )


def estimate_queue(state: State, queue: QueueConfig, channel: Channel = Channel.VOICE) -> Estimate:
    """The wait a new contact would face now (without creating any index)."""
    alternatives = step_alternatives(queue, 0)
    agents = [a for a in state.agents.values() if meets_any(a.config.skills, alternatives)]
    ahead = 0
    for pool in state.queue_pools.get(queue.id, []):
        line = pool.waiting.get(channel)
        if line:
            ahead += len(line)
    aht = state.aht.get(queue.id, queue.default_aht)
    eligible, busy, seconds = _figures(agents, channel, ahead, aht)
    return Estimate(
        ahead + 1, ahead, eligible, busy, seconds, _describe(ahead, eligible, busy, seconds)
    )
