"""Import of articles and flows from YAML or JSON (the format is described in docs/knowledge.md).

Import never raises on bad content: it returns every problem it found, each with a stable code
and its place in the file as a path (``flows[2].nodes.ask_card.choices[1]``), so an author can
fix them all in one pass. Only a file without any problem becomes a ``Base``.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml

from joignable.knowledge.model import (
    ARTICLE_KINDS,
    AUDIENCES,
    INPUT_TYPES,
    OPS,
    RESULTS,
    Article,
    Base,
    Call,
    Choice,
    Condition,
    Fact,
    Flow,
    Handover,
    Logic,
    Node,
    Outcome,
    Question,
    Rule,
    is_end,
    successors,
)
from joignable.knowledge.text import LANGS

FORMAT_VERSION = 1
T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an imported file: where, a stable code, and what."""

    path: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(file)'}: {self.message} [{self.code}]"


class _Reader:
    """Reads raw parsed data, noting each problem with its path instead of raising."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def bad(self, path: str, code: str, message: str) -> None:
        self.problems.append(Problem(path, code, message))

    def field(
        self, obj: dict[str, Any], key: str, path: str, kind: type[T], default: T | None = None
    ) -> T | None:
        """``obj[key]`` if of type ``kind``; a missing required field is a problem."""
        if key not in obj or obj[key] is None:
            if default is None:
                self.bad(f"{path}.{key}", "missing", f"'{key}' is required")
            return default
        value = obj[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.bad(f"{path}.{key}", "type", f"'{key}' must be {_kind_name(kind)}")
            return default
        return value

    def text(self, obj: dict[str, Any], key: str, path: str, default: str | None = None) -> str:
        return self.field(obj, key, path, str, default) or ""

    def choice(self, obj: dict[str, Any], key: str, path: str, allowed: tuple[str, ...]) -> str:
        value = self.field(obj, key, path, str, allowed[0])
        if value not in allowed:
            self.bad(f"{path}.{key}", "bad-value", f"'{key}' must be one of {', '.join(allowed)}")
            return allowed[0]
        return value

    def strings(self, obj: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
        raw = self.field(obj, key, path, list, [])
        out: list[str] = []
        for i, item in enumerate(raw or []):
            if isinstance(item, str):
                out.append(item)
            else:
                self.bad(f"{path}.{key}[{i}]", "type", f"'{key}' must hold text only")
        return tuple(out)

    def mapping(self, value: Any, path: str, what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.bad(path, "type", f"{what} must be a mapping")
        return None

    def items(self, obj: dict[str, Any], key: str, path: str) -> list[tuple[str, dict[str, Any]]]:
        """Each mapping of the list ``obj[key]`` with its path."""
        out = []
        for i, item in enumerate(self.field(obj, key, path, list, []) or []):
            m = self.mapping(item, f"{path}.{key}[{i}]", f"each of '{key}'")
            if m is not None:
                out.append((f"{path}.{key}[{i}]", m))
        return out


def _kind_name(kind: type) -> str:
    return {str: "text", list: "a list", dict: "a mapping", bool: "true or false"}.get(
        kind, "a number"
    )


def parse(text: str, fmt: str = "yaml") -> tuple[Any, list[Problem]]:
    """Raw data from YAML or JSON text, or the syntax problem with its line."""
    try:
        if fmt == "json":
            return json.loads(text), []
        return yaml.safe_load(text), []
    except json.JSONDecodeError as e:
        return None, [Problem(f"line {e.lineno}", "syntax", f"not valid JSON: {e.msg}")]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        what = getattr(e, "problem", None) or "syntax error"
        return None, [Problem(where, "syntax", f"not valid YAML: {what}")]


def load(text: str, fmt: str = "yaml") -> tuple[Base | None, list[Problem]]:
    """Import a file's text: the base and no problem, or None and every problem found."""
    data, problems = parse(text, fmt)
    if problems:
        return None, problems
    return build(data)


