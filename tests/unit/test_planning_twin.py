"""Twin mode: the real routing core on a day of synthetic traffic, measured by the ledger."""

from __future__ import annotations

import math

import numpy as np
import pytest

from joignable.core import events as ev
from joignable.core.model import AgentConfig, QueueConfig, WideningStep
from joignable.planning import simulate as sim
from joignable.planning.erlang_a import erlang_a
from joignable.planning.twin import (
    Shift,
    Traffic,
    TwinCenter,
    run_twin,
    single_queue,
    staffed_shifts,
)

HOUR = 3600

# M/M/10+M: 4.2 calls a minute, AHT 2 min, mean patience 1 min (load 8.4 Erlangs).
LAM, AHT, PATIENCE, N, T, S = 4.2 / 60, 120.0, 60.0, 10, 20.0, 5.0


@pytest.fixture(scope="module")
def day() -> object:
    center = single_queue(
        [LAM * 900] * 96,
        [N],
        sim.exponential(AHT),
        patience=sim.exponential(PATIENCE),
        within=T,
        short_abandon=S,
    )
    return run_twin(center, seed=7)


def _hourly(result: object, metric: str) -> np.ndarray:
    """One value per hour after the first (the center starts empty: a warm-up hour is dropped).
    Hours are batch means: waits an hour apart are nearly independent, which single calls are
    not, so the spread of the hourly values gives an honest standard error."""
    values = []
    for h in range(1, 24):
        start = result.start + h * HOUR  # type: ignore[attr-defined]
        k = result.kpis.totals("q", start=start, end=start + HOUR)  # type: ignore[attr-defined]
        if metric == "abandon":
            values.append(k.abandoned / k.offered)
        elif metric == "asa":
            values.append(k.asa)
        else:
            values.append(k.sl[metric])
    return np.array(values, dtype=np.float64)


def _tolerance(values: np.ndarray) -> float:
    # 23 batch means: t(0.9995, 22) = 3.79, so a correct twin fails about once in 1,000 seeds.
    return 3.79 * float(values.std(ddof=1)) / math.sqrt(len(values))


@pytest.mark.parametrize(
    "metric",
    [
        "answered_within_t_over_offered",
        "answered_within_t_over_answered",
        "answered_or_abandoned_within_t_over_offered",
        "abandon",
        "asa",
    ],
)
def test_twin_agrees_with_erlang_a_on_m_m_n_m(day: object, metric: str) -> None:
    exact = erlang_a(LAM, AHT, N, PATIENCE, T, S)
    formula = {
        "abandon": float(exact.p_abandon),
        "asa": float(exact.asa),
        **{k: float(v) for k, v in exact.service_level.items()},
    }
    values = _hourly(day, metric)
    tol = _tolerance(values)
    assert abs(values.mean() - formula[metric]) <= tol, (values.mean(), formula[metric], tol)
    # The tolerance is sharp enough to tell one agent more or less apart on the default SL, the
    # abandon rate and ASA; the lenient definitions move less per agent: two.
    step = 1 if metric in ("answered_within_t_over_offered", "abandon", "asa") else 2
    for other in (N - step, N + step):
        e = erlang_a(LAM, AHT, other, PATIENCE, T, S)
        off = {
            "abandon": float(e.p_abandon),
            "asa": float(e.asa),
            **{k: float(v) for k, v in e.service_level.items()},
        }[metric]
        assert abs(values.mean() - off) > tol, (metric, other)


def test_nothing_is_lost_and_the_audit_is_clean(day: object) -> None:
    r = day
    assert r.refused == 0  # type: ignore[attr-defined]
    report = r.audit  # type: ignore[attr-defined]
    assert report.ok, report.text()
    assert report.balanced and not report.discrepancies
    c = report.counts
    assert c.arrived > 5000  # ~6,000 expected: a day of 4.2 a minute
    assert c.arrived == c.handled + c.abandoned + c.open
    assert c.open == 0  # with patience, every customer's fate is decided by the end
    total = r.kpis.totals("q")  # type: ignore[attr-defined]
    assert total.offered == c.arrived and total.handled == c.handled
    # measured AHT is the handle-time distribution's mean (exponential: sd = mean / sqrt(n))
    assert total.aht == pytest.approx(AHT, abs=4 * AHT / math.sqrt(total.aht_count))


def test_same_seed_same_events_other_seed_other_day() -> None:
    center = single_queue([20.0] * 8, [3], sim.exponential(AHT), patience=sim.exponential(60))
    a, b, c = (run_twin(center, seed=s) for s in (1, 1, 2))
    assert [ev.encode(e) for e in a.events] == [ev.encode(e) for e in b.events]
    assert len(a.events) != len(c.events) or a.events != c.events


