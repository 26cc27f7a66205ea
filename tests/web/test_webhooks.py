"""Webhooks against a real HTTP receiver (uvicorn on loopback, in a thread): the signature
verifies, a 500 is retried, a receiver that keeps failing pauses its subscription, ids come in
ledger order with no duplicate, and a restart resumes from the stored position."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from joignable.web.accounts import Role
from joignable.web.app import create_app
from joignable.web.webhooks import SIGNATURE_HEADER, RetryPolicy, check_url, sign, verify

from .conftest import Org, login, open_org

FAST = RetryPolicy(base=0.02, cap=0.1, max_attempts=4)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next status of ``statuses`` (then ``default``)."""

    statuses: list[int] = field(default_factory=list)
    default: int = 200
    delay: float = 0.0  # seconds before answering
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with self.lock:
            self.got.append(Received(headers, body))
            status = self.statuses.pop(0) if self.statuses else self.default
        if self.delay:
            await asyncio.sleep(self.delay)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def payloads(self) -> list[dict[str, Any]]:
        """What each POST carried, in the order they came (retries included)."""
        return [json.loads(r.body) for r in self.got]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    config = uvicorn.Config(rec, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    rec.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield rec
    finally:
        server.should_exit = True
        thread.join(10)


def _until(what: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = what()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _fast(org: Org) -> None:
    hooks = org.app.state.webhooks
    hooks.allow_private = True  # the receiver is on loopback
    hooks.policy = FAST


def _subscribe(org: Org, url: str, events: list[str] | None = None) -> dict[str, Any]:
    r = org.admin.post("/api/webhooks", json={"url": url, "events": events or ["contact_arrived"]})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _arrive(org: Org, n: int, start: int = 0) -> None:
    channel = org.channel()
    for i in range(start, start + n):
        r = channel.post("/api/contacts", json={"queue": "billing", "customer": f"w{i}"})
        assert r.status_code in (200, 201), r.text


def test_a_delivery_is_signed_and_the_signature_verifies(org: Org, receiver: Receiver) -> None:
    _fast(org)
    hook = _subscribe(org, receiver.url)
    secret = hook["secret"]
    assert secret.startswith("whsec_")
    assert "secret" not in org.admin.get(f"/api/webhooks/{hook['id']}").json()  # shown once
    _arrive(org, 1)
    _until(lambda: receiver.got)
    got = receiver.got[0]
    payload = receiver.payloads()[0]
    assert payload["type"] == "contact_arrived" and payload["data"]["customer"] == "w0"
    assert got.headers["joignable-event-id"] == str(payload["id"])
    assert got.headers["joignable-event-type"] == "contact_arrived"
    assert got.headers["joignable-webhook-id"] == hook["id"]
    assert payload["id"] <= org.services.center.durable  # only what the ledger acknowledged
    header = got.headers[SIGNATURE_HEADER.lower()]
    assert verify(secret, header, got.body, time.time())
    assert not verify(secret, header, got.body + b" ", time.time())  # a changed body
    assert not verify("whsec_other", header, got.body, time.time())  # another secret
    assert not verify(secret, header, got.body, time.time() + 3600)  # a replay, an hour on
    # the log says delivered
    log = _until(
        lambda: [
            d
            for d in org.admin.get(f"/api/webhooks/{hook['id']}/deliveries").json()
            if d["status"] == "delivered"
        ]
    )
    assert log[0]["event_id"] == payload["id"] and log[0]["last_status"] == 200


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    body = b'{"id":1}'
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("whsec_x", 1700000000, body) == f"t=1700000000,v1={expected}"
    assert verify("whsec_x", sign("whsec_x", 1700000000, body), body, 1700000100)
    assert not verify("whsec_x", "v1=" + expected, body, 1700000000)  # no timestamp


def test_a_500_is_retried_and_ids_arrive_in_order_without_duplicates(
    org: Org, receiver: Receiver
) -> None:
    _fast(org)
    receiver.statuses = [500, 500]
    hook = _subscribe(org, receiver.url, ["contact_arrived", "offer_made"])
    _arrive(org, 5)
    expected = org.services.center.durable
    _until(
        lambda: (
            sum(
                1
                for d in org.admin.get(f"/api/webhooks/{hook['id']}/deliveries").json()
                if d["status"] == "delivered"
            )
            >= 5
        )
    )
    payloads = receiver.payloads()
    # the first event was tried three times; then each once, in ledger order
    assert [p["id"] for p in payloads[:3]] == [payloads[0]["id"]] * 3
    ids = [p["id"] for p in payloads[2:]]
    assert ids == sorted(set(ids)) and ids[-1] <= expected
    attempts = [r.headers["joignable-delivery-attempt"] for r in receiver.got[:3]]
    assert attempts == ["1", "2", "3"]
    assert {p["type"] for p in payloads} <= {"contact_arrived", "offer_made"}
    first = next(
        d
        for d in org.admin.get(f"/api/webhooks/{hook['id']}/deliveries").json()
        if d["event_id"] == payloads[0]["id"]
    )
    assert first["status"] == "delivered" and first["attempts"] == 3
    assert org.admin.get(f"/api/webhooks/{hook['id']}").json()["failures"] == 0


def test_a_receiver_that_keeps_failing_pauses_its_subscription_until_resumed(
    org: Org, receiver: Receiver
) -> None:
    _fast(org)
    receiver.default = 503
    hook = _subscribe(org, receiver.url)
    _arrive(org, 2)
    paused = _until(
        lambda: (
            (h := org.admin.get(f"/api/webhooks/{hook['id']}").json())["status"] == "paused" and h
        )
    )
    assert "4 failed attempts" in paused["paused_reason"] and "HTTP 503" in paused["paused_reason"]
    assert len(receiver.got) == FAST.max_attempts  # nothing more once paused
    (entry,) = org.admin.get(f"/api/webhooks/{hook['id']}/deliveries").json()
    assert entry["status"] == "failed" and entry["attempts"] == 4
    assert entry["last_status"] == 503 and entry["last_error"] == "HTTP 503"
    time.sleep(0.2)
    assert len(receiver.got) == FAST.max_attempts
    # resumed: the failed event first, then the next one
    receiver.default = 200
    r = org.admin.post(f"/api/webhooks/{hook['id']}/resume")
    assert r.status_code == 200 and r.json()["status"] == "active"
    _until(lambda: len(receiver.got) >= FAST.max_attempts + 2)
    later = receiver.payloads()[FAST.max_attempts :]
    assert [p["data"]["customer"] for p in later] == ["w0", "w1"]
    actions = [e["action"] for e in org.admin.get("/api/audit-log").json()]
    assert {"webhook.create", "webhook.paused", "webhook.resume"} <= set(actions)


def test_a_restart_resumes_from_the_stored_position(tmp_path: Path, receiver: Receiver) -> None:
    db = tmp_path / "center.db"
    receiver.default = 500  # nothing gets through before the restart
    services, logins = open_org(db)
    admin_login = next(x for x in logins if x.role is Role.ADMIN)
    try:
        app = create_app(services)
        with TestClient(app):
            org = Org(app, services, {Role.ADMIN: admin_login})
            org.clients[Role.ADMIN] = login(app, admin_login.username, admin_login.password)
            _fast(org)
            org.app.state.webhooks.policy = RetryPolicy(base=0.05, cap=0.05, max_attempts=1000)
            hook = _subscribe(org, receiver.url)
            _arrive(org, 3)
            _until(lambda: len(receiver.got) >= 2)
    finally:
        services.close()
    tried = len(receiver.got)
    receiver.default = 200
    services, _ = open_org(db)
    try:
        app = create_app(services)
        org = Org(app, services, {Role.ADMIN: admin_login})
        _fast(org)  # before the lifespan starts the sender, or it finds loopback refused first
        with TestClient(app):
            org.clients[Role.ADMIN] = login(app, admin_login.username, admin_login.password)
            _arrive(org, 1, start=3)
            _until(lambda: len(receiver.got) >= tried + 4)
            time.sleep(0.2)
            after = receiver.payloads()[tried:]
            assert [p["data"]["customer"] for p in after] == ["w0", "w1", "w2", "w3"]
            assert {p["webhook"] for p in after} == {hook["id"]}
            h = org.admin.get(f"/api/webhooks/{hook['id']}").json()
            assert h["position"] >= after[-1]["id"]
    finally:
        services.close()


def test_a_deleted_subscription_stops_at_once_and_leaves_no_log(
    org: Org, receiver: Receiver
) -> None:
    import sqlite3

    _fast(org)
    org.app.state.webhooks.policy = RetryPolicy(base=0.05, cap=0.05, max_attempts=1000)
    receiver.default = 500
    hook = _subscribe(org, receiver.url)
    _arrive(org, 2)
    _until(lambda: len(receiver.got) >= 3)  # retrying the first event
    assert org.admin.delete(f"/api/webhooks/{hook['id']}").status_code == 200
    time.sleep(0.2)
    seen = len(receiver.got)
    time.sleep(0.3)
    assert len(receiver.got) == seen  # no more tries
    db = sqlite3.connect(org.services.db_path)
    try:
        rows = db.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0]
    finally:
        db.close()
    assert rows == 0
    r = org.admin.get(f"/api/webhooks/{hook['id']}/deliveries")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_webhook"


def test_a_slow_receiver_does_not_slow_the_center(org: Org, receiver: Receiver) -> None:
    _fast(org)
    receiver.delay = 5.0
    _subscribe(org, receiver.url)
    _arrive(org, 1)
    _until(lambda: receiver.got)  # a delivery is hanging on the receiver
    started = time.monotonic()
    _arrive(org, 30, start=1)
    assert time.monotonic() - started < 4.0  # not held up by the 5 s answer
    assert len(receiver.got) == 1  # one at a time, in order


def test_only_http_urls_to_public_hosts_are_accepted(org: Org) -> None:
    refused = [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com",
        "http://user:pw@example.com/x",
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
        "not a url",
        "http://exa mple.com/x",
        "http://[::1",
        "http://example.com:99999/",
    ]
    for url in refused:
        r = org.admin.post("/api/webhooks", json={"url": url, "events": ["contact_ended"]})
        assert r.status_code == 422, url
        assert r.json()["error"]["code"] == "webhook_url_refused", (url, r.text)
    assert check_url("https://hooks.example.com/joignable", allow_private=False)
    r = org.admin.post(
        "/api/webhooks", json={"url": "https://hooks.example.com/j", "events": ["nope"]}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_webhooks_are_for_administrators_and_tokens_with_the_scope(org: Org) -> None:
    for role in (Role.SUPERVISOR, Role.AGENT, Role.KNOWLEDGE_EXPERT):
        r = org.clients[role].get("/api/webhooks")
        assert r.status_code == 403
    secret, _ = org.token("webhooks:manage")
    from .conftest import with_token

    integration = with_token(org.app, secret)
    r = integration.post(
        "/api/webhooks", json={"url": "https://hooks.example.com/j", "events": ["offer_made"]}
    )
    assert r.status_code == 201, r.text
    wid = r.json()["id"]
    assert [h["id"] for h in integration.get("/api/webhooks").json()] == [wid]
    assert integration.delete(f"/api/webhooks/{wid}").status_code == 200
    assert integration.get(f"/api/webhooks/{wid}").json()["error"]["code"] == "unknown_webhook"
    assert integration.get("/api/webhooks").json() == []


def test_the_receiver_code_in_the_docs_verifies_a_real_delivery(
    org: Org, receiver: Receiver
) -> None:
    import re

    docs = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text()
    (snippet,) = re.findall(r"```python\n(.*?)```", docs, re.S)
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # the integrator's few lines, as printed
    _fast(org)
    hook = _subscribe(org, receiver.url)
    _arrive(org, 1)
    _until(lambda: receiver.got)
    got = receiver.got[0]
    header = got.headers[SIGNATURE_HEADER.lower()]
    assert namespace["verify"](hook["secret"], header, got.body)
    assert not namespace["verify"](hook["secret"], header, got.body.replace(b"w0", b"w1"))


@settings(max_examples=200, deadline=None)
@given(
    base=st.floats(0.001, 60),
    cap=st.floats(0.001, 7200),
    failures=st.integers(1, 200),
    seed=st.integers(0, 2**32),
)
def test_a_retry_waits_between_half_and_all_of_the_capped_doubling(
    base: float, cap: float, failures: int, seed: int
) -> None:
    import random

    policy = RetryPolicy(base=base, cap=cap)
    full = min(cap, base * 2 ** (failures - 1))
    delay = policy.delay(failures, random.Random(seed))
    assert full / 2 <= delay <= full
    assert delay <= cap
