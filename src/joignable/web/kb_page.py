"""``GET /kb``: the knowledge page of experts and supervisors, server-rendered in French or
English (as the chat page: ``pick_language``, a self-only CSP, assets under ``/static``).

It needs a login: without a session it redirects to ``/login?next=/kb``; a logged-in user
without the right (an agent) gets a 403 page. Everything it shows comes from ``/api/kb`` with the
session cookie and the CSRF token the page carries; the API decides again what each may do.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joignable.web.auth import SESSION_COOKIE, Perm, Principal
from joignable.web.chat_page import HEADERS, LANG_COOKIE, LANGUAGES, TEMPLATES, pick_language

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Knowledge",
        "language": "Language",
        "logged_as": "Logged in as {name}",
        "search_heading": "Search the base",
        "query": "Request",
        "query_hint": "As a customer would say it; results appear as you type.",
        "lang": "Language of the request",
        "lang_auto": "Guess",
        "audience": "Seen by",
        "audience_agent": "agents",
        "audience_customer": "customers",
        "no_result": "Nothing matches: this search is kept as a gap for experts.",
        "why": "Why",
        "review_heading": "Review",
        "in_review": "In review",
        "drafts": "Drafts",
        "nothing": "Nothing here.",
        "publish": "Publish",
        "send_back": "Send back",
        "submit": "Submit for review",
        "comment": "Comment",
        "comment_label": "Comment or reason (sent with the action)",
        "version": "version {n}",
        "by": "by {who}",
        "gaps_heading": "Searches without a good answer",
        "gap_count": "{n} search(es)",
        "make_draft": "Make a draft",
        "draft_id": "New article id",
        "synonyms_heading": "Suggested synonyms",
        "health_heading": "Content health",
        "analytics_heading": "Flows in use",
        "col_flow": "Flow",
        "col_runs": "Runs",
        "col_resolved": "Resolved",
        "col_deflected": "Deflected",
        "col_handed_over": "Handed over",
        "col_abandoned": "Dropped",
        "published": "Published.",
        "sent_back": "Sent back to draft.",
        "submitted": "Submitted for review.",
        "commented": "Comment added.",
        "drafted": "Draft created.",
        "read_only": "You can read the review queue; experts publish.",
        "forbidden": "This page is for knowledge experts and supervisors.",
        "error": "Something went wrong: {m}",
    },
    "fr": {
        "title": "Connaissances",
        "language": "Langue",
        "logged_as": "Connecté en tant que {name}",
        "search_heading": "Chercher dans la base",
        "query": "Demande",
        "query_hint": "Comme un client la formulerait ; les résultats s'affichent à la frappe.",
        "lang": "Langue de la demande",
        "lang_auto": "Deviner",
        "audience": "Vu par",
        "audience_agent": "les conseillers",
        "audience_customer": "les clients",
        "no_result": "Aucun résultat : cette recherche est gardée comme lacune pour les experts.",
        "why": "Pourquoi",
        "review_heading": "Relecture",
        "in_review": "En relecture",
        "drafts": "Brouillons",
        "nothing": "Rien ici.",
        "publish": "Publier",
        "send_back": "Renvoyer",
        "submit": "Soumettre à relecture",
        "comment": "Commenter",
        "comment_label": "Commentaire ou motif (joint à l'action)",
        "version": "version {n}",
        "by": "par {who}",
        "gaps_heading": "Recherches sans bonne réponse",
        "gap_count": "{n} recherche(s)",
        "make_draft": "Créer un brouillon",
        "draft_id": "Identifiant du nouvel article",
        "synonyms_heading": "Synonymes suggérés",
        "health_heading": "État du contenu",
        "analytics_heading": "Parcours utilisés",
        "col_flow": "Parcours",
        "col_runs": "Exécutions",
        "col_resolved": "Résolus",
        "col_deflected": "Évités",
        "col_handed_over": "Transférés",
        "col_abandoned": "Abandonnés",
        "published": "Publié.",
        "sent_back": "Renvoyé en brouillon.",
        "submitted": "Soumis à relecture.",
        "commented": "Commentaire ajouté.",
        "drafted": "Brouillon créé.",
        "read_only": "Vous pouvez consulter la relecture ; les experts publient.",
        "forbidden": "Cette page est réservée aux experts et aux superviseurs.",
        "error": "Une erreur est survenue : {m}",
    },
}

router = APIRouter(include_in_schema=False)


def _principal(request: Request) -> tuple[Principal, str] | None:
    """The logged-in user and their CSRF token, from the session cookie."""
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    session = request.app.state.services.accounts.session(sid)
    if session is None:
        return None
    return Principal.of_user(session.user), session.csrf


@router.get("/kb", response_class=HTMLResponse)
async def kb_page(request: Request, lang: str | None = Query(None, max_length=8)) -> Response:
    language = pick_language(request, lang)
    t = STRINGS[language]
    found = _principal(request)
    if found is None:
        return RedirectResponse(f"/login?next={quote('/kb')}", status_code=303)
    who, csrf = found
    perms = who.permissions
    allowed = Perm.KB_READ in perms and (Perm.KB_EDIT in perms or Perm.STATS_READ in perms)
    template = TEMPLATES.get_template("kb.html")
    html = template.render(
        lang=language,
        t=t,
        languages=LANGUAGES,
        who=who.name,
        csrf=csrf,
        allowed=allowed,
        can_edit=Perm.KB_EDIT in perms,
        can_publish=Perm.KB_PUBLISH in perms,
    )
    response = HTMLResponse(html, status_code=200 if allowed else 403, headers=HEADERS)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="lax")
    return response


def install(app: FastAPI) -> None:
    app.include_router(router)
