"""The SQLite ledger stores each event exactly as encoded, in one statement per batch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joignable.core import events as ev
from joignable.ledger.store import SCHEMA_VERSION, LedgerError, SQLiteStore

# Text with what JSON must escape (quotes, backslashes, control and line-separator characters)
# and what it need not (accents, emoji); times and waits of every magnitude.
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
times = st.floats(0, 4e9, allow_nan=False, allow_infinity=False)
events = st.one_of(
    st.builds(
        ev.ContactArrived,
        at=times,
        contact=st.just("c1"),
        channel=st.just("chat"),
        queue=st.just("q"),
        customer=text,
        priority=st.integers(-1000, 1000),
        data=st.dictionaries(text, text, max_size=3),
    ),
    st.builds(
        ev.OfferMade,
        at=times,
        contact=st.just("c1"),
        agent=st.just("a"),
        channel=st.just("voice"),
        deadline=times,
    ),
    st.builds(
        ev.WrapupEnded,
        at=times,
        agent=st.just("a"),
        contact=st.just("c1"),
        disposition=text,
        notes=text,
    ),
    st.builds(
        ev.ContactEnded,
        at=times,
        contact=st.just("c1"),
        outcome=st.just("handled"),
        wait=st.floats(0, 1e7, allow_nan=False),
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(st.lists(events, min_size=1, max_size=20), min_size=1, max_size=5),
    schema=st.sampled_from([1, 2]),
)
def test_events_come_back_byte_for_byte(
    tmp_path: Path, batches: list[list[ev.Event]], schema: int
) -> None:
    path = tmp_path / f"l{id(batches)}.db"
    if schema == 1:
        ledger_of_schema_1(path)
    store = SQLiteStore(path)
    assert store.schema == schema
    seq, written = 0, []
    for batch in batches:
        pairs = []
        for e in batch:
            seq += 1
            pairs.append((seq, e))
        store.append(pairs)
        written.extend(pairs)
    assert store.last_seq() == seq
    raw = list(store.read_raw())
    assert [s for s, _ in raw] == [s for s, _ in written]
    assert [bytes(d) for _, d in raw] == [ev.encode(e) for _, e in written]
    assert [e for _, e in store.read()] == [e for _, e in written]
    rows = store.db.execute(
        "SELECT json_extract(data, '$.at'), json_extract(data, '$.type'), typeof(data)"
        " FROM events ORDER BY seq"
    ).fetchall()
    assert rows == [(e.at, ev.event_type(e), "blob") for _, e in written]
    store.close()
    path.unlink()


def ledger_of_schema_1(path: Path) -> None:
    """An empty ledger as joignable wrote them before schema 2 (``at`` and ``type`` stored)."""
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, at REAL NOT NULL, type TEXT NOT NULL,"
        " data BLOB NOT NULL);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
        "INSERT INTO meta VALUES ('schema_version', '1');"
    )
    db.close()


def test_new_ledgers_keep_the_json_only_and_readers_filter_on_it(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "l.db")
    assert store.schema == SCHEMA_VERSION == 2
    store.append([(1, ev.OfferAccepted(at=7.5, contact="c", agent="a"))])
    store.append([(2, ev.OfferAccepted(at=9.0, contact="d", agent="a"))])
    store.close()
    db = sqlite3.connect(tmp_path / "l.db")
    assert [r[1] for r in db.execute("PRAGMA table_info(events)")] == ["seq", "data"]
    assert SQLiteStore(tmp_path / "l.db").first_seq_at(8.0) == 2


def test_an_unknown_schema_is_refused(tmp_path: Path) -> None:
    ledger_of_schema_1(tmp_path / "l.db")
    sqlite3.connect(tmp_path / "l.db", isolation_level=None).execute("UPDATE meta SET value = '9'")
    with pytest.raises(LedgerError, match="unsupported ledger schema 9"):
        SQLiteStore(tmp_path / "l.db")


def test_a_gap_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "l.db")
    e = ev.OfferAccepted(at=1.0, contact="c", agent="a")
    store.append([(1, e)])
    with pytest.raises(LedgerError, match="expected 2"):
        store.append([(3, e)])
    with pytest.raises(LedgerError, match="inside the batch"):
        store.append([(2, e), (4, e)])
    assert store.last_seq() == 1
    assert sqlite3.connect(tmp_path / "l.db").execute("SELECT count(*) FROM events").fetchone() == (
        1,
    )
    store.append([(2, e), (3, e)])  # and the ledger goes on where it was
    assert [s for s, _ in store.read()] == [1, 2, 3]
