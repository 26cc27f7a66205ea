"""The knowledge API over a real server and its SQLite file, seeded with the demo base: search
that says why, review with coded refusals, flow runs saved with their contact, the learning loop
(a linked query improves the ranking, gaps become drafts), the publish gate, analytics, training
down to the agent's routing skill level, and the chat customer's self-service (deflection,
hand-over with the packet)."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from joignable.web.accounts import Role
from joignable.web.kb_service import KnowledgeService

from .conftest import Org

A, S, G, K = Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.KNOWLEDGE_EXPERT


def _contact(org: Org, queue: str = "tech") -> str:
    r = org.channel().post("/api/contacts", json={"queue": queue, "customer": "cust-9"})
    assert r.status_code == 201, r.text
    return str(r.json()["contact"])


def _ranks(client: TestClient, q: str, key: str, lang: str = "en") -> int:
    r = client.get("/api/kb/search", params={"q": q, "lang": lang, "k": 10})
    assert r.status_code == 200, r.text
    keys = [h["key"] for h in r.json()["results"]]
    return keys.index(key) + 1 if key in keys else 99


def _outcome(org: Org, contact: str) -> str | None:
    deadline = time.monotonic() + 5
    while True:
        record = org.admin.get(f"/api/contacts/{contact}").json()
        if record.get("outcome") or time.monotonic() > deadline:
            return record.get("outcome")  # type: ignore[no-any-return]
        time.sleep(0.02)


def test_search_says_why_each_result_matched_and_respects_the_audience(org: Org) -> None:
    agent = org.clients[G]
    r = agent.get("/api/kb/search", params={"q": "ma box clignote"})
    body = r.json()
    assert r.status_code == 200 and body["lang"] == "fr" and not body["gap"]
    best = body["results"][0]
    assert best["key"] == "article:fr-reboot-box"
    assert {"kind": "term", "text": '"clignote"'} in best["why"]
    # a typo is read as the word it means, and says so
    typo = agent.get("/api/kb/search", params={"q": "retention ofers", "lang": "en"}).json()
    assert typo["results"][0]["key"] == "article:en-retention"
    assert any(w["kind"] == "typo" for w in typo["results"][0]["why"])
    # customers never see agent-only content
    customer = agent.get(
        "/api/kb/search", params={"q": "retention offers", "lang": "en", "audience": "customer"}
    ).json()
    assert all(h["audience"] == "customer" for h in customer["results"])
    assert "article:en-retention" not in [h["key"] for h in customer["results"]]
    bad = agent.get("/api/kb/search", params={"q": ""})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"


def test_published_content_reads_and_unknown_ids_are_coded(org: Org) -> None:
    agent = org.clients[G]
    articles = agent.get("/api/kb/articles", params={"lang": "en"}).json()
    assert {a["id"] for a in articles} >= {"en-reboot-box", "en-retention"}
    assert all(a["state"] == "published" for a in articles)
    article = agent.get("/api/kb/articles/en-reboot-box").json()
    assert article["content"]["steps"] and article["history"][-1]["action"] == "published"
    flow = agent.get("/api/kb/flows/en-no-internet").json()
    assert flow["content"]["start"] == "check_outage"
    missing = agent.get("/api/kb/articles/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "kb_unknown"
    # drafts are for editors
    assert agent.get("/api/kb/items/article/en-reboot-box").status_code == 403


def test_review_from_draft_to_published_and_back(org: Org) -> None:
    expert, agent = org.clients[K], org.clients[G]
    data = {
        "id": "en-esim",
        "title": "Activate an eSIM",
        "lang": "en",
        "audience": "customer",
        "body": "Scan the QR code we sent by email from your phone's settings.",
        "phrasings": ["activate esim", "qr code for my esim"],
    }
    bad = expert.post("/api/kb/drafts", json={"kind": "article", "content": {**data, "lang": "de"}})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "kb_invalid_content"
    assert "lang" in bad.json()["error"]["message"]
    dangling = {
        "id": "en-x",
        "title": "X",
        "lang": "en",
        "start": "a",
        "nodes": {"a": {"type": "outcome", "result": "resolved", "article": "nowhere"}},
    }
    refused = expert.post("/api/kb/drafts", json={"kind": "flow", "content": dangling})
    assert refused.status_code == 422 and "nowhere" in refused.json()["error"]["message"]

    draft = expert.post("/api/kb/drafts", json={"kind": "article", "content": data})
    assert draft.status_code == 201 and draft.json()["state"] == "draft"
    base = "/api/kb/items/article/en-esim/versions/1"
    early = expert.post(f"{base}/publish", json={})
    assert early.status_code == 409 and early.json()["error"]["code"] == "kb_bad_move"
    assert expert.post(f"{base}/submit").json()["state"] == "in_review"
    # agents read and search, they do not review
    assert agent.post(f"{base}/publish", json={}).status_code == 403
    assert agent.post(f"{base}/comment", json={"text": "hm"}).status_code == 403
    sent = expert.post(f"{base}/send-back", json={"text": "say where the QR code is"})
    assert sent.json()["state"] == "draft"
    assert sent.json()["history"][-1]["note"] == "say where the QR code is"
    expert.post(f"{base}/submit")
    expert.post(f"{base}/comment", json={"text": "fine now"})
    published = expert.post(f"{base}/publish", json={})
    assert published.status_code == 200, published.text
    assert published.json()["state"] == "published"
    assert _ranks(agent, "activate my esim", "article:en-esim") == 1  # searchable at once
    # a second version, then a rollback: a *new* version with the first content
    v2 = expert.post(
        "/api/kb/drafts",
        json={"kind": "article", "content": {**data, "title": "eSIM activation (new)"}},
    )
    assert v2.json()["version"] == 2
    expert.post("/api/kb/items/article/en-esim/versions/2/submit")
    expert.post("/api/kb/items/article/en-esim/versions/2/publish", json={})
    assert agent.get("/api/kb/articles/en-esim").json()["title"] == "eSIM activation (new)"
    back = expert.post("/api/kb/items/article/en-esim/rollback")
    assert back.json()["version"] == 3 and back.json()["title"] == "Activate an eSIM"
    states = [v["state"] for v in expert.get("/api/kb/items/article/en-esim").json()["versions"]]
    assert states == ["archived", "archived", "published"]
    # an article a published flow still shows cannot be archived: the flow is named
    used = expert.post("/api/kb/items/article/en-reboot-box/versions/1/archive")
    assert used.status_code == 422 and used.json()["error"]["code"] == "kb_invalid_content"
    assert "en-no-internet" in used.json()["error"]["message"]
    assert agent.get("/api/kb/articles/en-reboot-box").status_code == 200
    none = expert.post("/api/kb/items/article/nope/rollback")
    assert none.status_code == 409 and none.json()["error"]["code"] == "kb_no_previous"


def test_a_flow_run_is_saved_with_its_contact(org: Org) -> None:
    agent = org.clients[G]
    contact = _contact(org)
    r = agent.post("/api/kb/runs", json={"flow": "en-no-internet", "contact_id": contact})
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["question"]["text"].startswith("What colour")
    assert not run["can_go_back"]
    rid = run["run"]
    wrong = agent.post(f"/api/kb/runs/{rid}/answer", json={"value": "purple"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "run_bad_answer"
    red = agent.post(f"/api/kb/runs/{rid}/answer", json={"value": "Red"}).json()
    assert red["ended"] and red["outcome"]["article"]["id"] == "en-led-red"
    again = agent.post(f"/api/kb/runs/{rid}/back").json()
    assert again["node"] == "ask_light" and not again["ended"]
    long = agent.post(f"/api/kb/runs/{rid}/answer", json={"value": "x" * 501})
    assert long.status_code == 422 and long.json()["error"]["code"] == "invalid_input"
    start = agent.post(f"/api/kb/runs/{rid}/back")
    assert start.status_code == 409 and start.json()["error"]["code"] == "run_at_start"
    agent.post(f"/api/kb/runs/{rid}/answer", json={"value": "off"})
    end = agent.post(f"/api/kb/runs/{rid}/answer", json={"value": "No"}).json()
    assert end["handover"]["queue"] == "tech"
    seen = agent.get(f"/api/kb/contacts/{contact}").json()
    assert [s["node"] for s in seen["runs"][0]["path"]] == [
        "check_outage",
        "ask_light",
        "reboot",
        "human",
    ]
    # known facts skip their questions (a known area outage goes straight to the article)
    known = agent.post(
        "/api/kb/runs", json={"flow": "en-no-internet", "facts": {"area_outage": True}}
    ).json()
    assert known["ended"] and known["outcome"]["article"]["id"] == "en-outage"
    # someone else's run is not yours
    other = org.clients[K].get(f"/api/kb/runs/{rid}")
    assert other.status_code == 403
    assert agent.get("/api/kb/runs/rnope").json()["error"]["code"] == "run_unknown"
    unknown = agent.post("/api/kb/runs", json={"flow": "en-no-internet", "contact_id": "c999"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_contact"


def test_linking_the_article_that_solved_a_contact_improves_the_ranking(org: Org) -> None:
    agent = org.clients[G]
    query = "netflix keeps buffering"
    key = "article:en-wifi-slow"
    before = _ranks(agent, query, key)
    assert before > 1
    contact = _contact(org)
    agent.get("/api/kb/search", params={"q": query, "lang": "en", "contact_id": contact})
    r = agent.post(f"/api/kb/contacts/{contact}/solved-by", json={"article": "en-wifi-slow"})
    assert r.status_code == 200, r.text
    assert r.json() == {"contact": contact, "item": key, "query": query, "learned": True}
    assert _ranks(agent, query, key) == 1
    linked = agent.get(f"/api/kb/contacts/{contact}").json()["solved_by"]
    assert linked[0]["item"] == key and linked[0]["query"] == query
    nothing = agent.post(f"/api/kb/contacts/{contact}/solved-by", json={"article": "nope"})
    assert nothing.status_code == 404 and nothing.json()["error"]["code"] == "kb_unknown"


def test_gaps_become_drafts_and_proposals_land_in_review(org: Org) -> None:
    agent, expert = org.clients[G], org.clients[K]
    for q in ("blorptastic zazzle", "blorptastic zazzle!", "blorptastic zazzle"):
        assert agent.get("/api/kb/search", params={"q": q, "lang": "en"}).json()["gap"]
    gaps = expert.get("/api/kb/gaps").json()
    assert gaps[0]["count"] == 3 and gaps[0]["label"] == "blorptastic zazzle"
    assert org.clients[S].get("/api/kb/gaps").status_code == 200  # supervisors see them
    assert agent.get("/api/kb/gaps").status_code == 403
    draft = expert.post("/api/kb/gaps/0/draft", json={"article_id": "en-zazzle"})
    assert draft.status_code == 201, draft.text
    assert draft.json()["content"]["phrasings"][0] == "blorptastic zazzle"
    assert expert.get("/api/kb/gaps").json() == []
    assert expert.post("/api/kb/gaps/0/draft", json={"article_id": "x"}).status_code == 404

    contact = _contact(org)
    agent.get("/api/kb/search", params={"q": "router smells of smoke", "contact_id": contact})
    proposal = agent.post(
        f"/api/kb/contacts/{contact}/proposals",
        json={"title": "A router that overheats", "lang": "en", "steps": ["Unplug it"]},
    )
    assert proposal.status_code == 201, proposal.text
    got = proposal.json()
    assert got["state"] == "draft" and got["owner"] == "a01"
    assert got["content"]["phrasings"] == ["router smells of smoke"]
    queue = expert.get("/api/kb/review").json()
    assert {d["key"] for d in queue["drafts"]} >= {"article:en-zazzle", got["key"]}


def test_the_publish_gate_blocks_a_flow_that_breaks_recorded_paths(org: Org) -> None:
    agent, expert = org.clients[G], org.clients[K]
    rid = agent.post("/api/kb/runs", json={"flow": "en-no-internet"}).json()["run"]
    agent.post(f"/api/kb/runs/{rid}/answer", json={"value": "white"})
    assert agent.post(f"/api/kb/runs/{rid}/answer", json={"value": True}).json()["ended"]
    flow = expert.get("/api/kb/flows/en-no-internet").json()["content"]
    # a change that swaps where "yes" and "no" lead after the Ethernet question
    choices = flow["nodes"]["ask_wifi_only"]["choices"]
    choices[0]["next"], choices[1]["next"] = "reboot", "wifi"
    v = expert.post("/api/kb/drafts", json={"kind": "flow", "content": flow}).json()
    assert v["unreviewed"] == ["ask_wifi_only"]  # only the changed node needs a look
    path = f"/api/kb/items/flow/en-no-internet/versions/{v['version']}"
    expert.post(f"{path}/submit")
    blocked = expert.post(f"{path}/publish", json={})
    assert blocked.status_code == 409, blocked.text
    assert blocked.json()["error"]["code"] == "kb_publish_blocked"
    assert "now asks more" in blocked.json()["error"]["message"]
    forced = expert.post(f"{path}/publish", json={"force": True})
    assert forced.status_code == 200 and forced.json()["state"] == "published"


def test_analytics_and_health(org: Org) -> None:
    agent, expert = org.clients[G], org.clients[K]
    rid = agent.post("/api/kb/runs", json={"flow": "en-no-internet"}).json()["run"]
    agent.post(f"/api/kb/runs/{rid}/answer", json={"value": "red"})
    agent.post("/api/kb/runs", json={"flow": "en-no-internet"})  # dropped at the first question
    agent.get("/api/kb/articles/en-move", params={"opened": True})
    report = expert.get("/api/kb/analytics").json()
    stats = report["flows"]["en-no-internet"]
    assert stats["runs"] == 2 and stats["escalated"] == 1 and stats["abandoned"] == 1
    assert stats["nodes"]["en-no-internet/ask_light"]["drop_offs"] == 1
    assert report["articles"]["en-led-red"]["shown"] == 1
    assert report["articles"]["en-move"]["shown"] == 1
    flags = expert.get("/api/kb/health").json()
    never = {f["key"] for f in flags if f["code"] == "never-used"}
    assert "article:en-roaming" in never and "flow:en-no-internet" not in never
    stale = expert.get("/api/kb/health", params={"stale_days": 0}).json()
    assert any(f["code"] == "stale" for f in stale)
    assert agent.get("/api/kb/analytics").status_code == 403


def test_training_results_lead_to_a_routing_skill_level(org: Org) -> None:
    agent, sup = org.clients[G], org.clients[S]
    p = agent.post("/api/kb/training/practice", json={"flow": "en-no-internet", "skill": "tech"})
    assert p.status_code == 201, p.text
    practice = p.json()
    while not practice["done"]:
        said = practice["customer_says"]
        value = next(c["value"] for c in practice["question"]["choices"] if c["label"] == said)
        practice = agent.post(
            f"/api/kb/training/practice/{practice['practice']}/pick", json={"value": value}
        ).json()
        assert practice["right"]
    assert practice["score"] == 1.0
    quiz = agent.get("/api/kb/training/quiz/en-no-internet", params={"seed": 3}).json()
    assert quiz["items"] and "answer" not in quiz["items"][0]
    graded = agent.post(
        "/api/kb/training/quiz/en-no-internet",
        json={"seed": 3, "picks": [0] * len(quiz["items"]), "skill": "tech"},
    ).json()
    right = agent.post(
        "/api/kb/training/quiz/en-no-internet",
        json={"seed": 3, "picks": graded["right"], "skill": "tech"},
    ).json()
    assert right["score"] == 1.0
    mine = agent.get("/api/kb/training/results").json()
    assert [r["kind"] for r in mine] == ["practice", "quiz", "quiz"]
    # too few results for a suggestion: the supervisor is told, nothing changes
    early = sup.post("/api/kb/training/agents/a01/skills/tech/apply", json={})
    assert early.status_code == 409 and early.json()["error"]["code"] == "no_suggestion"
    for _ in range(2):
        agent.post(
            "/api/kb/training/quiz/en-no-internet",
            json={"seed": 3, "picks": graded["right"], "skill": "tech"},
        )
    book = sup.get("/api/kb/training/gradebook").json()
    row = next(r for r in book if r["agent"] == "a01" and r["skill"] == "tech")
    assert row["results"] == 5 and row["suggested_level"] is not None
    applied = sup.post("/api/kb/training/agents/a01/skills/tech/apply", json={})
    assert applied.status_code == 200, applied.text
    level = applied.json()["level"]
    assert level == row["suggested_level"]
    config = sup.get("/api/agents/a01").json()["config"]
    assert config["skills"]["tech"] == level  # in the routing core
    audit = org.admin.get("/api/audit-log").json()
    assert any(e["action"] == "agent.skill_level" and e["target"] == "a01" for e in audit)
    # agents do not raise their own level
    assert agent.post("/api/kb/training/agents/a01/skills/tech/apply", json={}).status_code == 403
    unknown = sup.post("/api/kb/training/agents/nobody/skills/tech/apply", json={"level": 2})
    assert unknown.status_code == 404


class ChatCustomer:
    def __init__(self, org: Org, topic: str = "tech") -> None:
        self.client = TestClient(org.app)
        r = self.client.post("/api/chat", json={"name": "Léa", "topic": topic, "language": "en"})
        assert r.status_code == 201, r.text
        self.contact = r.json()["contact"]
        self.client.headers["X-Chat-Token"] = r.json()["token"]

    def kb(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        url = f"/api/chat/{self.contact}/kb{path}"
        return self.client.request(method, url, json=body, params=params or None)


def test_a_customer_solves_it_alone_and_the_contact_is_deflected(org: Org) -> None:
    me = ChatCustomer(org)
    found = me.kb("GET", "/search", q="internet not working", lang="en").json()
    assert found["results"][0]["key"] == "flow:en-no-internet"
    assert all(h["audience"] == "customer" for h in found["results"])
    assert me.kb("GET", "/articles/en-retention").status_code == 404  # agents only
    run = me.kb("POST", "/runs", {"flow": "en-no-internet"}).json()
    run = me.kb("POST", f"/runs/{run['run']}/answer", {"value": "off"}).json()
    run = me.kb("POST", f"/runs/{run['run']}/answer", {"value": "Yes"}).json()
    assert run["outcome"]["article"]["id"] == "en-reboot-box"
    done = me.kb("POST", "/solved", {"run": run["run"]})
    assert done.status_code == 200, done.text
    assert _outcome(org, me.contact) == "deflected"
    assert me.client.get(f"/api/chat/{me.contact}").json()["messages"][-1]["text"] == "kb_solved"
    again = me.kb("POST", "/solved", {})
    assert again.status_code == 409
    report = org.clients[K].get("/api/kb/analytics").json()
    assert report["flows"]["en-no-internet"]["deflected"] == 1
    # a customer's capability reaches its own chat only
    other = ChatCustomer(org)
    stolen = other.client.post(f"/api/chat/{me.contact}/kb/runs", json={"flow": "en-no-internet"})
    assert stolen.status_code == 403
    foreign = other.kb("GET", f"/runs/{run['run']}")
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "run_unknown"
    agent_flow = other.kb("POST", "/runs", {"flow": "en-high-bill"})
    assert agent_flow.status_code == 404


def test_a_customer_hands_over_and_the_agent_sees_the_path(org: Org) -> None:
    me = ChatCustomer(org)
    me.kb("GET", "/search", q="no internet at all", lang="en")
    run = me.kb("POST", "/runs", {"flow": "en-no-internet"}).json()
    run = me.kb("POST", f"/runs/{run['run']}/answer", {"value": "white"}).json()
    r = me.kb("POST", "/handover", {"run": run["run"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "waiting"  # still in line: a person takes it
    agent = org.clients[G]
    seen = agent.get(f"/api/kb/contacts/{me.contact}").json()
    packet = seen["handover"]
    assert packet["query"] == "no internet at all" and packet["queue"] == "tech"
    assert packet["answered"] == [
        {"question": "What colour is the light on the router?", "answer": "White"}
    ]
    assert packet["stopped_at"] == "ask_wifi_only" and not packet["ended"]
    assert seen["runs"][0]["audience"] == "customer"
    # no anonymous access to it
    assert TestClient(org.app).get(f"/api/kb/contacts/{me.contact}").status_code == 401
    assert org.clients[K].get(f"/api/kb/contacts/{me.contact}").status_code == 403


def test_a_flow_handing_over_to_another_queue_moves_the_waiting_contact(org: Org) -> None:
    me = ChatCustomer(org, topic="billing")  # the topic picked: billing
    later = ChatCustomer(org, topic="tech")  # arrives after, in the queue the flow names

    def where(contact: str) -> tuple[str, float, int]:
        def read(e: Any) -> tuple[str, float, int]:
            c = e.state.contacts[contact]
            return c.queue, c.rank_time, e.estimate(contact).position

        return org.services.center.read(read)  # type: ignore[no-any-return]

    _, arrived, _ = where(me.contact)
    run = me.kb("POST", "/runs", {"flow": "en-no-internet"}).json()
    run = me.kb("POST", f"/runs/{run['run']}/answer", {"value": "off"}).json()
    run = me.kb("POST", f"/runs/{run['run']}/answer", {"value": False}).json()
    assert run["ended"] and run["handover"]["queue"] == "tech", run
    r = me.kb("POST", "/handover", {"run": run["run"]})
    assert r.status_code == 200, r.text
    packet = r.json()["handover"]
    assert packet["queue"] == "tech" and packet["moved"] is True
    assert r.json()["status"] == "waiting"
    # moved by the engine's transfer, keeping its place by arrival: ahead of the later one
    queue, rank, position = where(me.contact)
    assert queue == "tech" and rank == arrived
    assert position < where(later.contact)[2]
    history = org.services.center.read(lambda e: e.state.contacts[me.contact].history)
    assert history[-1][1:] == ("transfer", "tech")
    # the agent sees the path with it
    seen = org.clients[G].get(f"/api/kb/contacts/{me.contact}").json()["handover"]
    assert [a["answer"] for a in seen["answered"]] == ["Off", "No"] and seen["ended"]
    assert seen["moved"] is True
    audit = org.admin.get("/api/audit").json()  # the ledger still proves nothing was lost
    assert audit["ok"], audit["discrepancies"]
    # handing over again changes nothing: it is in that queue already
    again = me.kb("POST", "/handover", {"run": run["run"]}).json()
    assert "moved" not in again["handover"] and where(me.contact)[0] == "tech"


def test_the_base_and_its_learning_survive_a_restart(org: Org) -> None:
    agent, expert = org.clients[G], org.clients[K]
    contact = _contact(org)
    query = "fibre box drops every evening"
    agent.get("/api/kb/search", params={"q": query, "lang": "en", "contact_id": contact})
    agent.post(f"/api/kb/contacts/{contact}/solved-by", json={"article": "en-wifi-slow"})
    rid = agent.post("/api/kb/runs", json={"flow": "en-no-internet"}).json()["run"]
    agent.post(f"/api/kb/runs/{rid}/answer", json={"value": "off"})
    content = {"id": "en-kept", "title": "Kept", "lang": "en", "body": "kept"}
    expert.post("/api/kb/drafts", json={"kind": "article", "content": content})
    k = KnowledgeService(org.services.db_path)  # what a restarted server opens
    try:
        assert k.seed_demo() == 0  # not seeded twice
        assert [v.state for v in k.versions("article:en-kept")] == ["draft"]
        hits, _, _ = k.search(query, lang="en", audience="agent")
        assert hits[0].id == "article:en-wifi-slow"
        run = k.run(rid)  # replayed from its answers
        assert run.state.node == "reboot" and run.answers[0][0] == "off"
    finally:
        k.close()


def test_before_a_chat_anyone_searches_and_runs_and_the_chat_adopts_the_run(org: Org) -> None:
    anyone = TestClient(org.app)
    found = anyone.get("/api/kb/public/search", params={"q": "no internet", "lang": "en"})
    assert found.status_code == 200, found.text
    assert all(h["audience"] == "customer" for h in found.json()["results"])
    assert "dense" not in found.json()  # how the server searches is the staff's business
    assert anyone.get("/api/kb/public/articles/en-retention").status_code == 404
    run = anyone.post("/api/kb/public/runs", json={"flow": "en-no-internet"}).json()
    run = anyone.post(f"/api/kb/public/runs/{run['run']}/answer", json={"value": "red"}).json()
    assert run["outcome"]["article"]["id"] == "en-led-red"
    run = anyone.post(f"/api/kb/public/runs/{run['run']}/back").json()
    anyone.post(f"/api/kb/public/runs/{run['run']}/answer", json={"value": "white"})
    # the chat started next adopts the run: its hand-over carries the answers given before
    me = ChatCustomer(org)
    r = me.kb("POST", "/handover", {"run": run["run"]})
    assert r.status_code == 200, r.text
    assert r.json()["handover"]["answered"][0]["answer"] == "White"
    seen = org.clients[G].get(f"/api/kb/contacts/{me.contact}").json()
    assert [x["run"] for x in seen["runs"]] == [run["run"]]
    # once adopted it is the chat's: no longer reachable without its token
    gone = anyone.get(f"/api/kb/public/runs/{run['run']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "run_unknown"
    # a problem solved before any chat counts as a deflected run (no contact to end)
    other = anyone.post("/api/kb/public/runs", json={"flow": "en-no-internet"}).json()
    anyone.post(f"/api/kb/public/runs/{other['run']}/answer", json={"value": "off"})
    anyone.post(f"/api/kb/public/runs/{other['run']}/answer", json={"value": True})
    done = anyone.post("/api/kb/public/solved", json={"run": other["run"]})
    assert done.status_code == 200 and done.json()["deflected"] is True
    report = org.clients[K].get("/api/kb/analytics").json()
    assert report["flows"]["en-no-internet"]["deflected"] == 1


def test_public_self_service_is_limited_per_address(org: Org) -> None:
    anyone = TestClient(org.app)
    codes = [
        anyone.get("/api/kb/public/search", params={"q": "box", "lang": "fr"}).status_code
        for _ in range(121)
    ]
    assert codes[:120] == [200] * 120
    assert codes[120] == 429


def test_what_the_contact_carries_is_known_to_the_run(org: Org) -> None:
    r = org.channel().post(
        "/api/contacts", json={"queue": "billing", "data": {"contract": "12345678"}}
    )
    contact = r.json()["contact"]
    agent = org.clients[G]
    run = agent.post("/api/kb/runs", json={"flow": "en-identify", "contact_id": contact}).json()
    assert run["node"] == "ask_holder"  # the contract number is not asked again
    assert run["path"][0] == {**run["path"][0], "node": "ask_contract", "answer": "12345678"}
    told = agent.post(
        "/api/kb/runs", json={"flow": "en-identify", "facts": {"is_holder": True}}
    ).json()
    assert told["node"] == "ask_contract"  # without the contact, only what the agent says
