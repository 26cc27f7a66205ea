"""The cost model: money adds up, the cheapest staffing is the minimum of the curve."""

from __future__ import annotations

import numpy as np
import pytest

from joignable.planning.cost import Economics, cheapest, costs, curve, policy
from joignable.planning.erlang_a import erlang_a

ECON = Economics(
    value=40.0,
    agent_cost_per_hour=30.0,
    give_up_share=0.6,
    repeat_cost=4.0,
    callback_share=0.25,
    callback_cost=2.0,
)


def test_every_abandon_is_called_back_lost_or_repeated_and_priced() -> None:
    c = costs([100.0, 400.0], 1800, 300, 120, [15, 60], ECON, shrinkage=0.2)
    p_ab = erlang_a(np.array([100.0, 400.0]) / 1800, 300, [15, 60], 120).p_abandon
    assert c.abandoned == pytest.approx(np.array([100.0, 400.0]) * p_ab)
    assert c.callbacks + c.gave_up + c.repeats == pytest.approx(c.abandoned)
    assert c.callbacks == pytest.approx(0.25 * c.abandoned)
    assert c.gave_up == pytest.approx(0.6 * 0.75 * c.abandoned)
    assert c.scheduled == pytest.approx([15 / 0.8, 60 / 0.8])
    assert c.staff == pytest.approx(c.scheduled * 30.0 * 0.5)  # half an hour each
    money = c.gave_up * 40.0 + c.repeats * 4.0 + c.callbacks * 2.0
    assert c.unanswered == pytest.approx(money)
    assert c.total == pytest.approx(c.staff + c.unanswered)


def test_cheapest_is_the_minimum_of_the_cost_curve() -> None:
    arrivals = np.array([30.0, 250.0, 900.0])
    c = curve(arrivals, 1800, 300, 120, ECON)
    best = cheapest(arrivals, 1800, 300, 120, ECON)
    assert best.total == pytest.approx(c.total.min(axis=-1))
    for i, n in enumerate(best.agents.astype(int)):
        assert c.total[i, n] == pytest.approx(best.total[i])
    # the curve goes far enough: the last staffing only adds agent cost
    assert np.all(np.diff(c.total[:, -3:], axis=-1) > 0)


def test_free_customers_make_zero_agents_cheapest_and_dear_ones_many() -> None:
    free = Economics(value=0.0, agent_cost_per_hour=30.0)
    assert float(cheapest(100.0, 1800, 300, 120, free).agents[0]) == 0
    dear = Economics(value=10_000.0, agent_cost_per_hour=30.0, give_up_share=1.0)
    best = cheapest(100.0, 1800, 300, 120, dear)
    assert float(best.agents[0]) > 100 * 300 / 1800  # more agents than Erlangs


def test_policy_costs_at_least_the_cheapest_and_meets_its_cap() -> None:
    arrivals = np.array([50.0, 200.0, 600.0, 300.0])
    pol = policy(arrivals, 1800, 300, 120, ECON, 0.15)
    best = cheapest(arrivals, 1800, 300, 120, ECON)
    assert np.all(pol.abandoned <= 0.15 * arrivals + 1e-9)
    assert pol.sum()["total"] >= best.sum()["total"]
    # one agent fewer would break the cap in every interval
    fewer = costs(arrivals, 1800, 300, 120, pol.agents - 1, ECON)
    assert np.all(fewer.abandoned > 0.15 * arrivals)


@pytest.mark.parametrize(
    ("econ", "message"),
    [
        (Economics(value=-1.0, agent_cost_per_hour=30.0), "value"),
        (Economics(value=1.0, agent_cost_per_hour=30.0, give_up_share=1.5), "give_up_share"),
        (Economics(value=1.0, agent_cost_per_hour=float("nan")), "agent_cost_per_hour"),
    ],
)
def test_bad_economics_are_refused(econ: Economics, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        costs(100.0, 1800, 300, 120, 10, econ)
