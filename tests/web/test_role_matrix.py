"""Each role can do exactly what it should and nothing more, over every route of the app.

The matrix is written out by hand (not derived from ``ROLE_PERMISSIONS``), so a change to who
may do what must change this table too; and a route missing from it fails the coverage test.
"""

from __future__ import annotations

from typing import Any

import pytest

from joignable.web.accounts import Role
from joignable.web.app import api_routes, chat_routes, check_guards

from .conftest import Org

A, S, G, K = Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.KNOWLEDGE_EXPERT
EVERYONE = frozenset({A, S, G, K})
READERS = EVERYONE  # configuration is read by all roles
DESK = frozenset({A, S, G})  # agent actions on the agent's own id; supervisors for anyone
PUBLIC = "public"
CUSTOMER = "chat customer"  # a chat token: no staff session is one (401)

PARAMS = {
    "agent_id": "a01",  # the agent user's own agent
    "contact_id": "c999",
    "queue_id": "billing",
    "username": "expert",
    "token_id": "tnone",
    "code": "resolved",
    "customer": "cust-1",
    "webhook_id": "whnone",
    "article_id": "en-reboot-box",
    "flow_id": "en-no-internet",
    "kind": "article",
    "item_id": "en-reboot-box",
    "number": "1",
    "n": "0",
    "run_id": "rnone",
    "practice_id": "pnone",
    "skill": "tech",
}
KB_EDITORS = frozenset({A, K})  # kb:edit and kb:publish: knowledge experts (and admins)
KB_OVERSEERS = frozenset({A, S, K})  # the review queue, gaps, analytics: experts, supervisors
KB_DESK = frozenset({A, S, G})  # kb:read with contacts:read: what solved a contact

