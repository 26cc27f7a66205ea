"""The customer's chat page, server-rendered, in French or English, and the assets it needs.

Every asset comes from ``web/ui/static`` (no CDN), and the page says so to the browser: its
Content-Security-Policy allows scripts, styles and requests to this site only. The page's
script talks to ``/api/chat`` (``web.chat_api``); it receives its strings as JSON data, so the
translations live here, in one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from joignable.web.chat_api import topic_list

UI = Path(__file__).parent / "ui"
LANG_COOKIE = "joignable_lang"
LANGUAGES = ("en", "fr")
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Chat with us",
        "language": "Language",
        "start_heading": "Start a chat",
        "name": "Your name",
        "topic": "Topic",
        "start": "Start the chat",
        "chat_heading": "Your chat",
        "messages": "Messages",
        "your_message": "Your message",
        "send": "Send",
        "send_hint": "Enter sends, Shift+Enter starts a new line.",
        "callback_heading": "Rather be called back?",
        "number": "Your phone number",
        "callback": "Call me back",
        "leave": "Leave the chat",
        "position": "You are number {n} in line.",
        "ahead": "{n} ahead of you",
        "next": "you are next in line",
        "free": "{n} agent(s) free for your topic",
        "busy": "{n} agent(s) busy for your topic",
        "no_agent": "no agent for your topic is logged in yet, so we cannot estimate the wait",
        "wait_soon": "about less than a minute",
        "wait_min": "about {n} min",
        "offered": "An agent is about to answer.",
        "connected": "{agent} is with you.",
        "callback_kept": "We will call you back: you keep your place in line.",
        "ended_abandoned": "You left the chat.",
        "ended_handled": "The conversation is over. Thank you!",
        "ended_failed": "Sorry, nobody can take your chat right now.",
        "ended": "The chat is over.",
        "you": "You",
        "sys_callback_requested": "You asked to be called back.",
        "sys_customer_left": "You left the chat.",
        "sys_customer_gone": "We had not heard from you for a while: your chat was closed.",
        "error": "Something went wrong: {m}",
        "problem": "What is it about? (optional)",
        "problem_hint": "Tell us in a few words: we show answers you can try while you wait.",
        "remember": "Remember me on this browser",
        "remember_hint": "So the agent sees your earlier chats: a random number is kept in a"
        " cookie for 180 days, nothing else. Untick to be forgotten.",
        "ss_heading": "Solve it yourself while you wait",
        "ss_query": "Your problem",
        "ss_search": "Search",
        "ss_results": "Answers that may help",
        "ss_none": "Nothing found: a person will help you.",
        "ss_guided": "Guided help",
        "ss_article": "Answer",
        "ss_why": "Matched: {why}",
        "ss_open": "Open",
        "ss_back": "Previous question",
        "ss_next": "Next",
        "ss_other": "Other answers",
        "ss_answer": "Your answer",
        "ss_solved": "This solved it",
        "ss_human": "Talk to a person",
        "ss_result_escalate": "This needs a person: ask for one below.",
        "ss_result_not_resolved": "This did not solve it: a person can help.",
        "ss_handed_over": "A person will take over: they see your answers, no need to repeat.",
        "ss_start_first": "Start the chat above: the person who answers will see your answers.",
        "ss_solved_before": "Glad it is solved: no need to start a chat.",
        "ended_deflected": "Glad it is solved. The chat is over: thank you!",
        "sys_kb_solved": "You said self-service solved your problem.",
        "sys_kb_handover": "You asked to talk to a person: they will see your answers.",
    },
    "fr": {
        "title": "Discutez avec nous",
        "language": "Langue",
        "start_heading": "Commencer une discussion",
        "name": "Votre nom",
        "topic": "Sujet",
        "start": "Commencer la discussion",
        "chat_heading": "Votre discussion",
        "messages": "Messages",
        "your_message": "Votre message",
        "send": "Envoyer",
        "send_hint": "Entrée envoie, Maj+Entrée passe à la ligne.",
        "callback_heading": "Vous préférez être rappelé ?",
        "number": "Votre numéro de téléphone",
        "callback": "Rappelez-moi",
        "leave": "Quitter la discussion",
        "position": "Vous êtes numéro {n} dans la file.",
        "ahead": "{n} personne(s) avant vous",
        "next": "vous êtes le prochain",
        "free": "{n} conseiller(s) libre(s) pour votre sujet",
        "busy": "{n} conseiller(s) occupé(s) pour votre sujet",
        "no_agent": "aucun conseiller de votre sujet n'est encore connecté : l'attente ne peut"
        " pas être estimée",
        "wait_soon": "environ moins d'une minute",
        "wait_min": "environ {n} min",
        "offered": "Un conseiller va vous répondre.",
        "connected": "{agent} est avec vous.",
        "callback_kept": "Nous vous rappellerons : vous gardez votre place dans la file.",
        "ended_abandoned": "Vous avez quitté la discussion.",
        "ended_handled": "La discussion est terminée. Merci !",
        "ended_failed": "Désolé, personne ne peut prendre votre discussion pour le moment.",
        "ended": "La discussion est terminée.",
        "you": "Vous",
        "sys_callback_requested": "Vous avez demandé à être rappelé.",
        "sys_customer_left": "Vous avez quitté la discussion.",
        "sys_customer_gone": "Sans nouvelles de vous depuis un moment, votre discussion a été"
        " fermée.",
        "error": "Une erreur est survenue : {m}",
        "problem": "De quoi s'agit-il ? (facultatif)",
        "problem_hint": "Dites-le en quelques mots : nous vous proposons des réponses à essayer"
        " pendant l'attente.",
        "remember": "Se souvenir de moi sur ce navigateur",
        "remember_hint": "Pour que le conseiller voie vos discussions précédentes : un numéro"
        " aléatoire est gardé dans un cookie pendant 180 jours, rien d'autre. Décochez pour être"
        " oublié.",
        "ss_heading": "Résolvez-le vous-même pendant l'attente",
        "ss_query": "Votre problème",
        "ss_search": "Chercher",
        "ss_results": "Des réponses qui peuvent aider",
        "ss_none": "Rien trouvé : un conseiller va vous aider.",
        "ss_guided": "Aide guidée",
        "ss_article": "Réponse",
        "ss_why": "Trouvé par : {why}",
        "ss_open": "Ouvrir",
        "ss_back": "Question précédente",
        "ss_next": "Suivant",
        "ss_other": "Autres réponses",
        "ss_answer": "Votre réponse",
        "ss_solved": "C'est résolu",
        "ss_human": "Parler à un conseiller",
        "ss_result_escalate": "Il faut un conseiller : demandez-le ci-dessous.",
        "ss_result_not_resolved": "Cela n'a pas suffi : un conseiller peut vous aider.",
        "ss_handed_over": "Un conseiller prend la suite : il voit vos réponses, inutile de"
        " répéter.",
        "ss_start_first": "Commencez la discussion ci-dessus : le conseiller verra vos réponses.",
        "ss_solved_before": "Content que ce soit résolu : inutile de commencer une discussion.",
        "ended_deflected": "Content que ce soit résolu. La discussion est terminée : merci !",
        "sys_kb_solved": "Vous avez indiqué que l'aide en ligne a résolu votre problème.",
        "sys_kb_handover": "Vous avez demandé un conseiller : il verra vos réponses.",
    },
}

# The one template environment of the web pages (the staff pages import it).
TEMPLATES = Environment(
    loader=FileSystemLoader(UI / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)
router = APIRouter(include_in_schema=False)


def pick_language(request: Request, asked: str | None) -> str:
    """The language asked for in the link, else the one chosen before, else the browser's."""
    if asked in LANGUAGES:
        return asked
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and q > 0:
            ranked.append((-q, i, base))
    return min(ranked)[2] if ranked else "en"


@router.get("/chat", response_class=HTMLResponse)
async def chat_page(request: Request, lang: str | None = Query(None, max_length=8)) -> HTMLResponse:
    language = pick_language(request, lang)
    services = request.app.state.services
    topics: list[dict[str, Any]] = services.center.read(topic_list)
    html = TEMPLATES.get_template("chat.html").render(
        lang=language,
        t=STRINGS[language],
        topics=topics,
        languages=LANGUAGES,
        remember=services.remember_visitors,
    )
    response = HTMLResponse(html, headers=HEADERS)
    if lang in LANGUAGES:  # a choice made with the switch outlives the link
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="lax")
    return response


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=UI / "static"), name="static")
