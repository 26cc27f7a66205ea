"""Importing a whole knowledge file through the API: experts only, every problem named with its
place in the file, nothing imported when one is found."""

from __future__ import annotations

import json

from joignable.web.accounts import Role

from .conftest import Org

A, S, G, K = Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.KNOWLEDGE_EXPERT

GOOD = """
version: 1
articles:
  - id: en-new-router
    title: Set up the new router
    lang: en
    kind: procedure
    steps: [Unplug the old box, Plug the new one]
    phrasings: [my new router does not work]
flows:
  - id: en-router-help
    title: Router help
    lang: en
    start: ask
    nodes:
      ask:
        type: question
        text: New router or old one?
        fact: router
        choices:
          - {label: New, value: new, next: setup}
          - {label: Old, value: old, next: reboot}
      setup: {type: outcome, result: resolved, article: en-new-router}
      reboot: {type: outcome, result: resolved, article: en-reboot-box}
"""

# an article without a title, a choice leading nowhere, an unknown article, an unreachable node
BAD = (
    GOOD.replace("    title: Set up the new router\n", "")
    .replace("next: setup}", "next: nowhere}")
    .replace(
        "article: en-reboot-box}",
        "article: en-not-there}\n      lost: {type: outcome, result: resolved}",
    )
)


def _keys(org: Org) -> set[str]:
    return set(org.services.knowledge.catalog.items())  # type: ignore[union-attr]


def test_an_expert_imports_a_whole_file_as_drafts(org: Org) -> None:
    expert = org.clients[K]
    r = expert.post("/api/kb/import", json={"text": GOOD, "note": "spring update"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["imported"] == 2
    got = {(v["key"], v["state"], v["version"]) for v in body["versions"]}
    assert got == {("article:en-new-router", "draft", 1), ("flow:en-router-help", "draft", 1)}
    # drafts like any other change: in the review queue, not searchable until published
    versions = expert.get("/api/kb/items/flow/en-router-help").json()["versions"]
    assert versions[0]["history"][0]["note"] == "spring update"
    # the same file as JSON, again: each item gets its next version
    data = json.dumps({"articles": [{"id": "en-new-router", "title": "T2", "lang": "en"}]})
    again = expert.post("/api/kb/import", json={"text": data, "format": "json"})
    assert again.status_code == 201, again.text
    assert again.json()["versions"][0]["version"] == 2


def test_every_problem_is_named_with_its_place_and_nothing_is_imported(org: Org) -> None:
    before = _keys(org)
    r = org.clients[K].post("/api/kb/import", json={"text": BAD})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "kb_invalid_file"
    found = {(p["path"], p["code"]) for p in error["problems"]}
    assert ("articles[0].title", "missing") in found
    assert ("flows[0].nodes.ask.choices[0]", "dangling") in found
    assert ("flows[0].nodes.reboot.article", "unknown-article") in found
    assert ("flows[0].nodes.lost", "unreachable") in found
    assert "nothing imported" in error["message"]
    assert _keys(org) == before


def test_syntax_errors_and_empty_files_are_refused_with_a_code(org: Org) -> None:
    expert = org.clients[K]
    syntax = expert.post("/api/kb/import", json={"text": "articles: [\n  - id: x\n   bad"})
    assert syntax.status_code == 422
    assert syntax.json()["error"]["problems"][0]["code"] == "syntax"
    assert syntax.json()["error"]["problems"][0]["path"].startswith("line ")
    not_json = expert.post("/api/kb/import", json={"text": "{", "format": "json"})
    assert not_json.json()["error"]["problems"][0]["code"] == "syntax"
    for text in ("version: 1", "[1, 2]", "articles: 3"):
        r = expert.post("/api/kb/import", json={"text": text})
        assert r.status_code == 422, (text, r.text)
        assert r.json()["error"]["code"] == "kb_invalid_file", text


def test_a_change_that_breaks_a_published_flow_names_that_flow(org: Org) -> None:
    # fr-high-bill (published) calls fr-identify: a new fr-identify calling fr-high-bill back
    # would loop; the file's flow is named by its place, the published one by its id
    looping = {
        "id": "fr-identify",
        "title": "Identifier",
        "lang": "fr",
        "start": "go",
        "nodes": {"go": {"type": "call", "flow": "fr-high-bill"}},
    }
    r = org.clients[K].post("/api/kb/import", json={"text": json.dumps({"flows": [looping]})})
    assert r.status_code == 422, r.text
    found = {(p["path"], p["code"]) for p in r.json()["error"]["problems"]}
    assert ("flows[0].nodes.go.flow", "call-cycle") in found
    assert ("published flow 'fr-high-bill'.nodes.identify.flow", "call-cycle") in found


def test_only_experts_import(org: Org) -> None:
    for role in (S, G):
        r = org.clients[role].post("/api/kb/import", json={"text": GOOD})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert "article:en-new-router" not in _keys(org)
