"""The wallboard page at /wallboard: who may see it, in which language, and what it ships."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from joignable.core.service_level import DEFAULT_SL
from joignable.web.accounts import Role

from .conftest import Org

CSP = "default-src 'self'; frame-ancestors 'none'; form-action 'self'"


def _data(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="wallboard-data">(.*?)</script>', html)
    assert found, html[:500]
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_without_a_session_the_browser_goes_to_the_login(org: Org) -> None:
    anonymous = TestClient(org.app, follow_redirects=False)
    r = anonymous.get("/wallboard")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/wallboard"
    r = anonymous.get("/wallboard", params={"long_wait": "60"})
    assert r.headers["location"] == "/login?next=/wallboard%3Flong_wait%3D60"
    # an expired or made-up session is no session
    anonymous.cookies.set("joignable_session", "made-up")
    assert anonymous.get("/wallboard").status_code == 303


def test_agents_and_experts_get_a_page_that_says_why_not(org: Org) -> None:
    for role in (Role.AGENT, Role.KNOWLEDGE_EXPERT):
        r = org.clients[role].get("/wallboard", headers={"Accept-Language": "en"})
        assert r.status_code == 403, role
        assert "The wallboard is for supervisors and admins" in r.text
        assert "wallboard.js" not in r.text and "wallboard-data" not in r.text
    r = org.clients[Role.AGENT].get("/wallboard", headers={"Accept-Language": "fr-FR"})
    assert "réservé aux superviseurs" in r.text and 'href="/desk"' in r.text


def test_a_supervisor_gets_the_board_in_the_browsers_language(org: Org) -> None:
    sup = org.clients[Role.SUPERVISOR]
    r = sup.get("/wallboard", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["cache-control"] == "no-store"  # it carries the CSRF token
    assert '<html lang="fr">' in r.text and "Tableau de bord" in r.text
    assert "répondus en moins de T / contacts reçus (la plus stricte)" in r.text
    data = _data(r.text)
    assert data["lang"] == "fr" and data["seq"] == org.services.center.durable
    assert data["definition"] == {
        "name": DEFAULT_SL,
        "text": "répondus en moins de T / contacts reçus (la plus stricte)",
    }
    # every asset from this site, no inline script to run (the CSP would refuse it)
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert "/static/wallboard.js" in assets and "/static/wallboard.css" in assets
    assert all(a.startswith(("/", "?")) for a in assets), assets
    assert not re.search(r"<script(?![^>]*(?:src=|application/json))", r.text)
    assert sup.get("/static/wallboard.js").status_code == 200
    assert sup.get("/static/wallboard.css").status_code == 200
    # accessible structure: headed sections, a live region for the alerts, table headers
    for heading in ("Alertes", "Files", "Conseillers", "Aujourd&#39;hui par intervalle"):
        assert heading in r.text
    assert 'id="alerts" class="wb-alerts" aria-live="polite"' in r.text
    assert '<th scope="col">Niveau de service du jour</th>' in r.text


def test_the_switch_keeps_the_thresholds_and_is_remembered(org: Org) -> None:
    admin = org.clients[Role.ADMIN]
    r = admin.get("/wallboard", params={"lang": "en", "long_wait": "60"})
    assert r.status_code == 200 and '<html lang="en">' in r.text
    assert 'href="?long_wait=60&amp;lang=fr"' in r.text
    assert r.cookies.get("joignable_lang") == "en"
    r = admin.get("/wallboard", headers={"Accept-Language": "fr"})  # the cookie wins
    assert '<html lang="en">' in r.text
    r = admin.get("/wallboard", params={"sl": "answered_within_t_over_answered"})
    assert "answered within T / contacts answered (answered_within_t_over_answered)" in r.text
