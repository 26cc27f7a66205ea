"""`joignable plan twin`: a day through the routing core from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from joignable.cli import main
from joignable.planning.erlang_a import erlang_a


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["plan", "twin", *args])


def test_twin_json_measures_the_day_with_the_ledger_definitions() -> None:
    # 8 hours of 63 calls per 15 minutes (4.2 a minute), AHT 120 s, patience 60 s, 10 agents
    r = run(
        "--arrivals", ",".join(["63"] * 32), "--aht", "120", "--agents", "10",
        "--patience", "60", "--seed", "3", "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["audit"] == {"ok": True, "arrived": doc["audit"]["arrived"], "open": 0,
                            "discrepancies": 0}  # fmt: skip
    day = doc["day"]
    assert day["offered"] == doc["audit"]["arrived"] == sum(i["offered"] for i in doc["intervals"])
    assert day["offered"] == day["answered"] + day["abandoned"]
    assert len(doc["intervals"]) == 32
    assert set(day["sl"]) == {
        "answered_within_t_over_offered",
        "answered_within_t_over_answered",
        "answered_within_t_over_offered_minus_short_abandons",
        "answered_or_abandoned_within_t_over_offered",
    }
    # ~2,000 calls: Erlang A's 84.6 % within 20 s and 8.2 % abandoning, within a loose band
    # (the start from an empty center flatters the first minutes a little)
    exact = erlang_a(4.2 / 60, 120, 10, 60, 20, 5)
    assert day["sl"]["answered_within_t_over_offered"] == pytest.approx(
        float(exact.service_level["answered_within_t_over_offered"]), abs=0.05
    )
    assert day["abandon_rate"] == pytest.approx(float(exact.p_abandon), abs=0.03)


def test_twin_text_and_a_staffing_change() -> None:
    base = ["--arrivals", "60,60,60,60", "--aht", "180", "--patience", "90", "--seed", "1"]
    few = run(*base, "--agents", "8")
    more = run(*base, "--agents", "8,8,16,16", "--json")
    assert few.exit_code == 0 and more.exit_code == 0, few.output + more.output
    assert "audit clean" in few.stdout and "answered_within_t_over_offered  (default)" in few.stdout
    rows = json.loads(more.stdout)["intervals"]
    assert rows[3]["sl"] > rows[1]["sl"]  # twice the agents in the last half hour


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--arrivals", "10,x", "--agents", "3"], "--arrivals"),
        (["--arrivals", "10", "--agents", "3,x"], "--agents"),
        (["--arrivals", "10", "--agents", "-1"], "none negative"),
        (["--arrivals", "10,20", "--agents", "3,4,5"], "one per interval"),
        (["--arrivals", "10", "--agents", "3", "--period", "7"], "divides a day"),
        (["--arrivals", "10", "--agents", "3", "--wrapup", "500"], "--wrapup"),
        (["--arrivals", "-5", "--agents", "3"], "0 or more"),
        (["--arrivals", "10", "--agents", "3", "--strategy", "random"], "strategy"),
        (["--arrivals", "10", "--agents", "3", "--answer-delay", "-1"], "answer_delay"),
    ],
)
def test_twin_refuses_bad_input_in_one_line(extra: list[str], message: str) -> None:
    r = run("--aht", "120", *extra)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error [invalid_input]: "), r.stderr
    assert message in lines[0]


CENTER = {
    "interval": 900,
    "queues": [
        {"id": "billing", "requirements": {"billing": 5}},
        {"id": "support", "requirements": {"support": 1}, "strategy": "most-skilled"},
    ],
    "agents": [{"id": f"b{i}", "skills": {"billing": 6}} for i in range(2)]
    + [{"id": f"s{i}", "skills": {"support": 5, "billing": 3}} for i in range(4)],
    "shifts": [{"agent": a, "start": 0, "end": 3600} for a in ("b0", "b1", "s0", "s1", "s2", "s3")],
    "traffic": [
        {"queue": "billing", "arrivals": [25] * 4, "aht": 180, "patience": 120, "wrapup": 20},
        {"queue": "support", "arrivals": [10] * 4, "aht": 120, "handle": "lognormal",
         "handle_cv": 0.5, "patience": 120},
    ],
}  # fmt: skip


def _center(tmp_path: Path, doc: dict[str, Any]) -> str:
    path = tmp_path / "center.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_a_whole_center_from_json_and_a_widening_tried_on_it(tmp_path: Path) -> None:
    before = run("--center", _center(tmp_path, CENTER), "--seed", "4", "--json")
    widened = json.loads(json.dumps(CENTER))
    widened["queues"][0]["widening"] = [{"after": 30, "lower_levels_by": 2}]
    after = run("--center", _center(tmp_path, widened), "--seed", "4", "--json")
    assert before.exit_code == 0 and after.exit_code == 0, before.output + after.output
    b, a = json.loads(before.stdout), json.loads(after.stdout)
    for doc in (a, b):
        assert doc["audit"]["ok"] and set(doc["queues"]) == {"billing", "support"}
        assert doc["day"]["offered"] == sum(q["offered"] for q in doc["queues"].values())
        assert {row["queue"] for row in doc["intervals"]} == {"billing", "support"}
    assert a["queues"]["billing"]["offered"] == b["queues"]["billing"]["offered"]  # same customers
    assert a["queues"]["billing"]["abandoned"] < b["queues"]["billing"]["abandoned"]
    text = run("--center", _center(tmp_path, CENTER)).stdout
    assert "queue billing: offered" in text and "all queues: offered" in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"agents": None}, "center: "),
        ({"queues": [{"id": "billing", "requirements": {"billing": 5}, "oops": 1}]}, "oops"),
        (
            {"queues": [{"id": "billing", "widening": [{"after": -1}]}, {"id": "support"}]},
            "refuses this center",
        ),
        ({"traffic": [{"queue": "billing", "arrivals": [1], "aht": 60, "wrapup": 90}]}, "wrapup"),
        ({"traffic": [{"queue": "billing", "arrivals": [1], "aht": 60, "handle": "x"}]}, "'x'"),
    ],
)
def test_a_bad_center_is_refused_in_one_line(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    doc = {k: v for k, v in (CENTER | change).items() if v is not None}
    r = run("--center", _center(tmp_path, doc))
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error [invalid_input]: "), r.stderr
    assert message in lines[0]


def test_center_and_single_queue_options_exclude_each_other(tmp_path: Path) -> None:
    r = run("--center", _center(tmp_path, CENTER), "--agents", "3")
    assert r.exit_code == 2 and "not both" in r.stderr
    r = run("--arrivals", "10")
    assert r.exit_code == 2 and "--agents" in r.stderr


def test_twin_with_callbacks_from_the_command_line() -> None:
    common = ["--arrivals", "70,70,70,70,0,0", "--aht", "120", "--agents", "8", "--patience", "60"]
    r = run(*common, "--callback-share", "0.5", "--reach", "0.7", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    day = doc["day"]
    assert doc["audit"]["ok"] and day["callbacks_requested"] > 0
    assert day["callbacks_completed"] + day["callbacks_failed"] == day["callbacks_requested"]
    text = run(*common, "--callback-share", "0.5")
    assert text.exit_code == 0 and "  callbacks: " in text.stdout
    for bad, message in (
        (["--callback-share", "2"], "callback_share must be between 0 and 1"),
        (["--reach", "1.5"], "reach must be between 0 and 1"),
    ):
        refused = run(*common, *bad)
        assert refused.exit_code == 2 and message in refused.stderr
    no_patience = run("--arrivals", "10", "--aht", "120", "--agents", "2", "--callback-share", "1")
    assert no_patience.exit_code == 2 and "patience" in no_patience.stderr