# (method, path template, body, who may call it). DELETE /api/session comes last: it logs out.
MATRIX: list[tuple[str, str, Any, frozenset[Role] | str]] = [
    ("GET", "/api/health", None, PUBLIC),
    ("POST", "/api/session", {"username": "nobody", "password": "x"}, PUBLIC),
    ("GET", "/api/me", None, EVERYONE),
    ("GET", "/api/settings", None, READERS),
    ("PUT", "/api/settings", {"offer_timeout": 15.0, "wrapup_limit": 45.0}, {A}),
    ("GET", "/api/skills", None, READERS),
    ("POST", "/api/skills", {"id": "vip", "name": "VIP"}, {A}),
    ("GET", "/api/queues", None, READERS),
    ("GET", "/api/queues/{queue_id}", None, READERS),
    ("POST", "/api/queues", {"id": "vip", "requirements": {"billing": 1}}, {A}),
    ("GET", "/api/agents", None, READERS),
    ("GET", "/api/agents/{agent_id}", None, READERS),
    ("POST", "/api/agents", {"id": "a99", "skills": {"billing": 5}}, {A}),
    ("GET", "/api/wrapup-codes", None, READERS),
    ("PUT", "/api/wrapup-codes/{code}", {"label": "Resolved"}, {A}),
    ("DELETE", "/api/wrapup-codes/{code}", None, {A}),
    ("GET", "/api/users", None, {A}),
    (
        "POST",
        "/api/users",
        {"username": "newbie", "password": "long enough 1", "role": "agent"},
        {A},
    ),
    ("PATCH", "/api/users/{username}", {"name": "Expert"}, {A}),
    ("GET", "/api/tokens", None, {A}),
    ("POST", "/api/tokens", {"name": "x", "scopes": ["stats:read"]}, {A}),
    ("DELETE", "/api/tokens/{token_id}", None, {A}),
    ("GET", "/api/audit-log", None, {A, S}),
    ("POST", "/api/contacts", {"queue": "billing", "customer": "cust-1"}, {A}),
    ("POST", "/api/callbacks", {"queue": "billing", "number": "+33 1 23 45 67 89"}, {A}),
    ("GET", "/api/contacts/{contact_id}", None, DESK),
    ("POST", "/api/contacts/{contact_id}/callback", {"number": "+33 1 23 45 67 00"}, {A}),
    ("POST", "/api/contacts/{contact_id}/cancel", None, {A}),
    ("GET", "/api/customers/{customer}/contacts", None, DESK),
    ("GET", "/api/export/contacts.csv", None, {A, S}),
    ("POST", "/api/plan/staffing", {"arrivals": [100], "period": 1800, "aht": 180}, {A, S}),
    (
        "POST",
        "/api/plan/cost",
        {"arrivals": [100], "aht": 180, "patience": 120, "value": 40, "agent_cost": 30},
        {A, S},
    ),
    ("GET", "/api/plan/chart", None, {A, S}),  # (no query: a 422 for those allowed)
    ("POST", "/api/plan/chart", {"kind": "staffing", "arrivals": [100], "aht": 180}, {A, S}),
    ("GET", "/api/agents/{agent_id}/work", None, DESK),
    ("PUT", "/api/agents/{agent_id}/presence", {"presence": "away"}, DESK),
    ("POST", "/api/agents/{agent_id}/offers/{contact_id}/accept", None, DESK),
    ("POST", "/api/agents/{agent_id}/offers/{contact_id}/reject", None, DESK),
    ("POST", "/api/agents/{agent_id}/contacts/{contact_id}/complete", None, DESK),
    ("POST", "/api/agents/{agent_id}/contacts/{contact_id}/transfer", {"queue": "tech"}, DESK),
    ("POST", "/api/agents/{agent_id}/contacts/{contact_id}/not-reached", None, DESK),
    ("POST", "/api/agents/{agent_id}/wrapups/{contact_id}", {"disposition": ""}, DESK),
    ("GET", "/api/stats/live", None, {A, S}),
    ("GET", "/api/stats/intervals", None, {A, S}),
    ("GET", "/api/stats/alerts", None, {A, S}),
    ("GET", "/api/audit", None, {A, S}),
    ("GET", "/api/webhooks", None, {A}),
    (
        "POST",
        "/api/webhooks",
        {"url": "https://hooks.example.com/j", "events": ["offer_made"]},
        {A},
    ),
    ("GET", "/api/webhooks/{webhook_id}", None, {A}),
    ("GET", "/api/webhooks/{webhook_id}/deliveries", None, {A}),
    ("POST", "/api/webhooks/{webhook_id}/resume", None, {A}),
    ("DELETE", "/api/webhooks/{webhook_id}", None, {A}),
    ("GET", "/api/kb/search", None, EVERYONE),  # (no query: a 422 for those allowed)
    ("GET", "/api/kb/articles", None, EVERYONE),
    ("GET", "/api/kb/articles/{article_id}", None, EVERYONE),
    ("GET", "/api/kb/flows", None, EVERYONE),
    ("GET", "/api/kb/flows/{flow_id}", None, EVERYONE),
    ("GET", "/api/kb/items/{kind}/{item_id}", None, KB_EDITORS),
    (
        "POST",
        "/api/kb/drafts",
        {"kind": "article", "content": {"id": "m-1", "title": "T", "lang": "en"}},
        KB_EDITORS,
    ),
    ("POST", "/api/kb/import", {"text": "version: 1"}, KB_EDITORS),
    ("POST", "/api/kb/items/{kind}/{item_id}/versions/{number}/submit", None, KB_EDITORS),
    (
        "POST",
        "/api/kb/items/{kind}/{item_id}/versions/{number}/comment",
        {"text": "ok"},
        KB_EDITORS,
    ),
    (
        "POST",
        "/api/kb/items/{kind}/{item_id}/versions/{number}/send-back",
        {"text": "no"},
        KB_EDITORS,
    ),
    ("POST", "/api/kb/items/{kind}/{item_id}/versions/{number}/publish", {}, KB_EDITORS),
    ("POST", "/api/kb/items/{kind}/{item_id}/versions/{number}/archive", None, KB_EDITORS),
    ("POST", "/api/kb/items/{kind}/{item_id}/rollback", None, KB_EDITORS),
    ("GET", "/api/kb/review", None, KB_OVERSEERS),
    ("GET", "/api/kb/gaps", None, KB_OVERSEERS),
    ("POST", "/api/kb/gaps/{n}/draft", {"article_id": "en-new"}, KB_EDITORS),
    ("GET", "/api/kb/suggestions", None, KB_OVERSEERS),
    ("POST", "/api/kb/contacts/{contact_id}/solved-by", {"article": "en-move"}, KB_DESK),
    ("POST", "/api/kb/contacts/{contact_id}/proposals", {"title": "T", "lang": "en"}, KB_DESK),
    ("GET", "/api/kb/contacts/{contact_id}", None, KB_DESK),
    ("POST", "/api/kb/runs", {"flow": "en-no-internet"}, EVERYONE),
    ("GET", "/api/kb/runs/{run_id}", None, EVERYONE),
    ("POST", "/api/kb/runs/{run_id}/answer", {"value": "red"}, EVERYONE),
    ("POST", "/api/kb/runs/{run_id}/back", None, EVERYONE),
    ("GET", "/api/kb/analytics", None, KB_OVERSEERS),
    ("GET", "/api/kb/health", None, KB_OVERSEERS),
    ("POST", "/api/kb/training/practice", {"flow": "en-no-internet"}, EVERYONE),
    ("POST", "/api/kb/training/practice/{practice_id}/pick", {"value": "red"}, EVERYONE),
    ("GET", "/api/kb/training/quiz/{flow_id}", None, EVERYONE),
    ("POST", "/api/kb/training/quiz/{flow_id}", {"picks": []}, EVERYONE),
    ("GET", "/api/kb/training/results", None, EVERYONE),
    ("GET", "/api/kb/training/gradebook", None, {A, S}),
    (
        "POST",
        "/api/kb/training/agents/{agent_id}/skills/{skill}/apply",
        {"level": 2},
        {A, S},
    ),
    ("GET", "/api/chat/topics", None, PUBLIC),
    ("POST", "/api/chat", {"name": "Léa", "topic": "billing"}, PUBLIC),
    ("GET", "/api/chat/{contact_id}", None, CUSTOMER),
    ("POST", "/api/chat/{contact_id}/messages", {"text": "hello"}, CUSTOMER),
    ("POST", "/api/chat/{contact_id}/callback", {"number": "+33 1 23 45 67 89"}, CUSTOMER),
    ("POST", "/api/chat/{contact_id}/leave", None, CUSTOMER),
    ("GET", "/api/agents/{agent_id}/chats/{contact_id}/messages", None, DESK),
    ("POST", "/api/agents/{agent_id}/chats/{contact_id}/messages", {"text": "hello"}, DESK),
    ("GET", "/api/contacts/{contact_id}/transcript", None, DESK),
    # the customer's self-service (web.kb_chat): a chat token too
    ("GET", "/api/chat/{contact_id}/kb/search", None, CUSTOMER),
    ("GET", "/api/chat/{contact_id}/kb/articles/{article_id}", None, CUSTOMER),
    ("POST", "/api/chat/{contact_id}/kb/runs", {"flow": "en-no-internet"}, CUSTOMER),
    ("GET", "/api/chat/{contact_id}/kb/runs/{run_id}", None, CUSTOMER),
    ("POST", "/api/chat/{contact_id}/kb/runs/{run_id}/answer", {"value": "yes"}, CUSTOMER),
    ("POST", "/api/chat/{contact_id}/kb/runs/{run_id}/back", None, CUSTOMER),
    ("POST", "/api/chat/{contact_id}/kb/solved", {}, CUSTOMER),
    ("POST", "/api/chat/{contact_id}/kb/handover", {}, CUSTOMER),
    ("GET", "/api/kb/public/search", None, PUBLIC),  # (no query: a 422)
    ("GET", "/api/kb/public/articles/{article_id}", None, PUBLIC),
    ("POST", "/api/kb/public/runs", {"flow": "en-no-internet"}, PUBLIC),
    ("GET", "/api/kb/public/runs/{run_id}", None, PUBLIC),
    ("POST", "/api/kb/public/runs/{run_id}/answer", {"value": "red"}, PUBLIC),
    ("POST", "/api/kb/public/runs/{run_id}/back", None, PUBLIC),
    ("POST", "/api/kb/public/solved", {}, PUBLIC),
    ("DELETE", "/api/session", None, EVERYONE),
]


