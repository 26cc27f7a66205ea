"""KPI projections: hand-computed scenarios driven through the real engine, and invariants.

Every expected figure below is worked out by hand from the timeline in the test, so a change of
definition shows up here as a change of number, not as a silent drift.
"""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joignable.core import events as ev
from joignable.core.engine import Engine
from joignable.core.errors import DomainError, InvalidInput
from joignable.core.model import (
    AgentConfig,
    Channel,
    Outcome,
    QueueConfig,
    Settings,
    WideningStep,
)
from joignable.ledger.kpis import (
    DEFAULT_SL,
    SL_DEFINITIONS,
    IntervalKpis,
    KpiProjection,
    LiveView,
    check_interval,
    kpis_from_events,
)
from tests.conftest import Clock

DAY0 = 1_699_920_000.0  # 2023-11-14 00:00:00 UTC, a day boundary
TEN = DAY0 + 10 * 3600  # 10:00:00
SALES = [f"s{i}" for i in range(1, 7)]


class Scene:
    """An engine, its clock in seconds after 10:00, and every event it emitted."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.events: list[ev.Event] = []
        self.callbacks: list[str] = []  # schedule_callback names its contacts itself
        self.take()

    def at(self, t: float) -> Engine:
        assert TEN + t >= self.clock.now, "the timeline must move forward"
        self.clock.now = TEN + t
        return self.engine

    def take(self) -> None:
        self.events.extend(self.engine.take())

    def agent_of(self, contact: str) -> str:
        agent = self.engine.state.contacts[contact].agent
        assert agent is not None, f"{contact} has no agent"
        return agent

    def answer(self, t: float, contact: str) -> str:
        agent = self.agent_of(contact)
        self.at(t).accept(agent, contact)
        return agent

    def complete(self, t: float, contact: str) -> None:
        self.at(t).complete(self.agent_of(contact), contact)

    def end_wrapup(self, t: float, contact: str) -> None:
        [agent] = [a.id for a in self.engine.state.agents.values() if contact in a.wrapups]
        self.at(t).end_wrapup(agent, contact)

    def finish(self, t_end: float, t_wrap: float, contact: str) -> None:
        self.complete(t_end, contact)
        self.end_wrapup(t_wrap, contact)

    def schedule(self, t: float, number: str) -> None:
        due = TEN + 1800  # 10:30
        self.callbacks.append(self.at(t).schedule_callback("sales", number, due=due).contact)


def center(clock: Clock) -> Scene:
    """sales (T=20 s, short abandon 5 s, overflow to help after 60 s), help; six sales agents
    and hal for help. Offers and wrap-ups never time out on their own here."""
    clock.now = TEN - 3600
    e = Engine(clock)
    e.configure(Settings(offer_timeout=1000, wrapup_limit=1000))
    e.define_skill("sales")
    e.define_skill("help")
    e.configure_queue(QueueConfig(id="help", requirements={"help": 1}))
    e.configure_queue(
        QueueConfig(
            id="sales",
            requirements={"sales": 1},
            sl_threshold=20,
            sl_target=0.8,
            short_abandon=5,
            widening=[WideningStep(after=60, overflow_to="help")],
        )
    )
    for a in SALES:
        e.configure_agent(AgentConfig(id=a, skills={"sales": 1}))
    e.configure_agent(AgentConfig(id="hal", skills={"help": 1}))
    return Scene(e, clock)


def run_day(scene: Scene) -> None:
    """Ten sales contacts arriving between 10:00 and 10:05 (t in seconds after 10:00).

    contact  arrives  answered  wait  talk        wrap   fate
    c1       0        5         5     60          10     answered within T
    c2       10       30        20    100         20     answered within T (exactly T)
    c3       20       45        25    60          10     answered late
    c4       30       31        1     60+60       30     answered, transferred to help at 91
    c5       40       -         3     -           -      short abandon
    c6       50       -         30    -           -      abandon after T
    c7       60       -         10    -           -      abandon within T
    c8       100      cb 1810   -     60          10     callback due 10:30, reached 10:30:10: kept
    c9       200      cb 2400   -     30          10     callback due 10:30, reached 10:40: missed
    c10      300      370       70    60          10     overflowed to help at 360, hal answers
    """
    s = scene
    s.at(0)
    for a in [*SALES, "hal"]:
        s.engine.set_presence(a, "available")
    s.at(0).arrive("sales", contact_id="c1")
    s.answer(5, "c1")
    s.at(10).arrive("sales", contact_id="c2")
    s.at(20).arrive("sales", contact_id="c3")
    s.answer(30, "c2")
    s.at(30).arrive("sales", contact_id="c4")
    s.answer(31, "c4")
    s.at(40).arrive("sales", contact_id="c5")
    s.at(43).abandon("c5")
    s.answer(45, "c3")
    s.at(50).arrive("sales", contact_id="c6")
    s.at(60).arrive("sales", contact_id="c7")
    s.complete(65, "c1")
    s.at(70).abandon("c7")
    s.end_wrapup(75, "c1")
    s.at(80).abandon("c6")
    s.at(91).transfer(s.agent_of("c4"), "c4", queue="help")
    assert s.agent_of("c4") == "hal"
    s.schedule(100, "+33 1 23 45 67 89")  # c8
    s.answer(101, "c4")
    s.complete(105, "c3")
    s.end_wrapup(115, "c3")
    s.complete(130, "c2")
    s.end_wrapup(150, "c2")
    s.complete(161, "c4")
    s.end_wrapup(191, "c4")
    s.schedule(200, "+33 1 98 76 54 32")  # c9
    for a in SALES:  # nobody left for sales: the next contact overflows
        s.at(290).set_presence(a, "away")
    s.at(300).arrive("sales", contact_id="c10")
    s.take()


def finish_day(scene: Scene) -> None:
    s = scene
    s.at(360).tick()  # overflow to help, offered to hal
    assert s.agent_of("c10") == "hal"
    s.answer(370, "c10")
    s.finish(430, 440, "c10")
    for a in SALES:
        s.at(1790).set_presence(a, "available")
    s.at(1800).tick()  # both callbacks fall due and are offered
    c8, c9 = s.callbacks
    s.answer(1810, c8)
    s.finish(1870, 1880, c8)
    s.answer(2400, c9)  # 600 s after the promise, over the 300 s tolerance
    s.finish(2430, 2440, c9)
    s.take()


@pytest.fixture
def day(clock: Clock) -> Scene:
    scene = center(clock)
    run_day(scene)
    return scene


def test_hand_computed_interval(day: Scene) -> None:
    live = LiveView()
    for e in day.events:
        live.apply(e)
    snap = live.snapshot(TEN + 330)
    assert snap["queues"]["sales"]["waiting"] == 1  # c10, 30 s into its wait
    assert snap["queues"]["sales"]["longest_wait"] == 30
    assert snap["queues"]["sales"]["callbacks_scheduled"] == 2
    assert snap["queues"]["sales"]["agents"]["away"] == 6
    assert snap["agents"]["hal"]["state"] == "available"
    assert snap["agents"]["s1"]["seconds_in_state"] == 40  # away since 10:04:50

    finish_day(day)
    waits = {e.contact: e.wait for e in day.events if isinstance(e, ev.ContactEnded)}
    assert {c: waits[c] for c in ("c5", "c6", "c7")} == {"c5": 3, "c6": 30, "c7": 10}
    p = kpis_from_events(day.events)
    [k] = p.intervals(queue="sales", start=TEN, end=TEN + 900)
    assert (k.start, k.end) == (TEN, TEN + 900)
    assert k.offered == 10
    assert (k.answered, k.answered_within_t) == (5, 3)  # c1 c2 c4 within; c3 c10 late
    assert (k.abandoned, k.abandoned_within_t, k.short_abandoned) == (3, 2, 1)
    assert (k.callbacks_requested, k.deflected, k.failed, k.waiting, k.open) == (2, 0, 0, 0, 0)
    assert (k.handled, k.callbacks_completed, k.callbacks_failed) == (5, 2, 0)
    assert k.outcomes["abandoned"] == 3
    assert k.sl == {
        "answered_within_t_over_offered": 3 / 10,
        "answered_within_t_over_answered": 3 / 5,
        "answered_within_t_over_offered_minus_short_abandons": 3 / 9,
        "answered_or_abandoned_within_t_over_offered": (3 + 2) / 10,
        "callbacks_kept": None,  # no promise fell due between 10:00 and 10:15
    }
    assert (k.sl_threshold, k.sl_target, k.short_abandon, k.sl_met) == (20, 0.8, 5, False)
    assert k.asa == pytest.approx((5 + 20 + 25 + 1 + 70) / 5)
    assert k.longest_wait == 70
    # c1 c2 c3 c4 c10 and both callbacks: talk 60+100+60+120+60+60+30, wrap 10+20+10+30+10+10+10
    assert k.aht_count == 7
    assert k.talk == pytest.approx(490 / 7)
    assert k.wrap == pytest.approx(100 / 7)
    assert k.aht == pytest.approx(590 / 7)
    assert (k.transferred_out, k.overflowed_out, k.transferred_in, k.overflowed_in) == (1, 1, 0, 0)

    [h] = p.intervals(queue="help")
    assert (h.offered, h.transferred_in, h.overflowed_in) == (0, 1, 1)
    assert h.sl[DEFAULT_SL] is None and h.asa is None and h.aht is None

    [due] = p.intervals(queue="sales", start=TEN + 1800)
    assert (due.start, due.offered, due.callbacks_due, due.callbacks_kept) == (TEN + 1800, 0, 2, 1)
    assert due.sl["callbacks_kept"] == 0.5

    total = p.totals(queue="sales")
    assert (total.start, total.end) == (TEN, TEN + 2700)
    assert total.offered == 10 and total.sl["callbacks_kept"] == 0.5
    assert total.sl[DEFAULT_SL] == 0.3
    everything = p.totals()
    assert everything.queue is None and everything.transferred_in == 1
    assert everything.sl_threshold == 20  # both queues use 20 s: the common value is shown
    assert p.unmatched == 0


def test_live_view_follows_a_day(day: Scene) -> None:
    finish_day(day)
    live = LiveView()
    for seq, e in enumerate(day.events, 1):
        assert live.apply(e, seq)
    assert not live.apply(day.events[-1], len(day.events))  # already applied: skipped
    snap = live.snapshot(TEN + 2500)
    assert snap["agents_by_state"] == {
        "offline": 0,
        "available": 7,
        "reserved": 0,
        "busy": 0,
        "wrap-up": 0,
        "away": 0,
    }
    assert all(q["waiting"] == 0 and q["connected"] == 0 for q in snap["queues"].values())


def test_arrival_interval_boundary(clock: Clock) -> None:
    scene = center(clock)
    scene.at(899).arrive("sales", contact_id="early")  # 10:14:59
    scene.at(900).arrive("sales", contact_id="late")  # 10:15:00
    scene.at(905).abandon("early")
    scene.at(906).abandon("late")
    scene.take()
    p = kpis_from_events(scene.events)
    rows = p.intervals(queue="sales")
    assert [(r.start, r.offered, r.abandoned) for r in rows] == [
        (TEN, 1, 1),  # counted where it arrived, although it ended at 10:15:05
        (TEN + 900, 1, 1),
    ]
    assert rows[0].longest_wait == 6 and rows[1].longest_wait == 6
    half = kpis_from_events(scene.events, interval=1800)
    assert [(r.start, r.offered) for r in half.intervals(queue="sales")] == [(TEN, 2)]


def test_nothing_answered_gives_no_value_not_zero(clock: Clock) -> None:
    scene = center(clock)
    scene.at(0).arrive("sales", contact_id="x")
    scene.at(2).abandon("x")
    scene.take()
    [k] = kpis_from_events(scene.events).intervals(queue="sales")
    assert k.asa is None and k.aht is None and k.talk is None
    assert k.sl["answered_within_t_over_answered"] is None
    assert k.sl["answered_within_t_over_offered"] == 0.0  # one arrival, not served: a real 0
    # the only arrival was a short abandon: nothing left in that denominator
    assert k.sl["answered_within_t_over_offered_minus_short_abandons"] is None
    assert k.sl["answered_or_abandoned_within_t_over_offered"] == 1.0


def test_waiting_contacts_stay_out_of_service_level_until_decided(clock: Clock) -> None:
    scene = center(clock)
    scene.at(0).arrive("sales", contact_id="w")  # nobody logged in: it waits
    scene.take()
    p = kpis_from_events(scene.events)
    [k] = p.intervals(queue="sales")
    assert (k.offered, k.waiting, k.open) == (1, 1, 1)
    assert k.sl[DEFAULT_SL] is None
    scene.at(30).set_presence("s1", "available")
    scene.at(35).accept("s1", "w")
    scene.take()
    p2 = kpis_from_events(scene.events)
    [k2] = p2.intervals(queue="sales")
    assert (k2.waiting, k2.open, k2.answered, k2.answered_within_t) == (0, 1, 1, 0)
    assert k2.sl[DEFAULT_SL] == 0.0 and k2.asa == 35


def test_callback_failed_and_cancelled(clock: Clock) -> None:
    scene = center(clock)
    e = scene.engine
    e.configure(Settings(offer_timeout=1000, wrapup_limit=0, callback_max_attempts=1))
    scene.at(0).set_presence("s1", "available")
    due = TEN + 900  # 10:15, the next interval
    failed = e.schedule_callback("sales", "+33 1 11 11 11 11", due=due).contact
    cancelled = e.schedule_callback("sales", "+33 1 22 22 22 22", due=due).contact
    late_cancel = e.schedule_callback("sales", "+33 1 33 33 33 33", due=due).contact
    scene.at(100).abandon(cancelled)  # the customer withdrew before the promise: not due
    scene.at(900).tick()
    agent = scene.agent_of(failed)
    scene.at(910).accept(agent, failed)
    assert not scene.at(940).callback_not_reached(agent, failed)  # one attempt only: failed
    scene.at(1300).abandon(late_cancel)  # after due + 300 s without a call: a broken promise
    scene.take()
    p = kpis_from_events(scene.events)
    [k] = p.intervals(queue="sales", end=TEN + 900)
    assert (k.offered, k.callbacks_requested, k.abandoned) == (3, 3, 0)
    assert k.outcomes["abandoned"] == 2 and k.callbacks_failed == 1
    assert k.sl[DEFAULT_SL] == 0.0  # three arrivals, none answered live within T
    [d] = p.intervals(queue="sales", start=TEN + 900)
    assert (d.callbacks_due, d.callbacks_kept, d.sl["callbacks_kept"]) == (2, 0, 0.0)
    assert d.aht is None  # a failed callback is not a handled contact


def test_occupancy_clips_spans_to_intervals(clock: Clock) -> None:
    scene = center(clock)
    s = scene
    s.at(600).set_presence("s1", "available")  # 10:10
    s.at(720).arrive("sales", contact_id="a")  # 10:12, offered at once
    s.at(720).accept("s1", "a")
    s.at(1020).complete("s1", "a")  # 10:17
    s.at(1080).end_wrapup("s1", "a")  # 10:18
    s.at(1200).set_presence("s1", "away")  # 10:20
    s.at(1500).set_presence("s1", "available")  # 10:25
    s.at(1800).set_presence("s1", "offline")  # 10:30
    # s2 goes away in the middle of a call: still working, so still staffed until wrap-up ends
    s.at(2700).set_presence("s2", "available")  # 10:45
    s.at(2700).arrive("sales", contact_id="b")
    s.at(2700).accept("s2", "b")
    s.at(2760).set_presence("s2", "away")
    s.at(2820).complete("s2", "b")
    s.at(2880).end_wrapup("s2", "b")  # 10:48, then away: no longer staffed
    s.take()
    p = kpis_from_events(s.events)
    rows = [(o.start, o.staffed, o.handling, o.occupancy) for o in p.occupancy_intervals("s1")]
    assert rows == [
        (TEN, 300.0, 180.0, 0.6),  # staffed 10:10-10:15, working 10:12-10:15
        (TEN + 900, 600.0, 180.0, 0.3),  # 10:15-10:20 and 10:25-10:30; working 10:15-10:18
    ]
    s1 = p.occupancy(agent="s1")
    assert (s1.staffed, s1.handling, s1.occupancy) == (900.0, 360.0, 0.4)
    s2 = p.occupancy(agent="s2", start=TEN + 2700)
    assert (s2.staffed, s2.handling, s2.occupancy) == (180.0, 180.0, 1.0)
    everyone = p.occupancy()
    assert (everyone.staffed, everyone.handling) == (1080.0, 540.0)
    assert p.occupancy(start=TEN + 3600).occupancy is None  # nobody staffed: no value


def test_occupancy_counts_open_spans_up_to_now(clock: Clock) -> None:
    scene = center(clock)
    scene.at(0).set_presence("s1", "available")
    scene.at(100).arrive("sales", contact_id="a")
    scene.at(100).accept("s1", "a")
    scene.take()
    p = kpis_from_events(scene.events)
    closed = p.occupancy(agent="s1")  # only the idle span closed when the call began
    assert (closed.staffed, closed.handling) == (100.0, 0.0)
    o = p.occupancy(agent="s1", now=TEN + 1000)
    assert (o.staffed, o.handling) == (1000.0, 900.0)
    assert [r.staffed for r in p.occupancy_intervals("s1", now=TEN + 1000)] == [900.0, 100.0]


@pytest.mark.parametrize(
    "bad", [0, 59, 61, 7, -900, 86401, 900.5, "900", True, None, float("nan"), float("inf")]
)
def test_bad_intervals_are_refused_clearly(bad: object) -> None:
    with pytest.raises(InvalidInput, match="divides a day"):
        KpiProjection(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("good", [60, 300, 900, 1800, 3600, 86400, 900.0])
def test_good_intervals(good: int) -> None:
    assert check_interval(good) == int(good)
    assert KpiProjection(good).interval == int(good)


def test_seq_makes_apply_resumable_and_json_export(day: Scene) -> None:
    finish_day(day)
    once = KpiProjection()
    for seq, e in enumerate(day.events, 1):
        once.apply(e, seq)
    again = KpiProjection()
    half = len(day.events) // 2
    for seq, e in enumerate(day.events[:half], 1):
        again.apply(e, seq)
    for seq, e in enumerate(day.events, 1):  # a replay from the start after a restart
        again.apply(e, seq)
    assert again.to_dict() == once.to_dict()
    doc = msgspec.json.decode(msgspec.json.encode(once.to_dict()))
    assert list(doc["definitions"]) == list(SL_DEFINITIONS)
    assert doc["intervals"][0]["sl"].keys() == SL_DEFINITIONS.keys()
    # the ledger stores JSON: decoding it gives the same figures
    decoded = [ev.decode(ev.encode(e)) for e in day.events]
    assert kpis_from_events(decoded).to_dict() == {**once.to_dict(), "last_seq": 0}


def test_mid_stream_events_do_not_break_the_projection(day: Scene) -> None:
    finish_day(day)
    p = kpis_from_events(day.events[len(day.events) // 2 :])
    assert p.unmatched > 0
    for k in p.intervals():
        check_row(k)


def test_projections_read_events_only() -> None:
    """Derived from events alone: no routing state, so they run on any exported log."""
    import ast
    from pathlib import Path

    import joignable.ledger.kpis as kpis

    tree = ast.parse(Path(kpis.__file__).read_text())
    imported: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            imported |= {f"{n.module}", *(f"{n.module}.{a.name}" for a in n.names)}
        elif isinstance(n, ast.Import):
            imported |= {a.name for a in n.names}
    assert "joignable.core.events" in imported
    assert not imported & {"joignable.core.state", "joignable.core.engine"}


# -- invariants over random traffic ------------------------------------------------------------


def check_row(k: IntervalKpis) -> None:
    fates = k.answered + k.abandoned + k.callbacks_requested + k.deflected + k.failed
    assert k.offered == fates + k.waiting and k.waiting >= 0
    assert k.offered == sum(k.outcomes.values()) + k.open and k.open >= 0
    assert k.answered_within_t <= k.answered
    assert k.short_abandoned <= k.abandoned and k.abandoned_within_t <= k.abandoned
    assert k.callbacks_kept <= k.callbacks_due
    assert list(k.sl) == list(SL_DEFINITIONS)
    for v in k.sl.values():
        assert v is None or 0 <= v <= 1
    strict = k.sl[DEFAULT_SL]
    if strict is not None:
        for name, v in k.sl.items():
            if name != "callbacks_kept" and v is not None:
                assert strict <= v + 1e-12
    for v in (k.asa, k.aht, k.talk, k.wrap, k.longest_wait):
        assert v is None or v >= 0


# Repeated entries make the common commands common, so traffic is mostly answered and handled.
OPS = [
    *["arrive"] * 4,
    "arrive_chat",
    "arrive_cb",
    "schedule",
    *["wait"] * 4,
    *["available"] * 3,
    "away",
    "offline",
    *["accept"] * 6,
    "reject",
    *["complete"] * 4,
    "end_wrapup",
    *["abandon"] * 2,
    "callback",
    "not_reached",
    "transfer",
    "deflect",
    "fail",
]


def random_center(clock: Clock) -> Engine:
    e = Engine(clock)
    e.configure(
        Settings(
            offer_timeout=15, wrapup_limit=20, callback_retry_delay=60, callback_max_attempts=2
        )
    )
    e.define_skill("x")
    e.define_skill("y")
    e.configure_queue(QueueConfig(id="qy", requirements={"y": 1}, short_abandon=3))
    e.configure_queue(
        QueueConfig(
            id="qx",
            requirements={"x": 1},
            sl_threshold=10,
            widening=[WideningStep(after=30, overflow_to="qy")],
        )
    )
    caps = {Channel.VOICE: 1, Channel.CALLBACK: 1, Channel.CHAT: 2}
    e.configure_agent(AgentConfig(id="a", skills={"x": 1}, capacity=caps))
    e.configure_agent(AgentConfig(id="b", skills={"x": 1, "y": 1}, capacity=caps))
    e.configure_agent(AgentConfig(id="c", skills={"y": 1}, capacity=caps, max_missed=1))
    return e


def drive(e: Engine, clock: Clock, op: str, n: int) -> None:
    st_ = e.state
    agents = sorted(st_.agents)
    agent = agents[n % len(agents)]
    ag = st_.agents[agent]
    contacts = sorted(st_.contacts)
    contact = contacts[n % len(contacts)] if contacts else "none"
    queue = ("qx", "qy")[n % 2]
    if op == "arrive":
        e.arrive(queue)
    elif op == "arrive_chat":
        e.arrive(queue, channel="chat")
    elif op == "arrive_cb":
        e.arrive(queue, channel="callback", callback_number=f"+3310000{n:04d}")
    elif op == "schedule":
        e.schedule_callback(queue, f"+3320000{n:04d}", due=clock.now + n % 90)
    elif op == "wait":
        clock.advance(n % 45 + 0.5)
        e.tick()
    elif op in ("available", "away", "offline"):
        e.set_presence(agent, op)
    elif op == "accept" and ag.offers:
        e.accept(agent, sorted(ag.offers)[0])
    elif op == "reject" and ag.offers:
        e.reject(agent, sorted(ag.offers)[0])
    elif op == "complete" and ag.contacts:
        e.complete(agent, sorted(ag.contacts)[0])
    elif op == "end_wrapup" and ag.wrapups:
        e.end_wrapup(agent, sorted(ag.wrapups)[0])
    elif op == "abandon":
        e.abandon(contact)
    elif op == "callback":
        due = None if n % 2 else clock.now + n % 90
        e.request_callback(contact, f"+3330000{n:04d}", due=due)
    elif op == "not_reached" and ag.contacts:
        e.callback_not_reached(agent, sorted(ag.contacts)[0])
    elif op == "transfer" and ag.contacts:
        other = agents[(n + 1) % len(agents)]
        if n % 3:
            e.transfer(agent, sorted(ag.contacts)[0], queue=queue)
        else:
            e.transfer(agent, sorted(ag.contacts)[0], to_agent=other)
    elif op == "deflect":
        e.deflect(contact, consent=True)
    elif op == "fail":
        e.fail(contact, "test")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 400)), max_size=120),
    interval=st.sampled_from([60, 300, 900]),
)
def test_invariants_over_random_traffic(steps: list[tuple[str, int]], interval: int) -> None:
    clock = Clock(DAY0 + 10 * 3600 - 7)
    e = random_center(clock)
    events: list[ev.Event] = list(e.take())
    p = KpiProjection(interval)
    live = LiveView()
    for x in events:
        p.apply(x)
        live.apply(x)
    for op, n in steps:
        with contextlib.suppress(DomainError):  # a refused command changes nothing
            drive(e, clock, op, n)
        for x in e.take():
            events.append(x)
            p.apply(x)
            live.apply(x)
        # the live view agrees with the routing state after every command
        for aid, agent in e.state.agents.items():
            assert live.agent_state(aid) == agent.state_name()
    st_ = e.state
    snap = live.snapshot(clock.now)
    for q in ("qx", "qy"):
        assert snap["queues"][q]["waiting"] == st_.queue_live[q]
        longest = snap["queues"][q]["longest_wait"]
        assert longest is None or longest >= 0
    scheduled = sum(snap["queues"][q]["callbacks_scheduled"] for q in snap["queues"])
    assert scheduled == sum(1 for c in st_.contacts.values() if c.status.value == "scheduled")

    assert kpis_from_events(events, interval).to_dict() == p.to_dict()
    # the index by interval start selects exactly what a scan of every interval would
    bounds = [None, DAY0, DAY0 + 10 * 3600, DAY0 + 10 * 3600 + 7 * interval, DAY0 + 86_400]
    for q in [None, "qx", "qy", "nowhere"]:
        for lo in bounds:
            for hi in bounds:
                scan = [
                    a
                    for a in p._accs.values()
                    if (q is None or a.queue == q)
                    and (lo is None or a.start >= lo)
                    and (hi is None or a.start < hi)
                ]
                got = p._select(q, lo, hi)
                assert sorted(map(id, got)) == sorted(map(id, scan))
                assert [a.start for a in got] == sorted(a.start for a in got)
    for k in p.intervals():
        check_row(k)
    total = p.totals()
    check_row(total)
    assert total.open == len(st_.contacts)
    undecided = [
        c for c in st_.contacts.values() if c.accepted_at is None and not c.callback_number
    ]
    assert total.waiting == len(undecided)
    assert total.offered == sum(1 for x in events if isinstance(x, ev.ContactArrived))
    assert p.unmatched == 0
    for who in [None, "a", "b", "c"]:
        for o in p.occupancy_intervals(who, now=clock.now + 5):
            assert 0 <= o.handling <= o.staffed + 1e-9
            assert o.staffed <= interval * (3 if who is None else 1) + 1e-6


def _history(days: int, per_day: int, interval: int = 900) -> KpiProjection:
    """``days`` days of contacts on two queues, ``per_day`` a day spread over the day."""
    p = KpiProjection(interval)
    for q in ("sales", "billing"):
        p.apply(ev.QueueConfigured(at=DAY0, queue=QueueConfig(id=q)))
    n = 0
    for d in range(days):
        for i in range(per_day):
            at = DAY0 + d * 86_400 + i * (86_400 / per_day)
            n += 1
            q = "sales" if n % 2 else "billing"
            p.apply(ev.ContactArrived(at=at, contact=f"c{n}", channel=Channel.CHAT, queue=q))
            p.apply(ev.ContactEnded(at=at + 5, contact=f"c{n}", outcome=Outcome.ABANDONED, wait=5))
    return p


def test_todays_figures_cost_the_intervals_of_today_not_the_history() -> None:
    """The wallboard reads today's totals per queue at every refresh: counted in intervals
    looked at, a center up for 60 days pays what one up for 2 days pays."""
    visited = []
    for days in (2, 60):
        p = _history(days, per_day=96)  # one contact in each 15-minute interval
        today = DAY0 + (days - 1) * 86_400
        before = p.visited
        totals = {q: p.totals(q, today) for q in p.queues()}
        visited.append(p.visited - before)
        assert totals["sales"].offered + totals["billing"].offered == 96
        assert totals["sales"].abandoned == 48
        assert p.totals().offered == days * 96  # the whole history is still there
    assert visited[0] == visited[1] == 2 * 96  # each queue looks at today's 96 intervals


def test_a_callback_promised_in_an_earlier_interval_is_still_found_by_range() -> None:
    """Interval starts are kept sorted even when an accumulator is made out of order."""
    p = KpiProjection(900)
    p.apply(ev.ContactArrived(at=TEN + 3600, contact="late", channel=Channel.CHAT, queue="q"))
    p._acc("q", TEN)  # as a kept promise dated earlier would
    p.apply(ev.ContactArrived(at=TEN + 1800, contact="mid", channel=Channel.CHAT, queue="q"))
    assert [a.start for a in p._select("q", TEN, None)] == [TEN, TEN + 1800, TEN + 3600]
    assert [k.offered for k in p.intervals("q", TEN + 900)] == [1, 1]
