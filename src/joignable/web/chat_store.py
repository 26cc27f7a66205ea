"""Web chat transcripts and the customers' capability tokens, in SQLite tables beside the ledger's.

A chat customer is nobody's user: starting a chat gives a token for that one contact, a long
random secret of which only a SHA-256 is kept (as API tokens are). Messages are not routing
state, so they do not go through the event log; each one gets a sequence number within its
contact, so a client that asks for what came after the last one it saw gets no gap and no
duplicate.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import msgspec

from joignable.web.accounts import _digest  # the same SHA-256 as API tokens and sessions

CHAT_TOKEN_PREFIX = "jgc_"  # tells a chat token from an API token (jgn_) in a log or a leak scan
# How long a customer's token still works once its chat is over (closed, or its contact ended):
# time to read the end of the conversation, not a credential that lives for ever.
TOKEN_GRACE = 1800.0


class Sender(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"  # what happened to the chat (a code the page translates, not prose)


class Message(msgspec.Struct, kw_only=True):
    seq: int
    at: float
    sender: Sender
    author: str  # the customer's name, the agent's name, or "" for the system
    text: str


class Chat(msgspec.Struct, kw_only=True):
    contact: str
    name: str
    topic: str
    language: str
    started_at: float
    closed_at: float | None = None  # the customer left, or the contact ended


_SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
  contact TEXT PRIMARY KEY, token_hash TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
  topic TEXT NOT NULL, language TEXT NOT NULL, started_at REAL NOT NULL, closed_at REAL);
CREATE TABLE IF NOT EXISTS chat_messages (
  contact TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL, sender TEXT NOT NULL,
  author TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (contact, seq));
"""


_CHAT_COLUMNS = ("contact", "name", "topic", "language", "started_at", "closed_at")


def _chat(row: tuple[Any, ...]) -> Chat:
    return Chat(**dict(zip(_CHAT_COLUMNS, row, strict=True)))


