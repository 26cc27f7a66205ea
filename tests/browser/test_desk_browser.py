"""The agent desktop in a real browser against a served joignable, with the customer in another
browser context: the agent logs in on /login, goes available, sees the offer count down, accepts,
chats, wraps up with a code and notes; a customer's callback is made and completed; a rejected
offer goes back to the line; a second chat arrives while one is open. What the agent did is
checked through the API, not only on the screen."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from joignable.core.errors import DomainError
from joignable.core.state import Status
from joignable.ledger.store import SQLiteStore
from joignable.web.accounts import Role

from .conftest import Served, eventually

AGENT = "a01"  # Ana: takes billing chats (three at a time) and callbacks

# Everything the desk tells the knowledge panel, recorded before the page's own scripts run.
RECORD_EVENTS = """
window.deskEvents = [];
for (const name of ["desk:contact", "desk:wrapup"]) {
  document.addEventListener(name, (e) => window.deskEvents.push([name, e.detail]));
}
"""


def _context(browser: Any, locale: str = "en-US") -> Any:
    context = browser.new_context(locale=locale)
    context.set_default_timeout(6000)
    return context


@pytest.fixture
def customer(browser: Any) -> Iterator[Any]:
    context = _context(browser)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def desk(served: Served, browser: Any) -> Iterator[Any]:
    """The agent's desk, logged in through /login, the agent away to start with."""
    from playwright.sync_api import expect

    api = served.staff(Role.AGENT)
    assert api.put(f"/api/agents/{AGENT}/presence", json={"presence": "away"}).status_code == 200
    context = _context(browser)
    context.add_init_script(RECORD_EVENTS)
    page = context.new_page()
    crashes: list[str] = []  # an uncaught exception in the desk's script fails the test
    page.on("pageerror", lambda exc: crashes.append(str(exc)))
    try:
        page.goto(f"{served.base}/desk")
        expect(page).to_have_url(re.compile(r"/login\?next=/desk$"))  # not logged in yet
        x = served.logins[Role.AGENT]
        page.get_by_label("Username").fill(x.username)
        page.get_by_label("Password").fill(x.password)
        page.get_by_label("Password").press("Enter")
        expect(page).to_have_url(re.compile(r"/desk$"))
        expect(page.locator("#presence-now")).to_have_text("You are away.")
        yield page
        assert crashes == []
    finally:
        context.close()
        api.put(f"/api/agents/{AGENT}/presence", json={"presence": "away"})
        _close_everything(served)  # one test's leftovers must not become the next one's offers


def _close_everything(served: Served) -> None:
    """End every open contact and wrap-up on the shared server, whatever state they are in."""
    center = served.services.center
    contacts = center.read(lambda e: [(c.id, c.status, c.agent) for c in e.state.contacts.values()])
    for cid, status, agent in contacts:
        with contextlib.suppress(DomainError):
            if status is Status.CONNECTED and agent is not None:
                center.run("complete", agent, cid)
            else:
                center.run("abandon", cid)
    wrapups = center.read(lambda e: [(a.id, list(a.wrapups)) for a in e.state.agents.values()])
    for aid, cids in wrapups:
        for cid in cids:
            with contextlib.suppress(DomainError):
                center.run("end_wrapup", aid, cid)


def _go_available(desk: Any) -> None:
    from playwright.sync_api import expect

    desk.get_by_role("radio", name="Available").check()
    desk.get_by_role("button", name="Update").click()
    expect(desk.locator("#presence-now")).to_have_text(re.compile(r"You are (available|being)"))


def _start_chat(served: Served, page: Any, name: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served.base}/chat")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Topic").select_option("billing")
    page.get_by_role("button", name="Start the chat").click()
    expect(page.locator("#status-line")).not_to_be_empty()


def _events(desk: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(name, detail) for name, detail in desk.evaluate("window.deskEvents")]


def _ledger(served: Served, contact: str) -> list[tuple[str, dict[str, Any]]]:
    import msgspec

    from joignable.core import events as ev

    store = SQLiteStore(served.services.db_path, readonly=True)
    try:
        return [
            (ev.event_type(e), msgspec.to_builtins(e))
            for _, e in store.read(1, served.services.center.durable)
            if getattr(e, "contact", None) == contact
        ]
    finally:
        store.close()


