"""The customer chat page: French or English from the browser (switchable), labelled controls,
and every asset served by joignable itself."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from joignable.web.chat_page import STRINGS, UI, pick_language

from .conftest import Org


def test_the_page_speaks_the_browsers_language_and_can_be_switched(org: Org) -> None:
    client = TestClient(org.app)
    fr = client.get("/chat", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"})
    assert fr.status_code == 200
    assert '<html lang="fr">' in fr.text and "Commencer la discussion" in fr.text
    en = client.get("/chat", headers={"Accept-Language": "de, en;q=0.5"})
    assert '<html lang="en">' in en.text and "Start the chat" in en.text
    switched = client.get("/chat?lang=en", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in switched.text
    # the choice is remembered over the browser's language
    assert '<html lang="en">' in client.get("/chat", headers={"Accept-Language": "fr"}).text
    assert "Billing" in en.text  # the topics are the queues


def test_every_control_has_a_label_and_assets_are_our_own(org: Org) -> None:
    page = TestClient(org.app).get("/chat").text
    # a label names each control: by its for=, or around it
    wrapped = set(re.findall(r"<label>\s*<input\b[^>]*\bid=\"([^\"]+)\"", page))
    for control in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page):
        ident = re.search(r'id="([^"]+)"', control)
        assert ident is not None, control
        assert f'for="{ident.group(1)}"' in page or ident.group(1) in wrapped, control
    assert "http://" not in page and "https://" not in page
    response = TestClient(org.app).get("/chat")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    for asset in ("/static/chat.js", "/static/chat.css"):
        assert asset in page
        r = TestClient(org.app).get(asset)
        assert r.status_code == 200 and len(r.content) > 100
    for path in (UI / "static").iterdir():
        # (an XML namespace such as SVG's is a name, never fetched)
        assert not re.search(r"https?://(?!www\.w3\.org/)", path.read_text()), path


def test_self_service_is_on_the_page_in_both_languages(org: Org) -> None:
    client = TestClient(org.app)
    en = client.get("/chat?lang=en").text
    assert 'id="self-service"' in en and STRINGS["en"]["ss_solved"] in en
    assert STRINGS["en"]["ss_human"] in en and 'for="problem"' in en
    fr = client.get("/chat?lang=fr").text
    assert "C&#39;est résolu" in fr and "Parler à un conseiller" in fr


def test_both_languages_have_every_string() -> None:
    assert STRINGS["fr"].keys() == STRINGS["en"].keys()


def test_the_language_falls_back_to_english() -> None:
    from starlette.requests import Request

    def request(accept: str) -> Request:
        return Request({"type": "http", "headers": [(b"accept-language", accept.encode())]})

    assert pick_language(request("fr;q=0.1, en;q=0.9"), None) == "en"
    assert pick_language(request("fr-CA"), None) == "fr"
    assert pick_language(request("xx, ;q=abc"), None) == "en"
    assert pick_language(request("en"), "fr") == "fr"
