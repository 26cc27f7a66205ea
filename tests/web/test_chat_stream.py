"""The customer's real-time chat stream: the token first, then the messages after ``after`` and
every change of the contact's state, live; a reconnect resumes with no gap and no duplicate."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from joignable.web.accounts import Role

from .conftest import Org
from .test_chat import Customer


def _next(ws: Any, kind: str) -> dict[str, Any]:
    """The next frame of ``kind`` (state frames may come between messages)."""
    while True:
        frame = ws.receive_json()
        if frame["type"] == kind:
            return frame[kind]  # type: ignore[no-any-return]


def test_the_stream_carries_messages_and_state_changes_live(org: Org) -> None:
    first, second = Customer(org, "Léa"), Customer(org, "Marc")
    second.post("messages", {"text": "hello"})
    agent = org.clients[Role.AGENT]
    with TestClient(org.app).websocket_connect(f"/api/chat/{second.contact}/stream") as ws:
        ws.send_json({"token": second.start["token"]})
        assert _next(ws, "message")["text"] == "hello"  # the backlog first
        state = _next(ws, "state")
        assert state["status"] == "waiting" and state["estimate"]["position"] == 2
        first.post("leave")  # someone ahead leaves: the customer moves up, unasked
        assert _next(ws, "state")["estimate"]["position"] == 1
        agent.put("/api/agents/a01/presence", json={"presence": "available"})
        assert _next(ws, "state")["status"] == "offered"
        agent.post(f"/api/agents/a01/offers/{second.contact}/accept")
        connected = _next(ws, "state")
        assert connected["status"] == "connected" and connected["agent_name"] == "Ana"
        agent.post(f"/api/agents/a01/chats/{second.contact}/messages", json={"text": "Bonjour"})
        got = _next(ws, "message")
        assert (got["seq"], got["sender"], got["text"]) == (2, "agent", "Bonjour")

    # reconnecting after seq 2: only what came since
    second.post("messages", {"text": "still there?"})
    with TestClient(org.app).websocket_connect(f"/api/chat/{second.contact}/stream?after=2") as ws:
        ws.send_json({"token": second.start["token"]})
        got = _next(ws, "message")
        assert (got["seq"], got["text"]) == (3, "still there?")
        assert _next(ws, "state")["status"] == "connected"
        agent.post(f"/api/agents/a01/chats/{second.contact}/messages", json={"text": "yes"})
        assert _next(ws, "message")["seq"] == 4


def _refused(org: Org, contact: str, hello: Any) -> int:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        TestClient(org.app).websocket_connect(f"/api/chat/{contact}/stream") as ws,
    ):
        if isinstance(hello, str):
            ws.send_text(hello)
        else:
            ws.send_json(hello)
        ws.receive_json()
    return closed.value.code


def test_the_stream_needs_the_token_of_its_own_contact(org: Org) -> None:
    mine, other = Customer(org, "Léa"), Customer(org, "Marc")
    assert _refused(org, other.contact, {"token": mine.start["token"]}) == 4403
    assert _refused(org, mine.contact, {"token": "jgc_forged"}) == 4401
    assert _refused(org, mine.contact, {"nothing": 1}) == 4401
    assert _refused(org, mine.contact, "not json") == 4401


def test_an_agent_follows_the_chats_it_holds_and_only_those(org: Org) -> None:
    customer, other = Customer(org, "Léa"), Customer(org, "Marc", topic="tech")
    customer.post("messages", {"text": "bonjour"})
    agent = org.clients[Role.AGENT]
    path = f"/api/agents/a01/chats/{customer.contact}/stream"
    # not offered to a01 yet: nothing to follow
    assert _agent_refused(agent, path) == 4403
    agent.put("/api/agents/a01/presence", json={"presence": "available"})
    with agent.websocket_connect(path) as ws:
        assert _next(ws, "message")["text"] == "bonjour"
        assert _next(ws, "state") == {"status": "offered", "customer_left": False}
        agent.post(f"/api/agents/a01/offers/{customer.contact}/accept")
        assert _next(ws, "state")["status"] == "connected"
        customer.post("messages", {"text": "ma facture"})
        got = _next(ws, "message")
        assert (got["seq"], got["sender"], got["text"]) == (2, "customer", "ma facture")
        customer.post("leave")
        assert _next(ws, "message")["text"] == "customer_left"
        assert _next(ws, "state") == {"status": "connected", "customer_left": True}
        agent.post(f"/api/agents/a01/contacts/{customer.contact}/complete")
        with pytest.raises(WebSocketDisconnect) as closed:  # no longer a01's: the stream ends
            ws.receive_json()
        assert closed.value.code == 4403
    # another agent's id, no credentials, another site
    assert _agent_refused(agent, f"/api/agents/a05/chats/{other.contact}/stream") == 4403
    assert _agent_refused(TestClient(org.app), path) == 4401
    evil = {"Origin": "https://evil.example"}
    assert _agent_refused(agent, path, headers=evil) == 4403


def _agent_refused(client: TestClient, path: str, **kwargs: Any) -> int:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(path, **kwargs) as ws,
    ):
        ws.receive_json()
    return closed.value.code
