"""Self-service on the customer chat page, in a real browser against a served joignable: a
customer describes the problem, runs the guided flow (going back a step), says it solved it and
the contact ends as deflected; another asks for a person mid-flow and the agent, through the
API, sees every question with the customer's answer."""

from __future__ import annotations

from typing import Any

from joignable.web.accounts import Role

from .conftest import Served, log_in, new_page


def _contact(page: Any) -> str:
    saved = page.evaluate("JSON.parse(sessionStorage.getItem('joignable.chat'))")
    return str(saved["contact"])


def test_a_customer_solves_it_alone_and_the_contact_is_deflected(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served.base}/chat")
    page.get_by_label("Your name").fill("Léa")
    page.get_by_label("Topic").select_option("tech")
    page.get_by_label("What is it about? (optional)").fill("internet not working")
    page.get_by_role("button", name="Start the chat").click()
    expect(page.locator("#status-line")).to_contain_text("in line")
    contact = _contact(page)
    # the problem typed at the start already found the guided flow, saying why
    results = page.locator("#ss-results li")
    expect(results.first).to_contain_text("No internet")
    expect(results.first).to_contain_text('"internet"')
    page.get_by_role("button", name="No internet").click()
    expect(page.locator("#ss-question-text")).to_have_text(
        "What colour is the light on the router?"
    )
    page.get_by_role("button", name="Off").click()
    expect(page.locator("#ss-question-text")).to_contain_text("Restart the router")
    page.get_by_role("button", name="Previous question").click()
    expect(page.locator("#ss-question-text")).to_have_text(
        "What colour is the light on the router?"
    )
    page.get_by_role("button", name="Off").click()
    page.get_by_role("button", name="Yes").click()
    expect(page.locator("#ss-title")).to_have_text("Restart your router")
    expect(page.locator("#ss-steps li").first).to_be_visible()
    page.get_by_role("button", name="This solved it").click()
    expect(page.locator("#status-line")).to_have_text(
        "Glad it is solved. The chat is over: thank you!"
    )
    sup = served.staff(Role.SUPERVISOR)
    assert sup.get(f"/api/contacts/{contact}").json()["outcome"] == "deflected"
    runs = sup.get(f"/api/kb/contacts/{contact}").json()["runs"]
    assert runs[0]["solved"] and runs[0]["path"][-1]["node"] == "fixed"


