"""The web chat API: a customer with a capability token for its one contact, its place and
estimate, messages both ways with an agent acting through the API, the callback switch, leaving
(an abandon with its wait), and coded refusals."""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi.testclient import TestClient

from joignable.web.accounts import Role

from .conftest import Org


class Customer:
    """A chat customer: no login, only the token its chat started with."""

    def __init__(self, org: Org, name: str = "Léa", topic: str = "billing") -> None:
        self.client = TestClient(org.app)
        r = self.client.post("/api/chat", json={"name": name, "topic": topic, "language": "fr"})
        assert r.status_code == 201, r.text
        self.start: dict[str, Any] = r.json()
        self.contact: str = self.start["contact"]
        self.client.headers["X-Chat-Token"] = self.start["token"]

    def state(self, after: int = 0) -> dict[str, Any]:
        r = self.client.get(f"/api/chat/{self.contact}", params={"after": after})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def post(self, action: str, body: Any = None) -> Any:
        return self.client.post(f"/api/chat/{self.contact}/{action}", json=body)


def _chat_path(contact: str, agent: str = "a01") -> str:
    return f"/api/agents/{agent}/chats/{contact}/messages"


def test_a_chat_starts_with_a_token_a_place_in_line_and_an_honest_estimate(
    org: Org,
) -> None:
    first, second = Customer(org, "Léa"), Customer(org, "Marc")
    assert first.start["status"] == "queued"
    assert first.start["token"].startswith("jgc_")
    assert first.start["explanation"]  # why this estimate (engine.estimate)
    s1, s2 = first.state(), second.state()
    assert s1["status"] == s2["status"] == "waiting"
    assert s1["estimate"]["position"] == 1 and s2["estimate"]["position"] == 2
    assert s2["estimate"]["ahead"] == 1
    assert "1 ahead of you" in s2["estimate"]["text"]
    assert s2["estimate"]["seconds"] is None  # nobody logged in: no figure is made up
    # the contact is a chat in the topic's queue, with the customer's name for the agent
    record = org.clients[Role.SUPERVISOR].get(f"/api/contacts/{first.contact}").json()
    assert record["channel"] == "chat" and record["queue"] == "billing"
    # only a hash of the token is at rest
    db = sqlite3.connect(org.services.db_path)
    try:
        stored = db.execute("SELECT * FROM chats").fetchall()
    finally:
        db.close()
    assert len(stored) == 2
    assert not any(first.start["token"] in str(v) for row in stored for v in row)