def test_an_agent_answers_a_chat_and_wraps_it_up(served: Served, desk: Any, customer: Any) -> None:
    from playwright.sync_api import expect

    _start_chat(served, customer, "Léa")
    expect(customer.locator("#status-line")).to_have_text("You are number 1 in line.")
    expect(desk.locator("#no-offers")).to_be_visible()

    _go_available(desk)
    offer = desk.locator("#offers li")
    expect(offer).to_have_count(1)
    expect(offer.locator(".what")).to_have_text("Chat from Léa, topic Billing")
    # a countdown to the deadline (the demo's offers last 15 s), going down
    expect(offer.locator(".countdown")).to_have_text(re.compile(r"^1[0-5] s left to answer$"))
    first = int(offer.locator(".countdown").inner_text().split()[0])
    expect(offer.locator(".countdown")).not_to_have_text(f"{first} s left to answer")
    assert int(offer.locator(".countdown").inner_text().split()[0]) < first

    offer.get_by_role("button", name="Accept").click()
    expect(desk.locator("#offers li")).to_have_count(0)
    expect(customer.locator("#status-line")).to_have_text("Ana is with you.")
    tab = desk.get_by_role("tab", name="Léa (Billing)")
    expect(tab).to_have_attribute("aria-selected", "true")
    contact = desk.locator("#conversation").get_attribute("data-contact-id")
    assert contact and contact.startswith("c")
    expect(desk.get_by_label("Your message")).to_be_focused()  # ready to type
    assert ("desk:contact", {"contact_id": contact, "queue": "billing", "topic": "Billing"}) in (
        _events(desk)
    )
    expect(desk.locator("#history-list")).to_contain_text("anonymous customer")

    # messages both ways
    desk.get_by_label("Your message").fill("Bonjour Léa, how can I help?")
    desk.get_by_label("Your message").press("Enter")
    expect(customer.locator("#messages li.agent .text")).to_have_text(
        "Bonjour Léa, how can I help?"
    )
    customer.get_by_label("Your message").fill("My invoice is wrong.")
    customer.get_by_label("Your message").press("Enter")
    expect(desk.locator("#messages li.customer .text")).to_have_text("My invoice is wrong.")
    expect(desk.locator("#messages li")).to_have_count(2)

    # a reload picks everything up again, each message once
    desk.reload()
    expect(desk.get_by_role("tab", name="Léa (Billing)")).to_be_visible()
    expect(desk.locator("#messages li .text")).to_have_text(
        ["Bonjour Léa, how can I help?", "My invoice is wrong."]
    )
    customer.get_by_label("Your message").fill("Invoice 2024-17.")
    customer.get_by_label("Your message").press("Enter")
    expect(desk.locator("#messages li .text")).to_have_count(3)

    # end, then wrap up with a code and notes
    desk.get_by_role("button", name="End the conversation").click()
    expect(desk.get_by_label("Wrap-up code")).to_be_focused()
    expect(desk.locator("#wrapup-left")).to_have_text(re.compile(r"^\d+ s left to wrap up$"))
    expect(customer.locator("#status-line")).to_have_text("The conversation is over. Thank you!")
    desk.get_by_label("Wrap-up code").select_option("resolved")
    desk.get_by_label("Notes").fill("Invoice corrected, credit note sent.")
    desk.get_by_role("button", name="Finish the wrap-up").click()
    expect(desk.locator("#no-conversation")).to_be_visible()
    expect(desk.locator("#conversation")).to_be_hidden()
    assert ("desk:wrapup", {"contact_id": contact}) in _events(desk)

    sup = served.staff(Role.SUPERVISOR)
    record = sup.get(f"/api/contacts/{contact}").json()
    assert record["outcome"] == "handled" and record["agent"] == AGENT
    assert record["disposition"] == "resolved"
    assert record["notes"] == "Invoice corrected, credit note sent."
    transcript = sup.get(f"/api/contacts/{contact}/transcript").json()
    assert [m["text"] for m in transcript["messages"]] == [
        "Bonjour Léa, how can I help?",
        "My invoice is wrong.",
        "Invoice 2024-17.",
    ]