def build(data: Any) -> tuple[Base | None, list[Problem]]:
    """Validate parsed data and build the base (see ``load``)."""
    r = _Reader()
    root = r.mapping(data, "", "the file")
    if root is None:
        return None, r.problems
    version = root.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        r.bad("version", "bad-value", f"format version {version!r} unknown (expected 1)")
    articles: dict[str, Article] = {}
    for path, raw in r.items(root, "articles", ""):
        a = _article(r, raw, path.lstrip("."))
        if a.id in articles:
            r.bad(f"{path.lstrip('.')}.id", "duplicate-id", f"article '{a.id}' defined twice")
        articles[a.id] = a
    flows: dict[str, Flow] = {}
    places: dict[str, str] = {}
    for path, raw in r.items(root, "flows", ""):
        path = path.lstrip(".")
        f = _flow(r, raw, path)
        if f is None:
            continue
        if f.id in flows:
            r.bad(f"{path}.id", "duplicate-id", f"flow '{f.id}' defined twice")
        flows[f.id] = f
        places[f.id] = path
    for fid, f in flows.items():
        _check_flow(r, f, places[fid], articles, flows)
    _check_calls(r, flows, places)
    if r.problems:
        return None, r.problems
    return Base(articles, flows), []


def read_item(kind: str, data: Any) -> Article | Flow:
    """One article or flow on its own (the store's rows), checked for its own shape only: what
    it refers to may live elsewhere. Raises ValueError naming the problems."""
    r = _Reader()
    raw = r.mapping(data, kind, kind)
    item: Article | Flow | None = None
    if raw is not None:
        item = _article(r, raw, kind) if kind == "article" else _flow(r, raw, kind)
    if item is None or r.problems:
        raise ValueError("; ".join(str(p) for p in r.problems))
    return item


def _article(r: _Reader, raw: dict[str, Any], path: str) -> Article:
    return Article(
        id=r.text(raw, "id", path),
        title=r.text(raw, "title", path),
        lang=r.choice(raw, "lang", path, LANGS),  # type: ignore[arg-type]
        kind=r.choice(raw, "kind", path, ARTICLE_KINDS),  # type: ignore[arg-type]
        audience=r.choice(raw, "audience", path, AUDIENCES),  # type: ignore[arg-type]
        body=r.text(raw, "body", path, ""),
        steps=r.strings(raw, "steps", path),
        tags=r.strings(raw, "tags", path),
        phrasings=r.strings(raw, "phrasings", path),
    )


def _flow(r: _Reader, raw: dict[str, Any], path: str) -> Flow | None:
    fid = r.text(raw, "id", path)
    nodes_raw = r.field(raw, "nodes", path, dict)
    nodes: dict[str, Node] = {}
    for nid, node_raw in (nodes_raw or {}).items():
        npath = f"{path}.nodes.{nid}"
        m = r.mapping(node_raw, npath, f"node '{nid}'")
        if m is not None:
            node = _node(r, str(nid), m, npath)
            if node is not None:
                nodes[str(nid)] = node
    return Flow(
        id=fid,
        title=r.text(raw, "title", path),
        lang=r.choice(raw, "lang", path, LANGS),  # type: ignore[arg-type]
        start=r.text(raw, "start", path),
        nodes=nodes,
        audience=r.choice(raw, "audience", path, AUDIENCES),  # type: ignore[arg-type]
        tags=r.strings(raw, "tags", path),
        phrasings=r.strings(raw, "phrasings", path),
    )


def _node(r: _Reader, nid: str, raw: dict[str, Any], path: str) -> Node | None:
    kind = raw.get("type")
    readers: dict[str, Callable[[_Reader, str, dict[str, Any], str], Node]] = {
        "question": _question,
        "logic": _logic,
        "outcome": _outcome,
        "handover": _handover,
        "call": _call,
    }
    if kind not in readers:
        r.bad(f"{path}.type", "bad-value", f"node type must be one of {', '.join(readers)}")
        return None
    return readers[kind](r, nid, raw, path)


