"""Versions and review of articles and flows, pure: who may move a version where, and when.

Every change is a new version; a version goes draft -> in review -> published -> archived (a
reviewer may send it back to draft; a draft may be withdrawn to archived). Only experts publish,
publishing archives the version published before, and a published version's content never
changes (versions are immutable values; only their state moves). A rollback publishes a *new*
version carrying the content of the one published before, so history only grows. Every move is
kept: who, when, from which state to which, and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from joignable.knowledge.model import Article, Base, Flow

ReviewState = Literal["draft", "in_review", "published", "archived"]
Role = Literal["author", "reviewer", "expert"]
Content = Article | Flow

# state -> states it may move to, and the roles allowed to move it there.
MOVES: dict[tuple[ReviewState, ReviewState], tuple[Role, ...]] = {
    ("draft", "in_review"): ("author", "reviewer", "expert"),
    ("draft", "archived"): ("author", "reviewer", "expert"),
    ("in_review", "draft"): ("reviewer", "expert"),
    ("in_review", "published"): ("expert",),
    ("published", "archived"): ("expert",),
}


class ReviewError(Exception):
    """A refused move, with a stable ``code``: unknown, forbidden, bad-move, no-previous."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Actor:
    id: str
    role: Role


@dataclass(frozen=True)
class Change:
    """One entry of a version's history."""

    who: str
    at: float
    action: str  # created, submitted, sent back, published, archived, rolled back, comment
    state: ReviewState
    note: str = ""


@dataclass(frozen=True)
class Version:
    key: str  # "article:<id>" or "flow:<id>"
    number: int
    content: Content
    state: ReviewState
    owner: str
    history: tuple[Change, ...] = ()
    # A flow's nodes: review state and owner each, so reviewers see what changed and who answers
    # for it. Node ids are stable across versions, which is what lets a review carry over.
    nodes: Mapping[str, NodeReview] = field(default_factory=dict)

    def comments(self) -> list[Change]:
        return [c for c in self.history if c.action == "comment"]

    def unreviewed(self) -> list[str]:
        """Nodes new or changed in this version that nobody has reviewed yet."""
        return sorted(n for n, r in self.nodes.items() if not r.reviewed)


@dataclass(frozen=True)
class NodeReview:
    owner: str
    reviewed: bool = False
    changed: bool = True  # new, or different from the previous version


def key_of(content: Content) -> str:
    return f"{'flow' if isinstance(content, Flow) else 'article'}:{content.id}"