def test_a_customers_callback_is_offered_with_its_number_and_completed(
    served: Served, desk: Any, customer: Any
) -> None:
    from playwright.sync_api import expect

    _start_chat(served, customer, "Marc")  # the agent is away: Marc waits
    expect(customer.locator("#status-line")).to_have_text(re.compile("in line"))
    customer.get_by_label("Your phone number").fill("+33 6 12 34 56 78")
    customer.get_by_role("button", name="Call me back").click()
    expect(customer.locator("#explanation")).to_contain_text("We will call you back")

    _go_available(desk)
    offer = desk.locator("#offers li")
    expect(offer.locator(".what")).to_have_text(
        "Callback to make: +33 6 12 34 56 78, topic Billing"
    )
    expect(offer.locator(".countdown")).to_have_text(re.compile(r"s left to answer$"))
    offer.get_by_role("button", name="Accept").click()
    expect(desk.get_by_role("tab", name="Call +33 6 12 34 56 78")).to_be_visible()
    expect(desk.locator("#callback-number")).to_have_text("Call +33 6 12 34 56 78 now.")
    expect(desk.locator("#chat-part")).to_be_hidden()
    contact = desk.locator("#conversation").get_attribute("data-contact-id")
    assert contact

    desk.get_by_role("button", name="Reached: done").click()
    desk.get_by_label("Wrap-up code").select_option("follow_up")
    desk.get_by_label("Notes").fill("Called back, sorted.")
    desk.get_by_role("button", name="Finish the wrap-up").click()
    expect(desk.locator("#no-conversation")).to_be_visible()

    record = served.staff(Role.SUPERVISOR).get(f"/api/contacts/{contact}").json()
    assert record["outcome"] == "callback_completed" and record["callback_requested"] is True
    assert record["disposition"] == "follow_up" and record["notes"] == "Called back, sorted."


def test_a_rejected_offer_goes_back_to_the_line(served: Served, desk: Any, customer: Any) -> None:
    from playwright.sync_api import expect

    _start_chat(served, customer, "Zoé")
    _go_available(desk)
    offer = desk.locator("#offers li")
    expect(offer.locator(".what")).to_have_text("Chat from Zoé, topic Billing")
    contact = offer.get_attribute("data-contact")
    assert contact
    offer.get_by_role("button", name="Reject").click()
    # back at its place: the only agent who can take it is offered it again, a new deadline
    eventually(
        lambda: (
            ("offer_released", "rejected")
            in [(kind, e.get("reason")) for kind, e in _ledger(served, contact)]
        )
    )
    desk.get_by_role("radio", name="Away").check()
    desk.get_by_label("Reason for being away").select_option("break")
    desk.get_by_role("button", name="Update").click()
    expect(desk.locator("#presence-now")).to_have_text("You are away.")
    expect(desk.locator("#offers li")).to_have_count(0)
    expect(customer.locator("#status-line")).to_have_text("You are number 1 in line.")
    live = served.staff(Role.SUPERVISOR).get(f"/api/contacts/{contact}").json()
    assert live["outcome"] is None and live["live"]["status"] == "waiting"
    kinds = [kind for kind, _ in _ledger(served, contact)]
    assert "offer_accepted" not in kinds and kinds.count("offer_made") >= 1
    customer.get_by_role("button", name="Leave the chat").click()
    expect(customer.locator("#status-line")).to_have_text("You left the chat.")


def test_a_second_chat_arrives_while_one_is_open(served: Served, desk: Any, customer: Any) -> None:
    from playwright.sync_api import expect

    # cust-42 called before: the desk shows it
    agent = served.staff(Role.AGENT)
    channel = served.staff(Role.ADMIN)
    before = channel.post(
        "/api/contacts", json={"queue": "billing", "channel": "chat", "customer": "cust-42"}
    ).json()["contact"]
    r = channel.post(f"/api/contacts/{before}/cancel")
    assert r.status_code == 200, r.text

    _start_chat(served, customer, "Inès")
    _go_available(desk)
    desk.locator("#offers li").get_by_role("button", name="Accept").click()
    expect(desk.get_by_role("tab", name="Inès (Billing)")).to_be_visible()
    first = desk.locator("#conversation").get_attribute("data-contact-id")

    second = channel.post(
        "/api/contacts", json={"queue": "billing", "channel": "chat", "customer": "cust-42"}
    ).json()["contact"]
    offer = desk.locator("#offers li")
    expect(offer.locator(".what")).to_have_text("Chat from cust-42, topic Billing")
    expect(desk.locator("#conversation")).to_have_attribute("data-contact-id", str(first))
    offer.get_by_role("button", name="Accept").click()
    expect(desk.get_by_role("tab")).to_have_count(2)
    expect(desk.locator("#conversation")).to_have_attribute("data-contact-id", second)
    expect(desk.locator("#history-list li")).to_have_count(1)
    expect(desk.locator("#history-list")).to_contain_text("abandoned")
    work = agent.get(f"/api/agents/{AGENT}/work").json()
    assert sorted(c["contact"] for c in work["contacts"]) == sorted([str(first), second])

    # the keyboard moves between the conversations; a message reaches the right customer
    customer.get_by_label("Your message").fill("Anyone there?")
    customer.get_by_label("Your message").press("Enter")
    expect(desk.get_by_role("tab", name="Inès (Billing)")).to_contain_text("1 new")
    desk.get_by_label("Your message").fill("A draft for cust-42")
    desk.get_by_role("tab", name="cust-42 (Billing)").focus()
    desk.keyboard.press("ArrowLeft")
    expect(desk.get_by_role("tab", name="Inès (Billing)")).to_be_focused()
    expect(desk.locator("#conversation")).to_have_attribute("data-contact-id", str(first))
    expect(desk.get_by_label("Your message")).to_have_value("")
    expect(desk.locator("#messages li.customer .text")).to_have_text("Anyone there?")
    expect(desk.get_by_role("tab", name="Inès (Billing)")).not_to_contain_text("new")
    desk.get_by_label("Your message").fill("Still with you, Inès.")
    desk.get_by_label("Your message").press("Enter")
    expect(customer.locator("#messages li.agent .text")).to_have_text("Still with you, Inès.")
    desk.get_by_role("tab", name="cust-42 (Billing)").click()
    expect(desk.get_by_label("Your message")).to_have_value("A draft for cust-42")  # kept
    contacts = [d["contact_id"] for name, d in _events(desk) if name == "desk:contact"]
    assert contacts[-4:] == [first, second, first, second]

    for cid in (first, second):
        assert agent.post(f"/api/agents/{AGENT}/contacts/{cid}/complete").status_code == 200
        r = agent.post(f"/api/agents/{AGENT}/wrapups/{cid}", json={"disposition": "resolved"})
        assert r.status_code == 200, r.text
    expect(desk.locator("#no-conversation")).to_be_visible()


