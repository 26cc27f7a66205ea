"""`joignable plan forecast`: a ledger's history in, arrivals and agents per interval out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from joignable.cli import main
from joignable.ledger.store import SQLiteStore
from joignable.planning import simulate as sim
from joignable.planning.twin import run_twin, single_queue
from tests.unit.test_planning_forecast import rates


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["plan", "forecast", *args])


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two weeks of a small center (DAY0 is a Monday) through the core, written to a ledger."""
    center = single_queue(
        list(rates(2, base=3.0).ravel()), [4], sim.exponential(150), patience=sim.exponential(120)
    )
    r = run_twin(center, seed=4)
    path = str(tmp_path_factory.mktemp("forecast") / "ledger.db")
    store = SQLiteStore(path)
    store.append(list(enumerate(r.events, 1)))
    store.close()
    return path


def test_forecast_json_follows_the_history(ledger: str) -> None:
    r = run("--db", ledger, "--model", "erlang-a", "--patience", "120", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["day"] == "2023-12-04" and doc["history_days"] == 14  # the Monday after
    q = doc["queues"]["q"]
    assert q["weeks"] == 2 and len(q["arrivals"]) == len(q["agents"]) == 96
    truth = rates(3, base=3.0)[14]
    assert abs(q["total"] - truth.sum()) < 3 * q["total_std"]
    assert q["aht"] == pytest.approx(150, rel=0.1)
    agents = np.array(q["agents"])
    assert agents[int(np.argmax(truth))] == agents.max() > agents[:16].max()  # peak vs night
    # A Sunday: a quarter of the Monday, fewer agent-intervals.
    sunday = json.loads(run("--db", ledger, "--day", "2023-12-10", "--json").stdout)
    assert sunday["queues"]["q"]["total"] == pytest.approx(0.25 * q["total"], rel=0.25)
    assert sum(sunday["queues"]["q"]["agents"]) < 0.75 * agents.sum()


def test_forecast_text(ledger: str) -> None:
    r = run("--db", ledger, "--aht", "200")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("forecast for 2023-12-04 (UTC) from 14 day(s) of history")
    assert "AHT 200 s" in r.stdout and "  10:30 " in r.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--day", "2023-13-01"], "YYYY-MM-DD"),
        (["--day", "2023-11-21"], "after the history"),
        (["--queue", "nope"], "no queue 'nope'"),
        (["--interval", "7"], "divides a day"),
        (["--half-life", "0"], "half_life"),
        (["--sl", "1.5"], "service-level target"),
    ],
)
def test_forecast_refuses_bad_input_in_one_line(
    ledger: str, extra: list[str], message: str
) -> None:
    r = run("--db", ledger, *extra)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error [invalid_input]: "), r.stderr
    assert message in lines[0]


def test_forecast_refuses_a_missing_or_empty_ledger(tmp_path: Path) -> None:
    r = run("--db", str(tmp_path / "none.db"))
    assert r.exit_code == 2 and "no ledger" in r.stderr
    empty = str(tmp_path / "empty.db")
    SQLiteStore(empty).close()
    r = run("--db", empty)
    assert r.exit_code == 2 and "nothing to learn from" in r.stderr
