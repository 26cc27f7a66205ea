"""A chat customer who went away without a word: released as an abandon after a silence, unless
it is in conversation, has an open stream, or asked to be called back."""

from __future__ import annotations

import asyncio
import time

from fastapi.testclient import TestClient

from joignable.web.accounts import Role
from joignable.web.app import create_app
from joignable.web.chat_presence import GONE_AFTER, reap_once

from .conftest import Org
from .test_chat import Customer


def test_a_silent_waiting_customer_is_released_as_an_abandon_with_its_wait(org: Org) -> None:
    gone, talking, called, streaming = (Customer(org, n) for n in ("A", "B", "C", "D"))
    assert called.post("callback", {"number": "+33 611"}).json()["requested"] is True
    attendance = org.app.state.chat_attendance
    later = time.time() + GONE_AFTER + 1
    attendance.seen(talking.contact, later - 5)  # heard from a moment ago
    with TestClient(org.app).websocket_connect(f"/api/chat/{streaming.contact}/stream") as ws:
        ws.send_json({"token": streaming.start["token"]})
        ws.receive_json()  # the stream is open: its customer is there
        reaped = asyncio.run(reap_once(org.services, org.app.state.chats, attendance, later))
    assert reaped == [gone.contact]
    assert called.contact not in attendance.last_seen  # it will be called: no longer watched
    record = org.clients[Role.SUPERVISOR].get(f"/api/contacts/{gone.contact}").json()
    assert record["outcome"] == "abandoned" and record["reason"] == "customer_gone"
    assert record["wait"] is not None and record["wait"] >= 0
    state = gone.state()
    assert state["status"] == "ended" and state["messages"][-1]["text"] == "customer_gone"
    for still in (talking, called, streaming):
        assert still.state()["status"] == "waiting"
    assert gone.post("messages", {"text": "back!"}).json()["error"]["code"] == "contact_ended"


def test_after_a_restart_open_chats_get_a_grace_period(org: Org) -> None:
    waiting, left = Customer(org, "A"), Customer(org, "B")
    left.post("leave")
    restarted = create_app(org.services)  # a new app over the same ledger and chat tables
    assert set(restarted.state.chat_attendance.last_seen) == {waiting.contact}
