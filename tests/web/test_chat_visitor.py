"""A returning web-chat customer: with "remember me", a random visitor id in a first-party
cookie becomes the contact's customer reference, so the agent sees that browser's previous
contacts; without it, nothing is stored in the browser and the contact stays anonymous."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from joignable.web.accounts import Role
from joignable.web.chat_api import VISITOR_COOKIE, VISITOR_DAYS

from .conftest import Org


def start(client: TestClient, **extra: Any) -> tuple[str, Any]:
    body = {"name": "Léa", "topic": "billing", "language": "fr", **extra}
    r = client.post("/api/chat", json=body)
    assert r.status_code == 201, r.text
    return r.json()["contact"], r


def customer_of(org: Org, contact: str) -> str:
    r = org.clients[Role.SUPERVISOR].get(f"/api/contacts/{contact}")
    assert r.status_code == 200, r.text
    ref: str = r.json()["customer"]
    return ref


def test_a_remembered_browser_keeps_its_reference_and_the_agent_sees_its_contacts(
    org: Org,
) -> None:
    browser = TestClient(org.app)
    first, r = start(browser, remember=True)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{VISITOR_COOKIE}=")
    for attribute in (
        "HttpOnly",
        "Path=/api/chat",
        "SameSite=lax",
        f"Max-Age={VISITOR_DAYS * 86400}",
    ):
        assert attribute in cookie
    ref = customer_of(org, first)
    assert ref.startswith("visitor:") and len(ref) == len("visitor:") + 22
    assert ref.removeprefix("visitor:") not in r.text  # the answer never shows the id

    second, _ = start(browser, remember=True)
    assert customer_of(org, second) == ref
    other, _ = start(TestClient(org.app), remember=True)  # another browser: another customer
    assert customer_of(org, other) not in ("", ref)

    # what the desk asks for: the customer's contacts, most recent first
    agent = org.clients[Role.AGENT]
    found = agent.get(f"/api/customers/{ref}/contacts").json()
    assert [c["contact"] for c in found] == [second, first]


def test_without_remember_no_cookie_is_set_and_a_remembered_browser_is_forgotten(
    org: Org,
) -> None:
    anonymous = TestClient(org.app)
    contact, r = start(anonymous)
    assert "set-cookie" not in r.headers and customer_of(org, contact) == ""

    browser = TestClient(org.app)
    start(browser, remember=True)
    assert browser.cookies.get(VISITOR_COOKIE)
    contact, r = start(browser, remember=False)  # the customer unticked the box
    assert customer_of(org, contact) == ""
    assert (
        f'{VISITOR_COOKIE}=""' in r.headers["set-cookie"] and "Max-Age=0" in r.headers["set-cookie"]
    )
    assert not browser.cookies.get(VISITOR_COOKIE)


def test_a_cookie_that_is_not_ours_is_replaced_never_used_as_a_reference(org: Org) -> None:
    seen = set()
    for forged in ("a01", "x" * 21, "../../etc", "bob@example.com", "A" * 21 + "=", "y" * 23):
        browser = TestClient(org.app)
        browser.cookies.set(VISITOR_COOKIE, forged, path="/api/chat")
        contact, _ = start(browser, remember=True)
        ref = customer_of(org, contact)
        assert ref.startswith("visitor:") and forged not in ref
        seen.add(ref)
    assert len(seen) == 6  # each one a fresh random id


def test_another_sites_form_cannot_start_a_chat_as_a_remembered_browser(org: Org) -> None:
    """A cross-site form can send text/plain but not JSON: refused, cookie untouched (and the
    cookie is SameSite=Lax, so such a request would not carry it anyway)."""
    browser = TestClient(org.app)
    start(browser, remember=True)
    before = browser.cookies.get(VISITOR_COOKIE)
    r = browser.post(
        "/api/chat",
        content='{"name": "x", "topic": "billing", "remember": false}',
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    assert "set-cookie" not in r.headers and browser.cookies.get(VISITOR_COOKIE) == before


def test_a_deployment_without_remember_sets_no_cookie_and_forgets_one_set_before(
    org: Org,
) -> None:
    """`joignable serve --no-remember`: the page does not offer the box, a start asking to be
    remembered stays anonymous, and a cookie from before is dropped."""
    browser = TestClient(org.app)
    start(browser, remember=True)
    assert browser.cookies.get(VISITOR_COOKIE)
    org.services.remember_visitors = False
    try:
        page = browser.get("/chat")
        assert '<p hidden>\n          <label><input type="checkbox" id="remember"' in page.text
        contact, r = start(browser, remember=True)
        assert customer_of(org, contact) == ""
        assert "Max-Age=0" in r.headers["set-cookie"]
        assert not browser.cookies.get(VISITOR_COOKIE)
        contact, r = start(TestClient(org.app), remember=True)
        assert "set-cookie" not in r.headers and customer_of(org, contact) == ""
    finally:
        org.services.remember_visitors = True
    assert "<p hidden>" not in browser.get("/chat").text
