"""The customer's chat in a real browser against a served joignable: a customer opens /chat,
starts a chat and sees its place; an agent accepts through the API; messages flow both ways;
the customer leaves. And a customer who leaves before an answer is an abandon."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from joignable.web.accounts import Role

from .conftest import Served, eventually

T = TypeVar("T")


def _offer(agent: httpx.Client) -> str | None:
    offers = agent.get("/api/agents/a01/work").json()["offers"]
    return str(offers[0]["contact"]) if offers else None


def test_a_customer_chats_with_an_agent_in_a_real_browser(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    agent = served.staff(Role.AGENT)  # a01, Ana: takes billing chats
    sockets: list[Any] = []
    page.on("websocket", lambda ws: sockets.append(ws))
    page.goto(f"{served.base}/chat")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # from the browser's locale
    page.get_by_label("Your name").fill("Léa")
    page.get_by_label("Topic").select_option("billing")
    page.get_by_role("button", name="Start the chat").click()
    expect(page.locator("#status-line")).to_have_text("You are number 1 in line.")
    expect(page.locator("#explanation")).to_contain_text("you are next in line")
    # live over the chat's stream, its token not in the URL
    if not sockets:  # events reach Python while a Playwright call waits, not in a sleep
        page.wait_for_event("websocket")
    assert [w.url.split("?")[0].rsplit("/", 1)[-1] for w in sockets] == ["stream"]
    assert "jgc_" not in sockets[0].url

    r = agent.put("/api/agents/a01/presence", json={"presence": "available"})
    assert r.status_code == 200, r.text
    contact = eventually(lambda: _offer(agent))
    assert agent.post(f"/api/agents/a01/offers/{contact}/accept").json()["accepted"] is True
    expect(page.locator("#status-line")).to_have_text("Ana is with you.")

    chat = f"/api/agents/a01/chats/{contact}/messages"
    assert agent.post(chat, json={"text": "Bonjour Léa, how can I help?"}).status_code == 201
    expect(page.locator("#messages li.agent .text")).to_have_text("Bonjour Léa, how can I help?")

    page.get_by_label("Your message").fill("My invoice is wrong.")
    page.get_by_label("Your message").press("Enter")  # the keyboard sends
    expect(page.locator("#messages li.customer .text")).to_have_text("My invoice is wrong.")
    texts = eventually(
        lambda: [m["text"] for m in agent.get(chat).json()["messages"] if m["sender"] == "customer"]
    )
    assert texts == ["My invoice is wrong."]
    # every message once, in order; and again so after a reload (the chat resumes from the start)
    expect(page.locator("#messages li")).to_have_count(2)
    page.reload()
    expect(page.locator("#status-line")).to_have_text("Ana is with you.")
    expect(page.locator("#messages li .text")).to_have_text(
        ["Bonjour Léa, how can I help?", "My invoice is wrong."]
    )

    page.get_by_role("button", name="Leave the chat").click()
    expect(page.locator("#messages li.system")).to_have_text("You left the chat.")
    assert agent.get(chat, params={"after": 2}).json()["customer_left"] is True
    assert agent.post(f"/api/agents/a01/contacts/{contact}/complete").status_code == 200
    sup = served.staff(Role.SUPERVISOR)
    assert sup.get(f"/api/contacts/{contact}").json()["outcome"] == "handled"
    assert agent.put("/api/agents/a01/presence", json={"presence": "away"}).status_code == 200


def test_leaving_before_an_answer_shows_as_an_abandon(served: Served, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(f"{served.base}/chat")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.get_by_role("link", name="English").click()  # the switch
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.get_by_role("link", name="Français").click()
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        # by keyboard only
        page.get_by_label("Votre nom").fill("Marc")
        page.keyboard.press("Tab")
        expect(page.get_by_label("Sujet")).to_be_focused()
        page.get_by_label("Sujet").select_option("tech")
        page.keyboard.press("Tab")
        expect(page.get_by_label("De quoi s'agit-il ? (facultatif)")).to_be_focused()
        page.keyboard.press("Tab")
        expect(page.get_by_label("Se souvenir de moi sur ce navigateur")).to_be_focused()
        page.keyboard.press("Tab")
        start = page.get_by_role("button", name="Commencer la discussion")
        expect(start).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#status-line")).to_contain_text("dans la file")
        page.get_by_role("button", name="Quitter la discussion").click()
        expect(page.locator("#status-line")).to_have_text("Vous avez quitté la discussion.")
        sup = served.staff(Role.SUPERVISOR)
        mine = [c for c in sup.get("/api/export/contacts.csv").text.splitlines() if "tech" in c]
        assert mine and "abandoned" in mine[-1] and "customer_left" in mine[-1]
    finally:
        context.close()
