"""The supervisor wallboard at ``/wallboard``: queues, agents, alerts and today's charts, live.

Server-rendered on ``staff_base.html`` (the staff pages' frame: same language choice, same
self-only CSP, assets under ``/static``); the page's figures are filled and kept current by
``wallboard.js`` from the guarded API, under the same rules as any other caller:
``GET /api/stats/live`` (queues and agents now), ``GET /api/stats/alerts`` (the alerts and each
queue's KPIs since midnight where the supervisor is) and ``GET /api/stats/intervals`` (today's
intervals, for the charts).

How it stays live, and why. The page never adds events up itself: every figure it shows comes
from a server snapshot stamped with the ledger seq it reflects, so nothing can be counted twice,
whatever is missed or received again. The WebSocket stream (``/api/stream?after=SEQ``) only says
*when* to fetch: an event newer than the last seq seen triggers a refresh (at most one a second,
however busy the center), so a handled contact shows within a second. A reconnect resumes after
the newest seq already reflected, so its backlog is short and changes nothing by itself. Polling
every five seconds goes on regardless: some alerts start with time alone (a contact waiting past
a threshold, an agent idle for too long), with no event to announce them, and it is the fallback
when the stream is down. Between fetches, longest waits and times in state tick every second
from the snapshot's own clock.

Who may see it: a logged-in user holding ``stats:read`` (supervisors and admins). Without a
session the browser goes to ``/login?next=/wallboard``; anyone else gets a 403 page that says why.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joignable.core.service_level import DEFAULT_SL, SL_DEFINITIONS
from joignable.ledger.kpis import AGENT_STATES
from joignable.web.alerts import CODES
from joignable.web.api.alerts import DEFAULTS
from joignable.web.auth import ROLE_PERMISSIONS, Perm
from joignable.web.chat_page import LANG_COOKIE, LANGUAGES, TEMPLATES, pick_language
from joignable.web.staff_pages import HOME, PAGE_HEADERS, current_session

# The alert thresholds a wallboard's address may carry (passed on to /api/stats/alerts).
THRESHOLDS = ("long_wait", "sl_risk", "idle_grace", "sl_min_contacts", "alarm_window", "sl")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Wallboard",
        "menu": "Menu",
        "language": "Language",
        "logged_in_as": "Logged in as {name}",
        "logout": "Log out",
        "refused": "The wallboard is for supervisors and admins: your account ({name}, {role})"
        " may not read the statistics.",
        "go_home": "Go to your page",
        "updated": "Updated at {time}",
        "live": "live",
        "stream_down": "Live updates lost: reconnecting, figures refresh every 5 s meanwhile.",
        "alerts": "Alerts",
        "no_alerts": "No alert: every queue is within its thresholds.",
        "critical": "Critical",
        "warning": "Warning",
        "severity": "{severity}:",
        "queues": "Queues",
        "queue": "Queue",
        "waiting": "Waiting",
        "longest_wait": "Longest wait",
        "sl_today": "Service level today",
        "target": "Target",
        "target_value": "{target} in {threshold}",
        "under_target": "under target",
        "on_target": "on target",
        "abandon_rate": "Abandon rate",
        "handled": "Handled",
        "offered": "Offered",
        "abandoned": "Abandoned",
        "callbacks": "Callbacks",
        "columns_note": "Callbacks: in line for an agent / scheduled for later / asked for today."
        " Agents free / busy: available / offered a contact, in conversation or in wrap-up.",
        "callbacks_value": "{line} in line, {scheduled} scheduled, {today} asked today",
        "agents_free": "Agents free / busy",
        "definition": "Service level definition: {text} ({name}).",
        "agents": "Agents",
        "agent": "Agent",
        "state": "State",
        "time_in_state": "Time in state",
        "by_state": "Agents by state",
        "state_available": "available",
        "state_reserved": "offered a contact",
        "state_busy": "in conversation",
        "state_wrap-up": "in wrap-up",
        "state_away": "away",
        "state_offline": "offline",
        "no_agents": "No agent configured.",
        "charts": "Today by interval",
        "chart_volume": "{queue}: contacts per interval",
        "chart_sl": "{queue}: service level per interval (target {target})",
        "chart_table": "{queue}: the figures as a table",
        "interval": "Interval",
        "sl": "Service level",
        "no_activity": "No contact yet today.",
        "thresholds": "Alert thresholds: long wait from {long_wait}; service level at risk from"
        " {sl_risk} of a queue's threshold; idle agent after {idle_grace}. See docs/wallboard.md"
        " to change them.",
        "error": "Something went wrong: {m}",
    },
    "fr": {
        "title": "Tableau de bord",
        "menu": "Menu",
        "language": "Langue",
        "logged_in_as": "Connecté : {name}",
        "logout": "Se déconnecter",
        "refused": "Le tableau de bord est réservé aux superviseurs et aux administrateurs :"
        " votre compte ({name}, {role}) ne peut pas lire les statistiques.",
        "go_home": "Aller à votre page",
        "updated": "Mis à jour à {time}",
        "live": "en direct",
        "stream_down": "Mises à jour en direct perdues : reconnexion, les chiffres se mettent"
        " à jour toutes les 5 s en attendant.",
        "alerts": "Alertes",
        "no_alerts": "Aucune alerte : chaque file est dans ses seuils.",
        "critical": "Critique",
        "warning": "Attention",
        "severity": "{severity} :",
        "queues": "Files",
        "queue": "File",
        "waiting": "En attente",
        "longest_wait": "Attente la plus longue",
        "sl_today": "Niveau de service du jour",
        "target": "Objectif",
        "target_value": "{target} en {threshold}",
        "under_target": "sous l'objectif",
        "on_target": "objectif atteint",
        "abandon_rate": "Taux d'abandon",
        "handled": "Traités",
        "offered": "Reçus",
        "abandoned": "Abandonnés",
        "callbacks": "Rappels",
        "columns_note": "Rappels : en file pour un conseiller / planifiés plus tard / demandés"
        " aujourd'hui. Conseillers libres / occupés : disponibles / contact proposé, en"
        " conversation ou en post-traitement.",
        "callbacks_value": "{line} en file, {scheduled} planifiés, {today} demandés aujourd'hui",
        "agents_free": "Conseillers libres / occupés",
        "definition": "Définition du niveau de service : {text} ({name}).",
        "agents": "Conseillers",
        "agent": "Conseiller",
        "state": "État",
        "time_in_state": "Depuis",
        "by_state": "Conseillers par état",
        "state_available": "disponible",
        "state_reserved": "contact proposé",
        "state_busy": "en conversation",
        "state_wrap-up": "en post-traitement",
        "state_away": "absent",
        "state_offline": "hors ligne",
        "no_agents": "Aucun conseiller configuré.",
        "charts": "Aujourd'hui par intervalle",
        "chart_volume": "{queue} : contacts par intervalle",
        "chart_sl": "{queue} : niveau de service par intervalle (objectif {target})",
        "chart_table": "{queue} : les chiffres sous forme de tableau",
        "interval": "Intervalle",
        "sl": "Niveau de service",
        "no_activity": "Aucun contact aujourd'hui pour l'instant.",
        "thresholds": "Seuils d'alerte : attente longue à partir de {long_wait} ; niveau de"
        " service menacé à partir de {sl_risk} du seuil de la file ; conseiller inoccupé après"
        " {idle_grace}. Voir docs/wallboard.md pour les modifier.",
        "error": "Une erreur est survenue : {m}",
    },
}

# The named definitions in French (the English ones are SL_DEFINITIONS').
SL_TEXT_FR = {
    "answered_within_t_over_offered": "répondus en moins de T / contacts reçus (la plus stricte)",
    "answered_within_t_over_answered": "répondus en moins de T / contacts répondus",
    "answered_within_t_over_offered_minus_short_abandons": (
        "répondus en moins de T / (contacts reçus - abandons courts)"
    ),
    "answered_or_abandoned_within_t_over_offered": (
        "(répondus en moins de T + abandonnés en moins de T) / contacts reçus"
    ),
    "callbacks_kept": "rappels tenus à l'heure promise + tolérance / rappels dus",
}

router = APIRouter(include_in_schema=False)


def _switches(request: Request) -> list[dict[str, str]]:
    """This page in each language, keeping its thresholds."""
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    return [
        {"code": code, "label": label, "href": "?" + urlencode({**params, "lang": code})}
        for code, label in (("en", "English"), ("fr", "Français"))
    ]


@router.get("/wallboard", response_class=HTMLResponse)
async def wallboard(request: Request, lang: str | None = Query(None, max_length=8)) -> Response:
    language = pick_language(request, lang)
    session = current_session(request)
    if session is None:
        here = "/wallboard"
        if request.url.query:
            here += "?" + request.url.query
        return RedirectResponse("/login?next=" + quote(here, safe="/"), 303, headers=PAGE_HEADERS)
    user = session.user
    allowed = Perm.STATS_READ in ROLE_PERMISSIONS[user.role]
    t = STRINGS[language]
    sl = request.query_params.get("sl", DEFAULT_SL)
    definition = {
        "name": sl,
        "text": (SL_TEXT_FR if language == "fr" else SL_DEFINITIONS).get(sl, sl),
    }
    data = {
        "t": t,
        "lang": language,
        "seq": request.app.state.services.center.durable if allowed else 0,
        "states": list(AGENT_STATES),
        "codes": list(CODES),
        "defaults": {
            "long_wait": DEFAULTS.long_wait,
            "sl_risk": DEFAULTS.sl_risk,
            "idle_grace": DEFAULTS.idle_grace,
        },
        "thresholds": list(THRESHOLDS),
        "definition": definition,
    }
    html = TEMPLATES.get_template("wallboard.html").render(
        lang=language,
        t=t,
        user=user,
        csrf=session.csrf,
        switches=_switches(request),
        refused=not allowed,
        home=HOME.get(user.role, "/login"),
        role=user.role.value,
        data=data,
        definition=definition,
    )
    response = HTMLResponse(html, status_code=200 if allowed else 403, headers=PAGE_HEADERS)
    if lang in LANGUAGES:  # a choice made with the switch outlives the link
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="lax")
    return response


def install(app: FastAPI) -> None:
    """A page only (no API): it checks the session itself; the API behind it is guarded."""
    app.include_router(router)
