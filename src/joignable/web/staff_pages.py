"""The staff's pages: ``/login`` and the agent desktop at ``/desk``.

Server-rendered like the customer's page (``web.chat_page``: same language choice, same
self-only CSP, assets under ``/static``). The login form posts to ``POST /api/session`` from a
little script, then goes to ``?next=`` when it is a path of this site, else to the role's page.
The desk is rendered only for a valid session whose user works as an agent; the session's CSRF
token is written into the page (it is the same token ``POST /api/session`` returned), so the
desk's script can act and a reload keeps working. Everything the desk does goes through the
API and the WebSocket streams, under the same rules as any other caller.

``staff_base.html`` is shared with the other staff pages (the wallboard, the knowledge base):
its blocks ``title``, ``nav`` and ``main`` and the ``staff.css`` classes stay stable.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joignable.core.engine import Engine
from joignable.web.accounts import Role, Session
from joignable.web.auth import CSRF_HEADER, SESSION_COOKIE
from joignable.web.chat_api import topic_list
from joignable.web.chat_page import HEADERS, LANG_COOKIE, LANGUAGES, TEMPLATES, pick_language

# A page holding a CSRF token is never stored by the browser or a proxy.
PAGE_HEADERS = {**HEADERS, "Cache-Control": "no-store"}

# Where each role lands after logging in (the wallboard and the knowledge base are pages of
# their own; an admin watches the wallboard too).
HOME: dict[Role, str] = {
    Role.AGENT: "/desk",
    Role.SUPERVISOR: "/wallboard",
    Role.ADMIN: "/wallboard",
    Role.KNOWLEDGE_EXPERT: "/kb",
}

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "language": "Language",
        "login_title": "Log in",
        "username": "Username",
        "password": "Password",
        "login": "Log in",
        "logging_in": "Logging in…",
        "login_failed": "Wrong username or password.",
        "logged_in_as": "Logged in as {name}",
        "logout": "Log out",
        "error": "Something went wrong: {m}",
        "desk_title": "Agent desktop",
        "not_an_agent": "This page is for agents: your account ({name}, {role}) does not work"
        " as an agent.",
        "go_home": "Go to your page",
        "presence": "Presence",
        "presence_now": "You are {state}.",
        "available": "Available",
        "away": "Away",
        "offline": "Offline",
        "reason": "Reason for being away",
        "reason_break": "Break",
        "reason_meeting": "Meeting",
        "reason_training": "Training",
        "reason_other": "Other",
        "set_presence": "Update",
        "state_available": "available",
        "state_away": "away",
        "state_offline": "offline",
        "state_reserved": "being offered a contact",
        "state_busy": "in conversation",
        "state_wrap-up": "in wrap-up",
        "capacity": "Up to {n} chat(s) at once.",
        "offers": "Offers",
        "no_offers": "No offer right now.",
        "offer_chat": "Chat from {name}, topic {queue}",
        "offer_callback": "Callback to make: {number}, topic {queue}",
        "offer_other": "{channel} contact, topic {queue}",
        "countdown": "{n} s left to answer",
        "accept": "Accept",
        "reject": "Reject",
        "conversations": "Conversations",
        "no_conversation": "No conversation open.",
        "conversation": "Conversation",
        "tab_chat": "{name} ({queue})",
        "tab_callback": "Call {number}",
        "tab_wrapup": "Wrap-up {contact}",
        "unread": "{n} new",
        "messages": "Messages",
        "your_message": "Your message",
        "send": "Send",
        "send_hint": "Enter sends, Shift+Enter starts a new line.",
        "end_chat": "End the conversation",
        "transfer_to": "Transfer to the queue",
        "transfer": "Transfer",
        "transferred": "{contact} transferred to {queue}.",
        "transfer_to_agent": "Transfer to an agent",
        "transfer_agent": "Transfer to this agent",
        "agent_option": "{name} ({state})",
        "transferred_agent": "{contact} transferred to {agent}.",
        "no_agent_to_transfer": "No other agent takes this kind of contact.",
        "preview": "What the customer wrote",
        "preview_none": "The customer has not written yet.",
        "preview_more": "and {n} more message(s)",
        "customer_left": "The customer has left the chat.",
        "callback_call": "Call {number} now.",
        "callback_reached": "Reached: done",
        "callback_not_reached": "Not reached",
        "callback_retry": "Not reached: another attempt is planned.",
        "callback_given_up": "Not reached: no attempt left.",
        "history": "Previous contacts",
        "history_none": "No previous contact.",
        "history_unknown": "An anonymous customer: no previous contacts to show.",
        "history_item": "{when}: {channel}, {queue}, {outcome}",
        "wrapup": "Wrap-up",
        "wrapup_left": "{n} s left to wrap up",
        "disposition": "Wrap-up code",
        "no_code": "Choose a code…",
        "notes": "Notes",
        "finish_wrapup": "Finish the wrap-up",
        "wrapup_timeout": "The wrap-up of {contact} reached its time limit and closed without"
        " a code.",
        "you": "You",
        "sys_callback_requested": "The customer asked to be called back.",
        "sys_customer_left": "The customer left the chat.",
        "sys_customer_gone": "The customer went silent and the chat was closed.",
        "stream_down": "Connection lost: reconnecting…",
    },
    "fr": {
        "language": "Langue",
        "login_title": "Connexion",
        "username": "Identifiant",
        "password": "Mot de passe",
        "login": "Se connecter",
        "logging_in": "Connexion…",
        "login_failed": "Identifiant ou mot de passe incorrect.",
        "logged_in_as": "Connecté : {name}",
        "logout": "Se déconnecter",
        "error": "Une erreur est survenue : {m}",
        "desk_title": "Poste conseiller",
        "not_an_agent": "Cette page est réservée aux conseillers : votre compte ({name}, {role})"
        " n'est pas celui d'un conseiller.",
        "go_home": "Aller à votre page",
        "presence": "Présence",
        "presence_now": "Vous êtes {state}.",
        "available": "Disponible",
        "away": "Absent",
        "offline": "Hors ligne",
        "reason": "Motif de l'absence",
        "reason_break": "Pause",
        "reason_meeting": "Réunion",
        "reason_training": "Formation",
        "reason_other": "Autre",
        "set_presence": "Mettre à jour",
        "state_available": "disponible",
        "state_away": "absent",
        "state_offline": "hors ligne",
        "state_reserved": "en train de recevoir une proposition",
        "state_busy": "en conversation",
        "state_wrap-up": "en post-traitement",
        "capacity": "Jusqu'à {n} discussion(s) à la fois.",
        "offers": "Propositions",
        "no_offers": "Aucune proposition pour le moment.",
        "offer_chat": "Discussion avec {name}, sujet {queue}",
        "offer_callback": "Rappel à faire : {number}, sujet {queue}",
        "offer_other": "Contact {channel}, sujet {queue}",
        "countdown": "{n} s pour répondre",
        "accept": "Accepter",
        "reject": "Refuser",
        "conversations": "Conversations",
        "no_conversation": "Aucune conversation ouverte.",
        "conversation": "Conversation",
        "tab_chat": "{name} ({queue})",
        "tab_callback": "Appeler le {number}",
        "tab_wrapup": "Post-traitement {contact}",
        "unread": "{n} nouveau(x)",
        "messages": "Messages",
        "your_message": "Votre message",
        "send": "Envoyer",
        "send_hint": "Entrée envoie, Maj+Entrée passe à la ligne.",
        "end_chat": "Terminer la conversation",
        "transfer_to": "Transférer vers la file",
        "transfer": "Transférer",
        "transferred": "{contact} transféré vers {queue}.",
        "transfer_to_agent": "Transférer à un conseiller",
        "transfer_agent": "Transférer à ce conseiller",
        "agent_option": "{name} ({state})",
        "transferred_agent": "{contact} transféré à {agent}.",
        "no_agent_to_transfer": "Aucun autre conseiller ne prend ce type de contact.",
        "preview": "Ce que le client a écrit",
        "preview_none": "Le client n'a encore rien écrit.",
        "preview_more": "et {n} autre(s) message(s)",
        "customer_left": "Le client a quitté la discussion.",
        "callback_call": "Appelez le {number} maintenant.",
        "callback_reached": "Joint : terminé",
        "callback_not_reached": "Pas joint",
        "callback_retry": "Pas joint : une autre tentative est prévue.",
        "callback_given_up": "Pas joint : plus aucune tentative.",
        "history": "Contacts précédents",
        "history_none": "Aucun contact précédent.",
        "history_unknown": "Client anonyme : pas de contacts précédents à montrer.",
        "history_item": "{when} : {channel}, {queue}, {outcome}",
        "wrapup": "Post-traitement",
        "wrapup_left": "{n} s pour terminer le post-traitement",
        "disposition": "Code de clôture",
        "no_code": "Choisir un code…",
        "notes": "Notes",
        "finish_wrapup": "Terminer le post-traitement",
        "wrapup_timeout": "Le post-traitement de {contact} a atteint sa limite de temps et s'est"
        " fermé sans code.",
        "you": "Vous",
        "sys_callback_requested": "Le client a demandé à être rappelé.",
        "sys_customer_left": "Le client a quitté la discussion.",
        "sys_customer_gone": "Sans nouvelles du client, la discussion a été fermée.",
        "stream_down": "Connexion perdue : reconnexion…",
    },
}

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path of this site, else None. ``//host`` and ``/\\host`` are other
    sites to a browser; a scheme, a control character or a space has no business in it."""
    if not target or len(target) > 500 or not target.startswith("/"):
        return None
    if target[1:2] in ("/", "\\") or any(ch <= " " or ch == "\x7f" for ch in target):
        return None
    return target