def test_a_customer_hands_over_and_the_agent_sees_the_answers(served: Served, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(f"{served.base}/chat")
        page.get_by_label("Votre nom").fill("Marc")
        page.get_by_label("Sujet").select_option("tech")
        page.get_by_role("button", name="Commencer la discussion").click()
        expect(page.locator("#status-line")).to_contain_text("dans la file")
        contact = _contact(page)
        # while waiting, by keyboard: type the problem and search
        page.get_by_label("Votre problème").fill("plus d'internet")
        page.get_by_label("Votre problème").press("Enter")
        page.get_by_role("button", name="Plus d'internet").click()
        page.get_by_role("button", name="Blanc").click()
        expect(page.locator("#ss-question-text")).to_contain_text("câble Ethernet")
        page.get_by_role("button", name="Parler à un conseiller").click()
        expect(page.locator("#messages li.system")).to_have_text(
            "Vous avez demandé un conseiller : il verra vos réponses."
        )
        expect(page.locator("#self-service")).to_be_hidden()
        agent = served.staff(Role.AGENT)
        seen = agent.get(f"/api/kb/contacts/{contact}").json()
        packet = seen["handover"]
        assert packet["query"] == "plus d'internet"
        assert packet["answered"] == [
            {"question": "De quelle couleur est le voyant de la box ?", "answer": "Blanc"}
        ]
        assert packet["stopped_at"] == "ask_wifi_only" and packet["queue"] == "tech"
        # still in line for a person, not deflected
        assert agent.get(f"/api/contacts/{contact}").json()["outcome"] is None
        page.get_by_role("button", name="Quitter la discussion").click()
    finally:
        context.close()


def test_the_agents_panel_shows_the_packet_runs_a_flow_and_links_the_solution(
    served: Served, browser: Any
) -> None:
    """The panel inside the desk, driven through the desk's contract (data-contact-id and the
    desk:contact / desk:wrapup events), against what a self-service customer left."""
    import httpx
    from playwright.sync_api import expect

    customer = httpx.Client(base_url=served.base, timeout=10)
    started = customer.post("/api/chat", json={"name": "Zoé", "topic": "tech", "language": "en"})
    contact = started.json()["contact"]
    customer.headers["X-Chat-Token"] = started.json()["token"]
    kb = f"/api/chat/{contact}/kb"
    customer.get(f"{kb}/search", params={"q": "router light is red", "lang": "en"})
    run = customer.post(f"{kb}/runs", json={"flow": "en-no-internet"}).json()
    customer.post(f"{kb}/runs/{run['run']}/answer", json={"value": "blinking"})
    assert customer.post(f"{kb}/handover", json={"run": run["run"]}).status_code == 200

    page = new_page(browser)
    try:
        log_in(page, served, Role.AGENT)
        page.goto(f"{served.base}/desk")
        expect(page.locator("#kb-panel")).to_be_attached()
        page.evaluate(
            "(cid) => document.dispatchEvent(new CustomEvent('desk:contact',"
            " {detail: {contact_id: cid, queue: 'tech', topic: 'tech'}}))",
            contact,
        )
        packet = page.locator("#kb-packet")
        expect(packet).to_contain_text("router light is red")
        expect(packet).to_contain_text("What colour is the light on the router? — Blinking")
        # the customer's request is already searched; the agent runs the flow on
        query = page.get_by_label("Search the knowledge base")
        expect(query).to_have_value("router light is red")
        with page.expect_response(lambda r: "q=no+internet" in r.url):
            query.fill("no internet")  # searched as it is typed
        page.locator("#kb-panel-results").get_by_role("button", name="No internet").click()
        page.locator("#kb-panel-choices").get_by_role("button", name="Off").click()
        page.locator("#kb-panel-choices").get_by_role("button", name="Yes").click()
        expect(page.locator("#kb-panel-title")).to_have_text("Restart your router")
        page.evaluate(
            "(cid) => document.dispatchEvent(new CustomEvent('desk:wrapup',"
            " {detail: {contact_id: cid}}))",
            contact,
        )
        page.locator("#kb-panel-candidates").get_by_role(
            "button", name="Restart your router"
        ).click()
        expect(page.locator("#kb-panel-status")).to_have_text(
            "Linked: the request will find it next time."
        )
        # and a new article from this contact, in one step
        page.get_by_text("Propose an article from this contact").click()
        page.get_by_label("Title", exact=True).fill("Router blinks after a storm")
        page.get_by_label("Answer or procedure (one step a line)").fill(
            "Unplug the router\nWait a minute\nPlug it back"
        )
        page.get_by_role("button", name="Send for review").click()
        expect(page.locator("#kb-panel-status")).to_contain_text("Draft sent to the experts")
        drafts = served.staff(Role.KNOWLEDGE_EXPERT).get("/api/kb/review").json()["drafts"]
        mine = next(d for d in drafts if d["title"] == "Router blinks after a storm")
        assert mine["content"]["steps"] == ["Unplug the router", "Wait a minute", "Plug it back"]
        assert mine["content"]["phrasings"] == ["no internet"]
        seen = served.staff(Role.SUPERVISOR).get(f"/api/kb/contacts/{contact}").json()
        assert seen["solved_by"][0] == {
            **seen["solved_by"][0],
            "item": "article:en-reboot-box",
            "query": "no internet",
        }
        assert [r["audience"] for r in seen["runs"]] == ["customer", "agent"]
    finally:
        page.context.close()
        customer.post(f"/api/chat/{contact}/leave")
        customer.close()


def test_an_expert_reviews_on_the_kb_page(served: Served, browser: Any) -> None:
    """The /kb page: search as you type, a draft in review published with a comment, another
    sent back, a gap turned into a draft, flows in use, health flags; in French."""
    import httpx
    from playwright.sync_api import expect

    expert = served.staff(Role.KNOWLEDGE_EXPERT)
    for ident, title in (("fr-esim", "Activer une eSIM"), ("fr-5g", "Activer la 5G")):
        content = {"id": ident, "title": title, "lang": "fr", "body": "Dans les réglages."}
        v = expert.post("/api/kb/drafts", json={"kind": "article", "content": content}).json()
        expert.post(f"/api/kb/items/article/{ident}/versions/{v['version']}/submit")
    agent = served.staff(Role.AGENT)
    assert agent.get("/api/kb/search", params={"q": "zorglub vrombit", "lang": "fr"}).json()["gap"]
    anyone = httpx.Client(base_url=served.base, timeout=10)  # a problem solved before a chat
    run = anyone.post("/api/kb/public/runs", json={"flow": "en-no-internet"}).json()
    anyone.post(f"/api/kb/public/runs/{run['run']}/answer", json={"value": "red"})
    assert anyone.post("/api/kb/public/solved", json={"run": run["run"]}).status_code == 200

    page = new_page(browser, "fr-FR")
    try:
        log_in(page, served, Role.KNOWLEDGE_EXPERT)
        page.goto(f"{served.base}/kb")
        expect(page.locator("h1")).to_have_text("Connaissances")
        page.get_by_label("Demande", exact=True).fill("ma box clignote")
        expect(page.locator("#kb-results li").first).to_contain_text("Redémarrer la box")
        expect(page.locator("#kb-results li").first).to_contain_text('"clignote"')

        review = page.locator("#in-review")
        esim = review.locator("li", has_text="Activer une eSIM")
        page.get_by_label("Commentaire ou motif (joint à l'action)").fill("Clair, merci")
        esim.get_by_role("button", name="Publier").click()
        expect(page.locator("#kb-status")).to_have_text("Publié.")
        expect(review.locator("li", has_text="Activer une eSIM")).to_have_count(0)
        page.get_by_label("Commentaire ou motif (joint à l'action)").fill("Quels réglages ?")
        review.locator("li", has_text="Activer la 5G").get_by_role(
            "button", name="Renvoyer"
        ).click()
        expect(page.locator("#drafts")).to_contain_text("Quels réglages ?")

        gap = page.locator("#gaps li", has_text="zorglub vrombit")
        gap.get_by_role("button", name="Créer un brouillon").click()
        expect(page.locator("#kb-status")).to_have_text("Brouillon créé.")
        expect(page.locator("#drafts")).to_contain_text("zorglub vrombit")
        expect(page.locator("#health")).to_contain_text("never-used")
        # the flows in use, with their deflections
        row = page.locator("#analytics tbody tr", has_text="en-no-internet")
        expect(row.locator("td").nth(2)).not_to_have_text("0")
    finally:
        page.context.close()
    published = agent.get("/api/kb/articles/fr-esim").json()
    assert published["state"] == "published"
    assert [c["note"] for c in published["history"] if c["action"] == "comment"] == ["Clair, merci"]
    assert expert.get("/api/kb/items/article/fr-5g").json()["versions"][0]["state"] == "draft"


def test_before_a_chat_the_customer_finds_answers_and_a_person_sees_them(
    served: Served, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served.base}/chat")
    page.get_by_label("What is it about? (optional)").fill("my wifi is slow")
    results = page.locator("#ss-results li")
    expect(results.first).to_contain_text("Slow or unstable Wi-Fi")  # before any chat
    page.get_by_role("button", name="Slow or unstable Wi-Fi").click()
    expect(page.locator("#ss-steps li").first).to_be_visible()
    page.get_by_role("button", name="This solved it").click()
    expect(page.locator("#ss-note")).to_have_text("Glad it is solved: no need to start a chat.")
    expect(page.locator("#chat")).to_be_hidden()  # no contact was made

    page.goto(f"{served.base}/chat")
    page.get_by_label("What is it about? (optional)").fill("no internet")
    page.get_by_role("button", name="No internet").click()
    page.get_by_role("button", name="Blinking").click()
    expect(page.locator("#ss-question-text")).to_contain_text("Restart the router")
    page.get_by_role("button", name="Talk to a person").click()
    expect(page.locator("#ss-note")).to_contain_text("Start the chat above")
    expect(page.get_by_label("Your name")).to_be_focused()
    page.get_by_label("Your name").fill("Noé")
    page.get_by_label("Topic").select_option("tech")
    page.get_by_role("button", name="Start the chat").click()
    expect(page.locator("#messages li.system")).to_have_text(
        "You asked to talk to a person: they will see your answers."
    )
    contact = _contact(page)
    packet = served.staff(Role.AGENT).get(f"/api/kb/contacts/{contact}").json()["handover"]
    assert packet["answered"] == [
        {"question": "What colour is the light on the router?", "answer": "Blinking"}
    ]
    assert packet["stopped_at"] == "reboot"
    page.get_by_role("button", name="Leave the chat").click()
