"""The runtime on a real SQLite ledger: durability, gapless sequence, recovery after restart."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from joignable.center import Center
from joignable.core import events as ev
from joignable.core.errors import InvalidInput, UnknownQueue
from joignable.core.model import AgentConfig, Channel, Presence, QueueConfig
from joignable.core.state import Status
from joignable.ledger.audit import audit
from joignable.ledger.store import LedgerError, SQLiteStore, open_store
from tests.conftest import Clock


def setup_center(center: Center) -> None:
    center.run("define_skill", "billing")
    center.run("configure_queue", QueueConfig(id="billing", requirements={"billing": 1}))
    for a in ("ann", "bob"):
        center.run("configure_agent", AgentConfig(id=a, skills={"billing": 5}))


def test_commands_are_durable_and_sequence_is_gapless(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "l.db"
    with Center(SQLiteStore(db), clock, watchdog=False) as center:
        setup_center(center)
        for _ in range(5):
            center.run("arrive", "billing")
        with pytest.raises(UnknownQueue):
            center.run("arrive", "nope")
        center.run("set_presence", "ann", "available")
        last = center.seq
    reader = open_store(str(db), readonly=True)
    seqs = [s for s, _ in reader.read()]
    assert seqs == list(range(1, last + 1))
    kinds = [type(e).__name__ for _, e in reader.read()]
    assert kinds.count("ContactArrived") == 5
    assert kinds.count("OfferMade") == 1


def test_a_batch_runs_in_order_and_a_refused_command_changes_nothing(
    tmp_path: Path, clock: Clock
) -> None:
    db = tmp_path / "l.db"
    with Center(SQLiteStore(db), clock, watchdog=False) as center:
        setup_center(center)
        center.run("set_presence", "ann", "available")
        before = center.seq
        results, last = center.submit_many(
            [
                ("arrive", ("billing",), {"contact_id": "c1"}),
                ("arrive", ("nope",), {}),
                ("accept", ("ann", "c1"), {}),
                ("_dispatch", (0.0,), {}),  # not a command: internals are out of reach
                ("complete", ("ann", "c1"), {}),
            ]
        )
        assert results[0].status == "offered"
        assert isinstance(results[1], UnknownQueue)
        assert results[2] is True
        assert isinstance(results[3], InvalidInput) and "_dispatch" in str(results[3])
        assert results[4] is None
        center.wait_durable(last)
        assert last == center.seq > before
        with pytest.raises(InvalidInput):
            center.run("take")
    reader = open_store(str(db), readonly=True)
    kinds = [type(e).__name__ for s, e in reader.read() if s > before]
    assert kinds == [
        "ContactArrived",
        "OfferMade",
        "OfferAccepted",
        "ContactEnded",
        "WrapupStarted",
    ]


def test_restart_keeps_places_and_releases_pending_offers(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "l.db"
    center = Center(SQLiteStore(db), clock, watchdog=False)
    setup_center(center)
    ids = [center.run("arrive", "billing").contact for _ in range(3)]
    clock.advance(5)
    center.run("set_presence", "ann", Presence.AVAILABLE)
    before = center.read(lambda e: {c: e.state.contacts[c].key for c in ids})
    center.close()  # as good as a crash: nothing is flushed on close that was not acknowledged

    clock.advance(60)
    center = Center(SQLiteStore(db), clock, watchdog=False)
    st = center.engine.state
    assert {c: st.contacts[c].key for c in ids} == before  # same places, same arrival times
    assert all(st.contacts[c].status is Status.WAITING for c in ids)
    assert st.agents["ann"].presence is Presence.OFFLINE
    released = [
        e
        for _, e in center.store.read()
        if isinstance(e, ev.OfferReleased) and e.reason == "recovery"
    ]
    assert [e.contact for e in released] == [ids[0]]
    center.run("set_presence", "bob", "available")
    assert st.contacts[ids[0]].status is Status.OFFERED  # first in line, offered again
    center.close()


def test_not_a_ledger_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.db"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(LedgerError):
        SQLiteStore(bad)
    with pytest.raises(LedgerError):
        SQLiteStore(tmp_path / "missing.db", readonly=True)


def test_a_failing_watchdog_never_loses_a_command(tmp_path: Path, clock: Clock) -> None:
    """Whatever goes wrong inside the watchdog, the command's events reach the ledger; the
    watchdog goes off with an alarm saying why."""
    db = tmp_path / "l.db"
    with Center(SQLiteStore(db), clock) as center:
        setup_center(center)

        class Broken:
            def feed(self, seq: int, e: ev.Event) -> list[object]:
                raise RuntimeError("auditor bug")

        center.auditor = Broken()
        cid = center.run("arrive", "billing").contact
        assert center.auditor is None
        assert cid in center.engine.state.contacts
        center.run("abandon", cid)  # and the center goes on
    events = [e for _, e in SQLiteStore(db).read()]
    assert any(isinstance(e, ev.ContactArrived) and e.contact == cid for e in events)
    assert [e.kind for e in events if isinstance(e, ev.AlarmRaised)] == ["watchdog_failed"]
    assert isinstance(events[-1], ev.ContactEnded)


def test_live_watchdog_records_an_alarm(tmp_path: Path, clock: Clock) -> None:
    """A fault slipped into the engine's output (here a second offer of one contact) is caught
    by the watchdog as it happens and recorded in the log as an alarm."""
    db = tmp_path / "l.db"
    with Center(SQLiteStore(db), clock) as center:
        setup_center(center)
        center.run("set_presence", "ann", "available")
        center.run("set_presence", "bob", "available")
        cid = center.run("arrive", "billing").contact
        offered_to = center.engine.state.contacts[cid].agent
        other = "bob" if offered_to == "ann" else "ann"
        with center.lock:  # bypass the engine's rules, as a bug would
            center.engine.pending.append(
                ev.OfferMade(
                    at=clock(), contact=cid, agent=other, channel=Channel.VOICE, deadline=1e12
                )
            )
        center.run("arrive", "billing")
        assert [d.kind for d in center.alarms] == ["double_offer"]
    alarms = [e for _, e in SQLiteStore(db).read() if isinstance(e, ev.AlarmRaised)]
    assert [(a.kind, a.contacts) for a in alarms] == [("double_offer", [cid])]


class _SlowReaderStore(SQLiteStore):
    """A ledger whose catch-up reader waits for the test's signal before reading."""

    go = threading.Event()

    def reader(self) -> SQLiteStore:
        self.go.wait(10)
        return super().reader()