def test_shifts_follow_a_staffing_plan() -> None:
    assert staffed_shifts([1, 2, 0, 1], 900) == [
        Shift("a0000", 0, 1800),
        Shift("a0000", 2700, 3600),
        Shift("a0001", 900, 1800),
    ]
    # nobody on in the second hour: every call of that hour waits for the third, or leaves
    center = single_queue(
        [30.0] * 4 + [0.0] * 4 + [10.0] * 4,
        [4] * 4 + [0] * 4 + [6] * 4,
        sim.exponential(60),
        patience=sim.exponential(600),
        interval=900,
    )
    r = run_twin(center, seed=3)
    assert r.audit.ok, r.audit.text()
    quiet = r.kpis.totals("q", start=r.start + HOUR, end=r.start + 2 * HOUR)
    assert quiet.offered == 0
    busy = r.kpis.occupancy(start=r.start, end=r.start + HOUR)
    assert busy.staffed == pytest.approx(4 * HOUR, rel=1e-9)  # 4 agents on for the first hour


def _two_skill_center(widen: bool) -> TwinCenter:
    """Billing (skill level 5) is understaffed; support agents have billing at level 3. Widening
    after 30 s lowers billing's requirement by 2, so support agents take the overflow."""
    widening = [WideningStep(after=30.0, lower_levels_by=2)] if widen else []
    queues = [
        QueueConfig(id="billing", requirements={"billing": 5}, widening=widening),
        QueueConfig(id="support", requirements={"support": 1}),
    ]
    agents = [AgentConfig(id=f"b{i}", skills={"billing": 6}) for i in range(3)] + [
        AgentConfig(id=f"s{i}", skills={"support": 5, "billing": 3}) for i in range(8)
    ]
    shifts = [Shift(a.id, 0, 4 * HOUR) for a in agents]
    traffic = [
        Traffic("billing", [40.0] * 16, sim.exponential(180), sim.exponential(120)),
        Traffic("support", [30.0] * 16, sim.exponential(120), sim.exponential(120)),
    ]
    return TwinCenter(queues, agents, shifts, traffic, interval=900)


def test_a_routing_change_is_tried_on_the_twin() -> None:
    before = run_twin(_two_skill_center(False), seed=5)
    after = run_twin(_two_skill_center(True), seed=5)
    for r in (before, after):
        assert r.audit.ok, r.audit.text()
        assert r.refused == 0
    b, a = before.summary(), after.summary()
    # Same seed: the same customers arrive (arrivals are drawn before any routing).
    assert b["queues"]["billing"]["offered"] == a["queues"]["billing"]["offered"]
    # 160 billing calls an hour at 3 min on 3 agents: most abandon; widening rescues many.
    assert b["queues"]["billing"]["abandon_rate"] > 0.4
    assert a["queues"]["billing"]["abandon_rate"] < b["queues"]["billing"]["abandon_rate"] - 0.15
    # and support pays a visible but smaller price
    assert a["queues"]["support"]["abandon_rate"] >= b["queues"]["support"]["abandon_rate"]
    assert overflow_answers(after) > 0 and overflow_answers(before) == 0


def overflow_answers(r: object) -> int:
    """Billing calls answered by support agents."""
    queue_of = {}
    n = 0
    for e in r.events:  # type: ignore[attr-defined]
        if isinstance(e, ev.ContactArrived):
            queue_of[e.contact] = e.queue
        elif isinstance(e, ev.OfferAccepted):
            n += queue_of[e.contact] == "billing" and e.agent.startswith("s")
    return n


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interval": 7}, "interval"),
        ({"answer_delay": -1.0}, "answer_delay"),
        ({"shifts": [Shift("nobody", 0, 60)]}, "unknown agent"),
        ({"shifts": [Shift("a0000", 60, 60)]}, "start < end"),
        ({"traffic": [Traffic("nope", [1.0], sim.exponential(60))]}, "unknown queue"),
        ({"traffic": [Traffic("q", [-1.0], sim.exponential(60))]}, "0 or more"),
    ],
)
def test_bad_centers_are_refused(change: dict[str, object], message: str) -> None:
    import dataclasses

    center = dataclasses.replace(single_queue([1.0], [1], sim.exponential(60)), **change)
    with pytest.raises(ValueError, match=message):
        run_twin(center)


