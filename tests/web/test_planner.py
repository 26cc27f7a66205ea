"""The planner over HTTP: /api/plan (staffing, cost, charts) and the /planner page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient

from joignable.web.accounts import Role
from joignable.web.api.planning import MAX_INTERVALS

from .conftest import Org

SVG = "{http://www.w3.org/2000/svg}"
TEXTBOOK = {"arrivals": [100], "period": 1800, "aht": 180, "sl": 0.8, "within": 20}
COST = {
    "arrivals": [100],
    "period": 1800,
    "aht": 180,
    "patience": 120,
    "value": 40,
    "agent_cost": 30,
}


def test_the_textbook_example_over_the_api(org: Org) -> None:
    sup = org.clients[Role.SUPERVISOR]
    r = sup.post("/api/plan/staffing", json=TEXTBOOK)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["agents"] == [14] and doc["peak"] == 14
    row = doc["intervals"][0]
    assert row["p_wait"] == pytest.approx(0.1741, abs=5e-5)
    assert row["service_level"]["answered_within_t_over_offered"] == pytest.approx(0.8884, abs=5e-5)
    assert row["asa"] == pytest.approx(7.84, abs=5e-3)
    assert row["occupancy"] == pytest.approx(0.714, abs=5e-4)
    # 85 % maximum occupancy and 30 % shrinkage: 20 to schedule (docs/planning.md)
    r = sup.post("/api/plan/staffing", json={**TEXTBOOK, "max_occupancy": 0.85, "shrinkage": 0.3})
    assert r.json()["agents"] == [20]


def test_a_day_is_staffed_interval_by_interval(org: Org) -> None:
    day = [10, 50, 100, 400, 100]
    r = org.admin.post("/api/plan/staffing", json={**TEXTBOOK, "arrivals": day})
    doc = r.json()
    alone = [
        org.admin.post("/api/plan/staffing", json={**TEXTBOOK, "arrivals": [a]}).json()["agents"][0]
        for a in day
    ]
    assert doc["agents"] == alone and doc["peak"] == max(alone)
    assert [row["arrivals"] for row in doc["intervals"]] == day


def test_erlang_a_and_the_warning_for_a_target_met_by_letting_callers_go(org: Org) -> None:
    body = {
        **TEXTBOOK,
        "model": "erlang-a",
        "patience": 5,
        "sl_definition": "answered_or_abandoned_within_t_over_offered",
    }
    doc = org.admin.post("/api/plan/staffing", json=body).json()
    assert doc["agents"] == [0] and doc["warnings"]
    bounded = org.admin.post("/api/plan/staffing", json={**body, "max_abandon": 0.05}).json()
    assert bounded["agents"][0] > 0 and not bounded["warnings"]
    assert bounded["intervals"][0]["p_abandon"] <= 0.05


def test_the_cost_of_one_interval_and_its_curve(org: Org) -> None:
    r = org.clients[Role.SUPERVISOR].post("/api/plan/cost", json={**COST, "agents": 12})
    assert r.status_code == 200, r.text
    doc = r.json()
    totals = [p["total"] for p in doc["curve"]]
    cheapest = doc["plans"]["cheapest"]
    assert cheapest["total"] == pytest.approx(min(totals))
    assert doc["curve"][totals.index(min(totals))]["agents"] == cheapest["agents"]
    assert doc["policy_price"] == pytest.approx(doc["plans"]["policy"]["total"] - min(totals))
    assert doc["policy_price"] >= 0
    assert doc["plans"]["fixed"]["agents"] == 12
    day = org.admin.post("/api/plan/cost", json={**COST, "arrivals": [100, 300]}).json()
    assert day["curve"] is None and len(day["per_interval"]["cheapest"]["total"]) == 2


def test_charts_are_svg_holding_their_series(org: Org) -> None:
    sup = org.clients[Role.SUPERVISOR]
    r = sup.get(
        "/api/plan/chart", params={"kind": "staffing", "arrivals": [50, 100, 80], "aht": 180}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    root = ET.fromstring(r.content)
    assert root.find(f".//{SVG}g[@id='series-agents']") is not None
    assert root.find(f".//{SVG}g[@id='series-load']") is not None
    params: dict[str, Any] = {"kind": "cost", **COST}
    r = sup.get("/api/plan/chart", params=params)
    root = ET.fromstring(r.content)
    assert root.find(f".//{SVG}g[@id='minimum']") is not None
    cheapest = sup.post("/api/plan/cost", json=COST).json()["plans"]["cheapest"]["agents"]
    assert f"the cheapest is {cheapest:g} agents" in r.text
    r = sup.post("/api/plan/chart", json={"kind": "cost", **COST, "arrivals": [100, 200]})
    assert r.status_code == 200 and b"series-agents-1" in r.content  # a day: one panel a plan


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/plan/staffing", {**TEXTBOOK, "arrivals": []}, "arrivals"),
        ("/api/plan/staffing", {**TEXTBOOK, "arrivals": [1] * (MAX_INTERVALS + 1)}, "arrivals"),
        ("/api/plan/staffing", {**TEXTBOOK, "arrivals": [10_000_000]}, "arrivals"),
        ("/api/plan/staffing", {**TEXTBOOK, "arrivals": [400_000]}, "Erlangs"),
        ("/api/plan/staffing", {**TEXTBOOK, "sl": 1.5}, "sl"),
        ("/api/plan/staffing", {**TEXTBOOK, "model": "erlang-a"}, "patience"),
        ("/api/plan/staffing", {**TEXTBOOK, "max_abandon": 0.1}, "erlang-a"),
        ("/api/plan/staffing", {**TEXTBOOK, "sl_definition": "callbacks_kept"}, "sl_definition"),
        ("/api/plan/staffing", {**TEXTBOOK, "sl": None}, "at least one target"),
        ("/api/plan/staffing", {**TEXTBOOK, "surprise": 1}, "surprise"),
        ("/api/plan/cost", {**COST, "arrivals": [30_000]}, "Erlangs"),
        ("/api/plan/cost", {k: v for k, v in COST.items() if k != "patience"}, "patience"),
        ("/api/plan/chart", {"kind": "pie", **COST}, "kind"),
        ("/api/plan/chart", {"kind": "cost", "arrivals": [100], "aht": 180}, "patience"),
    ],
)
def test_bad_input_is_refused_with_a_code(
    org: Org, path: str, body: dict[str, Any], message: str
) -> None:
    r = org.admin.post(path, json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_input" and message in error["message"]


def test_the_planner_page_for_each_role(org: Org) -> None:
    page = org.clients[Role.SUPERVISOR].get("/planner", headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    html = page.text
    assert '<html lang="fr">' in html and "Calculer les effectifs" in html
    for field in ("arrivals", "period", "aht", "sl", "within", "patience", "model", "shrinkage"):
        assert f'<label for="{field}">' in html, field
    assert 'name="csrf-token"' in html and "/static/planner.js" in html
    en = org.admin.get("/planner?lang=en")
    assert en.status_code == 200 and "Compute the staffing" in en.text
    for role in (Role.AGENT, Role.KNOWLEDGE_EXPERT):
        refused = org.clients[role].get("/planner")
        assert refused.status_code == 403 and "planner.js" not in refused.text
    anonymous = TestClient(org.app).get("/planner", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/planner"
    for asset in ("/static/planner.js", "/static/planner.css"):
        assert TestClient(org.app).get(asset).status_code == 200
