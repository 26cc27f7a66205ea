"""SQLite store of the review catalog: round trip, and the database refusing to rewrite history."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from joignable.knowledge.review import Actor, Catalog
from joignable.knowledge.schema import load
from joignable.knowledge.store import KnowledgeStore
from tests.unit.test_knowledge_fixtures import VALID

EVE = Actor("eve", "expert")


def filled() -> Catalog:
    base, _ = load(VALID)
    assert base is not None
    c = Catalog()
    for item in [*base.articles.values(), *base.flows.values()]:
        v = c.propose(item, EVE, 1.0, "import")
        c.submit(v.key, v.number, EVE, 2.0)
    c.publish("flow:card-blocked", 1, EVE, 3.0)
    c.comment("article:new-card", 1, EVE, 4.0, "délai à vérifier")
    return c


def test_catalog_round_trips_through_sqlite(tmp_path: Path) -> None:
    c = filled()
    store = KnowledgeStore(tmp_path / "kb.db")
    store.save_catalog(c)
    store.close()
    again = KnowledgeStore(tmp_path / "kb.db").load()
    assert again.items() == c.items()
    for key in c.items():
        assert again.versions(key) == c.versions(key)


def test_the_database_refuses_to_change_a_published_version(tmp_path: Path) -> None:
    store = KnowledgeStore(tmp_path / "kb.db")
    store.save_catalog(filled())
    db = sqlite3.connect(tmp_path / "kb.db")
    with pytest.raises(sqlite3.IntegrityError, match="never changes"):
        db.execute("UPDATE kb_versions SET content = '{}' WHERE key = 'flow:card-blocked'")
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        db.execute("DELETE FROM kb_versions")
    # A draft may still be rewritten (a draft is work in progress).
    db.execute("UPDATE kb_versions SET content = content WHERE key = 'article:new-card'")
    db.close()