def _fact_value(r: _Reader, raw: dict[str, Any], key: str, path: str) -> Fact:
    value = raw.get(key)
    if isinstance(value, str | int | float | bool):
        return value
    r.bad(f"{path}.{key}", "type", f"'{key}' must be text, a number or true/false")
    return ""


def _question(r: _Reader, nid: str, raw: dict[str, Any], path: str) -> Node:
    choices = tuple(
        Choice(r.text(c, "label", p), _fact_value(r, c, "value", p), r.text(c, "next", p))
        for p, c in r.items(raw, "choices", path)
    )
    for i, c in enumerate(choices):
        if any(c.value == d.value and type(c.value) is type(d.value) for d in choices[:i]):
            r.bad(
                f"{path}.choices[{i}].value",
                "duplicate-value",
                f"two choices have the value {c.value!r}: an answer could not tell them apart",
            )
    typed = raw.get("input")
    if typed is not None and typed not in INPUT_TYPES:
        r.bad(f"{path}.input", "bad-value", f"'input' must be one of {', '.join(INPUT_TYPES)}")
        typed = None
    if choices and typed is not None:
        r.bad(path, "bad-value", "a question has either choices or a typed input, not both")
    elif not choices and typed is None:
        r.bad(path, "missing", "a question needs choices or a typed input")
    nxt = r.field(raw, "next", path, str, "") or None
    if typed is not None and nxt is None:
        r.bad(f"{path}.next", "missing", "a question with a typed input needs 'next'")
    return Question(nid, r.text(raw, "text", path), r.text(raw, "fact", path), choices, typed, nxt)


def _condition(r: _Reader, raw: dict[str, Any], path: str) -> Condition:
    op = r.choice(raw, "op", path, OPS)
    value: Fact | tuple[Fact, ...] | None = None
    if op in ("in", "not_in"):
        items = r.field(raw, "value", path, list, [])
        value = tuple(v for v in items or [] if isinstance(v, str | int | float | bool))
    elif op not in ("exists", "missing"):
        value = _fact_value(r, raw, "value", path)
    return Condition(r.text(raw, "fact", path), op, value)  # type: ignore[arg-type]


def _logic(r: _Reader, nid: str, raw: dict[str, Any], path: str) -> Node:
    rules = []
    for p, rule in r.items(raw, "rules", path):
        when = tuple(_condition(r, c, cp) for cp, c in r.items(rule, "when", p))
        if not when:
            r.bad(f"{p}.when", "missing", "a rule needs at least one condition")
        rules.append(Rule(when, r.text(rule, "next", p)))
    return Logic(nid, tuple(rules), r.text(raw, "default", path))


def _outcome(r: _Reader, nid: str, raw: dict[str, Any], path: str) -> Node:
    result = r.choice(raw, "result", path, RESULTS)
    article = r.field(raw, "article", path, str, "") or None
    return Outcome(nid, result, article, r.text(raw, "text", path, ""))  # type: ignore[arg-type]


def _handover(r: _Reader, nid: str, raw: dict[str, Any], path: str) -> Node:
    skill = r.field(raw, "skill", path, str, "") or None
    return Handover(nid, r.text(raw, "queue", path), skill, r.text(raw, "text", path, ""))


def _call(r: _Reader, nid: str, raw: dict[str, Any], path: str) -> Node:
    return Call(nid, r.text(raw, "flow", path), r.field(raw, "next", path, str, "") or None)


