"""Knowledge content: articles and decision flows, as immutable values.

A flow is a graph of nodes keyed by ids the authors choose; ids stay the same from one version
to the next, so statistics per node and recorded paths survive edits. Node kinds:

- ``question``: asks something and stores the answer as a fact, from ``choices`` (each leading to
  a node) or as a typed ``input`` (then goes to ``next``). A question whose fact is already known
  (from the contact, or asked earlier) is not asked again.
- ``logic``: ordered ``rules`` (conditions on facts), the first that holds gives the next node,
  else ``default``.
- ``outcome``: the end: an article (answer or procedure) and a ``result``.
- ``handover``: the end too: to a human, in ``queue`` with ``skill``, the path attached.
- ``call``: runs another flow; with ``next`` the run comes back there when the sub-flow reaches
  an outcome, without it the sub-flow's end is the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from joignable.knowledge.text import Lang

ArticleKind = Literal["answer", "procedure"]
Audience = Literal["agent", "customer"]
InputType = Literal["text", "number", "integer", "boolean", "date"]
Result = Literal["resolved", "escalate", "not_resolved"]
Op = Literal["eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "exists", "missing"]
Fact = str | int | float | bool

ARTICLE_KINDS: tuple[ArticleKind, ...] = ("answer", "procedure")
AUDIENCES: tuple[Audience, ...] = ("agent", "customer")
INPUT_TYPES: tuple[InputType, ...] = ("text", "number", "integer", "boolean", "date")
RESULTS: tuple[Result, ...] = ("resolved", "escalate", "not_resolved")
OPS: tuple[Op, ...] = ("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "exists", "missing")


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    lang: Lang
    kind: ArticleKind = "answer"
    audience: Audience = "agent"
    body: str = ""
    steps: tuple[str, ...] = ()  # a procedure's steps, in order
    tags: tuple[str, ...] = ()
    phrasings: tuple[str, ...] = ()  # how customers and agents ask for it: search finds it so


@dataclass(frozen=True)
class Condition:
    """``fact op value``; ``exists`` and ``missing`` take no value."""

    fact: str
    op: Op
    value: Fact | tuple[Fact, ...] | None = None


@dataclass(frozen=True)
class Rule:
    when: tuple[Condition, ...]  # all must hold
    next: str


@dataclass(frozen=True)
class Choice:
    label: str
    value: Fact
    next: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    fact: str
    choices: tuple[Choice, ...] = ()
    input: InputType | None = None
    next: str | None = None  # after a typed input


@dataclass(frozen=True)
class Logic:
    id: str
    rules: tuple[Rule, ...]
    default: str


@dataclass(frozen=True)
class Outcome:
    id: str
    result: Result
    article: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Handover:
    id: str
    queue: str
    skill: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Call:
    id: str
    flow: str
    next: str | None = None


Node = Question | Logic | Outcome | Handover | Call


@dataclass(frozen=True)
class Flow:
    id: str
    title: str
    lang: Lang
    start: str
    nodes: dict[str, Node]
    audience: Audience = "agent"
    tags: tuple[str, ...] = ()
    phrasings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Base:
    """A knowledge base as imported: articles and flows by id."""

    articles: dict[str, Article] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)


def successors(node: Node) -> list[str]:
    """The ids a node may lead to within its own flow."""
    match node:
        case Question():
            return [c.next for c in node.choices] + ([node.next] if node.next else [])
        case Logic():
            return [r.next for r in node.rules] + [node.default]
        case Call():
            return [node.next] if node.next else []
        case _:
            return []


def is_end(node: Node) -> bool:
    """Whether a run may stop at this node (a call without ``next`` ends with its sub-flow)."""
    return isinstance(node, Outcome | Handover) or (isinstance(node, Call) and node.next is None)
