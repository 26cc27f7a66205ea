"""WebSocket streams: every message carries its ledger seq; resuming gets exactly what was
missed; an agent sees its own events only; no credentials, no stream."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from joignable.web.accounts import Role

from .conftest import Org


def test_a_wallboard_gets_the_backlog_then_live_events_in_seq_order(org: Org) -> None:
    sup = org.clients[Role.SUPERVISOR]
    durable = org.services.center.durable
    with sup.websocket_connect("/api/stream?after=0") as ws:
        backlog = [ws.receive_json() for _ in range(durable)]
        assert [m["seq"] for m in backlog] == list(range(1, durable + 1))
        assert backlog[0]["type"] == backlog[0]["event"]["type"]
        org.channel().post("/api/contacts", json={"queue": "billing", "customer": "w"})
        live = ws.receive_json()
        assert live["seq"] == durable + 1 and live["type"] == "contact_arrived"
        assert live["event"]["customer"] == "w"


def test_resuming_after_a_seq_gets_exactly_what_was_missed(org: Org) -> None:
    channel = org.channel()
    for i in range(3):
        channel.post("/api/contacts", json={"queue": "sales", "customer": f"r{i}"})
    durable = org.services.center.durable
    after = durable - 3
    with org.clients[Role.SUPERVISOR].websocket_connect(f"/api/stream?after={after}") as ws:
        missed = [ws.receive_json() for _ in range(3)]
        assert [m["seq"] for m in missed] == [after + 1, after + 2, after + 3]
        assert [m["event"]["customer"] for m in missed] == ["r0", "r1", "r2"]
        channel.post("/api/contacts", json={"queue": "sales", "customer": "r3"})
        assert ws.receive_json()["seq"] == durable + 1  # no duplicate, no gap


def test_an_agent_stream_carries_its_own_events_only(org: Org) -> None:
    agent = org.clients[Role.AGENT]
    durable = org.services.center.durable
    with agent.websocket_connect(f"/api/stream?after={durable}") as ws:
        org.clients[Role.SUPERVISOR].put("/api/agents/a02/presence", json={"presence": "away"})
        agent.put("/api/agents/a01/presence", json={"presence": "available"})
        message = ws.receive_json()
        assert message["type"] == "presence_changed"
        assert message["event"]["agent"] == "a01"
        assert message["seq"] == durable + 2  # a02's change (seq durable + 1) was not sent


def _refused(client: TestClient, **kwargs: object) -> int:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/api/stream", **kwargs) as ws,
    ):
        ws.receive_json()
    return closed.value.code


def test_no_stream_without_credentials_or_from_another_site(org: Org) -> None:
    assert _refused(TestClient(org.app)) == 4401
    sup = org.clients[Role.SUPERVISOR]
    assert _refused(sup, headers={"Origin": "https://evil.example"}) == 4403
    # neither a wallboard nor an agent
    assert _refused(org.clients[Role.KNOWLEDGE_EXPERT]) == 4403


def _next_chat(ws: Any) -> dict[str, Any]:
    """Frames until the next chat message (ledger events in between are skipped)."""
    while True:
        frame: dict[str, Any] = ws.receive_json()
        if frame["type"] == "chat_message":
            return frame


def test_chat_messages_reach_a_supervisor_live_and_resume_after_a_chat_id(org: Org) -> None:
    from .test_chat import Customer

    sup = org.clients[Role.SUPERVISOR]
    customer = Customer(org, "Léa")
    with sup.websocket_connect(f"/api/stream?after={org.services.center.durable}&chats=true") as ws:
        customer.post("messages", {"text": "Bonjour"})
        first = _next_chat(ws)
        assert first["contact"] == customer.contact
        assert first["message"]["text"] == "Bonjour" and first["message"]["sender"] == "customer"
        assert first["message"]["seq"] == 1
    for text in ("un", "deux"):
        customer.post("messages", {"text": text})
    durable = org.services.center.durable
    with sup.websocket_connect(f"/api/stream?after={durable}&chat_after={first['chat_id']}") as ws:
        missed = [_next_chat(ws), _next_chat(ws)]
        assert [m["message"]["text"] for m in missed] == ["un", "deux"]
        assert first["chat_id"] < missed[0]["chat_id"] < missed[1]["chat_id"]
        customer.post("messages", {"text": "trois"})
        live = _next_chat(ws)
        assert live["message"]["text"] == "trois" and live["chat_id"] > missed[1]["chat_id"]


def test_an_agent_stream_carries_the_chats_it_holds_only(org: Org) -> None:
    from .test_chat import Customer

    agent = org.clients[Role.AGENT]  # a01, billing
    other = Customer(org, "Marc", topic="sales")
    mine = Customer(org, "Léa", topic="billing")
    agent.put("/api/agents/a01/presence", json={"presence": "available"})
    assert agent.post(f"/api/agents/a01/offers/{mine.contact}/accept").status_code == 200
    with agent.websocket_connect(
        f"/api/stream?after={org.services.center.durable}&chats=true"
    ) as ws:
        other.post("messages", {"text": "not for a01"})
        mine.post("messages", {"text": "pour Ana"})
        frame = _next_chat(ws)
        assert frame["contact"] == mine.contact and frame["message"]["text"] == "pour Ana"


def test_chat_messages_need_contacts_read_on_top_of_the_wallboard(org: Org) -> None:
    from fastapi.testclient import TestClient

    from .test_chat import Customer

    secret, _ = org.token("stats:read")
    wallboard = TestClient(org.app, headers={"Authorization": f"Bearer {secret}"})
    customer = Customer(org, "Léa")
    durable = org.services.center.durable
    with wallboard.websocket_connect(f"/api/stream?after={durable}&chats=true") as ws:
        customer.post("messages", {"text": "private"})
        org.clients[Role.SUPERVISOR].put("/api/agents/a02/presence", json={"presence": "away"})
        frame = ws.receive_json()  # the presence change, with no chat message before it
        assert frame["type"] == "presence_changed", frame


def test_chat_messages_come_only_to_a_stream_that_asks_for_them(org: Org) -> None:
    from .test_chat import Customer

    customer = Customer(org, "Léa")
    sup = org.clients[Role.SUPERVISOR]
    with sup.websocket_connect(f"/api/stream?after={org.services.center.durable}") as ws:
        customer.post("messages", {"text": "not asked for"})
        sup.put("/api/agents/a02/presence", json={"presence": "away"})
        assert ws.receive_json()["type"] == "presence_changed"


def test_chat_watchers_learn_of_messages_in_id_order_under_concurrent_writers(
    tmp_path: Any,
) -> None:
    import threading

    from joignable.web.chat_store import ChatStore, Sender

    store = ChatStore(str(tmp_path / "chats.db"))
    seen: list[int] = []
    store.watch_all(lambda chat_id, contact, message: seen.append(chat_id))

    def write(n: int) -> None:
        for i in range(50):
            store.append(f"c{(n + i) % 3}", Sender.CUSTOMER, "x", f"{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        stored = [chat_id for chat_id, _, _ in store.messages_since(0, limit=1000)]
        assert seen == stored and len(seen) == 200  # the live order is the stored order
        assert seen == sorted(set(seen))
        for contact in ("c0", "c1", "c2"):  # and each chat's seq has no gap
            seqs = [m.seq for m in store.messages(contact, 0, limit=1000)]
            assert seqs == list(range(1, len(seqs) + 1))
    finally:
        store.close()
