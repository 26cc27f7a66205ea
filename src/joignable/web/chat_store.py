"""Web chat transcripts and the customers' capability tokens, in SQLite tables beside the ledger's.

A chat customer is nobody's user: starting a chat gives a token for that one contact, a long
random secret of which only a SHA-256 is kept (as API tokens are). Messages are not routing
state, so they do not go through the event log; each one gets a sequence number within its
contact, so a client that asks for what came after the last one it saw gets no gap and no
duplicate.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import msgspec

from joignable.core.errors import DomainError
from joignable.web.accounts import _digest  # the same SHA-256 as API tokens and sessions
from joignable.web.wakeups import Wakeups

CHAT_TOKEN_PREFIX = "jgc_"  # tells a chat token from an API token (jgn_) in a log or a leak scan
# How long a customer's token still works once its chat is over (closed, or its contact ended):
# time to read the end of the conversation, not a credential that lives for ever.
TOKEN_GRACE = 1800.0
# Open chats kept in memory (their row and last seq): a chat nobody closed (its customer went
# quiet after the agent completed it) stays there until this many newer ones push it out.
KEEP_OPEN = 20_000


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


_ENCODE = msgspec.json.Encoder().encode


def _chat(row: tuple[Any, ...]) -> Chat:
    return Chat(**dict(zip(_CHAT_COLUMNS, row, strict=True)))


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=5000")
    return db


class ChatNotStored(DomainError):
    """The chat tables could not be written (disk full, I/O error): nothing of the request was
    stored, and it may be sent again."""

    code = "chat_not_stored"
    status = 503


# One statement per kind of write, each taking the whole batch as one JSON array (split by
# SQLite's json_each): the writer releases the interpreter lock a few times per batch, not once
# per row, as the ledger's writer does.
_INSERT_CHATS = """
INSERT INTO chats (contact, token_hash, name, topic, language, started_at, closed_at)
SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, NULL
FROM json_each(?)"""
_INSERT_MESSAGES = """
INSERT INTO chat_messages (rowid, contact, seq, at, sender, author, body)
SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6
FROM json_each(?)"""
_CLOSE_CHATS = """
UPDATE chats SET closed_at = (SELECT value->>1 FROM json_each(?2) WHERE value->>0 = contact)
WHERE closed_at IS NULL AND contact IN (SELECT value->>0 FROM json_each(?1))"""

# called on the follower's loop with the new messages of a chat (or of every chat, with ids)
Follower = Callable[[list[Message]], None]
AllFollower = Callable[[list[tuple[int, str, Message]]], None]


class _Op(msgspec.Struct):
    """One request's writes: a chat opened, closed, a message; answered once all are stored."""

    contact: str
    waiter: Any  # (loop, future) for a coroutine, threading.Event for a thread
    chat: Chat | None = None  # opened (with its token's hash in ``token_hash``)
    token_hash: str = ""
    closed_at: float | None = None  # closed at that time
    message: tuple[int, Message] | None = None  # (id, message)
    result: Any = None
    error: BaseException | None = None