def test_the_login_page_in_french_refuses_a_wrong_password(served: Served, browser: Any) -> None:
    from playwright.sync_api import expect

    context = _context(browser, "fr-FR")
    try:
        page = context.new_page()
        page.goto(f"{served.base}/login")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.get_by_label("Identifiant").fill("supervisor")
        page.keyboard.press("Tab")
        expect(page.get_by_label("Mot de passe")).to_be_focused()
        page.keyboard.type("not the password")
        page.keyboard.press("Enter")
        expect(page.locator("#error")).to_have_text("Identifiant ou mot de passe incorrect.")
        expect(page).to_have_url(re.compile(r"/login$"))
        # an expert lands on the knowledge base; the CSRF token is kept for the page's scripts
        x = served.logins[Role.KNOWLEDGE_EXPERT]
        page.get_by_label("Identifiant").fill(x.username)
        page.get_by_label("Mot de passe").fill(x.password)
        page.get_by_role("button", name="Se connecter").click()
        expect(page).to_have_url(re.compile(r"/kb$"))
        assert page.evaluate("sessionStorage.getItem('joignable.csrf')")
        # the desk is not an expert's: refused, with a way out
        page.goto(f"{served.base}/desk")
        expect(page.locator(".refused")).to_contain_text("réservée aux conseillers")
        page.get_by_role("button", name="Se déconnecter").click()
        expect(page).to_have_url(re.compile(r"/login$"))
        page.goto(f"{served.base}/desk")
        expect(page).to_have_url(re.compile(r"/login\?next=/desk$"))
    finally:
        context.close()