def _call(client: Any, method: str, template: str, body: Any, **params: str) -> Any:
    path = template.format(**{**PARAMS, **params})
    return client.request(method, path, json=body)


def test_the_matrix_covers_every_route(org: Org) -> None:
    routes = [*api_routes(), *chat_routes()]
    assert {(m, p) for m, p, _ in routes} == {(m, p) for m, p, _, _ in MATRIX}
    served = org.app.openapi()["paths"]
    published = {(m, p) for m, p, route in routes if route.include_in_schema}
    assert {(m.upper(), p) for p, ops in served.items() for m in ops} == published


def test_a_route_without_an_access_rule_stops_the_app() -> None:
    from joignable.web.api.stats import router

    @router.get("/stats/leak")
    async def leak() -> dict[str, str]:
        return {}

    try:
        with pytest.raises(RuntimeError, match="GET /api/stats/leak declares no access rule"):
            check_guards()
    finally:
        router.routes.pop()
    check_guards()


@pytest.mark.parametrize("role", [A, S, G, K], ids=str)
def test_each_role_can_do_exactly_what_it_should(org: Org, role: Role) -> None:
    client = org.clients[role]
    for method, template, body, allowed in MATRIX:
        r = _call(client, method, template, body)
        where = f"{role} {method} {template}: {r.status_code} {r.text[:200]}"
        assert r.status_code < 500, where
        if allowed == PUBLIC:
            assert r.status_code != 403, where  # (the login in the table is a wrong one: 401)
        elif allowed == CUSTOMER:
            assert r.status_code == 401, where
            assert r.json()["error"]["code"] == "unauthenticated", where
        elif role in allowed:
            assert r.status_code not in (401, 403), where
        else:
            assert r.status_code == 403, where
            assert r.json()["error"]["code"] == "forbidden", where


def test_nobody_gets_in_without_credentials(org: Org) -> None:
    from fastapi.testclient import TestClient

    anonymous = TestClient(org.app)
    for method, template, body, allowed in MATRIX:
        r = _call(anonymous, method, template, body)
        if allowed == PUBLIC:
            assert r.status_code != 403, template
        else:
            assert r.status_code == 401, f"{method} {template}: {r.status_code}"
            assert r.json()["error"]["code"] == "unauthenticated"


def test_an_agent_acts_as_itself_only(org: Org) -> None:
    agent = org.clients[G]
    for method, template, body, _ in MATRIX:
        if template.startswith("/api/agents/{agent_id}/"):
            r = _call(agent, method, template, body, agent_id="a02")
            assert r.status_code == 403, f"{method} {template}: {r.status_code}"
    # a supervisor may act for an agent, and that is in the audit log
    sup = org.clients[S]
    assert sup.put("/api/agents/a02/presence", json={"presence": "away"}).status_code == 200
    entries = org.admin.get("/api/audit-log").json()
    assert any(
        e["actor"] == "supervisor" and e["action"] == "agent.presence" and e["target"] == "a02"
        for e in entries
    )
