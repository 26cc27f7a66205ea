"""The planner's page at ``/planner``: staffing and the cost of unanswered customers.

Server-rendered in the frame of every staff page (``staff_base.html``: same language choice, same
self-only CSP, assets under ``/static``). Its script posts the forms to ``/api/plan/staffing``
and ``/api/plan/cost`` (``web.api.planning``, guarded by ``plan:run`` like any caller) and shows
the charts as SVG images from ``GET /api/plan/chart``, each with a table of the same figures for
those who cannot see it. Rendered for a logged-in supervisor or admin; anyone else logged in gets
a 403 page, and a visitor is sent to ``/login?next=/planner``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joignable.core.service_level import DEFAULT_SL, SL_DEFINITIONS
from joignable.planning.names import PLANNING_SL
from joignable.web.auth import CSRF_HEADER, ROLE_PERMISSIONS, Perm
from joignable.web.chat_page import LANG_COOKIE, LANGUAGES, TEMPLATES, pick_language
from joignable.web.staff_pages import HOME, PAGE_HEADERS, current_session
from joignable.web.staff_pages import STRINGS as STAFF_STRINGS

_COMMON = ("language", "logged_in_as", "logout", "error", "go_home")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Planner",
        "intro": "How many agents each interval needs, and what unanswered customers cost.",
        "staffing_heading": "Staffing",
        "arrivals": "Contacts per interval",
        "arrivals_hint": "One number, or one per interval separated by commas (a day).",
        "period": "Interval (seconds)",
        "aht": "Average handle time (seconds)",
        "sl": "Service level target (%)",
        "within": "Answered within (seconds)",
        "patience": "Mean patience (seconds)",
        "patience_hint": "For Erlang A and the cost; empty: nobody abandons (Erlang C).",
        "model": "Model",
        "erlang-c": "Erlang C (nobody abandons)",
        "erlang-a": "Erlang A (customers abandon)",
        "sl_definition": "Service level definition",
        "shrinkage": "Shrinkage (%)",
        "max_occupancy": "Maximum occupancy (%)",
        "optional": "optional",
        "compute": "Compute the staffing",
        "computing": "Computing…",
        "agents_needed": "Agents needed: {n}",
        "agents_peak": "Agents needed at the peak: {n}",
        "metrics": "Figures at this staffing",
        "interval": "Interval",
        "start": "Start",
        "agents": "Agents to schedule",
        "productive": "Handling contacts",
        "load": "Offered load (Erlangs)",
        "p_wait": "P(wait)",
        "p_abandon": "P(abandon)",
        "asa": "ASA, answered (s)",
        "occupancy": "Occupancy",
        "none": "none",
        "chart_staffing": "Chart: agents per interval and the offered load",
        "chart_staffing_alt": "Agents to schedule per interval with the offered load; the same"
        " figures are in the table.",
        "cost_heading": "Cost of unanswered customers",
        "cost_intro": "Uses the contacts, interval, handle time, patience and shrinkage above.",
        "value": "Value of a handled contact",
        "agent_cost": "Agent cost per hour",
        "give_up_share": "Abandoners lost for good (%)",
        "repeat_cost": "Cost of a repeat contact",
        "callback_share": "Abandoners called back (%)",
        "callback_cost": "Cost of a callback",
        "unanswered": "Policy to price: at most this share unanswered (%)",
        "compute_cost": "Compute the costs",
        "needs_patience": "The cost needs the customers' mean patience.",
        "plan": "Plan",
        "plan_cheapest": "Cheapest",
        "plan_policy": "At most {p} % unanswered",
        "plan_fixed": "Fixed staffing",
        "abandoned": "Abandoned",
        "staff_cost": "Agents' cost",
        "unanswered_cost": "Unanswered cost",
        "total": "Total",
        "policy_price": "Price of the policy over the cheapest: {m}",
        "curve": "Cost curve: every staffing priced",
        "chart_cost": "Chart: the cost curve",
        "chart_cost_alt": "Total cost against the number of agents, the cheapest marked; the"
        " same figures are in the table.",
        "refused": "This page is for supervisors and admins: your account ({name}, {role})"
        " cannot run plans.",
    },
    "fr": {
        "title": "Planification",
        "intro": "Combien de conseillers chaque intervalle demande, et ce que coûtent les"
        " clients sans réponse.",
        "staffing_heading": "Effectifs",
        "arrivals": "Contacts par intervalle",
        "arrivals_hint": "Un nombre, ou un par intervalle séparés par des virgules (une journée).",
        "period": "Intervalle (secondes)",
        "aht": "Durée moyenne de traitement (secondes)",
        "sl": "Objectif de niveau de service (%)",
        "within": "Répondu en moins de (secondes)",
        "patience": "Patience moyenne (secondes)",
        "patience_hint": "Pour Erlang A et le coût ; vide : personne n'abandonne (Erlang C).",
        "model": "Modèle",
        "erlang-c": "Erlang C (personne n'abandonne)",
        "erlang-a": "Erlang A (les clients abandonnent)",
        "sl_definition": "Définition du niveau de service",
        "shrinkage": "Absentéisme et temps hors ligne (%)",
        "max_occupancy": "Occupation maximale (%)",
        "optional": "facultatif",
        "compute": "Calculer les effectifs",
        "computing": "Calcul…",
        "agents_needed": "Conseillers nécessaires : {n}",
        "agents_peak": "Conseillers nécessaires au pic : {n}",
        "metrics": "Indicateurs avec cet effectif",
        "interval": "Intervalle",
        "start": "Début",
        "agents": "Conseillers à planifier",
        "productive": "En traitement",
        "load": "Charge offerte (Erlangs)",
        "p_wait": "P(attente)",
        "p_abandon": "P(abandon)",
        "asa": "Attente moyenne, répondus (s)",
        "occupancy": "Occupation",
        "none": "aucun",
        "chart_staffing": "Graphique : conseillers par intervalle et charge offerte",
        "chart_staffing_alt": "Conseillers à planifier par intervalle avec la charge offerte ;"
        " les mêmes chiffres sont dans le tableau.",
        "cost_heading": "Coût des clients sans réponse",
        "cost_intro": "Reprend les contacts, l'intervalle, la durée de traitement, la patience"
        " et l'absentéisme ci-dessus.",
        "value": "Valeur d'un contact traité",
        "agent_cost": "Coût horaire d'un conseiller",
        "give_up_share": "Part des abandons perdus pour de bon (%)",
        "repeat_cost": "Coût d'un contact répété",
        "callback_share": "Part des abandons rappelés (%)",
        "callback_cost": "Coût d'un rappel",
        "unanswered": "Politique à chiffrer : au plus cette part sans réponse (%)",
        "compute_cost": "Calculer les coûts",
        "needs_patience": "Le coût demande la patience moyenne des clients.",
        "plan": "Plan",
        "plan_cheapest": "Le moins cher",
        "plan_policy": "Au plus {p} % sans réponse",
        "plan_fixed": "Effectif fixe",
        "abandoned": "Abandons",
        "staff_cost": "Coût des conseillers",
        "unanswered_cost": "Coût des sans-réponse",
        "total": "Total",
        "policy_price": "Prix de la politique par rapport au moins cher : {m}",
        "curve": "Courbe de coût : chaque effectif chiffré",
        "chart_cost": "Graphique : la courbe de coût",
        "chart_cost_alt": "Coût total selon le nombre de conseillers, le moins cher marqué ;"
        " les mêmes chiffres sont dans le tableau.",
        "refused": "Cette page est réservée aux superviseurs et administrateurs : votre compte"
        " ({name}, {role}) ne peut pas lancer de planification.",
    },
}
for _lang, _t in STRINGS.items():  # the frame's strings (logout, language...) come from there
    _t.update({k: STAFF_STRINGS[_lang][k] for k in _COMMON})

router = APIRouter(include_in_schema=False)
SWITCHES = [
    {"code": code, "label": label, "href": "?" + urlencode({"lang": code})}
    for code, label in (("en", "English"), ("fr", "Français"))
]


@router.get("/planner", response_class=HTMLResponse)
async def planner_page(request: Request, lang: str | None = Query(None, max_length=8)) -> Response:
    language = pick_language(request, lang)
    session = current_session(request)
    if session is None:
        return RedirectResponse("/login?next=/planner", 303, headers=PAGE_HEADERS)
    user = session.user
    refused = Perm.PLAN not in ROLE_PERMISSIONS[user.role]
    html = TEMPLATES.get_template("planner.html").render(
        lang=language,
        t=STRINGS[language],
        switches=SWITCHES,
        user=user,
        csrf=session.csrf,
        csrf_header=CSRF_HEADER,
        refused=refused,
        home=HOME.get(user.role, "/login"),
        definitions=[(name, SL_DEFINITIONS[name]) for name in PLANNING_SL],
        default_sl=DEFAULT_SL,
    )
    response = HTMLResponse(html, status_code=403 if refused else 200, headers=PAGE_HEADERS)
    if lang in LANGUAGES:  # a choice made with the switch outlives the link
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="lax")
    return response


def install(app: FastAPI) -> None:
    """The page only: the API it calls is ``web.api.planning``, under ``/api``."""
    app.include_router(router)