def test_the_desk_resumes_after_its_streams_drop_without_duplicates(
    served: Served, desk: Any, customer: Any
) -> None:
    """Every stream of the desk goes through a switch that can cut it and refuse reconnecting:
    what happened meanwhile shows once the streams are back, and only once."""
    from playwright.sync_api import expect

    down = False
    routes: list[tuple[Any, Any]] = []

    def through(ws: Any) -> None:
        if down:
            ws.close(code=1011, reason="cut")
            return
        routes.append((ws, ws.connect_to_server()))

    desk.route_web_socket(re.compile(r"/stream"), through)
    desk.reload()  # the desk's streams now go through the switch
    expect(desk.locator("#presence-now")).to_have_text("You are away.")
    _start_chat(served, customer, "Hugo")
    _go_available(desk)
    desk.locator("#offers li").get_by_role("button", name="Accept").click()
    desk.get_by_label("Your message").fill("Hello Hugo.")
    desk.get_by_label("Your message").press("Enter")
    expect(customer.locator("#messages li.agent .text")).to_have_text("Hello Hugo.")
    assert len(routes) == 2  # the agent's events and the chat

    down = True
    for page_side, server_side in routes:
        page_side.close(code=1011, reason="cut")
        server_side.close()
    expect(desk.locator("#stream-status")).to_be_visible()
    customer.get_by_label("Your message").fill("Are you there?")
    customer.get_by_label("Your message").press("Enter")
    # meanwhile a second chat is offered to the agent
    other = _context(desk.context.browser)
    try:
        second = other.new_page()
        _start_chat(served, second, "Nora")
        time.sleep(0.5)
        expect(desk.locator("#messages li")).to_have_count(1)
        down = False
        expect(desk.locator("#stream-status")).to_be_hidden(timeout=15000)
        expect(desk.locator("#messages li .text")).to_have_text(["Hello Hugo.", "Are you there?"])
        expect(desk.locator("#offers li .what")).to_have_text("Chat from Nora, topic Billing")
        second.get_by_role("button", name="Leave the chat").click()
        expect(desk.locator("#offers li")).to_have_count(0)
    finally:
        other.close()
    customer.get_by_label("Your message").fill("Hello?")
    customer.get_by_label("Your message").press("Enter")
    expect(desk.locator("#messages li .text")).to_have_text(
        ["Hello Hugo.", "Are you there?", "Hello?"]
    )
    desk.get_by_role("button", name="End the conversation").click()
    desk.get_by_label("Wrap-up code").select_option("info")
    desk.get_by_role("button", name="Finish the wrap-up").click()
    expect(desk.locator("#no-conversation")).to_be_visible()


def test_a_callback_nobody_answers_is_planned_again(served: Served, desk: Any) -> None:
    from playwright.sync_api import expect

    admin = served.staff(Role.ADMIN)
    r = admin.post(
        "/api/callbacks", json={"queue": "billing", "number": "+33 7 00 00 00 01", "customer": "c9"}
    )
    assert r.status_code == 201, r.text
    contact = r.json()["contact"]
    _go_available(desk)
    offer = desk.locator("#offers li")
    expect(offer.locator(".what")).to_have_text(
        "Callback to make: +33 7 00 00 00 01, topic Billing"
    )
    offer.get_by_role("button", name="Accept").click()
    expect(desk.get_by_role("button", name="Reached: done")).to_be_focused()
    expect(desk.locator("#history-list")).to_have_text("No previous contact.")
    desk.get_by_role("button", name="Not reached").click()
    expect(desk.locator("#notice")).to_have_text("Not reached: another attempt is planned.")
    expect(desk.locator("#no-conversation")).to_be_visible()
    failed = [e for kind, e in _ledger(served, contact) if kind == "callback_attempt_failed"]
    assert len(failed) == 1 and failed[0]["retry_at"] is not None
    assert admin.get(f"/api/contacts/{contact}").json()["outcome"] is None  # still to call


def test_offers_left_unanswered_ring_out_and_the_agent_is_set_away(
    served: Served, desk: Any, customer: Any
) -> None:
    from playwright.sync_api import expect

    admin = served.staff(Role.ADMIN)
    settings = admin.get("/api/settings").json()
    assert admin.put("/api/settings", json={**settings, "offer_timeout": 2.0}).status_code == 200
    try:
        _start_chat(served, customer, "Paul")
        _go_available(desk)
        expect(desk.locator("#offers li .countdown")).to_have_text(
            re.compile(r"^[0-2] s left to answer$")
        )
        # three offers in a row ring out (max_missed), then nobody is kept waiting on this desk
        expect(desk.locator("#presence-now")).to_have_text("You are away.", timeout=15000)
        expect(desk.locator("#offers li")).to_have_count(0)
        expect(desk.get_by_role("radio", name="Away")).to_be_checked()
        expect(customer.locator("#status-line")).to_have_text("You are number 1 in line.")
    finally:
        assert admin.put("/api/settings", json=settings).status_code == 200
    customer.get_by_role("button", name="Leave the chat").click()
    expect(customer.locator("#status-line")).to_have_text("You left the chat.")


def _tab_to(page: Any, target: Any, presses: int = 40) -> None:
    """Tab (forward only) until ``target`` has the focus: it is reachable by keyboard."""
    for _ in range(presses):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{target} not reached in {presses} Tab presses")


