"""The benchmarks run, at tiny sizes, and say what they measured. Speed is never asserted here
(it is measured by ``python -m benchmarks.run_all`` and recorded in docs/benchmarks.md); what is
checked is that each run is well-formed and that nothing was lost on the way."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from benchmarks import durable, replay, routing, run_all, web_chat, web_contacts
from benchmarks.scenario import Clock, Driver, build_layout, configure, conservation

from joignable.core.engine import Engine
from joignable.core.estimate import _figures

TINY = {"agents": 120, "queues": 12, "skills": 8}


def test_routing_counts_events_and_loses_nothing() -> None:
    r = routing.run(**TINY, commands=4_000, warmup=1_000, max_waiting=30)
    assert r["ok"] and r["refused"] <= 10
    c = r["check"]
    assert c["lost"] == 0 and c["idle_with_work"] == 0
    assert c["arrived"] == c["open"] + c["ended"]
    assert r["events"] == sum(r["events_by_type"].values()) > 4_000
    assert r["events_per_s"] > 0 and r["commands_per_s"] > 0
    lat = r["latency_us"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"]
    assert sum(v["n"] for v in r["latency_by_command_us"].values()) == 4_000
    assert {"arrive", "accept", "complete", "end_wrapup"} <= set(r["commands_by_type"])
    assert r["waiting_min_max"][1] > 0 and r["free_agents_min_max"][1] > 0


def test_estimates_read_from_counters_match_a_scan_of_the_members() -> None:
    """The O(1) estimate (pool counters) gives what scanning the pool's agents gives."""
    rng = random.Random(3)
    layout = build_layout(rng, **TINY)
    clock = Clock()
    engine = Engine(clock)
    configure(engine, layout)
    driver = Driver(engine, clock, layout, rng, max_waiting=30)
    driver.observe(engine.take())
    for _ in range(10):
        driver.run(300)
        engine.set_presence(layout.agents[rng.randrange(len(layout.agents))].id, "away")
        driver.observe(engine.take())
        for contact in engine.state.contacts.values():
            est = engine.estimate(contact.id)
            pool = contact.pool
            assert pool is not None
            ahead = est.ahead
            eligible, busy, seconds = _figures(
                list(pool.members.values()),
                contact.route_channel,
                ahead,
                engine.state.aht.get(contact.queue, 180.0),
            )
            assert (est.eligible, est.busy) == (eligible, busy), contact.id
            if contact.status.value == "waiting":
                assert est.seconds == seconds
    assert conservation(engine, driver.tally.arrived)["lost"] == 0


def test_durable_acknowledges_only_stored_contacts(tmp_path: Path) -> None:
    r = durable.run(
        **TINY,
        contacts=300,
        warmup=50,
        inflight=40,
        threads=4,
        thread_contacts=60,
        tmpdir=str(tmp_path),
    )
    assert r["ok"]
    assert r["disk"]["path"] and r["disk"]["fstype"]  # recorded: fsync on tmpfs is no figure
    modes = {(x["mode"], x["watchdog"], x["wrapup"]) for x in r["runs"]}
    assert {("pipelined", False, False), ("pipelined", False, True)} <= modes
    assert ("threads", False, True) in modes
    for x in r["runs"]:
        chk = x["check"]
        assert chk["gaps"] == 0 and chk["ended_twice"] == 0
        assert chk["stored_seq"] == chk["center_seq"]
        assert chk["ended"] >= x["contacts"]  # every acknowledged contact ended in the file
        assert x["contacts_per_s"] > 0 and x["commits"] > 0
        assert x["alarms"] == 0
    assert list(tmp_path.iterdir()) == []  # the ledgers are removed


def test_replay_rebuilds_the_live_state(tmp_path: Path) -> None:
    r = replay.run(**TINY, events=6_000, tmpdir=str(tmp_path))
    assert r["ok"] and r["replay_equal"]
    assert r["ledger"]["events"] >= 6_000
    for o in r["center_open"]:
        assert o["state_equal"] and o["alarms"] == 0
        assert o["recovery_events"] > 0  # offers released, agents set offline


def test_web_chat_delivers_every_message_once(tmp_path: Path) -> None:
    """A real server and a client process: 5 customers, 3 agents, messages both ways."""
    r = web_chat.run(
        chats=5, agents=3, procs=1, duration=3.0, interval=0.5, drain=3.0, tmpdir=str(tmp_path)
    )
    assert r["ok"], r
    assert r["in_conversation"] == 5 and r["completed"] == 5  # every chat wrapped up
    assert r["lost"] == 0 and r["duplicated"] == 0 and r["errors"] == {}
    assert r["acknowledged"] >= r["messages"] > 0
    lat = r["latency_ms"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    assert r["clients"]["processes"] == 1 and r["server_cpu"] >= 0
    assert list(tmp_path.iterdir()) == []  # the ledger is removed


def test_web_contacts_are_all_in_the_ledger(tmp_path: Path) -> None:
    r = web_contacts.run(concurrency=4, procs=1, duration=2.0, warmup=0.5, tmpdir=str(tmp_path))
    assert r["ok"], r
    assert r["missing"] == 0 and r["stored"] >= r["acknowledged"] >= r["contacts"] > 0
    assert r["contacts_per_s"] > 0 and 0 < r["latency_ms"]["p50"] <= r["latency_ms"]["max"]
    assert list(tmp_path.iterdir()) == []


def test_run_all_quick_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = {
        "routing": {**TINY, "commands": 1_000, "warmup": 500, "max_waiting": 30},
        "durable": {**run_all.QUICK["durable"], **TINY, "contacts": 100, "warmup": 20},
        "replay": {**run_all.QUICK["replay"], **TINY, "events": 3_000},
        "planning": {
            **run_all.QUICK["planning"],
            "intervals": 4,
            "queues": 3,
            "sample": 5,
            "peers": False,
            "large": False,
            "calls": 2_000,
            "day_agents": 20,
        },
        "knowledge": {**run_all.QUICK["knowledge"], "queries": 20, "dense": False},
        "web_chat": {"chats": 4, "agents": 2, "procs": 1, "duration": 2.0, "interval": 0.5},
        "web_contacts": {"concurrency": 2, "procs": 1, "duration": 1.0, "warmup": 0.5},
    }
    monkeypatch.setattr(run_all, "QUICK", tiny)
    assert run_all.main(["--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quick"] is True and out["machine"]["python"]
    assert set(out["results"]) == set(run_all.BENCHMARKS)
    assert {"routing", "durable", "replay", "planning", "knowledge", "web_chat"} < set(
        out["results"]
    )
    assert all(r["ok"] for r in out["results"].values())
