"""A contact's whole life through the API, and what the read side then shows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fastapi.testclient import TestClient

from joignable.web.accounts import Role
from joignable.web.app import create_app

from .conftest import Org, login, open_org


def _serve_one(org: Org, agent: TestClient, customer: str, disposition: str = "resolved") -> str:
    channel = org.channel()
    r = channel.post(
        "/api/contacts", json={"queue": "billing", "channel": "chat", "customer": customer}
    )
    assert r.status_code == 201, r.text
    cid = r.json()["contact"]
    assert agent.put("/api/agents/a01/presence", json={"presence": "available"}).status_code == 200
    work = agent.get("/api/agents/a01/work").json()
    assert [o["contact"] for o in work["offers"]] == [cid]
    assert work["offers"][0]["customer"] == customer
    assert agent.post(f"/api/agents/a01/offers/{cid}/accept").json()["accepted"] is True
    # accept is idempotent
    assert agent.post(f"/api/agents/a01/offers/{cid}/accept").json()["accepted"] is False
    assert agent.post(f"/api/agents/a01/contacts/{cid}/complete").status_code == 200
    r = agent.post(
        f"/api/agents/a01/wrapups/{cid}", json={"disposition": disposition, "notes": "ok"}
    )
    assert r.status_code == 200, r.text
    return cid


def test_a_contact_from_arrival_to_wrap_up(org: Org) -> None:
    agent = org.clients[Role.AGENT]
    cid = _serve_one(org, agent, "cust-42")

    history = agent.get("/api/customers/cust-42/contacts").json()
    assert len(history) == 1
    assert history[0]["contact"] == cid
    assert history[0]["outcome"] == "handled"
    assert history[0]["agent"] == "a01"
    assert history[0]["disposition"] == "resolved"
    assert history[0]["notes"] == "ok"

    sup = org.clients[Role.SUPERVISOR]
    totals = sup.get("/api/stats/intervals", params={"queue": "billing"}).json()["totals"]
    assert totals["offered"] == 1 and totals["handled"] == 1
    live = sup.get("/api/stats/live").json()
    assert live["queues"]["billing"]["waiting"] == 0
    assert live["agents"]["a01"]["state"] == "available"
    assert live["seq"] == org.services.center.durable

    report = sup.get("/api/audit").json()
    assert report["ok"] is True
    assert report["counts"]["handled"] == 1


def test_waiting_contact_gets_an_honest_estimate_then_a_callback(org: Org) -> None:
    channel = org.channel()
    r = channel.post("/api/contacts", json={"queue": "tech", "channel": "voice", "customer": "c9"})
    body = r.json()
    assert body["status"] == "queued"
    assert body["estimated_wait"] is None  # nobody logged in: no number is invented
    assert "no eligible agent" in body["explanation"]
    cid = body["contact"]
    live = channel.get(f"/api/contacts/{cid}").json()["live"]
    assert live["status"] == "waiting" and live["estimate"]["position"] == 1

    r = channel.post(f"/api/contacts/{cid}/callback", json={"number": "+33 1 23 45 67 89"})
    assert r.json() == {"contact": cid, "requested": True}
    r = channel.post(f"/api/contacts/{cid}/callback", json={"number": "+33 1 23 45 67 89"})
    assert r.json()["requested"] is False  # idempotent
    assert channel.get(f"/api/contacts/{cid}").json()["callback_requested"] is True


def test_customer_cancel_is_an_abandon_and_only_once(org: Org) -> None:
    channel = org.channel()
    cid = channel.post("/api/contacts", json={"queue": "sales", "customer": "c7"}).json()["contact"]
    r = channel.post(f"/api/contacts/{cid}/cancel")
    assert r.status_code == 200
    r = channel.post(f"/api/contacts/{cid}/cancel")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "contact_ended"
    assert channel.get(f"/api/contacts/{cid}").json()["outcome"] == "abandoned"


def test_csv_export_has_one_row_per_contact(org: Org) -> None:
    agent = org.clients[Role.AGENT]
    handled = _serve_one(org, agent, "alice")
    channel = org.channel()
    waiting = channel.post("/api/contacts", json={"queue": "french", "customer": "bob"}).json()
    r = org.clients[Role.SUPERVISOR].get("/api/export/contacts.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["contact"] for row in rows] == [handled, waiting["contact"]]
    assert rows[0]["outcome"] == "handled" and rows[0]["disposition"] == "resolved"
    assert rows[1]["outcome"] == "" and rows[1]["queue"] == "french"


def test_transfer_to_a_queue_keeps_the_contact(org: Org) -> None:
    agent = org.clients[Role.AGENT]
    channel = org.channel()
    cid = channel.post("/api/contacts", json={"queue": "billing", "customer": "z"}).json()[
        "contact"
    ]
    agent.put("/api/agents/a01/presence", json={"presence": "available"})
    agent.post(f"/api/agents/a01/offers/{cid}/accept")
    r = agent.post(f"/api/agents/a01/contacts/{cid}/transfer", json={"queue": "tech"})
    assert r.status_code == 200, r.text
    record = channel.get(f"/api/contacts/{cid}").json()
    assert record["transfers"] == 1 and record["final_queue"] == "tech"
    r = agent.post(
        f"/api/agents/a01/contacts/{cid}/transfer", json={"queue": "tech", "to_agent": "a02"}
    )
    assert r.status_code in (409, 422)  # no longer in conversation with a01, and two targets


def test_a_disposition_must_be_a_wrap_up_code(org: Org) -> None:
    agent = org.clients[Role.AGENT]
    channel = org.channel()
    cid = channel.post("/api/contacts", json={"queue": "billing"}).json()["contact"]
    agent.put("/api/agents/a01/presence", json={"presence": "available"})
    agent.post(f"/api/agents/a01/offers/{cid}/accept")
    agent.post(f"/api/agents/a01/contacts/{cid}/complete")
    r = agent.post(f"/api/agents/a01/wrapups/{cid}", json={"disposition": "made_up"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"
    assert agent.get("/api/agents/a01/work").json()["wrapups"][0]["contact"] == cid


def test_everything_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "center.db"
    services, logins = open_org(db)
    agent_login = next(x for x in logins if x.role is Role.AGENT)
    try:
        app = create_app(services)
        with TestClient(app):
            org = Org(app, services, {x.role: x for x in logins})
            for x in logins:
                org.clients[x.role] = login(app, x.username, x.password)
            cid = _serve_one(org, org.clients[Role.AGENT], "carol")
    finally:
        services.close()

    services, again = open_org(db)
    try:
        assert again == []  # seeded once only
        app = create_app(services)
        with TestClient(app):
            agent = login(app, agent_login.username, agent_login.password)
            history = agent.get("/api/customers/carol/contacts").json()
            assert [h["contact"] for h in history] == [cid]
            assert history[0]["outcome"] == "handled"
            assert len(agent.get("/api/queues").json()) == 4
    finally:
        services.close()
