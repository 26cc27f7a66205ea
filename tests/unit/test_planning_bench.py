"""benchmarks/planning.py runs at a tiny size and says what it measured (speed is never asserted
here: it is recorded in docs/benchmarks.md)."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from benchmarks import planning


def test_reference_reproduces_the_worked_example() -> None:
    # callcentrehelper.com: 100 calls per 30 min (= 50 per 15 min), AHT 180 s, 80/20 -> 14 agents
    agents, sl = planning.reference(50.0, 180.0)
    assert agents == 14 and sl == pytest.approx(0.888350, abs=5e-7)


def test_tiny_run_agrees_with_the_reference() -> None:
    r = planning.run(
        intervals=8,
        queues=3,
        repeat=1,
        sample=10,
        peers=False,
        large=False,
        calls=2_000,
        day_agents=40,
    )
    assert r["ok"] and r["pyworkforce"] is None and r["simulation"]["simpy"] is None
    assert r["simulation"]["lost"] == 0 and r["day"]["stranded"] == 0
    assert r["day"]["contacts"] > 0 and 0 < r["day"]["answered"] <= 1
    assert set(r["centers"]) == set(planning.CENTERS)
    for c in r["centers"].values():
        j = c["joignable"]
        assert j["ref_agents_equal"] == "10/10" and j["ref_max_sl_error"] < 1e-9
        assert j["erlang_c_ms"] > 0 and j["agents_erlang_a"] > 0
    assert "planning: staffing 8 intervals x 3 queues" in planning.format_result(r)


@pytest.mark.skipif(importlib.util.find_spec("pyworkforce") is None, reason="bench extra")
def test_tiny_run_side_by_side_with_pyworkforce() -> None:
    r = planning.run(intervals=4, queues=2, repeat=1, sample=4, large=True, simulation=False)
    assert r["ok"] and r["pyworkforce"] == "compared"
    for c in r["centers"].values():
        assert c["pyworkforce"]["agents_equal_to_joignable"] == 8
    assert r["large"]["pyworkforce_agents"] == r["large"]["agents_erlang_c"]
    assert "pyworkforce ErlangC loop" in planning.format_result(r)


@pytest.mark.skipif(importlib.util.find_spec("simpy") is None, reason="bench extra")
def test_simpy_and_the_simulator_agree_call_for_call() -> None:
    # the same pre-drawn calls through SimPy's canonical model and ours: the same abandons
    r = planning.run(
        intervals=2, queues=1, repeat=1, sample=2, large=False, calls=3_000, day_agents=20
    )
    m = r["simulation"]
    assert m["simpy"]["abandoned"] == m["abandoned"] > 0
    assert m["lost"] == 0 and "SimPy" in planning.format_result(r)


def test_a_peer_not_installed_is_skipped_with_a_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # CI's smoke test runs without the bench extra: the run goes on, and says what it left out
    monkeypatch.setattr(planning, "_pyworkforce", lambda: None)
    monkeypatch.setitem(sys.modules, "simpy", None)  # import simpy raises ImportError
    r = planning.run(
        intervals=2, queues=1, repeat=1, sample=2, large=False, calls=1_000, day_agents=10
    )
    assert r["ok"] and r["pyworkforce"] == r["simulation"]["simpy"] == planning.SKIPPED
    lines = planning.format_result(r).splitlines()
    assert f"  pyworkforce {planning.SKIPPED}" in lines
    assert f"  SimPy {planning.SKIPPED}" in lines