def test_messages_flow_both_ways_and_a_reconnecting_client_misses_and_repeats_nothing(
    org: Org,
) -> None:
    customer = Customer(org, "Léa")
    assert customer.post("messages", {"text": "Bonjour, ma facture ?"}).status_code == 201
    agent = org.clients[Role.AGENT]  # works as a01 (Ana), who takes billing chats
    assert agent.put("/api/agents/a01/presence", json={"presence": "available"}).status_code == 200
    assert customer.state()["status"] == "offered"
    # the offered agent reads what the customer wrote before answering, but cannot write yet
    preview = agent.get(_chat_path(customer.contact)).json()
    assert preview["customer_name"] == "Léa"
    assert [m["text"] for m in preview["messages"]] == ["Bonjour, ma facture ?"]
    r = agent.post(_chat_path(customer.contact), json={"text": "too early"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "contact_not_active"

    accepted = agent.post(f"/api/agents/a01/offers/{customer.contact}/accept")
    assert accepted.json()["accepted"] is True
    state = customer.state()
    assert state["status"] == "connected" and state["agent_name"] == "Ana"

    r = agent.post(_chat_path(customer.contact), json={"text": "Bonjour Léa, je regarde."})
    assert r.status_code == 201 and r.json()["seq"] == 2
    customer.post("messages", {"text": "Merci !"})
    got = customer.state(after=1)["messages"]
    assert [(m["seq"], m["sender"], m["author"], m["text"]) for m in got] == [
        (2, "agent", "Ana", "Bonjour Léa, je regarde."),
        (3, "customer", "Léa", "Merci !"),
    ]
    # resuming from the last seq seen: nothing again, then exactly the next one
    assert customer.state(after=3)["messages"] == []
    agent.post(_chat_path(customer.contact), json={"text": "C'est réglé."})
    assert [m["seq"] for m in customer.state(after=3)["messages"]] == [4]
    assert [m["seq"] for m in agent.get(_chat_path(customer.contact)).json()["messages"]] == [
        1,
        2,
        3,
        4,
    ]

    # the customer leaves during the conversation: answered, so the agent completes it
    left = customer.post("leave").json()
    assert left["status"] == "connected"
    seen = agent.get(_chat_path(customer.contact), params={"after": 4}).json()
    assert seen["customer_left"] is True
    assert [m["text"] for m in seen["messages"]] == ["customer_left"]
    assert agent.post(f"/api/agents/a01/contacts/{customer.contact}/complete").status_code == 200
    assert customer.state()["status"] == "ended" and customer.state()["outcome"] == "handled"
    # the transcript stays with the contact, for staff who read contacts
    transcript = org.clients[Role.SUPERVISOR].get(f"/api/contacts/{customer.contact}/transcript")
    assert transcript.status_code == 200
    assert [m["sender"] for m in transcript.json()["messages"]] == [
        "customer",
        "agent",
        "customer",
        "agent",
        "system",
    ]
    expert = org.clients[Role.KNOWLEDGE_EXPERT]
    assert expert.get(f"/api/contacts/{customer.contact}/transcript").status_code == 403


def test_a_callback_instead_of_waiting_keeps_the_place_in_line(org: Org) -> None:
    first, second = Customer(org, "Léa"), Customer(org, "Marc")
    # a callback asked for later, from another channel
    later = org.channel().post("/api/callbacks", json={"queue": "billing", "number": "+33 600"})
    assert later.status_code == 201, later.text
    r = second.post("callback", {"number": "+33 1 23 45 67 89"})
    assert r.status_code == 200, r.text
    assert r.json()["requested"] is True
    state = second.state()
    assert state["callback"] is True and state["status"] == "waiting"
    # in the line of callbacks, ahead of the one asked for after it arrived: it kept its place
    assert state["estimate"]["position"] == 1
    other = org.clients[Role.SUPERVISOR].get(f"/api/contacts/{later.json()['contact']}").json()
    assert other["live"]["estimate"]["position"] == 2
    assert [m["text"] for m in state["messages"]] == ["callback_requested"]
    assert second.post("callback", {"number": "+33 1 23 45 67 89"}).json()["requested"] is False
    record = org.clients[Role.SUPERVISOR].get(f"/api/contacts/{second.contact}").json()
    assert record["callback_requested"] is True
    bad = first.post("callback", {"number": "call me maybe"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"


def test_leaving_before_an_answer_is_an_abandon_with_its_wait(org: Org) -> None:
    customer = Customer(org)
    r = customer.post("leave")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ended" and r.json()["outcome"] == "abandoned"
    assert r.json()["wait"] is not None and r.json()["wait"] >= 0
    record = org.clients[Role.SUPERVISOR].get(f"/api/contacts/{customer.contact}").json()
    assert record["outcome"] == "abandoned" and record["reason"] == "customer_left"
    assert record["wait"] == r.json()["wait"]
    # a left chat can still be read by its customer, but takes nothing more
    assert customer.state()["outcome"] == "abandoned"
    for action, body in (("messages", {"text": "hello?"}), ("leave", None)):
        again = customer.post(action, body)
        assert again.status_code == 409 and again.json()["error"]["code"] == "contact_ended"


def test_a_token_reaches_its_own_contact_and_nothing_else(org: Org) -> None:
    mine, other = Customer(org, "Léa"), Customer(org, "Marc")
    for method, action in (("GET", ""), ("POST", "/messages"), ("POST", "/leave")):
        body = {"text": "hi"} if action == "/messages" else None
        r = mine.client.request(method, f"/api/chat/{other.contact}{action}", json=body)
        assert r.status_code == 403, (action, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    assert other.state()["messages"] == []  # nothing was written there
    anonymous = TestClient(org.app)
    assert anonymous.get(f"/api/chat/{mine.contact}").json()["error"]["code"] == "unauthenticated"
    forged = TestClient(org.app, headers={"X-Chat-Token": "jgc_forged"})
    assert forged.get(f"/api/chat/{mine.contact}").status_code == 401
    # a staff session is no chat token
    assert org.admin.get(f"/api/chat/{mine.contact}").status_code == 401
    # nor is a chat token a staff credential
    assert mine.client.get(f"/api/contacts/{mine.contact}").status_code == 401
    # an agent reaches the chats it holds only
    agent = org.clients[Role.AGENT]
    r = agent.get(_chat_path(mine.contact))
    assert r.status_code == 409 and r.json()["error"]["code"] == "contact_not_held"
    assert agent.get(_chat_path(mine.contact, agent="a05")).status_code == 403
    assert agent.get(_chat_path("c999")).json()["error"]["code"] == "unknown_contact"


def test_bad_input_gets_coded_errors(org: Org) -> None:
    client = TestClient(org.app)
    cases: list[tuple[Any, int, str]] = [
        ({"name": "", "topic": "billing"}, 422, "invalid_input"),
        ({"name": "x" * 101, "topic": "billing"}, 422, "invalid_input"),
        ({"name": "Léa", "topic": "nope"}, 404, "unknown_queue"),
        ({"name": "Léa", "topic": "../etc"}, 422, "invalid_input"),
        ({"name": "Léa", "topic": "billing", "language": "de"}, 422, "invalid_input"),
        ({"name": "Léa", "topic": "billing", "admin": True}, 422, "invalid_input"),
        ("not json", 422, "invalid_input"),
    ]
    for body, status, code in cases:
        r = client.post("/api/chat", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["code"] == code, body
    customer = Customer(org)
    for text in ("", "x" * 4001):
        r = customer.post("messages", {"text": text})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    r = customer.client.get(f"/api/chat/{customer.contact}", params={"after": -1})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    topics = client.get("/api/chat/topics").json()
    assert {"id": "billing", "name": "Billing"} in topics


def test_one_address_cannot_fill_the_queues(org: Org) -> None:
    from joignable.web.chat_api import CHATS_PER_MINUTE

    client = TestClient(org.app)
    body = {"name": "bot", "topic": "sales"}
    for _ in range(CHATS_PER_MINUTE):
        assert client.post("/api/chat", json=body).status_code == 201
    refused = client.post("/api/chat", json=body)
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["code"] == "too_many_requests" and 0 < error["retry_after"] <= 60
    # and nothing was created by the refusal
    waiting = org.clients[Role.SUPERVISOR].get("/api/export/contacts.csv").text
    assert waiting.count(",sales,") == CHATS_PER_MINUTE


def test_a_chat_token_lasts_the_chat_and_a_grace_after_it(org: Org) -> None:
    import pytest
    from starlette.websockets import WebSocketDisconnect

    from joignable.web.chat_store import TOKEN_GRACE

    gone, waiting, served = Customer(org, "Léa"), Customer(org, "Marc"), Customer(org, "Zoé")
    assert gone.post("leave").status_code == 200
    agent = org.clients[Role.AGENT]
    agent.put("/api/agents/a01/presence", json={"presence": "available"})
    offered = next(c for c in (waiting, served) if c.state()["status"] == "offered")
    waiting = served if offered is waiting else waiting
    assert agent.post(f"/api/agents/a01/offers/{offered.contact}/accept").status_code == 200
    assert agent.post(f"/api/agents/a01/contacts/{offered.contact}/complete").status_code == 200
    # within the grace, both ended chats can still be read
    assert gone.state()["outcome"] == "abandoned"
    assert offered.state()["outcome"] == "handled"
    real = org.services.clock
    store = org.app.state.chats
    later = lambda: real() + TOKEN_GRACE + 5  # noqa: E731
    org.services.clock = later
    store.clock = later
    try:
        for customer in (gone, offered):
            r = customer.client.get(f"/api/chat/{customer.contact}")
            assert r.status_code == 401, r.text
            assert r.json()["error"]["code"] == "chat_token_expired"
            assert customer.post("messages", {"text": "still there?"}).status_code == 401
        # the customer's stream refuses an expired token too (left, or ended by the agent)
        for customer in (gone, offered):
            with (
                pytest.raises(WebSocketDisconnect) as closed,
                customer.client.websocket_connect(f"/api/chat/{customer.contact}/stream") as ws,
            ):
                ws.send_json({"token": customer.start["token"]})
                ws.receive_json()
            assert closed.value.code == 4401
        # a chat still going on keeps its token, however long it waits
        assert waiting.state()["status"] in ("waiting", "offered")
    finally:
        org.services.clock = real
        store.clock = real
