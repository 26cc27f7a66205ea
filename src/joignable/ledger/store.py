"""Event stores: the append-only log with a gapless sequence.

The interface is deliberately small (append a batch durably, read a range, know the last sequence
number) so that a PostgreSQL store can sit beside SQLite later. Appends are batches because the
runtime commits groups of commands at once: one fsync for many commands is what keeps durability
from costing throughput.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Protocol

from joignable.core import events as ev
from joignable.core.errors import DomainError

# 2: a row is its sequence number and its event's JSON, nothing else. Schema 1 also stored the
# event's time and type, extracted from the JSON at every append: two thirds of the writer's
# SQLite work (virtual generated columns are no cheaper: SQLite computes them on insert too).
# Readers that filter on them use ``json_extract(data, ...)``, which works on both. Ledgers of
# schema 1 are still read and appended to, in their own layout.
SCHEMA_VERSION = 2
SUPPORTED_SCHEMAS = (1, 2)


class LedgerError(DomainError):
    code = "ledger_error"
    status = 500


class EventStore(Protocol):
    def append(self, batch: Sequence[tuple[int, ev.Event]]) -> None:
        """Store ``(seq, event)`` pairs durably, in one transaction; seqs must follow on."""

    def read(self, start: int = 1, end: int | None = None) -> Iterator[tuple[int, ev.AnyEvent]]:
        """Events with ``start <= seq <= end``, in order."""

    def read_raw(self, start: int = 1, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Encoded events, in order (for fast bulk decoding)."""

    def last_seq(self) -> int: ...

    def close(self) -> None: ...


_CREATE_EVENTS = "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)"
_INSERT_BATCH = {
    2: "INSERT INTO events (seq, data) SELECT ?1 + key, CAST(value AS BLOB) FROM json_each(?2)",
    1: "INSERT INTO events (seq, at, type, data)"
    " SELECT ?1 + key, json_extract(value, '$.at'), json_extract(value, '$.type'),"
    " CAST(value AS BLOB) FROM json_each(?2)",
}


class SQLiteStore:
    """SQLite in WAL mode with ``synchronous=FULL``: a committed batch survives power loss.

    One connection per store; the runtime's writer thread is its only writer. Readers (the audit,
    reports) open their own store on the same file: WAL lets them read while the writer appends.
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = os.fspath(path)
        try:
            self._open(readonly)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path} is not a joignable ledger: {exc}") from None
        self._check_schema()
        self._last = self._read_last()

    def _open(self, readonly: bool) -> None:
        if readonly:
            if not os.path.exists(self.path):
                raise LedgerError(f"no ledger at {self.path}", path=self.path)
            uri = f"file:{self.path}?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            with self.db:  # both tables and the version, or none (a crash here leaves no ledger)
                self.db.execute("BEGIN")
                self.db.execute(_CREATE_EVENTS)  # a ledger of schema 1 keeps its own table
                self.db.execute(
                    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)"
                )
                self.db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )

    def _check_schema(self) -> None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path} is not a joignable ledger: {exc}") from None
        if row is None or int(row[0]) not in SUPPORTED_SCHEMAS:
            raise LedgerError(f"{self.path}: unsupported ledger schema {row and row[0]}")
        self.schema = int(row[0])
        self._insert = _INSERT_BATCH[self.schema]

    def _read_last(self) -> int:
        row = self.db.execute("SELECT max(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def last_seq(self) -> int:
        return self._last

    def append(self, batch: Sequence[tuple[int, ev.Event]]) -> None:
        if not batch:
            return
        expected = self._last + 1
        first, last = batch[0][0], batch[-1][0]
        if first != expected:
            raise LedgerError(f"sequence gap: expected {expected}, got {first}")
        if last - first + 1 != len(batch):
            raise LedgerError(f"sequence gap inside the batch {first}..{last}")
        # The whole batch goes in as one JSON array (encoded in C by msgspec) that SQLite splits
        # itself, in one statement, which is its own transaction (the connection is in
        # autocommit mode): all rows or none, and one fsync. The writer thread hands the
        # interpreter lock to the routing thread once per batch, and waits once to get it back,
        # instead of once per row (executemany) plus BEGIN and COMMIT: each wait can last a
        # whole switch interval (5 ms) while the routing thread is busy. Each row's data is
        # its event's JSON, as ``encode`` gives it.
        blob = ev.encode_many([e for _, e in batch])
        cur = self.db.execute(self._insert, (first, blob))
        if cur.rowcount != len(batch):  # cannot happen: one statement stores all rows or none
            raise LedgerError(f"stored {cur.rowcount} of {len(batch)} events")
        self._last = last

    def read_raw(self, start: int = 1, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        hi = end if end is not None else (1 << 62)
        cur = self.db.execute(
            "SELECT seq, data FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq", (start, hi)
        )
        while rows := cur.fetchmany(10_000):
            yield from rows

    def reader(self) -> SQLiteStore:
        """Another, read-only connection to the same ledger, for a thread of its own."""
        return SQLiteStore(self.path, readonly=True)

    def read(self, start: int = 1, end: int | None = None) -> Iterator[tuple[int, ev.AnyEvent]]:
        decode = ev.decode
        for seq, data in self.read_raw(start, end):
            yield seq, decode(data)

    def first_seq_at(self, at: float) -> int:
        """The first sequence number at or after time ``at`` (events are in time order)."""
        row = self.db.execute(
            "SELECT min(seq) FROM events WHERE json_extract(data, '$.at') >= ?", (at,)
        ).fetchone()
        return int(row[0]) if row[0] is not None else self._last + 1

    def close(self) -> None:
        self.db.close()


def open_store(url: str, *, readonly: bool = False) -> SQLiteStore:
    """Open the ledger named by ``url``: a SQLite file path (``sqlite:///path`` also accepted)."""
    if url.startswith("sqlite:///"):
        url = url[len("sqlite:///") :]
    if url.startswith(("postgresql:", "postgres:")):
        raise LedgerError("the PostgreSQL store is not available yet; use a SQLite file")
    return SQLiteStore(url, readonly=readonly)
