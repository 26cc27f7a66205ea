"""Chat messages are group-committed: many senders at once, each acknowledged message stored
exactly once and in order within its chat; a failed write answers its senders with an error and
stores nothing of them; the numbering goes on from the disk afterwards."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joignable.core import events as ev
from joignable.core.kinds import Outcome
from joignable.ledger.store import SQLiteStore
from joignable.web.chat_store import ChatNotStored, ChatStore, Message, Sender

from .conftest import Org
from .test_chat import Customer

CHATS = ("c1", "c2", "c3")


def _stored(path: Path) -> dict[str, list[tuple[int, str]]]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT contact, seq, body FROM chat_messages ORDER BY rowid").fetchall()
    finally:
        db.close()
    out: dict[str, list[tuple[int, str]]] = {}
    for contact, seq, body in rows:
        out.setdefault(contact, []).append((seq, body))
    return out


def _fail_on(path: Path, text: str) -> None:
    """A real failed write: SQLite aborts the transaction that inserts ``text``."""
    db = sqlite3.connect(path)
    try:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON chat_messages"
            f" WHEN NEW.body = '{text}' BEGIN SELECT RAISE(ABORT, 'no room'); END"
        )
        db.commit()
    finally:
        db.close()


# Each sender: a chat and how many messages it sends there, one after the other.
senders = st.lists(st.tuples(st.sampled_from(CHATS), st.integers(1, 6)), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(senders)
def test_concurrent_senders_each_message_stored_once_in_order(
    tmp_path_factory: pytest.TempPathFactory, plan: list[tuple[str, int]]
) -> None:
    path = tmp_path_factory.mktemp("chats") / "chats.db"
    store = ChatStore(str(path))
    acked: list[Message] = []

    async def sender(k: int, contact: str, n: int) -> list[Message]:
        out = []
        for i in range(n):
            out.append(await store.post(contact, Sender.CUSTOMER, "x", f"{k}-{i}"))
        return out

    async def main() -> list[list[Message]]:
        return await asyncio.gather(*(sender(k, c, n) for k, (c, n) in enumerate(plan)))

    try:
        answers = asyncio.run(main())
        stored = _stored(path)
    finally:
        store.close()
    for (contact, n), got in zip(plan, answers, strict=True):
        acked.extend(got)
        # each sender's messages keep its order: increasing seqs in its chat
        seqs = [m.seq for m in got]
        assert seqs == sorted(seqs) and len(got) == n
        for m in got:
            assert (m.seq, m.text) in stored[contact]
    everything = [b for rows in stored.values() for _, b in rows]
    assert sorted(everything) == sorted(m.text for m in acked)  # each exactly once
    for rows in stored.values():  # and each chat's seq has no gap
        assert [s for s, _ in rows] == list(range(1, len(rows) + 1))


def test_threads_and_coroutines_share_the_group_commit(tmp_path: Path) -> None:
    store = ChatStore(str(tmp_path / "chats.db"))
    seen: list[int] = []
    store.watch_all(lambda chat_id, contact, message: seen.append(chat_id))

    def write(n: int) -> None:
        for i in range(40):
            store.append(CHATS[(n + i) % 3], Sender.AGENT, "a", f"t{n}-{i}")

    async def post(n: int) -> None:
        await asyncio.gather(
            *(store.post(CHATS[i % 3], Sender.CUSTOMER, "c", f"a{n}-{i}") for i in range(40))
        )

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    try:
        for t in threads:
            t.start()
        asyncio.run(post(0))
        for t in threads:
            t.join()
        assert len(seen) == 160 and seen == sorted(set(seen))  # live order is id order
        assert [i for i, _, _ in store.messages_since(0, 1000)] == seen
    finally:
        store.close()
    for rows in _stored(tmp_path / "chats.db").values():
        assert [s for s, _ in rows] == list(range(1, len(rows) + 1))


def test_a_failed_write_answers_an_error_stores_nothing_and_numbering_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chats.db"
    store = ChatStore(str(path))
    _fail_on(path, "boom")

    async def main() -> list[Any]:
        first = await store.post("c1", Sender.CUSTOMER, "x", "before")
        # sent together: some share the failing message's batch, some come after it
        texts = ["a", "b", "boom", "c", "d"]
        answers = await asyncio.gather(
            *(store.post("c1", Sender.CUSTOMER, "x", t) for t in texts), return_exceptions=True
        )
        last = await store.post("c1", Sender.CUSTOMER, "x", "after")
        return [first, *answers, last]

    try:
        answers = asyncio.run(main())
        assert store.messages("c1")[-1].text == "after"
    finally:
        store.close()
    failed = [a for a in answers if isinstance(a, BaseException)]
    assert failed and all(isinstance(a, ChatNotStored) for a in failed)
    assert isinstance(answers[3], ChatNotStored)  # "boom" itself
    assert failed[0].code == "chat_not_stored" and failed[0].status == 503
    ok = [a for a in answers if isinstance(a, Message)]
    rows = _stored(path)["c1"]
    assert [b for _, b in rows] == [m.text for m in ok]  # exactly the acknowledged ones
    assert [s for s, _ in rows] == list(range(1, len(rows) + 1))  # no gap where it failed
    assert [m.seq for m in ok] == [s for s, _ in rows]


def test_the_api_answers_a_failed_write_with_a_coded_503_and_stores_nothing(org: Org) -> None:
    customer = Customer(org, "Léa")
    assert customer.post("messages", {"text": "hello"}).status_code == 201
    _fail_on(Path(org.services.db_path), "boom")
    r = customer.post("messages", {"text": "boom"})
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "chat_not_stored"
    assert customer.post("messages", {"text": "again"}).status_code == 201
    assert [(m["seq"], m["text"]) for m in customer.state()["messages"]] == [
        (1, "hello"),
        (2, "again"),
    ]


def test_leaving_closes_the_chat_with_its_message_in_one_write(org: Org) -> None:
    customer = Customer(org, "Léa")
    assert customer.post("leave").status_code == 200
    chat = org.app.state.chats.chat(customer.contact)
    assert chat is not None and chat.closed_at is not None
    db = sqlite3.connect(org.services.db_path)
    try:
        (closed,) = db.execute(
            "SELECT closed_at FROM chats WHERE contact = ?", (customer.contact,)
        ).fetchone()
    finally:
        db.close()
    assert closed == chat.closed_at
    assert customer.state()["messages"][-1]["text"] == "customer_left"
    r = customer.post("messages", {"text": "hello?"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "contact_ended"


def test_a_chat_that_cannot_be_stored_at_its_start_leaves_no_contact_waiting(org: Org) -> None:
    """The contact arrives before its chat is stored: if that store fails, the customer gets the
    coded 503 and the contact ends as failed with the reason, instead of waiting for an agent
    with no chat behind it; the audit stays clean and a new start works."""
    db = sqlite3.connect(org.services.db_path)
    db.execute(
        "CREATE TRIGGER refuse_chat BEFORE INSERT ON chats"
        " WHEN NEW.name = 'Boom' BEGIN SELECT RAISE(ABORT, 'no room'); END"
    )
    db.commit()
    db.close()
    client = TestClient(org.app)
    r = client.post("/api/chat", json={"name": "Boom", "topic": "billing", "language": "fr"})
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "chat_not_stored"
    ledger = SQLiteStore(org.services.db_path, readonly=True)
    try:
        failed = [
            e
            for _, e in ledger.read()
            if isinstance(e, ev.ContactEnded) and e.reason == "chat_not_stored"
        ]
    finally:
        ledger.close()
    assert len(failed) == 1 and failed[0].outcome == Outcome.FAILED
    assert not org.services.center.read(lambda e: failed[0].contact in e.state.contacts)
    assert Customer(org, "Léa").start["contact"] != failed[0].contact