def current_session(request: Request) -> Session | None:
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    session: Session | None = request.app.state.services.accounts.session(sid)
    return session


def _switches(request: Request) -> list[dict[str, str]]:
    """Links to this page in each language, keeping its other parameters (``next``)."""
    out = []
    for code, label in (("en", "English"), ("fr", "Français")):
        params = {k: v for k, v in request.query_params.items() if k != "lang"}
        out.append(
            {"code": code, "label": label, "href": "?" + urlencode({**params, "lang": code})}
        )
    return out


def _render(
    request: Request, template: str, lang: str, asked: str | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(
        lang=lang, t=STRINGS[lang], languages=LANGUAGES, switches=_switches(request), **ctx
    )
    response = HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
    if asked in LANGUAGES:  # a choice made with the switch outlives the link
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request,
    next: str | None = Query(None, max_length=500),
    lang: str | None = Query(None, max_length=8),
) -> HTMLResponse:
    language = pick_language(request, lang)
    session = current_session(request)
    return _render(
        request,
        "login.html",
        language,
        lang,
        next=safe_next(next) or "",
        homes={role.value: path for role, path in HOME.items()},
        user=session.user if session is not None else None,
        csrf=session.csrf if session is not None else "",
    )


@router.get("/desk", response_class=HTMLResponse)
async def desk_page(request: Request, lang: str | None = Query(None, max_length=8)) -> Response:
    language = pick_language(request, lang)
    session = current_session(request)
    if session is None:
        return RedirectResponse("/login?next=/desk", 303, headers=PAGE_HEADERS)
    user = session.user
    svc = request.app.state.services
    agent = None
    if user.agent_id is not None:
        agent = svc.center.read(lambda e: e.state.agents.get(user.agent_id))
    if agent is None:  # another role, or a user linked to no (existing) agent
        return _render(
            request,
            "desk.html",
            language,
            lang,
            status=403,
            refused=True,
            user=user,
            csrf=session.csrf,
            home=HOME.get(user.role, "/login"),
        )
    codes = [{"code": c.code, "label": c.label or c.code} for c in svc.accounts.wrapup_codes()]
    agent_id: str = agent.config.id
    return _render(
        request,
        "desk.html",
        language,
        lang,
        user=user,
        csrf=session.csrf,
        csrf_header=CSRF_HEADER,
        agent_id=agent.config.id,
        agent_name=agent.config.name or agent.config.id,
        codes=codes,
        queues=svc.center.read(topic_list),  # to transfer to, and to name the topics
        agents=svc.center.read(lambda e: colleagues(e, agent_id)),
        # the stream starts after what the page already reflects (its first snapshot follows)
        seq=svc.center.durable,
    )


def colleagues(engine: Engine, agent_id: str) -> list[dict[str, Any]]:
    """The other agents, by name, with the channels they take and their state (available,
    away, in conversation...): whom a contact may be transferred to. The desk refreshes the
    states from GET /api/agents when its list is shown; the engine still decides at transfer."""
    found = [
        {
            "id": a.config.id,
            "name": a.config.name or a.config.id,
            "channels": [ch.value for ch in a.channels],
            "state": a.state_name(),
        }
        for a in engine.state.agents.values()
        if a.config.id != agent_id
    ]
    return sorted(found, key=lambda a: (a["name"].casefold(), a["id"]))


def install(app: FastAPI) -> None:
    """Pages only (no API): each one checks the session itself, and the API behind it is
    guarded as for any caller."""
    app.include_router(router)
