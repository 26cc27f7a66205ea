"""The staff pages: /login (fr/en, ?next= kept only when it is a path of this site) and the agent
desktop at /desk (a logged-in user who works as an agent; others are sent to log in or refused),
with what the desk reads from the API."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from joignable.web.accounts import Role
from joignable.web.chat_page import UI
from joignable.web.staff_pages import HOME, STRINGS, safe_next

from .conftest import Org, login


def _data(page: str, ident: str) -> str:
    found = re.search(rf'<script type="application/json" id="{ident}">(.*?)</script>', page, re.S)
    assert found is not None, ident
    return found.group(1)


def test_the_login_page_speaks_the_browsers_language_and_can_be_switched(org: Org) -> None:
    client = TestClient(org.app)
    fr = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert fr.status_code == 200
    assert '<html lang="fr">' in fr.text and "Mot de passe" in fr.text
    en = client.get("/login", headers={"Accept-Language": "de, en;q=0.5"})
    assert '<html lang="en">' in en.text and "Password" in en.text
    # the switch keeps where the login leads
    page = client.get("/login?next=/wallboard", headers={"Accept-Language": "en"}).text
    assert 'href="?next=%2Fwallboard&amp;lang=fr"' in page
    switched = client.get("/login?next=/wallboard&lang=fr", headers={"Accept-Language": "en"})
    assert '<html lang="fr">' in switched.text
    assert '"next": "/wallboard"' in _data(switched.text, "login-data")
    # and the choice is remembered, here and on the desk
    assert '<html lang="fr">' in client.get("/login", headers={"Accept-Language": "en"}).text


def test_next_is_kept_only_when_it_is_a_path_of_this_site(org: Org) -> None:
    client = TestClient(org.app)
    for good in ("/wallboard", "/desk?x=1", "/kb/articles/3"):
        assert f'"next": "{good}"' in _data(
            client.get("/login", params={"next": good}).text, "login-data"
        )
    for bad in (
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "wallboard",
        "javascript:alert(1)",
        "/ok\nLocation: x",
        " /desk",
        "",
    ):
        r = client.get("/login", params={"next": bad})
        assert r.status_code == 200
        assert '"next": ""' in _data(r.text, "login-data"), bad
    # too long for the query's limit: a readable refusal, not a 500
    r = client.get("/login", params={"next": "/" + "a" * 600})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


@given(st.text(max_size=40))
def test_a_kept_next_never_leaves_the_site(target: str) -> None:
    kept = safe_next(target)
    if kept is not None:
        assert kept == target and kept.startswith("/")
        assert kept[1:2] not in ("/", "\\")
        assert not any(ch.isspace() or ord(ch) < 32 for ch in kept)


def test_each_role_is_sent_to_its_page(org: Org) -> None:
    page = TestClient(org.app).get("/login").text
    homes = _data(page, "login-data")
    for role, path in {
        Role.AGENT: "/desk",
        Role.SUPERVISOR: "/wallboard",
        Role.ADMIN: "/wallboard",
        Role.KNOWLEDGE_EXPERT: "/kb",
    }.items():
        assert HOME[role] == path
        assert f'"{role.value}": "{path}"' in homes


def test_the_desk_sends_a_visitor_to_log_in(org: Org) -> None:
    client = TestClient(org.app, follow_redirects=False)
    r = client.get("/desk")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/desk"
    client.cookies.set("joignable_session", "not-a-session")
    assert client.get("/desk").headers["location"] == "/login?next=/desk"


def test_the_desk_is_refused_to_users_who_do_not_work_as_an_agent(org: Org) -> None:
    for role in (Role.SUPERVISOR, Role.ADMIN, Role.KNOWLEDGE_EXPERT):
        r = org.clients[role].get("/desk", headers={"Accept-Language": "en"})
        assert r.status_code == 403, role
        assert "This page is for agents" in r.text and f'href="{HOME[role]}"' in r.text
        assert "desk.js" not in r.text
        assert 'id="logout"' in r.text  # a way out all the same
    # an agent user whose agent does not exist (unlinked config) is refused as well
    org.services.accounts.create_user("ghost", "long enough 1", Role.AGENT, "Ghost", "a404")
    ghost = login(org.app, "ghost", "long enough 1")
    assert ghost.get("/desk").status_code == 403


def test_the_desk_is_the_agents_with_its_session_token_and_codes(org: Org) -> None:
    agent = org.clients[Role.AGENT]
    r = agent.get("/desk", headers={"Accept-Language": "fr"})
    assert r.status_code == 200
    assert '<html lang="fr">' in r.text and "Poste conseiller" in r.text
    assert r.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    # the page's token is the session's: the desk's script can act with it
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', r.text)
    assert token is not None and token.group(1) == agent.headers["X-CSRF-Token"]
    data = _data(r.text, "desk-data")
    assert '"agent": "a01"' in data
    for code in org.services.accounts.wrapup_codes():
        assert f'<option value="{code.code}">' in r.text
    # the knowledge panel's hooks
    assert 'id="conversation"' in r.text and 'data-contact-id=""' in r.text
    en = agent.get("/desk?lang=en")
    assert "Agent desktop" in en.text and 'id="logout"' in en.text


def test_a_logged_out_session_no_longer_opens_the_desk(org: Org) -> None:
    x = org.logins[Role.AGENT]
    client = login(org.app, x.username, x.password)
    assert client.get("/desk").status_code == 200
    assert client.delete("/api/session").status_code == 200
    client.follow_redirects = False
    assert client.get("/desk").status_code == 303


def test_every_control_is_labelled_and_every_asset_our_own(org: Org) -> None:
    pages = [TestClient(org.app).get("/login").text, org.clients[Role.AGENT].get("/desk").text]
    for page in pages:
        for control in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page):
            ident = re.search(r'id="([^"]+)"', control)
            assert ident is not None, control
            if 'type="radio"' not in control:  # a radio is labelled by the label around it
                assert f'for="{ident.group(1)}"' in page, control
        assert "http://" not in page and "https://" not in page
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
            got = TestClient(org.app).get(asset)
            assert got.status_code == 200 and len(got.content) > 100, asset
    for name in ("desk.js", "desk.css", "login.js", "staff.css"):
        assert not re.search(r"https?://", (UI / "static" / name).read_text()), name


def test_both_languages_have_every_string() -> None:
    assert STRINGS["fr"].keys() == STRINGS["en"].keys()


def test_the_desk_reads_its_work_with_deadlines_on_the_centers_clock(org: Org) -> None:
    agent = org.clients[Role.AGENT]
    channel = org.channel()
    assert agent.put("/api/agents/a01/presence", json={"presence": "available"}).status_code == 200
    r = channel.post(
        "/api/contacts",
        json={
            "queue": "billing",
            "channel": "callback",
            "customer": "cust-7",
            "callback_number": "+33 1 23 45 67 89",
        },
    )
    assert r.status_code == 201, r.text
    work = agent.get("/api/agents/a01/work").json()
    assert work["now"] == org.services.clock() or abs(work["now"] - org.services.clock()) < 5
    assert work["capacity"]["chat"] == 3
    [offer] = work["offers"]
    assert offer["channel"] == "callback" and offer["number"] == "+33 1 23 45 67 89"
    assert offer["deadline"] > work["now"]
    cid = offer["contact"]
    assert agent.post(f"/api/agents/a01/offers/{cid}/accept").json()["accepted"] is True
    [held] = agent.get("/api/agents/a01/work").json()["contacts"]
    assert held["number"] == "+33 1 23 45 67 89" and held["queue"] == "billing"
    assert agent.post(f"/api/agents/a01/contacts/{cid}/complete").status_code == 200
    [wrap] = agent.get("/api/agents/a01/work").json()["wrapups"]
    assert wrap["contact"] == cid and wrap["channel"] == "callback" and wrap["queue"] == "billing"


def test_the_login_page_shows_who_is_logged_in_and_a_way_out(org: Org) -> None:
    anonymous = TestClient(org.app).get("/login").text
    assert 'id="logout"' not in anonymous and 'name="csrf-token"' not in anonymous
    supervisor = org.clients[Role.SUPERVISOR]
    page = supervisor.get("/login", headers={"Accept-Language": "en"}).text
    assert "Logged in as Supervisor" in page and 'id="logout"' in page
    token = supervisor.headers["X-CSRF-Token"]
    assert f'<meta name="csrf-token" content="{token}">' in page  # for the logout button


def test_the_desk_names_the_colleagues_a_contact_may_be_transferred_to(org: Org) -> None:
    data = json.loads(_data(org.clients[Role.AGENT].get("/desk").text, "desk-data"))
    colleagues = data["agents"]
    state = org.services.center.read(lambda e: dict(e.state.agents))
    assert {a["id"] for a in colleagues} == set(state) - {"a01"}  # everyone but oneself
    for a in colleagues:
        config = state[a["id"]].config
        assert a["name"] == (config.name or config.id)
        assert a["channels"] == [ch.value for ch in state[a["id"]].channels]
        assert a["state"] == state[a["id"]].state_name() == "offline"  # the demo's start
    names = [(a["name"].casefold(), a["id"]) for a in colleagues]
    assert names == sorted(names)  # as a person looks for them
    # the strings the transfer and the offer preview show, in both languages
    fr = org.clients[Role.AGENT].get("/desk?lang=fr").text
    assert '<label for="transfer-agent">Transférer à un conseiller</label>' in fr
    assert json.loads(_data(fr, "desk-data"))["t"]["preview"] == "Ce que le client a écrit"


def test_the_transfer_list_says_whether_each_colleague_is_available(org: Org) -> None:
    """The desk labels each colleague with their state, from the page and then from
    GET /api/agents (which an agent may read), in the desk's language."""
    agent = org.clients[Role.AGENT]
    sup = org.clients[Role.SUPERVISOR]
    assert sup.put("/api/agents/a02/presence", json={"presence": "available"}).status_code == 200
    assert sup.put("/api/agents/a03/presence", json={"presence": "away"}).status_code == 200
    data = json.loads(_data(agent.get("/desk").text, "desk-data"))
    states = {a["id"]: a["state"] for a in data["agents"]}
    assert states["a02"] == "available" and states["a03"] == "away"
    listed = agent.get("/api/agents")
    assert listed.status_code == 200
    assert {x["config"]["id"]: x["state"] for x in listed.json()}["a03"] == "away"
    for lang, label in (("en", "away"), ("fr", "absent")):
        t = json.loads(_data(agent.get(f"/desk?lang={lang}").text, "desk-data"))["t"]
        assert t["state_away"] == label and "{name}" in t["agent_option"]
