"""`joignable plan staffing` and `joignable plan cost`: figures, JSON, one-line refusals."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from joignable.cli import main

BASE = ["plan", "staffing", "--arrivals", "100", "--period", "1800", "--aht", "180"]
COST = [
    "plan",
    "cost",
    "--arrivals",
    "100,300",
    "--period",
    "1800",
    "--aht",
    "300",
    "--patience",
    "120",
    "--value",
    "40",
    "--agent-cost",
    "30",
]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_staffing_json_reproduces_the_worked_example() -> None:
    # callcentrehelper.com "Erlang C formula - made simple": 14 agents, 20 with 85 % maximum
    # occupancy and 30 % shrinkage.
    r = run(*BASE, "--sl", "0.8", "--within", "20", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["agents"] == 14 and doc["productive_agents"] == 14
    assert doc["p_wait"] == pytest.approx(0.174132, abs=5e-7)
    assert doc["asa"] == pytest.approx(7.836, abs=5e-4)
    assert doc["occupancy"] == pytest.approx(0.7143, abs=5e-5)
    assert doc["service_level"]["answered_within_t_over_offered"] == pytest.approx(
        0.88835, abs=5e-6
    )
    assert doc["target"]["sl_definition"] == "answered_within_t_over_offered"
    assert "callbacks_kept" not in doc["service_level"]
    r = run(*BASE, "--max-occupancy", "0.85", "--shrinkage", "0.3", "--json")
    assert json.loads(r.stdout)["agents"] == 20


def test_staffing_text_names_every_definition() -> None:
    r = run(*BASE, "--model", "erlang-a", "--patience", "120")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("agents: ")
    for name in (
        "answered_within_t_over_offered",
        "answered_within_t_over_answered",
        "answered_or_abandoned_within_t_over_offered",
        "P(abandon)",
        "ASA",
    ):
        assert name in r.stdout


def test_erlang_a_can_staff_below_the_load() -> None:
    r = run(
        "plan",
        "staffing",
        "--arrivals",
        "10000",
        "--period",
        "1800",
        "--aht",
        "180",
        "--model",
        "erlang-a",
        "--patience",
        "60",
        "--max-abandon",
        "0.1",
        "--json",
    )
    doc = json.loads(r.stdout)
    assert doc["agents"] < doc["load"] == pytest.approx(1000.0)
    assert doc["p_abandon"] <= 0.1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--arrivals", "-5"], "arrivals must not be negative"),
        (["--period", "0"], "period must be above 0"),
        (["--aht", "abc"], "'abc' is not a valid float"),
        (["--sl", "1.2"], "between 0 and 1"),
        (["--sl", "0"], "between 0 and 1"),
        (["--sl-definition", "callbacks_kept"], "--sl-definition"),
        (["--model", "erlang-a"], "patience"),
        (["--model", "erlang-a", "--patience", "-1"], "patience must be above 0"),
        (["--shrinkage", "1"], "shrinkage"),
        (["--max-occupancy", "0"], "max_occupancy"),
        (["--max-abandon", "0.1"], "erlang-a"),
        (["--arrivals", "nan"], "finite"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(extra: list[str], message: str) -> None:
    r = run(*BASE, *extra)
    assert r.exit_code == 2
    assert r.stderr.startswith("error [invalid_input]: ") and message in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.output


def test_cost_json_prices_the_policy_against_the_cheapest() -> None:
    r = run(*COST, "--unanswered", "0.15", "--agents", "30", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    plans = doc["plans"]
    assert set(plans) == {"cheapest", "at_most_0.15_unanswered", "30_agents"}
    cheapest = plans["cheapest"]["total"]
    assert all(p["total"] >= cheapest - 1e-9 for p in plans.values())
    assert doc["policy_price"] == pytest.approx(
        plans["at_most_0.15_unanswered"]["total"] - cheapest
    )
    policy = doc["per_interval"]["at_most_0.15_unanswered"]
    assert all(a <= 0.15 * n for a, n in zip(policy["abandoned"], [100, 300], strict=True))
    assert "curve" not in doc  # a curve for a single interval only


def test_cost_curve_of_one_interval_has_its_minimum_at_the_cheapest() -> None:
    r = run(*COST[:2], "--arrivals", "200", *COST[4:], "--json")
    doc = json.loads(r.stdout)
    best = min(doc["curve"], key=lambda p: p["total"])
    assert best["agents"] == doc["plans"]["cheapest"]["agents"]
    assert doc["curve"][0]["agents"] == 0


def test_cost_text_and_refusals() -> None:
    r = run(*COST)
    assert r.exit_code == 0 and "price of the policy" in r.stdout
    for extra, message in (
        (["--unanswered", "1"], "--unanswered"),
        (["--arrivals", "1,x"], "numbers separated by commas"),
        (["--give-up-share", "2"], "give_up_share"),
    ):
        r = run(*COST, *extra)
        assert r.exit_code == 2 and message in r.stderr and r.stderr.count("\n") == 1


def test_a_target_met_by_letting_callers_go_is_flagged() -> None:
    # with a 5 s patience nearly everyone leaves within 20 s: "answered or abandoned within T"
    # is met with no agent at all, which the command says instead of printing 0 silently
    args = [*BASE, "--model", "erlang-a", "--patience", "5"]
    lenient = ["--sl-definition", "answered_or_abandoned_within_t_over_offered"]
    doc = json.loads(run(*args, *lenient, "--json").stdout)
    assert doc["agents"] == 0 and doc["p_abandon"] == 1.0
    assert len(doc["warnings"]) == 1 and "--max-abandon" in doc["warnings"][0]
    r = run(*args, *lenient, "--max-abandon", "0.1", "--json")
    assert json.loads(r.stdout)["agents"] > 10 and json.loads(r.stdout)["warnings"] == []
    assert "warning: " in run(*args, *lenient).stdout
    assert json.loads(run(*BASE, "--json").stdout)["warnings"] == []


SIM = ["plan", "simulate", "--arrivals", "100", "--period", "1800", "--aht", "180", "--agents"]


def test_simulate_agrees_with_erlang_a_and_shows_what_other_distributions_change() -> None:
    r = run(*SIM, "12", "--patience", "120", "--hours", "8", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["formula"]["model"] == "erlang-a" and doc["formula"]["same_assumptions"]
    for name in ("answered_within_t_over_offered", "p_abandon", "asa"):
        est = doc["simulated"][name]
        assert abs(est["mean"] - doc["formula"][name]) <= est["half_width"], name
    # handle times less variable than exponential (cv 0.3): shorter waits than Erlang C says
    r = run(*SIM, "12", "--handle", "lognormal", "--handle-cv", "0.3", "--hours", "8", "--json")
    doc = json.loads(r.stdout)
    assert not doc["formula"]["same_assumptions"]
    asa = doc["simulated"]["asa"]
    assert asa["mean"] + asa["half_width"] < doc["formula"]["asa"]
    text = run(*SIM, "12", "--hours", "2", "--replications", "3").stdout
    assert "erlang-c" in text and "answered_within_t_over_offered" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["12", "--replications", "1"], "2 replications"),
        (["-1"], "agents"),
        (["12", "--patience", "0"], "mean must be a number above 0"),
        (["12", "--handle", "weibull"], "--handle"),
        (["12", "--hours", "0"], "hours"),
    ],
)
def test_simulate_refuses_bad_input_in_one_line(extra: list[str], message: str) -> None:
    r = run(*SIM, *extra)
    assert r.exit_code == 2 and message in r.stderr and r.stderr.count("\n") == 1