def test_the_desk_in_french_by_keyboard_alone(served: Served, browser: Any, customer: Any) -> None:
    from playwright.sync_api import expect

    api = served.staff(Role.AGENT)
    assert api.put(f"/api/agents/{AGENT}/presence", json={"presence": "away"}).status_code == 200
    context = _context(browser, "fr-FR")
    try:
        page = context.new_page()
        page.goto(f"{served.base}/login?next=/desk")
        x = served.logins[Role.AGENT]
        expect(page.get_by_label("Identifiant")).to_be_focused()
        page.keyboard.type(x.username)
        page.keyboard.press("Tab")
        page.keyboard.type(x.password)
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/desk$"))
        expect(page.locator("#presence-now")).to_have_text("Vous êtes absent.")

        _start_chat(served, customer, "Élise")
        _tab_to(page, page.get_by_role("radio", name="Absent"))
        page.keyboard.press("ArrowUp")  # to "Disponible", in the radio group
        expect(page.get_by_role("radio", name="Disponible")).to_be_checked()
        _tab_to(page, page.get_by_role("button", name="Mettre à jour"))
        page.keyboard.press("Enter")
        offer = page.locator("#offers li")
        expect(offer.locator(".what")).to_have_text("Discussion avec Élise, sujet Billing")
        expect(offer.locator(".countdown")).to_have_text(re.compile(r"^\d+ s pour répondre$"))
        _tab_to(page, offer.get_by_role("button", name="Accepter"))
        page.keyboard.press("Enter")
        expect(page.get_by_label("Votre message")).to_be_focused()
        page.keyboard.type("Bonjour Élise !")
        page.keyboard.press("Enter")
        expect(customer.locator("#messages li.agent .text")).to_have_text("Bonjour Élise !")
        _tab_to(page, page.get_by_role("button", name="Terminer la conversation"))
        page.keyboard.press("Enter")
        expect(page.get_by_label("Code de clôture")).to_be_focused()
        page.get_by_label("Code de clôture").select_option("info")  # a select, by keyboard too
        page.keyboard.press("Tab")
        expect(page.get_by_label("Notes")).to_be_focused()
        page.keyboard.type("Renseignée.")
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Terminer le post-traitement")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#no-conversation")).to_have_text("Aucune conversation ouverte.")
    finally:
        context.close()
        api.put(f"/api/agents/{AGENT}/presence", json={"presence": "away"})
        _close_everything(served)  # one test's leftovers must not become the next one's offers


def test_a_desk_whose_session_was_replaced_reloads_with_the_new_one(
    served: Served, desk: Any
) -> None:
    """Logging in again in the same browser replaces the session cookie, so the token written in
    an open desk is stale: its next action reloads the page, which then works."""
    from playwright.sync_api import expect

    x = served.logins[Role.AGENT]
    r = desk.context.request.post(
        f"{served.base}/api/session", data={"username": x.username, "password": x.password}
    )
    assert r.ok
    old = desk.locator('meta[name="csrf-token"]').get_attribute("content")
    update = desk.get_by_role("button", name="Update")
    desk.get_by_role("radio", name="Available").check()
    with desk.expect_navigation():
        update.click()
    assert desk.locator('meta[name="csrf-token"]').get_attribute("content") != old
    expect(desk.locator("#presence-now")).to_have_text("You are away.")  # nothing was done
    _go_available(desk)
    expect(desk.locator("#presence-now")).to_have_text("You are available.")


def test_a_wrap_up_left_open_closes_at_its_limit_and_the_desk_says_so(
    served: Served, desk: Any
) -> None:
    from playwright.sync_api import expect

    admin = served.staff(Role.ADMIN)
    settings = admin.get("/api/settings").json()
    assert admin.put("/api/settings", json={**settings, "wrapup_limit": 2.0}).status_code == 200
    try:
        contact = admin.post(
            "/api/contacts", json={"queue": "billing", "channel": "chat", "customer": "c77"}
        ).json()["contact"]
        _go_available(desk)
        desk.locator("#offers li").get_by_role("button", name="Accept").click()
        desk.get_by_role("button", name="End the conversation").click()
        expect(desk.locator("#wrapup-form")).to_be_visible()
        expect(desk.locator("#notice")).to_have_text(
            f"The wrap-up of {contact} reached its time limit and closed without a code.",
            timeout=10000,
        )
        expect(desk.locator("#no-conversation")).to_be_visible()
        record = admin.get(f"/api/contacts/{contact}").json()
        assert record["outcome"] == "handled" and record["disposition"] == ""
    finally:
        assert admin.put("/api/settings", json=settings).status_code == 200


