"""The simulator against queueing theory: Erlang A and C, Pollaczek-Khinchine, and its routing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from joignable.planning import simulate as sim
from joignable.planning.erlang_a import erlang_a
from joignable.planning.erlang_c import erlang_c
from joignable.planning.names import PLANNING_SL


def one_queue(rate: float, handle: sim.Dist, agents: int, patience: sim.Dist | None) -> sim.Center:
    return sim.Center((sim.Queue("q", rate, handle, patience),), (sim.Group("g", agents, ("q",)),))


@pytest.mark.parametrize(
    ("rate", "aht", "agents", "patience"),
    [(10 / 60, 60.0, 10, 30.0), (0.5, 60.0, 25, 60.0)],
)
def test_agrees_with_erlang_a_within_its_confidence_interval(
    rate: float, aht: float, agents: int, patience: float
) -> None:
    center = one_queue(rate, sim.exponential(aht), agents, sim.exponential(patience))
    r = sim.replicate(center, 30_000, warmup=2_000, replications=10, confidence=0.99, seed=11)
    exact = erlang_a(rate, aht, agents, patience)
    est = r.queues["q"]
    for name in PLANNING_SL:
        assert est[name].covers(float(exact.service_level[name])), name
    for name in ("p_wait", "p_abandon", "asa"):
        assert est[name].covers(float(getattr(exact, name))), name
    assert r.occupancy["g"].covers(float(exact.occupancy))
    # and the intervals are tight enough to mean something
    assert est["p_abandon"].half_width < 0.02 and est["asa"].half_width < 1.0


def test_deterministic_handle_times_give_the_pollaczek_khinchine_wait() -> None:
    # M/D/1 (Kleinrock, Queueing Systems I, 1975): mean wait = rho / (2 mu (1 - rho)).
    rate, service = 0.7 / 10.0, 10.0
    r = sim.replicate(
        one_queue(rate, sim.deterministic(service), 1, None),
        200_000,
        warmup=5_000,
        replications=8,
        confidence=0.99,
        seed=5,
    )
    rho = rate * service
    expected = rho * service / (2 * (1 - rho))
    est = r.queues["q"]["asa"]
    assert est.covers(expected) and est.half_width < 0.1 * expected
    assert r.queues["q"]["p_wait"].covers(rho)  # a single server: P(wait) = rho


def test_two_queues_pooled_on_one_group_behave_as_one_erlang_c_queue() -> None:
    h = sim.exponential(120.0)
    center = sim.Center(
        (sim.Queue("a", 0.05, h), sim.Queue("b", 0.03, h)),
        (sim.Group("both", 12, ("a", "b")),),
    )
    r = sim.replicate(center, 40_000, warmup=2_000, replications=8, confidence=0.99, seed=2)
    exact = erlang_c(0.08, 120.0, 12)
    for q in ("a", "b"):  # first come first served across both: each sees the pooled queue
        assert r.queues[q]["p_wait"].covers(float(exact.p_wait))
        assert r.queues[q]["asa"].covers(float(exact.asa))


def test_groups_are_tried_in_order_and_free_agents_take_the_longest_waiting() -> None:
    center = sim.Center(
        (sim.Queue("q", 0.001, sim.deterministic(10.0)),),
        (sim.Group("first", 1, ("q",)), sim.Group("second", 1, ("q",))),
    )
    run = sim.simulate(center, 200_000, seed=1)
    # calls rarely overlap: the first group takes nearly all, the second only overflow
    assert run.occupancy["first"] > 20 * run.occupancy["second"]
    assert run.queues["q"]["answered"] == run.queues["q"]["offered"]


def test_every_contact_ends_answered_abandoned_or_stranded() -> None:
    center = sim.Center(
        (
            sim.Queue("served", 0.2, sim.lognormal(40.0, 1.5), sim.gamma(30.0, 0.5)),
            sim.Queue("orphan", 0.01, sim.exponential(60.0), None),  # no group serves it
            sim.Queue("orphan_impatient", 0.01, sim.exponential(60.0), sim.exponential(20.0)),
        ),
        (sim.Group("g", 8, ("served",)),),
    )
    run = sim.simulate(center, 20_000, seed=4)
    for name, q in run.queues.items():
        assert q["offered"] == q["answered"] + q["abandoned"] + q["stranded"], name
    assert run.queues["orphan"]["stranded"] == run.queues["orphan"]["offered"] > 0
    assert run.queues["orphan_impatient"]["abandoned"] == run.queues["orphan_impatient"]["offered"]
    assert run.events == run.contacts + run.queues["served"]["answered"] + sum(
        q["abandoned"] for q in run.queues.values()
    )


def test_rates_per_interval_shape_the_arrivals_and_seeds_repeat() -> None:
    center = sim.Center(
        (sim.Queue("q", [0.0, 0.5, 0.0, 0.1], sim.exponential(30.0)),),
        (sim.Group("g", 30, ("q",)),),
    )
    a = sim.simulate(center, 4 * 900.0, interval=900.0, seed=9)
    b = sim.simulate(center, 4 * 900.0, interval=900.0, seed=9)
    assert a.queues == b.queues and a.events == b.events
    offered = a.queues["q"]["offered"]
    assert abs(offered - 540) < 5 * math.sqrt(540)  # Poisson(0.5 * 900 + 0.1 * 900)
    with pytest.raises(ValueError, match="interval"):
        sim.simulate(center, 3600.0)


@pytest.mark.parametrize(
    ("center", "message"),
    [
        (sim.Center((), ()), "at least one queue"),
        (one_queue(-1.0, sim.exponential(1.0), 1, None), "rates"),
        (
            sim.Center((sim.Queue("q", 1.0, sim.exponential(1.0)),), (sim.Group("g", 1, ("x",)),)),
            "unknown queues",
        ),
        (one_queue(1.0, sim.exponential(1.0), -1, None), "agents"),
    ],
)
def test_bad_centers_are_refused(center: sim.Center, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sim.simulate(center, 100.0)


def test_bad_distributions_and_replications_are_refused() -> None:
    with pytest.raises(ValueError, match="mean"):
        sim.exponential(0.0)
    with pytest.raises(ValueError, match="cv"):
        sim.lognormal(10.0, -1.0)
    with pytest.raises(ValueError, match="2 replications"):
        sim.replicate(one_queue(1.0, sim.exponential(1.0), 2, None), 100.0, replications=1)
    assert np.all(sim.gamma(5.0, 0.3)(np.random.default_rng(0), 1000) > 0)