class ChatStore:
    """One connection under a lock, as ``Accounts``: every call is a short indexed query."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(_SCHEMA)
        self.lock = threading.Lock()
        self._watchers: dict[str, list[Callable[[], None]]] = {}
        self._all: list[Callable[[int, str, Message], None]] = []
        # when a contact ended, if it did (the web app points it at the contact records)
        self.contact_ended_at: Callable[[str], float | None] = lambda contact: None

    def watch_all(self, fn: Callable[[int, str, Message], None]) -> None:
        """Call ``fn(id, contact, message)`` (from the appending thread) after each new message
        of any chat; ``id`` orders every message of every chat (see ``messages_since``)."""
        with self.lock:
            self._all.append(fn)

    def unwatch_all(self, fn: Callable[[int, str, Message], None]) -> None:
        with self.lock:
            if fn in self._all:
                self._all.remove(fn)

    def watch(self, contact: str, wake: Callable[[], None]) -> None:
        """Call ``wake`` (from the appending thread) after each new message of ``contact``."""
        with self.lock:
            self._watchers.setdefault(contact, []).append(wake)

    def unwatch(self, contact: str, wake: Callable[[], None]) -> None:
        with self.lock:
            found = self._watchers.get(contact, [])
            if wake in found:
                found.remove(wake)
            if not found:
                self._watchers.pop(contact, None)

    def close(self) -> None:
        self.db.close()

    def open_chat(self, contact: str, name: str, topic: str, language: str) -> str:
        """Record a new chat and return its token (shown once to the customer)."""
        secret = CHAT_TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.lock:
            self.db.execute(
                "INSERT INTO chats VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (contact, _digest(secret), name, topic, language, self.clock()),
            )
        return secret

    def token_owner(self, secret: str) -> tuple[str, float | None] | None:
        """The token's contact and when its chat was closed (None: still open)."""
        with self.lock:
            row = self.db.execute(
                "SELECT contact, closed_at FROM chats WHERE token_hash = ?", (_digest(secret),)
            ).fetchone()
        return None if row is None else (str(row[0]), row[1])

    def chat_over_at(self, contact: str, closed_at: float | None) -> float | None:
        """When the chat's life ended: the customer left, or its contact ended (None: going on)."""
        found = [t for t in (closed_at, self.contact_ended_at(contact)) if t is not None]
        return min(found) if found else None

    def token_expired(self, contact: str, closed_at: float | None) -> bool:
        over = self.chat_over_at(contact, closed_at)
        return over is not None and self.clock() > over + TOKEN_GRACE

    def contact_for_token(self, secret: str) -> str | None:
        """The token's contact, unless its chat was over more than ``TOKEN_GRACE`` ago."""
        found = self.token_owner(secret)
        if found is None or self.token_expired(*found):
            return None
        return found[0]

    def chat(self, contact: str) -> Chat | None:
        with self.lock:
            row = self.db.execute(
                f"SELECT {', '.join(_CHAT_COLUMNS)} FROM chats WHERE contact = ?",
                (contact,),
            ).fetchone()
        return None if row is None else _chat(row)

    def open_contacts(self) -> list[str]:
        """The chats no one has closed yet (to watch again after a restart)."""
        with self.lock:
            rows = self.db.execute("SELECT contact FROM chats WHERE closed_at IS NULL").fetchall()
        return [str(r[0]) for r in rows]

    def close_chat(self, contact: str) -> None:
        with self.lock:
            self.db.execute(
                "UPDATE chats SET closed_at = ? WHERE contact = ? AND closed_at IS NULL",
                (self.clock(), contact),
            )

    def append(self, contact: str, sender: Sender, author: str, text: str) -> Message:
        """Store a message with the next sequence number of its contact (under the lock: this
        process is the only writer of these tables, as it is of the ledger)."""
        at = self.clock()
        with self.lock:
            (last,) = self.db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM chat_messages WHERE contact = ?", (contact,)
            ).fetchone()
            seq = int(last) + 1
            cursor = self.db.execute(
                "INSERT INTO chat_messages VALUES (?, ?, ?, ?, ?, ?)",
                (contact, seq, at, sender.value, author, text),
            )
            rowid = int(cursor.lastrowid or 0)
            wake = list(self._watchers.get(contact, ()))
            message = Message(seq=seq, at=at, sender=sender, author=author, text=text)
            # under the lock, so the watchers of every chat learn of messages in id order (they
            # only schedule work on their loop)
            for each in self._all:
                each(rowid, contact, message)
        for fn in wake:
            fn()
        return message

    def last_id(self) -> int:
        with self.lock:
            (found,) = self.db.execute(
                "SELECT COALESCE(MAX(rowid), 0) FROM chat_messages"
            ).fetchone()
        return int(found)

    def messages_since(self, after: int, limit: int = 1000) -> list[tuple[int, str, Message]]:
        """Every chat's messages with an id above ``after``, in id order (the ids are SQLite's
        rowids: this process is the only writer and never deletes, so they only grow)."""
        with self.lock:
            rows = self.db.execute(
                "SELECT rowid, contact, seq, at, sender, author, body FROM chat_messages"
                " WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (after, limit),
            ).fetchall()
        return [
            (rowid, contact, Message(seq=seq, at=at, sender=Sender(sender), author=author, text=b))
            for rowid, contact, seq, at, sender, author, b in rows
        ]

    def messages(self, contact: str, after: int = 0, limit: int = 500) -> list[Message]:
        with self.lock:
            rows = self.db.execute(
                "SELECT seq, at, sender, author, body FROM chat_messages"
                " WHERE contact = ? AND seq > ? ORDER BY seq LIMIT ?",
                (contact, after, limit),
            ).fetchall()
        return [
            Message(seq=seq, at=at, sender=Sender(sender), author=author, text=body)
            for seq, at, sender, author, body in rows
        ]
