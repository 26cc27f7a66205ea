"""The /kb page: a login first (redirect to /login?next=/kb), then experts and supervisors only;
French or English; labelled controls; our own assets under a self-only CSP."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from joignable.web.accounts import Role
from joignable.web.kb_page import STRINGS

from .conftest import Org


def test_the_page_needs_a_login_and_the_right_role(org: Org) -> None:
    anonymous = TestClient(org.app, follow_redirects=False)
    r = anonymous.get("/kb")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/kb"
    agent = org.clients[Role.AGENT].get("/kb")
    assert agent.status_code == 403 and STRINGS["en"]["forbidden"] in agent.text
    assert "/static/kb.js" not in agent.text
    for role in (Role.KNOWLEDGE_EXPERT, Role.SUPERVISOR, Role.ADMIN):
        page = org.clients[role].get("/kb")
        assert page.status_code == 200 and "/static/kb.js" in page.text, role


def test_the_page_speaks_french_and_carries_its_csrf_token(org: Org) -> None:
    expert = org.clients[Role.KNOWLEDGE_EXPERT]
    page = expert.get("/kb", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in page.text and "Chercher dans la base" in page.text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token is not None and token.group(1) == expert.headers["X-CSRF-Token"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    # supervisors read, experts publish
    assert 'data-can-publish="true"' in page.text
    sup = org.clients[Role.SUPERVISOR].get("/kb?lang=en").text
    assert 'data-can-publish="false"' in sup and STRINGS["en"]["read_only"] in sup


def test_every_control_is_labelled_and_both_languages_are_complete(org: Org) -> None:
    page = org.clients[Role.KNOWLEDGE_EXPERT].get("/kb").text
    for control in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page):
        ident = re.search(r'id="([^"]+)"', control)
        assert ident is not None and f'for="{ident.group(1)}"' in page, control
    assert "http://" not in page and "https://" not in page
    assert STRINGS["fr"].keys() == STRINGS["en"].keys()
    for asset in ("/static/kb_common.js", "/static/kb.js", "/static/kb.css"):
        assert TestClient(org.app).get(asset).status_code == 200