def _check_flow(
    r: _Reader, f: Flow, path: str, articles: dict[str, Article], flows: dict[str, Flow]
) -> None:
    """Links, reachability and exits of one flow."""
    for nid, node in f.nodes.items():
        npath = f"{path}.nodes.{nid}"

        def link(target: str | None, where: str, what: str, at: str = npath) -> None:
            if target and target not in f.nodes:
                r.bad(f"{at}{where}", "dangling", f"{what} unknown node '{target}'")

        if isinstance(node, Question):
            for i, c in enumerate(node.choices):
                link(c.next, f".choices[{i}]", f"choice '{c.label}' leads to")
            link(node.next, ".next", "'next' is")
        elif isinstance(node, Logic):
            for i, rule in enumerate(node.rules):
                link(rule.next, f".rules[{i}].next", "rule leads to")
            link(node.default, ".default", "'default' is")
        elif isinstance(node, Outcome):
            if node.article is not None and node.article not in articles:
                r.bad(f"{npath}.article", "unknown-article", f"no article '{node.article}'")
        elif isinstance(node, Call):
            if node.flow and node.flow not in flows:
                r.bad(f"{npath}.flow", "unknown-flow", f"no flow '{node.flow}'")
            link(node.next, ".next", "'next' is")
    if not f.nodes:
        r.bad(f"{path}.nodes", "missing", "a flow needs nodes")
        return
    if f.start not in f.nodes:
        if f.start:
            r.bad(f"{path}.start", "dangling", f"'start' is unknown node '{f.start}'")
        return
    reached = reachable(f, f.start)
    for nid in f.nodes:
        if nid not in reached:
            r.bad(f"{path}.nodes.{nid}", "unreachable", f"node '{nid}' cannot be reached")
    exits = can_end(f)
    for nid in f.nodes:
        if nid in reached and nid not in exits:
            r.bad(
                f"{path}.nodes.{nid}",
                "no-exit",
                f"from node '{nid}' no path reaches an outcome or a hand-over"
                " (a cycle without exit)",
            )
    for nid in sorted(spinning(f)):
        r.bad(
            f"{path}.nodes.{nid}",
            "logic-loop",
            f"node '{nid}' is on a loop of logic and call nodes that never asks anything",
        )


def reachable(f: Flow, start: str) -> set[str]:
    """Node ids reachable from ``start`` (unknown targets ignored)."""
    seen = {start}
    todo = deque([start])
    while todo:
        for n in successors(f.nodes[todo.popleft()]):
            if n in f.nodes and n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def can_end(f: Flow) -> set[str]:
    """Node ids from which some path reaches an end (outcome, hand-over, final call)."""
    back: dict[str, list[str]] = {n: [] for n in f.nodes}
    for nid, node in f.nodes.items():
        for s in successors(node):
            if s in back:
                back[s].append(nid)
    ok = {nid for nid, node in f.nodes.items() if is_end(node)}
    todo = deque(ok)
    while todo:
        for p in back[todo.popleft()]:
            if p not in ok:
                ok.add(p)
                todo.append(p)
    return ok


def spinning(f: Flow) -> set[str]:
    """Nodes on a cycle made only of nodes the runner passes without asking (logic, call):
    even with an exit, such a loop could spin forever on unchanged facts."""
    auto = {nid for nid, n in f.nodes.items() if isinstance(n, Logic | Call)}
    out: set[str] = set()
    for nid in auto:
        seen: set[str] = set()
        todo = [s for s in successors(f.nodes[nid]) if s in auto]
        while todo:
            n = todo.pop()
            if n == nid:
                out.add(nid)
                break
            if n not in seen:
                seen.add(n)
                todo.extend(s for s in successors(f.nodes[n]) if s in auto)
    return out


def _check_calls(r: _Reader, flows: dict[str, Flow], places: dict[str, str]) -> None:
    """A flow may not call itself, directly or through others: the run would never end."""
    calls = {
        fid: {(nid, n.flow) for nid, n in f.nodes.items() if isinstance(n, Call)}
        for fid, f in flows.items()
    }
    for fid in flows:
        for nid, target in sorted(calls[fid]):
            seen: set[str] = set()
            todo = [target]
            while todo:
                g = todo.pop()
                if g == fid:
                    r.bad(
                        f"{places[fid]}.nodes.{nid}.flow",
                        "call-cycle",
                        f"flow '{fid}' calls itself through '{target}'",
                    )
                    break
                if g in flows and g not in seen:
                    seen.add(g)
                    todo.extend(t for _, t in calls[g])
