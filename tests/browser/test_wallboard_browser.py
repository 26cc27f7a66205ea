"""The supervisor wallboard in Debian's chromium against a served joignable: a supervisor logs
in on /login and watches contacts made and handled through the API, a contact that waits with
nobody to take it, and a customer who leaves the chat before an answer, all without a reload."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from joignable.web.accounts import Role

from .conftest import Served

AGENT = "a01"  # the agent user's own agent: billing at a high level, chat and voice


def _context(browser: Any, locale: str = "en-US") -> Any:
    context = browser.new_context(locale=locale, timezone_id="Europe/Paris")
    context.set_default_timeout(8000)
    return context


@pytest.fixture
def board(served: Served, browser: Any) -> Iterator[Any]:
    """The wallboard, logged in through /login (with the long-wait alert at 3 s, so a test
    need not wait two minutes), every agent away to start with."""
    from playwright.sync_api import expect

    sup = served.staff(Role.SUPERVISOR)
    for agent in sup.get("/api/stats/live").json()["agents"]:
        sup.put(f"/api/agents/{agent}/presence", json={"presence": "away"})
    context = _context(browser)
    page = context.new_page()
    errors: list[Any] = []
    page.on("pageerror", lambda e: errors.append(e))
    try:
        page.goto(f"{served.base}/wallboard?long_wait=3")
        expect(page).to_have_url(re.compile(r"/login\?next=/wallboard%3Flong_wait%3D3$"))
        x = served.logins[Role.SUPERVISOR]
        page.get_by_label("Username").fill(x.username)
        page.get_by_label("Password").fill(x.password)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/wallboard\?long_wait=3$"))
        expect(page.get_by_role("heading", name="Wallboard")).to_be_visible()
        expect(page.locator("#updated")).to_contain_text("live")  # the stream is open
        page.evaluate("window.sameDocument = true")  # gone if the page ever reloads
        yield page
        assert errors == [], errors  # the page's script never threw
    finally:
        context.close()


def cell(page: Any, queue: str, field: str) -> Any:
    return page.locator(f'#queues tr[data-queue="{queue}"] td[data-field="{field}"]')


def count(page: Any, queue: str, field: str) -> int:
    from playwright.sync_api import expect

    expect(cell(page, queue, field)).to_have_text(re.compile(r"^\d+$"))
    return int(cell(page, queue, field).inner_text())


def _serve(agent: httpx.Client, admin: httpx.Client, queue: str) -> str:
    r = admin.post("/api/contacts", json={"queue": queue, "channel": "chat", "customer": "wb"})
    assert r.status_code == 201, r.text
    contact = str(r.json()["contact"])
    assert agent.put(f"/api/agents/{AGENT}/presence", json={"presence": "available"}).is_success
    r = agent.post(f"/api/agents/{AGENT}/offers/{contact}/accept")
    assert r.status_code == 200 and r.json()["accepted"] is True, r.text
    assert agent.post(f"/api/agents/{AGENT}/contacts/{contact}/complete").status_code == 200
    r = agent.post(f"/api/agents/{AGENT}/wrapups/{contact}", json={"disposition": "resolved"})
    assert r.status_code == 200, r.text
    assert agent.put(f"/api/agents/{AGENT}/presence", json={"presence": "away"}).is_success
    return contact


def test_a_handled_contact_shows_up_live(served: Served, board: Any) -> None:
    from playwright.sync_api import expect

    agent, admin = served.staff(Role.AGENT), served.staff(Role.ADMIN)
    handled, offered = count(board, "billing", "handled"), count(board, "billing", "offered")
    expect(cell(board, "billing", "sl")).to_be_visible()
    expect(board.locator("#definition")).to_contain_text(
        "answered within T / contacts offered (strictest) (answered_within_t_over_offered)"
    )
    _serve(agent, admin, "billing")
    expect(cell(board, "billing", "handled")).to_have_text(str(handled + 1))
    expect(cell(board, "billing", "offered")).to_have_text(str(offered + 1))
    expect(cell(board, "billing", "sl")).to_contain_text("100.0%")
    # the agent's row: its state written out, its time in state
    row = board.locator(f'#agents tr[data-agent="{AGENT}"]')
    expect(row.locator('td[data-field="state"]')).to_have_text("away")
    expect(row.locator('td[data-field="time_in_state"]')).to_have_text(re.compile(r"^\d+ s$"))
    # today's chart for the queue, with its table as the text alternative
    figure = board.locator('figure[data-queue="billing"]')
    expect(figure.get_by_role("img", name="Billing: contacts per interval")).to_be_visible()
    figure.locator("summary").click()  # opens the table
    table = figure.get_by_role("table", name="Billing: the figures as a table")
    expect(table.locator('td[data-field="handled"]').last).to_have_text(re.compile(r"^[1-9]"))
    assert board.evaluate("window.sameDocument") is True  # no reload


def test_a_contact_waiting_with_nobody_raises_the_waiting_alert(served: Served, board: Any) -> None:
    from playwright.sync_api import expect

    admin = served.staff(Role.ADMIN)
    r = admin.post("/api/contacts", json={"queue": "sales", "channel": "voice", "customer": "w"})
    contact = r.json()["contact"]
    expect(cell(board, "sales", "waiting")).to_have_text("1")
    before = cell(board, "sales", "longest_wait").inner_text()
    alert = board.get_by_role("alert").filter(has_text="Sales: 1 contact waiting over 3 s")
    expect(alert).to_be_visible()  # said in words, announced: not a colour alone
    expect(alert).to_contain_text("Critical:")
    expect(alert).to_have_attribute("data-contacts", contact)
    expect(board.locator("#no-alerts")).to_be_hidden()
    # the longest wait runs on between fetches
    expect(cell(board, "sales", "longest_wait")).not_to_have_text(before)
    # the customer gives up: counted as an abandon, the alert goes
    assert admin.post(f"/api/contacts/{contact}/cancel").status_code == 200
    expect(cell(board, "sales", "waiting")).to_have_text("0")
    expect(alert).to_have_count(0)
    expect(cell(board, "sales", "abandon_rate")).to_have_text(re.compile(r"^\d+\.\d%$"))
    assert board.evaluate("window.sameDocument") is True


def test_a_customer_who_leaves_the_chat_shows_as_abandoned(
    served: Served, board: Any, browser: Any
) -> None:
    from playwright.sync_api import expect

    offered, abandoned = count(board, "tech", "offered"), count(board, "tech", "abandoned")
    customer = _context(browser).new_page()
    try:
        customer.goto(f"{served.base}/chat")
        customer.get_by_label("Your name").fill("Zoé")
        customer.get_by_label("Topic").select_option("tech")
        customer.get_by_role("button", name="Start the chat").click()
        expect(customer.locator("#status-line")).to_have_text("You are number 1 in line.")
        expect(cell(board, "tech", "waiting")).to_have_text("1")
        customer.get_by_role("button", name="Leave the chat").click()
        expect(customer.locator("#status-line")).to_have_text("You left the chat.")
    finally:
        customer.context.close()
    expect(cell(board, "tech", "waiting")).to_have_text("0")
    expect(cell(board, "tech", "offered")).to_have_text(str(offered + 1))
    expect(cell(board, "tech", "abandoned")).to_have_text(str(abandoned + 1))
    intervals = served.staff(Role.SUPERVISOR).get("/api/stats/intervals", params={"queue": "tech"})
    totals = intervals.json()["totals"]
    decided = totals["offered"] - totals["waiting"]
    rate = f"{100 * totals['abandoned'] / decided:.1f}%"
    assert totals["abandoned"] >= 1
    expect(cell(board, "tech", "abandon_rate")).to_have_text(rate)
    assert board.evaluate("window.sameDocument") is True


def test_after_the_stream_drops_it_resumes_without_counting_twice(
    served: Served, board: Any
) -> None:
    """The stream goes through a switch: cut, two contacts handled meanwhile, back. The page
    resumes after the seq it had reflected, and each contact is counted once."""
    from playwright.sync_api import expect

    down = False
    urls: list[str] = []
    routes: list[tuple[Any, Any]] = []

    def through(ws: Any) -> None:
        urls.append(ws.url)
        if down:
            ws.close(code=1011, reason="cut")
            return
        routes.append((ws, ws.connect_to_server()))

    board.route_web_socket(re.compile(r"/api/stream"), through)
    board.reload()
    expect(board.locator("#updated")).to_contain_text("live")
    board.evaluate("window.sameDocument = true")
    handled = count(board, "billing", "handled")
    agent, admin = served.staff(Role.AGENT), served.staff(Role.ADMIN)

    down = True
    for page_side, server_side in routes:
        page_side.close(code=1011, reason="cut")
        server_side.close()
    expect(board.locator("#stream-status")).to_be_visible()
    _serve(agent, admin, "billing")
    _serve(agent, admin, "billing")
    # polling carries on meanwhile
    expect(cell(board, "billing", "handled")).to_have_text(str(handled + 2), timeout=12000)
    down = False
    expect(board.locator("#stream-status")).to_be_hidden(timeout=15000)
    _serve(agent, admin, "billing")
    expect(cell(board, "billing", "handled")).to_have_text(str(handled + 3))
    after = [int(u.rsplit("after=", 1)[1]) for u in urls]
    assert after == sorted(after) and after[-1] > after[0]  # resumed further on, never from 0
    board.wait_for_timeout(1500)
    expect(cell(board, "billing", "handled")).to_have_text(str(handled + 3))  # once each
    assert board.evaluate("window.sameDocument") is True


def test_an_agent_is_refused_in_french(served: Served, browser: Any) -> None:
    from playwright.sync_api import expect

    context = _context(browser, "fr-FR")
    try:
        page = context.new_page()
        page.goto(f"{served.base}/login?next=/wallboard")
        x = served.logins[Role.AGENT]
        page.get_by_label("Identifiant").fill(x.username)
        page.get_by_label("Mot de passe").fill(x.password)
        page.get_by_role("button", name="Se connecter").click()
        expect(page).to_have_url(re.compile(r"/wallboard$"))
        expect(page.locator(".refused")).to_contain_text("réservé aux superviseurs")
        page.get_by_role("link", name="Aller à votre page").click()
        expect(page).to_have_url(re.compile(r"/desk$"))
    finally:
        context.close()


def test_the_switch_shows_the_board_and_its_alerts_in_french(served: Served, board: Any) -> None:
    from playwright.sync_api import expect

    admin = served.staff(Role.ADMIN)
    r = admin.post("/api/contacts", json={"queue": "sales", "channel": "voice", "customer": "fr"})
    contact = r.json()["contact"]
    try:
        # the alert needs the 3 s threshold, then the next refresh (polled every 5 s)
        expect(board.get_by_role("alert").filter(has_text="Sales: 1 contact")).to_be_visible(
            timeout=15_000
        )
        board.get_by_role("link", name="Français").click()
        expect(board.locator("html")).to_have_attribute("lang", "fr")
        expect(board.get_by_role("heading", name="Tableau de bord")).to_be_visible()
        expect(board).to_have_url(re.compile(r"long_wait=3"))  # the thresholds stay
        alert = board.get_by_role("alert").filter(
            has_text="Sales : 1 contact en attente depuis plus de 3 s"
        )
        expect(alert).to_contain_text("Critique :")
        expect(board.locator("#updated")).to_contain_text("en direct")
        expect(board.get_by_role("columnheader", name="Niveau de service du jour")).to_be_visible()
    finally:
        assert admin.post(f"/api/contacts/{contact}/cancel").status_code == 200
    board.get_by_role("link", name="English").click()
    expect(board.locator("html")).to_have_attribute("lang", "en")