class ChatStore:
    """Reads go through one connection under ``lock`` (short indexed queries). Writes go to a
    writer thread that stores whatever has accumulated in one transaction (a group commit, one
    fsync for many requests, never on the event loop); a request returns once its writes are
    durable, and on a failed write gets ``ChatNotStored`` with nothing of it stored.

    Sequence numbers and ids are given in memory when a write is queued, under ``_cond``: the
    queue holds each chat's messages in seq order and the batches are written in queue order.
    A failed batch fails everything queued behind it too, and numbering starts again from the
    disk, so a failure leaves no gap. Followers learn of new messages from memory once they
    are durable, one wake-up per event loop per batch."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.db = _connect(path)
        self.db.executescript(_SCHEMA)
        self.lock = threading.Lock()
        self._wdb = _connect(path)  # the writer thread's own connection
        self._wdb.execute("PRAGMA synchronous=FULL")
        self._cond = threading.Condition()
        self._queue: list[_Op] = []
        self._closing = False
        # the last seq of the open chats and of those with writes in flight
        self._seq: dict[str, int] = {}
        self._pending: dict[str, int] = {}  # writes queued or being written, per chat
        self._open: dict[str, Chat] = {}  # chats opened by this process, until closed
        self._tokens: dict[str, str] = {}  # their tokens' hashes: hash -> contact
        self._hash_of: dict[str, str] = {}  # contact -> hash
        self._next_id = self._last_rowid()
        self._followers: dict[str, dict[int, tuple[asyncio.AbstractEventLoop, Follower]]] = {}
        self._all: dict[int, tuple[asyncio.AbstractEventLoop, AllFollower]] = {}
        self._watch_all: list[Callable[[int, str, Message], None]] = []
        # when a contact ended, if it did (the web app points it at the contact records)
        self.contact_ended_at: Callable[[str], float | None] = lambda contact: None
        self._writer = threading.Thread(target=self._write_loop, name="chat-writer", daemon=True)
        self._writer.start()

    # -- following -----------------------------------------------------------------------------

    def watch_all(self, fn: Callable[[int, str, Message], None]) -> None:
        """Call ``fn(id, contact, message)`` in the writer thread after each durable message of
        any chat, in id order; ``id`` orders every message of every chat (``messages_since``)."""
        with self._cond:
            self._watch_all.append(fn)

    def unwatch_all(self, fn: Callable[[int, str, Message], None]) -> None:
        with self._cond:
            if fn in self._watch_all:
                self._watch_all.remove(fn)

    def follow(self, contact: str, fn: Follower) -> int:
        """Call ``fn(messages)`` on the running loop with each batch of ``contact``'s new
        messages once they are durable; returns the key for ``unfollow``."""
        key = id(fn)
        with self._cond:
            self._followers.setdefault(contact, {})[key] = (asyncio.get_running_loop(), fn)
        return key

    def unfollow(self, contact: str, key: int) -> None:
        with self._cond:
            found = self._followers.get(contact)
            if found is not None:
                found.pop(key, None)
                if not found:
                    del self._followers[contact]

    def follow_all(self, fn: AllFollower) -> int:
        """Call ``fn([(id, contact, message), ...])`` on the running loop with every chat's new
        messages, in id order, once they are durable."""
        with self._cond:
            self._all[id(fn)] = (asyncio.get_running_loop(), fn)
        return id(fn)

    def unfollow_all(self, key: int) -> None:
        with self._cond:
            self._all.pop(key, None)

    # -- writing -------------------------------------------------------------------------------

    def _queue_op(self, op: _Op, message: tuple[Sender, str, str] | None = None) -> _Op:
        """Queue ``op`` (its message numbered here, in queue order)."""
        with self._cond:
            if self._closing:
                raise ChatNotStored("the chat store is closed")
            contact = op.contact
            if message is not None:
                last = self._seq.get(contact)
                if last is None:
                    last = self._last_seq(contact)
                self._seq[contact] = last + 1
                self._next_id += 1
                sender, author, text = message
                m = Message(seq=last + 1, at=self.clock(), sender=sender, author=author, text=text)
                op.message = (self._next_id, m)
                op.result = m
            self._pending[contact] = self._pending.get(contact, 0) + 1
            self._queue.append(op)
            self._cond.notify()
        return op

    async def _await(self, op: _Op, message: tuple[Sender, str, str] | None = None) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        op.waiter = (loop, fut)
        self._queue_op(op, message)
        return await fut

    def _block(self, op: _Op, message: tuple[Sender, str, str] | None = None) -> Any:
        done = threading.Event()
        op.waiter = done
        self._queue_op(op, message)
        done.wait()
        if op.error is not None:
            raise op.error
        return op.result

    def _open_op(self, contact: str, name: str, topic: str, language: str) -> tuple[_Op, str]:
        secret = CHAT_TOKEN_PREFIX + secrets.token_urlsafe(32)
        chat = Chat(contact=contact, name=name, topic=topic, language=language, started_at=0.0)
        chat.started_at = self.clock()
        return _Op(contact, None, chat=chat, token_hash=_digest(secret)), secret

    async def start(self, contact: str, name: str, topic: str, language: str) -> str:
        """Record a new chat and return its token (shown once to the customer), once durable."""
        op, secret = self._open_op(contact, name, topic, language)
        await self._await(op)
        return secret

    async def post(
        self, contact: str, sender: Sender, author: str, text: str, *, close: bool = False
    ) -> Message:
        """Store a message with the next seq of its chat and return it once durable; with
        ``close``, the chat closes in the same transaction (the message says why)."""
        op = _Op(contact, None, closed_at=self.clock() if close else None)
        message: Message = await self._await(op, (sender, author, text))
        return message

    async def end(self, contact: str) -> None:
        """Close the chat (no message), once durable."""
        await self._await(_Op(contact, None, closed_at=self.clock()))

    def open_chat(self, contact: str, name: str, topic: str, language: str) -> str:
        """``start`` for a thread that may block (not the event loop)."""
        op, secret = self._open_op(contact, name, topic, language)
        self._block(op)
        return secret

    def append(self, contact: str, sender: Sender, author: str, text: str) -> Message:
        """``post`` for a thread that may block (not the event loop)."""
        message: Message = self._block(_Op(contact, None), (sender, author, text))
        return message

    def close_chat(self, contact: str) -> None:
        """``end`` for a thread that may block (not the event loop)."""
        self._block(_Op(contact, None, closed_at=self.clock()))

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
            try:
                self._write(batch)
            except Exception as exc:  # noqa: BLE001 - every waiter gets the error, nothing stored
                with self._cond:
                    # The ops queued meanwhile were numbered after the failed ones: they fail
                    # too, and numbering starts again from what is on disk.
                    batch += self._queue
                    self._queue = []
                    self._seq.clear()
                    self._pending.clear()
                    self._next_id = self._last_rowid()
                error = ChatNotStored(f"the chat could not be stored ({type(exc).__name__})")
                for op in batch:
                    op.error = error
                self._answer(batch, [])
                continue
            self._answer(batch, self._after_commit(batch))

    def _write(self, batch: list[_Op]) -> None:
        opened = [
            [op.contact, op.token_hash, c.name, c.topic, c.language, c.started_at]
            for op in batch
            if (c := op.chat) is not None
        ]
        messages = [
            [rowid, op.contact, m.seq, m.at, m.sender.value, m.author, m.text]
            for op in batch
            if op.message is not None
            for rowid, m in (op.message,)
        ]
        closed = [[op.contact, op.closed_at] for op in batch if op.closed_at is not None]
        db = self._wdb
        db.execute("BEGIN IMMEDIATE")
        try:
            if opened:
                db.execute(_INSERT_CHATS, (_ENCODE(opened).decode(),))
            if messages:
                db.execute(_INSERT_MESSAGES, (_ENCODE(messages).decode(),))
            if closed:
                doc = _ENCODE(closed).decode()
                db.execute(_CLOSE_CHATS, (doc, doc))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _after_commit(self, batch: list[_Op]) -> list[tuple[int, str, Message]]:
        """The caches follow the disk; a chat with nothing in flight is forgotten once closed."""
        new: list[tuple[int, str, Message]] = []
        with self._cond:
            for op in batch:
                contact = op.contact
                if op.chat is not None:
                    self._open[contact] = op.chat
                    self._tokens[op.token_hash] = contact
                    self._hash_of[contact] = op.token_hash
                if op.closed_at is not None and contact in self._open:
                    self._open[contact].closed_at = op.closed_at
                if op.message is not None:
                    new.append((op.message[0], contact, op.message[1]))
                left = self._pending[contact] - 1
                if left:
                    self._pending[contact] = left
                    continue
                del self._pending[contact]
                chat = self._open.get(contact)
                if chat is not None and chat.closed_at is not None:
                    self._forget(contact)
                    chat = None
                if chat is None:  # not kept: its last seq is read from the disk when needed
                    self._seq.pop(contact, None)
            while len(self._open) > KEEP_OPEN:  # chats no one closed: the oldest go to disk
                contact = next(iter(self._open))
                self._forget(contact)
                if contact not in self._pending:
                    self._seq.pop(contact, None)
        return new

    def _forget(self, contact: str) -> None:
        """Leave the chat to the disk (under ``_cond``)."""
        del self._open[contact]
        self._tokens.pop(self._hash_of.pop(contact, ""), None)

    def _answer(self, batch: list[_Op], new: list[tuple[int, str, Message]]) -> None:
        """Wake the requests of ``batch`` and the followers of its messages, one wake-up per
        event loop; then the writer-thread watchers."""
        wake = Wakeups()
        for op in batch:
            waiter = op.waiter
            if isinstance(waiter, threading.Event):
                waiter.set()
            elif waiter is not None:
                wake.resolve(waiter[0], waiter[1], op.result, op.error)
        if new:
            with self._cond:
                by_chat: dict[str, list[Message]] = {}
                for _, contact, m in new:
                    by_chat.setdefault(contact, []).append(m)
                for contact, messages in by_chat.items():
                    for loop, fn in self._followers.get(contact, {}).values():
                        wake.call(loop, fn, messages)
                for loop, every in self._all.values():
                    wake.call(loop, every, new)
                watchers = list(self._watch_all)
        wake.send()
        if new:
            for each in watchers:  # under no lock: they may read the store
                for chat_id, contact, m in new:
                    each(chat_id, contact, m)

    def close(self) -> None:
        """Store what is queued, stop the writer, close the connections."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._writer.join()
        self._wdb.close()
        self.db.close()

    # -- reading -------------------------------------------------------------------------------

    def _last_rowid(self) -> int:
        with self.lock:
            (found,) = self.db.execute(
                "SELECT COALESCE(MAX(rowid), 0) FROM chat_messages"
            ).fetchone()
        return int(found)

    def _last_seq(self, contact: str) -> int:
        with self.lock:
            (found,) = self.db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM chat_messages WHERE contact = ?", (contact,)
            ).fetchone()
        return int(found)

    def token_owner(self, secret: str) -> tuple[str, float | None] | None:
        """The token's contact and when its chat was closed (None: still open)."""
        digest = _digest(secret)
        with self._cond:  # a chat of this process's, from memory (every customer request)
            contact = self._tokens.get(digest)
            if contact is not None:
                return contact, self._open[contact].closed_at
        with self.lock:
            row = self.db.execute(
                "SELECT contact, closed_at FROM chats WHERE token_hash = ?", (digest,)
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
        """The chat as stored (from memory while this process has it open)."""
        with self._cond:
            chat = self._open.get(contact)
        if chat is not None:
            return msgspec.structs.replace(chat)  # a copy: the writer updates the original
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

    def last_id(self) -> int:
        """The id of the last durable message (of any chat)."""
        return self._last_rowid()

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
