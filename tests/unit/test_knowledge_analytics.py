"""Analytics per flow, node and article, from recorded runs; content health flags."""

from __future__ import annotations

from joignable.knowledge.analytics import DAY, RunRecord, health, report
from joignable.knowledge.demo import demo_base
from joignable.knowledge.review import Actor, Catalog
from joignable.knowledge.runner import Runner, State

EVE = Actor("eve", "expert")
BASE = demo_base()


def run(answers: list[object], facts: dict[str, object] | None = None, t0: float = 0.0) -> State:
    r = Runner(BASE)
    s = r.start("fr-no-internet", facts, at=t0)  # type: ignore[arg-type]
    for i, a in enumerate(answers):
        s = r.answer(s, a, at=t0 + 10.0 * (i + 1))
    return s


def test_counts_per_flow_node_and_article() -> None:
    runs = [
        RunRecord(run(["red"])),  # escalate, red light article
        RunRecord(run(["off", True]), confirmed_solved=True),  # reboot fixed it
        RunRecord(run(["off", False])),  # hand-over
        RunRecord(run(["white"])),  # abandoned at the Ethernet question
        RunRecord(run([], {"area_outage": True})),  # outage article, no question
    ]
    rep = report(BASE, runs, opened={"fr-reboot-box": 2})
    fs = rep.flows["fr-no-internet"]
    assert (fs.runs, fs.escalated, fs.resolved, fs.handed_over, fs.abandoned, fs.deflected) == (
        5,
        1,
        2,
        1,
        1,
        1,
    )
    light = fs.nodes["fr-no-internet/ask_light"]
    assert (light.visits, light.answered, light.drop_offs) == (4, 4, 0)
    assert light.mean_seconds == 10.0
    assert fs.nodes["fr-no-internet/ask_wifi_only"].drop_offs == 1
    assert rep.articles["fr-reboot-box"].shown == 3 and rep.articles["fr-reboot-box"].resolved == 1
    assert rep.articles["fr-led-red"].resolution == 0.0
    assert rep.articles["fr-outage"].resolution == 1.0


def test_health_flags_stale_low_resolution_and_unused() -> None:
    catalog = Catalog()
    for a in ("fr-led-red", "fr-outage"):
        v = catalog.propose(BASE.articles[a], EVE, 0.0)
        catalog.submit(v.key, 1, EVE, 0.0)
        catalog.publish(v.key, 1, EVE, 0.0 if a == "fr-led-red" else 100 * DAY)
    rep = report(BASE, [RunRecord(run(["red"])) for _ in range(10)])
    flags = {(f.key, f.code): f.message for f in health(BASE, catalog, rep, now=200 * DAY)}
    assert flags[("article:fr-led-red", "stale")] == "not reviewed for 200 days"
    assert ("article:fr-outage", "stale") not in flags
    assert flags[("article:fr-led-red", "low-resolution")] == "resolves 0% of 10 uses"
    assert ("article:fr-outage", "never-used") in flags
    assert ("flow:fr-no-internet", "never-used") not in flags
    assert ("flow:en-no-internet", "never-used") in flags