def _double_offer(center: Center, clock: Clock) -> str:
    """Slip a wrong offer into the engine's output, as a bug would: a second offer of a new
    contact, or an offer to an agent already busy."""
    center.run("set_presence", "ann", "available")
    center.run("set_presence", "bob", "available")
    cid = center.run("arrive", "billing").contact
    offered_to = center.engine.state.contacts[cid].agent
    other = "bob" if offered_to == "ann" else "ann"
    with center.lock:
        center.engine.pending.append(
            ev.OfferMade(at=clock(), contact=cid, agent=other, channel=Channel.VOICE, deadline=1e12)
        )
    center.run("arrive", "billing")
    return cid


def test_after_a_restart_the_watchdog_catches_up_then_watches_live(
    tmp_path: Path, clock: Clock
) -> None:
    """On a ledger with history the center serves at once; the watchdog folds the log in the
    background, then the batches stored meanwhile (a fault among them is raised), then watches
    live."""
    db = tmp_path / "l.db"
    with Center(SQLiteStore(db), clock) as center:
        setup_center(center)
        for _ in range(3):
            center.run("arrive", "billing")
    _SlowReaderStore.go.clear()
    with Center(_SlowReaderStore(db), clock) as center:
        assert not center.watchdog_ready.is_set() and center.auditor is None
        cid = _double_offer(center, clock)  # while the watchdog has not read the log yet
        _SlowReaderStore.go.set()
        assert center.watchdog_ready.wait(10)
        assert center.auditor is not None
        center.run("tick")
        assert any(cid in d.contacts for d in center.alarms)  # found in the backlog
        n = len(center.alarms)
        cid2 = _double_offer(center, clock)  # and now live, at once
        assert any(cid2 in d.contacts for d in center.alarms[n:])
        found = [(d.kind, d.contacts) for d in center.alarms]
    alarms = [e for _, e in SQLiteStore(db).read() if isinstance(e, ev.AlarmRaised)]
    assert [(a.kind, a.contacts) for a in alarms] == found
    assert audit(SQLiteStore(db).read()).counts.arrived == 7
