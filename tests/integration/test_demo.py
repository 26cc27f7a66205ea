"""The synthetic world on real SQLite ledgers: determinism, resuming after a crash, and the
behaviours the demo promises (chats three at a time, callbacks, transfers, missed offers...)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("joignable.ledger.audit")
pytest.importorskip("joignable.ledger.kpis")

from joignable import demo  # noqa: E402
from joignable.core import events as ev  # noqa: E402
from joignable.core.model import Channel  # noqa: E402
from joignable.core.state import State, Status  # noqa: E402
from joignable.ledger.audit import audit  # noqa: E402
from joignable.ledger.store import open_store  # noqa: E402


def rows(db: Path) -> list[tuple[int, str, bytes]]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT seq, data FROM events ORDER BY seq").fetchall()


def events(db: Path) -> list[ev.AnyEvent]:
    store = open_store(str(db), readonly=True)
    try:
        return [e for _, e in store.read()]
    finally:
        store.close()


def run_demo(db: Path, agents: int = 8, contacts: int = 200, seed: int = 1) -> demo.DemoRun:
    options = demo.DemoOptions(agents=agents, contacts=contacts, speed=None, seed=seed)
    world = demo.open_world(str(db), options)
    try:
        return demo.run(world, options)
    finally:
        world.center.close()


def audit_ok(db: Path) -> None:
    store = open_store(str(db), readonly=True)
    try:
        report = audit(store.read())
    finally:
        store.close()
    assert report.ok, report.text()
    assert report.counts.open == 0


def test_same_seed_gives_the_same_ledger_byte_for_byte(tmp_path: Path) -> None:
    run_demo(tmp_path / "a.db", seed=11)
    run_demo(tmp_path / "b.db", seed=11)
    run_demo(tmp_path / "c.db", seed=12)
    a, b, c = rows(tmp_path / "a.db"), rows(tmp_path / "b.db"), rows(tmp_path / "c.db")
    assert len(a) > 1000
    assert a == b
    assert a != c
    # Simulated time from a fixed epoch, never the wall clock.
    first = events(tmp_path / "a.db")[0]
    assert first.at == demo.EPOCH


def test_the_world_does_what_the_demo_promises(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    run = run_demo(db, agents=12, contacts=400, seed=5)
    assert not run.interrupted and run.counters.refused == 0
    log = events(db)
    arrived = [e for e in log if isinstance(e, ev.ContactArrived)]
    assert len(arrived) == 400
    channels = Counter(e.channel.value for e in arrived)
    assert channels["voice"] > channels["chat"] > 0 and channels["callback"] > 0
    requeued = Counter(e.reason for e in log if isinstance(e, ev.ContactRequeued))
    assert requeued["widened"] > 0 and requeued["transfer"] > 0
    released = Counter(e.reason for e in log if isinstance(e, ev.OfferReleased))
    assert released["timeout"] > 0  # agents who miss offers
    callbacks = [e for e in log if isinstance(e, ev.CallbackRequested)]
    assert any(e.due is None for e in callbacks)  # virtual hold
    assert any(e.due is not None for e in callbacks)  # scheduled
    presence = Counter(e.reason for e in log if isinstance(e, ev.PresenceChanged))
    assert presence["break"] > 0 and presence["back"] > 0
    assert all(e.disposition for e in log if isinstance(e, ev.WrapupEnded) and e.reason == "done")
    # Somebody held three chats at once (replaying the log through the routing state).
    state = State()
    most = 0
    for e in log:
        state.apply(e)
        if isinstance(e, ev.OfferMade) and e.channel is Channel.CHAT:
            most = max(most, state.agents[e.agent].load[Channel.CHAT])
    assert most == 3
    ended = Counter(e.outcome.value for e in log if isinstance(e, ev.ContactEnded))
    assert ended["handled"] > 300 and 0 < ended["abandoned"] < 80
    audit_ok(db)


def test_a_crash_midway_is_resumed_from_the_log(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    options = demo.DemoOptions(agents=8, contacts=150, speed=None, seed=3)
    world = demo.open_world(str(db), options)
    world.setup(options.agents)
    for _ in range(3000):  # run until caught in the middle: some talking, some on hold
        assert world.step()
        statuses = Counter(c.status for c in world.state.contacts.values())
        if (
            world.counters.commands > 500
            and statuses[Status.CONNECTED]
            and statuses[Status.WAITING]
        ):
            break
    else:
        pytest.fail("the run never had contacts waiting and talking at once")
    last_at = world.clock.now
    world.flush()
    world.center.close()  # the process dies here: only the log survives
    before = events(db)

    run = run_demo(db, contacts=60, seed=3)
    assert run.resumed and run.seq_before == len(before)
    after = events(db)
    assert after[: len(before)] == before  # the log is only appended to
    new = after[len(before) :]
    assert isinstance(new[-1], ev.PresenceChanged)  # everyone logs out at the end
    assert any(isinstance(e, ev.Recovered) for e in new)
    assert min(e.at for e in new) >= last_at - 1e-6  # the clock resumes from the log
    assert max(e.at for e in new) < demo.EPOCH + 10 * demo.DAY  # never the wall clock
    logins = [e for e in new if isinstance(e, ev.PresenceChanged) and e.reason == "login"]
    assert len({e.agent for e in logins}) == 8  # agents log back in
    ids = [e.contact for e in after if isinstance(e, ev.ContactArrived)]
    assert len(ids) == len(set(ids))  # new contacts get new ids
    arrived_before = sum(isinstance(e, ev.ContactArrived) for e in before)
    assert len(ids) == arrived_before + 60
    audit_ok(db)  # the ones waiting at the crash were served or abandoned: nothing open


def test_resuming_a_finished_ledger_adds_contacts(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    run_demo(db, contacts=80, seed=4)
    n = len(rows(db))
    run = run_demo(db, contacts=40, seed=4)
    assert run.resumed and run.seq_before == n
    arrived = [e for e in events(db) if isinstance(e, ev.ContactArrived)]
    assert len(arrived) == 120 and len({e.contact for e in arrived}) == 120
    audit_ok(db)


def test_a_paced_run_follows_the_wall_clock(tmp_path: Path) -> None:
    db = tmp_path / "paced.db"
    options = demo.DemoOptions(agents=6, contacts=60, speed=20_000.0, seed=8)
    world = demo.open_world(str(db), options)
    shown: list[bool] = []
    try:
        run = demo.run(world, options, lambda w, final: shown.append(final), every=0.05)
    finally:
        world.center.close()
    simulated = run.ended_at - run.started_at
    assert simulated > 1800
    assert run.wall_seconds >= simulated / 20_000.0 * 0.9  # not faster than asked
    assert shown[-1] is True and len(shown) > 1  # redrawn while waiting, then a final frame
    audit_ok(db)


def test_load_curve_and_capacity_keep_the_center_near_capacity() -> None:
    assert demo.load_factor(demo.EPOCH - 8 * 3600) < 0.3  # midnight: quiet
    assert demo.load_factor(demo.EPOCH + 3 * 3600) > 1.0  # late morning: above capacity
    assert max(demo.load_factor(demo.EPOCH + h * 900) for h in range(96)) == demo.PEAK_LOAD