def test_an_agent_transfers_a_chat_to_another_queue(served: Served, desk: Any) -> None:
    from playwright.sync_api import expect

    admin = served.staff(Role.ADMIN)
    contact = admin.post(
        "/api/contacts", json={"queue": "billing", "channel": "chat", "customer": "c88"}
    ).json()["contact"]
    _go_available(desk)
    desk.locator("#offers li").get_by_role("button", name="Accept").click()
    expect(desk.locator("#conversation")).to_have_attribute("data-contact-id", contact)
    desk.get_by_label("Transfer to the queue").select_option("tech")
    desk.get_by_role("button", name="Transfer", exact=True).click()
    expect(desk.locator("#notice")).to_have_text("c88 (Billing) transferred to Technical support.")
    record = admin.get(f"/api/contacts/{contact}").json()
    assert record["transfers"] == 1 and record["final_queue"] == "tech"
    assert record["outcome"] is None  # waiting in its new queue (or offered there)
    expect(desk.get_by_role("tab", name="c88 (Billing)")).to_have_count(0)
    # the agent did not wrap it up: it is still the customer's open contact
    work = served.staff(Role.AGENT).get(f"/api/agents/{AGENT}/work").json()
    assert contact not in [w["contact"] for w in work["wrapups"]]
    admin.post(f"/api/contacts/{contact}/cancel")


def test_an_offered_chat_shows_what_the_customer_wrote_before_it_is_accepted(
    served: Served, desk: Any, customer: Any
) -> None:
    from playwright.sync_api import expect

    _start_chat(served, customer, "Noé")
    for text in ("My parcel never came.", "Order 5521, paid on Monday."):
        customer.get_by_label("Your message").fill(text)
        customer.get_by_label("Your message").press("Enter")
        expect(customer.locator("#messages li.customer .text").last).to_have_text(text)
    _go_available(desk)
    offer = desk.locator("#offers > li")
    expect(offer).to_have_count(1)
    preview = offer.locator(".preview")
    expect(preview.locator(".preview-heading")).to_have_text("What the customer wrote")
    expect(preview.locator("li")).to_have_text(
        ["My parcel never came.", "Order 5521, paid on Monday."]
    )
    # the accept button is described by the preview too (a screen reader hears it)
    described = offer.get_by_role("button", name="Accept").get_attribute("aria-describedby")
    assert described is not None and preview.get_attribute("id") in described.split()
    # written while the offer rings: the preview follows, the first three only
    for text in ("Hello?", "Still there?"):
        customer.get_by_label("Your message").fill(text)
        customer.get_by_label("Your message").press("Enter")
        # sent before the next one is typed (a message typed during a send can be lost)
        expect(customer.locator("#messages li.customer .text").last).to_have_text(text)
    expect(preview.locator("li")).to_have_count(3)
    # the preview is read again every 2 s: the fourth message may need the next reading
    expect(preview.locator(".preview-more")).to_have_text("and 1 more message(s)", timeout=10_000)
    offer.get_by_role("button", name="Accept").click()
    expect(desk.locator("#messages li.customer")).to_have_count(4)
    contact = desk.locator("#conversation").get_attribute("data-contact-id")
    agent = served.staff(Role.AGENT)
    assert agent.post(f"/api/agents/{AGENT}/contacts/{contact}/complete").status_code == 200
    assert agent.post(f"/api/agents/{AGENT}/wrapups/{contact}", json={}).status_code == 200


def test_an_offered_chat_with_nothing_written_says_so(served: Served, desk: Any) -> None:
    from playwright.sync_api import expect

    admin = served.staff(Role.ADMIN)
    contact = admin.post(
        "/api/contacts", json={"queue": "billing", "channel": "chat", "customer": "c61"}
    ).json()["contact"]
    _go_available(desk)
    preview = desk.locator("#offers > li .preview")
    expect(preview.locator(".preview-none")).to_have_text("The customer has not written yet.")
    admin.post(f"/api/contacts/{contact}/cancel")
    expect(desk.locator("#offers > li")).to_have_count(0)


def _chat_colleague(served: Served) -> tuple[str, str]:
    """Another agent of the demo who takes chats: (id, name)."""
    from joignable.core.model import Channel

    def pick(engine: Any) -> tuple[str, str]:
        for a in engine.state.agents.values():
            if a.config.id != AGENT and Channel.CHAT in a.channels:
                return a.config.id, a.config.name or a.config.id
        raise AssertionError("the demo has no other chat agent")

    found: tuple[str, str] = served.services.center.read(pick)
    return found


