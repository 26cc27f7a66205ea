"""Streams wake only for what concerns them: a durable batch reaches each event loop once, a
chat stream is woken by its own contact's events (and, while it waits, by its queue's, no more
than every ``WAITING_REFRESH`` s), an agent's feed by the events naming it; a stream that drops
and resumes with ``?after=`` misses and repeats nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joignable.core import events as ev
from joignable.core.kinds import Channel, Outcome, Presence
from joignable.web.streams import WAITING_REFRESH, Hub, Pair

from .conftest import Org
from .test_chat import Customer
from .test_chat_stream import _next


class _Center:
    """What the hub needs of a center: ``subscribe``; ``push`` plays the writer thread."""

    def __init__(self) -> None:
        self.listener: Callable[[list[Pair]], None] | None = None
        self.seq = 0

    def subscribe(self, fn: Callable[[list[Pair]], None]) -> None:
        self.listener = fn

    def push(self, *events: ev.Event) -> list[Pair]:
        pairs = []
        for e in events:
            self.seq += 1
            pairs.append((self.seq, e))
        assert self.listener is not None
        self.listener(pairs)
        return pairs


def _arrived(contact: str, queue: str) -> ev.ContactArrived:
    return ev.ContactArrived(at=0.0, contact=contact, channel=Channel.CHAT, queue=queue)


def _offer(contact: str, agent: str) -> ev.OfferMade:
    return ev.OfferMade(at=0.0, contact=contact, agent=agent, channel=Channel.CHAT, deadline=9.0)


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_a_stream_is_woken_by_its_contact_only_and_each_loop_gets_a_batch_once() -> None:
    center = _Center()
    hub = Hub(center)  # type: ignore[arg-type]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        handoffs = 0
        real = loop.call_soon_threadsafe

        def counting(*args: Any, **kw: Any) -> Any:
            nonlocal handoffs
            handoffs += 1
            return real(*args, **kw)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        woken: dict[str, int] = {f"c{i}": 0 for i in range(50)}
        keys = {}
        for contact in woken:

            def wake(contact: str = contact) -> None:
                woken[contact] += 1

            keys[contact] = hub.watch_contact(contact, wake)
        center.push(_arrived("c7", "q1"), _arrived("c8", "q1"))
        center.push(_offer("c7", "a1"))
        center.push(_arrived("zz", "q1"))  # nobody's chat
        await _settle()
        assert handoffs == 3  # one per batch, not one per stream
        assert woken.pop("c7") == 2 and woken.pop("c8") == 1
        assert set(woken.values()) == {0}  # not woken by other chats' events
        hub.unwatch(keys["c8"], contact="c8")
        center.push(_offer("c8", "a1"))
        await _settle()
        assert woken.get("c8") is None

    asyncio.run(main())


def test_an_agent_feed_gets_only_the_events_naming_its_agent() -> None:
    center = _Center()
    hub = Hub(center)  # type: ignore[arg-type]

    async def main() -> None:
        mine: list[list[Pair]] = []
        every: list[list[Pair]] = []
        key = hub.follow(mine.append, agent="a1")
        hub.follow(every.append)
        center.push(_arrived("c1", "q1"))  # names no agent
        offer = center.push(_arrived("c2", "q1"), _offer("c1", "a1"), _offer("c2", "a2"))
        await _settle()
        assert mine == [[offer[1]]]
        assert [len(b) for b in every] == [1, 3]
        hub.unfollow(key)
        center.push(_offer("c3", "a1"))
        await _settle()
        assert len(mine) == 1 and len(every) == 3

    asyncio.run(main())


def test_a_waiting_stream_follows_its_queue_throttled_not_the_others() -> None:
    center = _Center()
    hub = Hub(center)  # type: ignore[arg-type]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        times: dict[str, list[float]] = {"q1": [], "q2": []}
        for queue, seen in times.items():
            hub.watch_queue(queue, lambda seen=seen: seen.append(loop.time()))
        center.push(_arrived("c1", "q1"))
        await _settle()
        assert len(times["q1"]) == 1 and times["q2"] == []  # q2's line did not move
        start = loop.time()
        while loop.time() < start + 3 * WAITING_REFRESH:  # a busy queue
            released = ev.OfferReleased(at=0.0, contact="c1", agent="a1", reason="rejected")
            center.push(_offer("c1", "a1"), released)
            await asyncio.sleep(WAITING_REFRESH / 10)
        await asyncio.sleep(WAITING_REFRESH * 1.5)
        gaps = [b - a for a, b in zip(times["q1"], times["q1"][1:], strict=False)]
        assert 3 <= len(times["q1"]) <= 6 and min(gaps) >= WAITING_REFRESH * 0.9
        assert times["q2"] == []
        center.push(ev.PresenceChanged(at=0.0, agent="a9", presence=Presence.AVAILABLE))
        await asyncio.sleep(WAITING_REFRESH * 1.5)
        assert len(times["q2"]) == 1  # an agent's presence may change any queue's estimate
        center.push(ev.ContactEnded(at=0.0, contact="c1", outcome=Outcome.ABANDONED))
        await asyncio.sleep(WAITING_REFRESH * 1.5)

    asyncio.run(main())


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=4), st.integers(1, 3))
def test_a_stream_resumed_after_a_drop_has_no_gap_and_no_duplicate(
    org: Org, drops: list[int], burst: int
) -> None:
    """The customer reads some messages, drops, writes more, resumes with the last seq it saw:
    across every connection each message arrives exactly once, in order."""
    customer = Customer(org, "Léa")
    sent = 0
    seen: list[int] = []

    def follow(read: int | None) -> None:
        """Connect after the last seq seen, read ``read`` messages (None: all, then one
        written live), and drop."""
        nonlocal sent
        after = seen[-1] if seen else 0
        url = f"/api/chat/{customer.contact}/stream?after={after}"
        with TestClient(org.app).websocket_connect(url) as ws:
            ws.send_json({"token": customer.start["token"]})
            for _ in range(sent - after if read is None else min(read, sent - after)):
                seen.append(_next(ws, "message")["seq"])
            if read is None:
                sent += 1
                assert customer.post("messages", {"text": f"m{sent}"}).status_code == 201
                seen.append(_next(ws, "message")["seq"])

    for read in drops:
        for _ in range(burst):  # written while nobody follows
            sent += 1
            assert customer.post("messages", {"text": f"m{sent}"}).status_code == 201
        follow(read)
    follow(None)
    assert seen == list(range(1, sent + 1))
    assert customer.post("leave").status_code == 200
