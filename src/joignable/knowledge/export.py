"""Articles and flows back to the file format of docs/knowledge.md: what ``schema`` reads, this
writes, so an export imports again unchanged (and the store keeps versions in the same form)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from joignable.knowledge.model import (
    Article,
    Base,
    Call,
    Condition,
    Flow,
    Handover,
    Logic,
    Node,
    Outcome,
    Question,
)
from joignable.knowledge.schema import FORMAT_VERSION


def article_data(a: Article) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": a.id,
        "title": a.title,
        "lang": a.lang,
        "kind": a.kind,
        "audience": a.audience,
    }
    optional = {"body": a.body, "steps": list(a.steps), "tags": list(a.tags)}
    optional["phrasings"] = list(a.phrasings)
    out.update({k: v for k, v in optional.items() if v})
    return out


def _condition(c: Condition) -> dict[str, Any]:
    out: dict[str, Any] = {"fact": c.fact, "op": c.op}
    if c.value is not None:
        out["value"] = list(c.value) if isinstance(c.value, tuple) else c.value
    return out


def node_data(n: Node) -> dict[str, Any]:
    out: dict[str, Any]
    match n:
        case Question():
            out = {"type": "question", "text": n.text, "fact": n.fact}
            if n.choices:
                out["choices"] = [
                    {"label": c.label, "value": c.value, "next": c.next} for c in n.choices
                ]
            else:
                out["input"] = n.input
                out["next"] = n.next
        case Logic():
            rules = [{"when": [_condition(c) for c in r.when], "next": r.next} for r in n.rules]
            out = {"type": "logic", "rules": rules, "default": n.default}
        case Outcome():
            out = {"type": "outcome", "result": n.result}
            out.update({k: v for k, v in (("article", n.article), ("text", n.text)) if v})
        case Handover():
            out = {"type": "handover", "queue": n.queue}
            out.update({k: v for k, v in (("skill", n.skill), ("text", n.text)) if v})
        case Call():
            out = {"type": "call", "flow": n.flow}
            if n.next:
                out["next"] = n.next
    return out


def flow_data(f: Flow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f.id,
        "title": f.title,
        "lang": f.lang,
        "audience": f.audience,
        "start": f.start,
    }
    out.update({k: list(v) for k, v in (("tags", f.tags), ("phrasings", f.phrasings)) if v})
    out["nodes"] = {nid: node_data(n) for nid, n in f.nodes.items()}
    return out


def base_data(base: Base) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "articles": [article_data(a) for a in base.articles.values()],
        "flows": [flow_data(f) for f in base.flows.values()],
    }


def dump(base: Base, fmt: str = "yaml") -> str:
    data = base_data(base)
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2)
    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
