"""Versions and review: the states, who may publish, rollback, history; export round trip."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joignable.knowledge.export import dump
from joignable.knowledge.model import Article
from joignable.knowledge.review import Actor, Catalog, ReviewError, key_of
from joignable.knowledge.schema import load
from joignable.knowledge.store import KnowledgeStore
from tests.unit.test_knowledge_fixtures import VALID

ANN = Actor("ann", "author")
REX = Actor("rex", "reviewer")
EVE = Actor("eve", "expert")
V1 = Article("pin", "Changer son code", "fr", body="Dans l'appli, Carte > Code.")
V2 = replace(V1, body="Dans l'appli : Carte, puis Code secret.")


def published(c: Catalog, content: Article, t: float) -> int:
    v = c.propose(content, ANN, t)
    c.submit(v.key, v.number, ANN, t + 1)
    return c.publish(v.key, v.number, EVE, t + 2).number


def test_the_review_path_and_its_history() -> None:
    c = Catalog()
    v = c.propose(V1, ANN, 1.0)
    assert (v.key, v.number, v.state, v.owner) == ("article:pin", 1, "draft", "ann")
    c.submit(v.key, 1, ANN, 2.0)
    c.comment(v.key, 1, REX, 3.0, "préciser le menu")
    c.send_back(v.key, 1, REX, 4.0, "à revoir")
    c.submit(v.key, 1, ANN, 5.0)
    v = c.publish(v.key, 1, EVE, 6.0)
    assert v.state == "published" and c.published("article:pin") == v
    assert [(h.who, h.action, h.state) for h in v.history] == [
        ("ann", "created", "draft"),
        ("ann", "submitted", "in_review"),
        ("rex", "comment", "in_review"),
        ("rex", "sent back", "draft"),
        ("ann", "submitted", "in_review"),
        ("eve", "published", "published"),
    ]
    assert [x.note for x in v.comments()] == ["préciser le menu"]


def test_only_experts_publish() -> None:
    c = Catalog()
    v = c.propose(V1, ANN, 1.0)
    c.submit(v.key, 1, ANN, 2.0)
    for who in (ANN, REX):
        with pytest.raises(ReviewError) as e:
            c.publish(v.key, 1, who, 3.0)
        assert e.value.code == "forbidden"
    assert c.version(v.key, 1).state == "in_review"


def test_a_draft_cannot_skip_review() -> None:
    c = Catalog()
    v = c.propose(V1, ANN, 1.0)
    with pytest.raises(ReviewError) as e:
        c.publish(v.key, 1, EVE, 2.0)
    assert e.value.code == "bad-move"


def test_publishing_archives_the_previous_and_never_edits_it() -> None:
    c = Catalog()
    published(c, V1, 0)
    published(c, V2, 10)
    first, second = c.versions("article:pin")
    assert first.state == "archived" and first.content == V1
    assert second.state == "published" and second.content == V2


def test_rollback_publishes_the_previous_content_as_a_new_version() -> None:
    c = Catalog()
    published(c, V1, 0)
    published(c, V2, 10)
    with pytest.raises(ReviewError) as e:
        c.rollback("article:pin", REX, 20.0)
    assert e.value.code == "forbidden"
    v = c.rollback("article:pin", EVE, 20.0)
    assert (v.number, v.state, v.content) == (3, "published", V1)
    assert [x.state for x in c.versions("article:pin")] == ["archived", "archived", "published"]


def test_rollback_needs_something_to_go_back_to() -> None:
    c = Catalog()
    published(c, V1, 0)
    with pytest.raises(ReviewError) as e:
        c.rollback("article:pin", EVE, 5.0)
    assert e.value.code == "no-previous"
    with pytest.raises(ReviewError):
        c.version("article:nope", 1)


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["propose", "submit", "send_back", "publish", "archive", "rollback"]),
        st.sampled_from([ANN, REX, EVE]),
        st.integers(1, 4),
    ),
    max_size=30,
)


@settings(max_examples=80, deadline=None)
@given(ACTIONS)
def test_invariants_under_any_sequence_of_moves(actions: list[tuple[str, Actor, int]]) -> None:
    c = Catalog()
    key = key_of(V1)
    seen_published: dict[int, Article] = {}
    for t, (action, who, n) in enumerate(actions):
        try:
            if action == "propose":
                c.propose(replace(V1, body=f"rev {t}"), who, t)
            elif action == "rollback":
                c.rollback(key, who, t)
            elif action == "send_back":
                c.send_back(key, n, who, t, "non")
            else:
                getattr(c, action)(key, n, who, t)
        except ReviewError:
            pass
        versions = c.versions(key)
        assert sum(v.state == "published" for v in versions) <= 1
        assert [v.number for v in versions] == list(range(1, len(versions) + 1))
        for v in versions:
            if v.state == "published":
                assert any(h.who == "eve" for h in v.history if h.state == "published")
            if v.state in ("published", "archived") and v.number in seen_published:
                assert v.content == seen_published[v.number]
            if v.state == "published":
                seen_published[v.number] = v.content  # type: ignore[assignment]


def test_export_imports_again_unchanged() -> None:
    base, _ = load(VALID)
    assert base is not None
    for fmt in ("yaml", "json"):
        again, problems = load(dump(base, fmt), fmt)
        assert problems == [] and again == base


def test_node_reviews_carry_over_unchanged_nodes_only() -> None:
    base, _ = load(VALID)
    assert base is not None
    flow = base.flows["card-blocked"]
    c = Catalog()
    v1 = c.propose(flow, ANN, 1.0)
    assert v1.unreviewed() == sorted(flow.nodes)
    assert {r.owner for r in v1.nodes.values()} == {"ann"}
    with pytest.raises(ReviewError) as e:
        c.review_node(v1.key, 1, "ask_card", REX, 2.0)  # not in review yet
    assert e.value.code == "forbidden"
    c.submit(v1.key, 1, ANN, 2.0)
    with pytest.raises(ReviewError):
        c.review_node(v1.key, 1, "ask_card", ANN, 3.0)  # authors do not review
    for node in flow.nodes:
        c.review_node(v1.key, 1, node, REX, 3.0)
    c.assign_node(v1.key, 1, "route", "eve", REX, 3.5)
    assert c.version(v1.key, 1).unreviewed() == []
    c.publish(v1.key, 1, EVE, 4.0)
    with pytest.raises(ReviewError) as e:
        c.review_node(v1.key, 1, "route", REX, 4.5)
    assert e.value.code == "bad-move"
    # Version 2 changes one node: only that one needs a review again; owners are kept.
    route = flow.nodes["route"]
    changed = replace(flow, nodes={**flow.nodes, "route": replace(route, default="human")})
    v2 = c.propose(changed, ANN, 5.0)
    assert v2.unreviewed() == ["route"]
    assert v2.nodes["route"].owner == "eve" and v2.nodes["route"].changed
    assert not v2.nodes["ask_card"].changed and v2.nodes["ask_card"].reviewed
    with pytest.raises(ReviewError) as e:
        c.assign_node(v2.key, 2, "nope", "bob", ANN, 6.0)
    assert e.value.code == "unknown"


def test_node_reviews_survive_the_store(tmp_path: Path) -> None:
    base, _ = load(VALID)
    assert base is not None
    c = Catalog()
    v = c.propose(base.flows["identify"], ANN, 1.0)
    c.submit(v.key, 1, ANN, 2.0)
    c.review_node(v.key, 1, "ask_id", REX, 3.0)
    store = KnowledgeStore(tmp_path / "kb.db")
    store.save_catalog(c)
    again = store.load().version(v.key, 1)
    assert again == c.version(v.key, 1) and again.unreviewed() == ["ok"]