class Catalog:
    """Every version of every article and flow, in memory; ``store`` persists it."""

    def __init__(self, versions: list[Version] | None = None) -> None:
        self._versions: dict[str, list[Version]] = {}
        for v in sorted(versions or [], key=lambda v: (v.key, v.number)):
            self._versions.setdefault(v.key, []).append(v)

    def items(self) -> list[str]:
        return sorted(self._versions)

    def versions(self, key: str) -> list[Version]:
        return list(self._versions.get(key, []))

    def version(self, key: str, number: int) -> Version:
        for v in self._versions.get(key, []):
            if v.number == number:
                return v
        raise ReviewError("unknown", f"no version {number} of {key}")

    def published_base(self) -> Base:
        """The live content: the published version of every article and flow."""
        live = [v.content for key in self.items() if (v := self.published(key)) is not None]
        return Base(
            {c.id: c for c in live if isinstance(c, Article)},
            {c.id: c for c in live if isinstance(c, Flow)},
        )

    def published(self, key: str) -> Version | None:
        return next((v for v in self._versions.get(key, []) if v.state == "published"), None)

    def propose(self, content: Content, who: Actor, at: float, note: str = "") -> Version:
        """A new draft version of ``content`` (a new item, or a change to an existing one)."""
        key = key_of(content)
        number = len(self._versions.get(key, [])) + 1
        created = (Change(who.id, at, "created", "draft", note),)
        nodes = self._node_reviews(key, content, who)
        v = Version(key, number, content, "draft", who.id, created, nodes)
        self._versions.setdefault(key, []).append(v)
        return v

    def _node_reviews(self, key: str, content: Content, who: Actor) -> dict[str, NodeReview]:
        """Unchanged nodes keep their owner and review; new or changed ones start unreviewed,
        owned by whoever changed them."""
        if not isinstance(content, Flow):
            return {}
        before = self._versions.get(key, [])
        last = before[-1] if before else None
        old = last.content.nodes if last is not None and isinstance(last.content, Flow) else {}
        out: dict[str, NodeReview] = {}
        for nid, node in content.nodes.items():
            kept = last.nodes.get(nid) if last is not None else None
            if nid in old and old[nid] == node and kept is not None:
                out[nid] = replace(kept, changed=False)
            else:
                out[nid] = NodeReview(kept.owner if kept else who.id)
        return out

    def review_node(self, key: str, number: int, node: str, who: Actor, at: float) -> Version:
        """A reviewer or an expert marks one node of a version in review as reviewed."""
        return self._set_node(key, number, node, who, at, "node reviewed", reviewed=True)

    def assign_node(
        self, key: str, number: int, node: str, owner: str, who: Actor, at: float
    ) -> Version:
        """Who answers for a node from now on."""
        return self._set_node(key, number, node, who, at, f"node owner {owner}", owner=owner)

    def _set_node(
        self,
        key: str,
        number: int,
        node: str,
        who: Actor,
        at: float,
        action: str,
        reviewed: bool | None = None,
        owner: str | None = None,
    ) -> Version:
        v = self.version(key, number)
        if node not in v.nodes:
            raise ReviewError("unknown", f"no node '{node}' in {key} v{number}")
        if v.state in ("published", "archived"):
            raise ReviewError("bad-move", f"{key} v{number} is {v.state}: its review is closed")
        if reviewed is not None and (v.state != "in_review" or who.role == "author"):
            raise ReviewError("forbidden", "nodes are reviewed by reviewers, in review")
        r = v.nodes[node]
        r = replace(r, reviewed=r.reviewed if reviewed is None else reviewed)
        r = replace(r, owner=r.owner if owner is None else owner)
        change = Change(who.id, at, action, v.state, node)
        return self._put(replace(v, nodes={**v.nodes, node: r}, history=(*v.history, change)))

    def submit(self, key: str, number: int, who: Actor, at: float) -> Version:
        return self._move(key, number, "in_review", who, at, "submitted")

    def send_back(self, key: str, number: int, who: Actor, at: float, note: str) -> Version:
        return self._move(key, number, "draft", who, at, "sent back", note)

    def comment(self, key: str, number: int, who: Actor, at: float, text: str) -> Version:
        v = self.version(key, number)
        return self._put(
            replace(v, history=(*v.history, Change(who.id, at, "comment", v.state, text)))
        )

    def publish(self, key: str, number: int, who: Actor, at: float) -> Version:
        """Publish a version in review; the one published before is archived."""
        self._check(self.version(key, number), "published", who)
        current = self.published(key)
        if current is not None:
            self._move(
                key, current.number, "archived", who, at, "archived", f"replaced by v{number}"
            )
        return self._move(key, number, "published", who, at, "published")

    def archive(self, key: str, number: int, who: Actor, at: float) -> Version:
        return self._move(key, number, "archived", who, at, "archived")

    def rollback(self, key: str, who: Actor, at: float) -> Version:
        """Publish again the content published before the current one, as a new version."""
        current = self.published(key)
        if current is None:
            raise ReviewError("no-previous", f"{key} has no published version")
        if who.role != "expert":
            raise ReviewError("forbidden", "only experts publish")
        earlier = [
            v
            for v in self._versions[key]
            if v.number < current.number and any(c.action == "published" for c in v.history)
        ]
        if not earlier:
            raise ReviewError("no-previous", f"nothing was published before v{current.number}")
        back = earlier[-1]
        self._move(key, current.number, "archived", who, at, "archived", "rolled back")
        number = len(self._versions[key]) + 1
        note = f"rollback to the content of v{back.number}"
        v = Version(
            key,
            number,
            back.content,
            "published",
            who.id,
            (Change(who.id, at, "rolled back", "published", note),),
            back.nodes,
        )
        self._versions[key].append(v)
        return v

    def _check(self, v: Version, to: ReviewState, who: Actor) -> None:
        roles = MOVES.get((v.state, to))
        if roles is None:
            raise ReviewError("bad-move", f"{v.key} v{v.number} cannot go from {v.state} to {to}")
        if who.role not in roles:
            raise ReviewError("forbidden", f"a {who.role} cannot move a version to {to}")

    def _move(
        self,
        key: str,
        number: int,
        to: ReviewState,
        who: Actor,
        at: float,
        action: str,
        note: str = "",
    ) -> Version:
        v = self.version(key, number)
        self._check(v, to, who)
        return self._put(
            replace(v, state=to, history=(*v.history, Change(who.id, at, action, to, note)))
        )

    def _put(self, v: Version) -> Version:
        versions = self._versions[v.key]
        versions[v.number - 1] = v
        return v