def test_slow_agents_miss_their_offers_and_the_books_still_balance() -> None:
    # Agents answer after 25 s, past the 20 s offer timeout: every offer times out, each agent
    # is set away after 3 misses (the core's rule), and the customers abandon. Nothing is lost.
    center = single_queue(
        [20.0] * 4, [3], sim.exponential(60), patience=sim.exponential(90), answer_delay=25.0
    )
    r = run_twin(center, seed=9)
    assert r.refused == 0 and r.audit.ok, r.audit.text()
    total = r.kpis.totals("q")
    assert total.answered == 0 and total.abandoned == total.offered > 40
    timeouts = [e for e in r.events if isinstance(e, ev.OfferReleased) and e.reason == "timeout"]
    away = [e for e in r.events if isinstance(e, ev.PresenceChanged) and e.presence == "away"]
    assert len(timeouts) == 9 and len(away) == 3


def test_callback_traffic_is_refused() -> None:
    import dataclasses

    from joignable.core.model import Channel

    center = single_queue([1.0], [1], sim.exponential(60))
    bad = dataclasses.replace(
        center, traffic=[Traffic("q", [1.0], sim.exponential(60), channel=Channel.CALLBACK)]
    )
    with pytest.raises(ValueError, match="voice, chat or e-mail"):
        run_twin(bad)


def _callback_day(share: float, reach: float, seed: int = 3) -> object:
    center = single_queue(
        [70.0] * 16 + [0.0] * 4,  # an hour with no arrivals: the agents make the last callbacks
        [8],
        sim.exponential(120),
        patience=sim.exponential(60),
        callback_share=share,
        reach=reach,
    )
    return run_twin(center, seed=seed)


def test_impatient_customers_ask_for_callbacks_and_every_one_is_accounted_for() -> None:
    # Overloaded (9.3 Erlangs on 8 agents): many run out of patience. Half ask to be called
    # back, and a callback attempt reaches the customer 70 % of the time (3 attempts at most).
    r = _callback_day(0.5, 0.7)
    assert r.refused == 0 and r.audit.ok, r.audit.text()  # type: ignore[attr-defined]
    k = r.kpis.totals("q")  # type: ignore[attr-defined]
    assert k.callbacks_requested > 50 and k.abandoned > 50
    # every callback was made, or failed at its last attempt
    assert k.open == 0 and k.callbacks_completed + k.callbacks_failed == k.callbacks_requested
    assert k.callbacks_failed > 0
    failed = [e for e in r.events if isinstance(e, ev.CallbackAttemptFailed)]  # type: ignore[attr-defined]
    assert len(failed) >= 3 * k.callbacks_failed  # each failed callback rang out 3 times
    assert {e.attempt for e in failed} == {1, 2, 3}
    # the other half hung up: about as many as asked for a callback
    assert 0.6 < k.callbacks_requested / k.abandoned < 1.6
    day = r.summary()["queues"]["q"]  # type: ignore[attr-defined]
    assert day["callbacks_requested"] == k.callbacks_requested


def test_with_every_customer_asking_and_reached_nobody_abandons() -> None:
    r = _callback_day(1.0, 1.0)
    k = r.kpis.totals("q")  # type: ignore[attr-defined]
    assert r.audit.ok and k.abandoned == 0 and k.callbacks_failed == 0  # type: ignore[attr-defined]
    assert k.callbacks_completed == k.callbacks_requested > 100
    assert k.handled + k.callbacks_completed == k.offered  # served at once, or called back
    # the same customers without callbacks: as many arrive, and the impatient ones hang up
    plain = _callback_day(0.0, 1.0).kpis.totals("q")  # type: ignore[attr-defined]
    assert plain.offered == k.offered and plain.abandoned > 100 and plain.callbacks_requested == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"callback_share": 1.5}, "callback_share must be between 0 and 1"),
        ({"reach": -0.1}, "reach must be between 0 and 1"),
        ({"callback_share": 0.5, "patience": None}, "callbacks are asked for at the patience"),
    ],
)
def test_bad_callback_traffic_is_refused(change: dict[str, object], message: str) -> None:
    import dataclasses

    center = single_queue([1.0], [1], sim.exponential(60), patience=sim.exponential(60))
    traffic = dataclasses.replace(center.traffic[0], **change)
    with pytest.raises(ValueError, match=message):
        run_twin(dataclasses.replace(center, traffic=[traffic]))


def test_callbacks_need_a_queue_that_takes_them() -> None:
    import dataclasses

    import msgspec

    center = single_queue(
        [1.0], [1], sim.exponential(60), patience=sim.exponential(60), callback_share=0.5
    )
    closed = msgspec.structs.replace(center.queues[0], callbacks_allowed=False)
    with pytest.raises(ValueError, match="does not take callbacks"):
        run_twin(dataclasses.replace(center, queues=[closed]))
