"""SQLite persistence of the review catalog, kept at the edge: the core never imports it.

One row per version, its content in the file format of docs/knowledge.md (JSON), its history as
JSON. A trigger makes the database itself refuse to change the content of a published or archived
version, or to delete any version: the promise "a published version never changes" holds even
against a buggy caller.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from joignable.knowledge.export import article_data, flow_data
from joignable.knowledge.model import Flow
from joignable.knowledge.review import Catalog, Change, NodeReview, Version
from joignable.knowledge.schema import read_item

SCHEMA = """
CREATE TABLE IF NOT EXISTS kb_versions (
    key TEXT NOT NULL,
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    owner TEXT NOT NULL,
    content TEXT NOT NULL,
    history TEXT NOT NULL,
    nodes TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (key, number)
);
CREATE TRIGGER IF NOT EXISTS kb_published_never_changes
BEFORE UPDATE OF content ON kb_versions
WHEN OLD.state IN ('published', 'archived') AND NEW.content IS NOT OLD.content
BEGIN SELECT RAISE(ABORT, 'a published version never changes'); END;
CREATE TRIGGER IF NOT EXISTS kb_versions_are_kept
BEFORE DELETE ON kb_versions
BEGIN SELECT RAISE(ABORT, 'versions are never deleted'); END;
"""


class KnowledgeStore:
    """Versions of articles and flows in one SQLite file (or ``:memory:``)."""

    def __init__(self, path: str | Path) -> None:
        # Callers that share it between threads (the web server) hold their own lock around it.
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def save(self, versions: list[Version]) -> None:
        """Insert or update these versions, all or none."""
        with self._db:
            self._db.executemany(
                "INSERT INTO kb_versions (key, number, state, owner, content, history, nodes)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key, number) DO UPDATE SET"
                " state = excluded.state, owner = excluded.owner, content = excluded.content,"
                " history = excluded.history, nodes = excluded.nodes",
                [_row(v) for v in versions],
            )

    def save_catalog(self, catalog: Catalog) -> None:
        self.save([v for key in catalog.items() for v in catalog.versions(key)])

    def load(self) -> Catalog:
        rows = self._db.execute(
            "SELECT key, number, state, owner, content, history, nodes FROM kb_versions"
            " ORDER BY key, number"
        ).fetchall()
        return Catalog([_version(*r) for r in rows])


def _row(v: Version) -> tuple[Any, ...]:
    content = flow_data(v.content) if isinstance(v.content, Flow) else article_data(v.content)
    history = [[c.who, c.at, c.action, c.state, c.note] for c in v.history]
    return (
        v.key,
        v.number,
        v.state,
        v.owner,
        json.dumps(content, ensure_ascii=False, sort_keys=True),
        json.dumps(history, ensure_ascii=False),
        json.dumps({n: [r.owner, r.reviewed, r.changed] for n, r in v.nodes.items()}),
    )


def _version(
    key: str, number: int, state: str, owner: str, content: str, history: str, nodes: str
) -> Version:
    item = read_item(key.split(":", 1)[0], json.loads(content))
    changes = tuple(
        Change(w, at, action, s, note) for w, at, action, s, note in json.loads(history)
    )
    reviews = {n: NodeReview(o, r, c) for n, (o, r, c) in json.loads(nodes).items()}
    return Version(key, number, item, state, owner, changes, reviews)  # type: ignore[arg-type]
