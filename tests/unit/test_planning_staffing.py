"""Staffing: the fewest agents that meet a target, checked against the models themselves."""

from __future__ import annotations

import numpy as np
import pytest

from joignable.planning.erlang_a import erlang_a
from joignable.planning.erlang_c import erlang_c
from joignable.planning.staffing import Target, staff

STRICT = "answered_within_t_over_offered"


def test_callcentrehelper_example_needs_14_agents_and_20_with_shrinkage() -> None:
    # callcentrehelper.com "Erlang C formula - made simple": 100 calls / 30 min, AHT 180 s,
    # 80 % in 20 s -> 14 agents; with 85 % maximum occupancy and 30 % shrinkage -> 20 scheduled.
    s = staff(100, 1800, 180, Target(0.8, 20))
    assert int(s.agents) == int(s.productive) == 14
    assert float(s.metrics.service_level[STRICT]) == pytest.approx(0.888350, abs=5e-7)
    s = staff(100, 1800, 180, Target(0.8, 20, max_occupancy=0.85), shrinkage=0.3)
    assert (int(s.productive), int(s.agents)) == (14, 20)


def test_occupancy_cap_alone_sets_the_staffing() -> None:
    s = staff(100, 1800, 180, Target(None, max_occupancy=0.5))
    assert int(s.productive) == 20  # 10 Erlangs at 50 % occupancy


@pytest.mark.parametrize(
    "target",
    [Target(0.8, 20), Target(0.95, 10), Target(None, asa=15.0), Target(0.9, 30, max_occupancy=0.8)],
)
def test_erlang_c_staffing_is_the_minimum(target: Target) -> None:
    arrivals = np.array([1.0, 12.0, 100.0, 733.0, 5000.0])
    s = staff(arrivals, 900, 240, target)
    rate = arrivals / 900
    assert np.all(target.met(erlang_c(rate, 240, s.productive, target.within)))
    assert not np.any(target.met(erlang_c(rate, 240, s.productive - 1, target.within)))


@pytest.mark.parametrize(
    "target",
    [
        Target(0.8, 20),
        Target(0.8, 20, sl_definition="answered_within_t_over_answered"),
        Target(0.9, 20, sl_definition="answered_or_abandoned_within_t_over_offered"),
        Target(None, max_abandon=0.05),
        Target(None, asa=30.0),
    ],
)
def test_erlang_a_staffing_is_the_minimum(target: Target) -> None:
    arrivals = np.array([3.0, 40.0, 400.0, 4000.0])
    s = staff(arrivals, 1800, 300, target, model="erlang-a", patience=90)
    rate = arrivals / 1800
    met = target.met(erlang_a(rate, 300, s.productive, 90, target.within))
    below = target.met(erlang_a(rate, 300, s.productive - 1, 90, target.within))
    assert np.all(met) and not np.any(below)


def test_erlang_a_may_staff_below_the_offered_load() -> None:
    # 1,000 Erlangs, impatient customers, at most 10 % abandons: fewer agents than Erlangs suffice
    # (a queue that sheds impatient callers is stable); a search starting at the load cannot see it.
    s = staff(10_000, 1800, 180, Target(None, max_abandon=0.10), model="erlang-a", patience=60)
    assert int(s.productive) < 1000
    assert float(s.metrics.p_abandon) <= 0.10


def test_vectorised_staffing_equals_one_interval_at_a_time() -> None:
    rng = np.random.default_rng(5)
    arrivals = rng.uniform(0, 300, (4, 6))
    aht = rng.uniform(60, 600, (4, 6))
    for model in ("erlang-c", "erlang-a"):
        s = staff(arrivals, 900, aht, Target(0.8, 20), model=model, patience=120, shrinkage=0.25)
        assert s.agents.shape == (4, 6)
        for i, j in np.ndindex(4, 6):
            one = staff(
                arrivals[i, j],
                900,
                aht[i, j],
                Target(0.8, 20),
                model=model,
                patience=120,
                shrinkage=0.25,
            )
            assert int(one.agents) == s.agents[i, j]


def test_no_arrivals_need_no_agents() -> None:
    assert int(staff(0, 900, 180, Target(0.8, 20)).agents) == 0
    assert int(staff(0, 900, 180, Target(0.8, 20), model="erlang-a", patience=60).agents) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"arrivals": -1}, "arrivals"),
        ({"period": 0}, "period"),
        ({"aht": 0}, "aht"),
        ({"target": Target(1.0)}, "service-level target"),
        ({"target": Target(0.0)}, "service-level target"),
        ({"target": Target(0.8, sl_definition="callbacks_kept")}, "unknown service-level"),
        ({"target": Target(None)}, "at least one target"),
        ({"target": Target(0.8, asa=0)}, "ASA"),
        ({"target": Target(0.8, max_occupancy=1.5)}, "max_occupancy"),
        ({"model": "erlang-a"}, "patience"),
        ({"model": "erlang-x"}, "unknown model"),
        ({"shrinkage": 1.0}, "shrinkage"),
        ({"arrivals": float("nan")}, "arrivals"),
    ],
)
def test_bad_input_is_refused_with_a_message(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"arrivals": 100, "period": 1800, "aht": 180, "target": Target()}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        staff(**args)  # type: ignore[arg-type]


def test_erlang_a_occupancy_cap_alone_never_staffs_traffic_with_no_agent() -> None:
    # 0 agents have occupancy 0, which "met" any cap while 1 agent did not: the search then
    # stopped at either, depending on where it started
    arrivals = np.array([1.0, 2.0, 3.0, 5.0, 40.0])
    for cap in (0.3, 0.6, 0.9):
        target = Target(None, max_occupancy=cap)
        s = staff(arrivals, 900, 300, target, model="erlang-a", patience=60)
        rate = arrivals / 900
        assert np.all(s.productive >= 1)
        assert np.all(target.met(erlang_a(rate, 300, s.productive, 60)))
        assert not np.any(target.met(erlang_a(rate, 300, s.productive - 1, 60)))