def test_an_agent_transfers_a_chat_to_a_named_agent(served: Served, desk: Any) -> None:
    from playwright.sync_api import expect

    other, name = _chat_colleague(served)
    sup = served.staff(Role.SUPERVISOR)
    assert sup.put(f"/api/agents/{other}/presence", json={"presence": "away"}).status_code == 200
    admin = served.staff(Role.ADMIN)
    contact = admin.post(
        "/api/contacts", json={"queue": "billing", "channel": "chat", "customer": "c99"}
    ).json()["contact"]
    try:
        _go_available(desk)
        desk.locator("#offers > li").get_by_role("button", name="Accept").click()
        expect(desk.locator("#conversation")).to_have_attribute("data-contact-id", contact)
        choice = desk.get_by_label("Transfer to an agent")
        options = choice.locator("option")
        assert AGENT not in options.evaluate_all("os => os.map((o) => o.value)")  # not oneself
        option = choice.locator(f'option[value="{other}"]')
        expect(option).to_have_text(f"{name} (away)")  # each colleague with their state
        choice.select_option(other)
        # the colleague is away: refused with the engine's reason, the chat stays here
        desk.get_by_role("button", name="Transfer to this agent").click()
        expect(desk.locator("#error")).to_contain_text(f"{other} is not available")
        expect(desk.get_by_role("tab", name="c99 (Billing)")).to_be_visible()

        assert (
            sup.put(f"/api/agents/{other}/presence", json={"presence": "available"}).status_code
            == 200
        )
        choice.focus()  # the list is looked at again: its states are fetched again
        expect(option).to_have_text(f"{name} (available)")
        desk.get_by_role("button", name="Transfer to this agent").click()
        expect(desk.locator("#notice")).to_have_text(f"c99 (Billing) transferred to {name}.")
        expect(desk.get_by_role("tab", name="c99 (Billing)")).to_have_count(0)
        work = sup.get(f"/api/agents/{other}/work").json()
        assert contact in [o["contact"] for o in work["offers"]]  # on the colleague's line
        moved = [e for t, e in _ledger(served, contact) if t == "contact_requeued"]
        assert moved[-1]["to_agent"] == other and moved[-1]["by_agent"] == AGENT
        record = admin.get(f"/api/contacts/{contact}").json()
        assert record["transfers"] == 1
    finally:
        admin.post(f"/api/contacts/{contact}/cancel")
        sup.put(f"/api/agents/{other}/presence", json={"presence": "offline"})


def test_a_remembered_customer_comes_back_and_the_desk_shows_the_first_chat(
    served: Served, desk: Any, browser: Any
) -> None:
    from playwright.sync_api import expect

    context = _context(browser)
    try:
        page = context.new_page()
        page.goto(f"{served.base}/chat")
        expect(page.get_by_label("Remember me on this browser")).not_to_be_checked()
        page.get_by_label("Your name").fill("Zoé")
        page.get_by_label("Topic").select_option("billing")
        page.get_by_label("Remember me on this browser").check()
        page.get_by_role("button", name="Start the chat").click()
        expect(page.locator("#status-line")).not_to_be_empty()
        _go_available(desk)
        desk.locator("#offers > li").get_by_role("button", name="Accept").click()
        expect(desk.get_by_role("tab", name="Zoé (Billing)")).to_be_visible()
        expect(desk.locator("#history-list")).to_have_text("No previous contact.")
        first = desk.locator("#conversation").get_attribute("data-contact-id")
        desk.get_by_role("button", name="End the conversation").click()
        desk.get_by_label("Wrap-up code").select_option("resolved")
        desk.get_by_label("Notes").fill("Refund promised.")
        desk.get_by_role("button", name="Finish the wrap-up").click()
        expect(desk.locator("#no-conversation")).to_be_visible()

        again = context.new_page()  # the same browser, another day: the box is ticked again
        again.goto(f"{served.base}/chat")
        expect(again.get_by_label("Remember me on this browser")).to_be_checked()
        _start_chat(served, again, "Zoé")
        desk.locator("#offers > li").get_by_role("button", name="Accept").click()
        expect(desk.get_by_role("tab", name="Zoé (Billing)")).to_be_visible()
        second = desk.locator("#conversation").get_attribute("data-contact-id")
        assert second != first
        expect(desk.locator("#history-list li")).to_have_count(1)
        expect(desk.locator("#history-list")).to_contain_text("handled")
        expect(desk.locator("#history-list")).to_contain_text("Refund promised.")
        agent = served.staff(Role.AGENT)
        assert agent.post(f"/api/agents/{AGENT}/contacts/{second}/complete").status_code == 200
        assert agent.post(f"/api/agents/{AGENT}/wrapups/{second}", json={}).status_code == 200
    finally:
        context.close()
