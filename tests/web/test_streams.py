"""WebSocket streams: every message carries its ledger seq; resuming gets exactly what was
missed; an agent sees its own events only; no credentials, no stream."""

from __future__ import annotations

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
