"""In-process routing: events per second of engine time, and per-command latency.

The pure engine (no ledger, no threads) is built with the seeded center of ``scenario`` (5,000
agents, 200 queues, 50 skills by default), every agent logs in, a warm-up runs, then the driver
sends a steady stream of commands: arrivals, accepts, rejects, completions, ends of wrap-up,
abandons. Each command call is timed with ``time.perf_counter_ns``; that time includes the timers
it fires, the events it emits and applies, and the routing it triggers. The driver's own
bookkeeping (choosing the next command, reading the events) is outside the timed region.

A "routing event" is every event the engine emits, whatever its type (arrivals, offers, accepts,
releases, ends, wrap-ups, requeues, presence changes): the count of what the ledger would store.
"""

from __future__ import annotations

import gc
import random
import time
from typing import Any

from benchmarks.scenario import (
    Clock,
    Driver,
    bench_main,
    build_layout,
    configure,
    conservation,
    percentile,
)
from joignable.center import settle_process
from joignable.core.engine import Engine
from joignable.core.errors import DomainError


def run(
    *,
    agents: int = 5000,
    queues: int = 200,
    skills: int = 50,
    commands: int = 300_000,
    warmup: int = 50_000,
    seed: int = 42,
    max_waiting: int = 400,
) -> dict[str, Any]:
    rng = random.Random(seed)
    layout = build_layout(rng, agents=agents, queues=queues, skills=skills)
    clock = Clock()
    engine = Engine(clock)
    t = time.perf_counter()
    configure(engine, layout)
    setup_s = time.perf_counter() - t
    driver = Driver(engine, clock, layout, rng, max_waiting=max_waiting)
    driver.observe(engine.take())
    t = time.perf_counter()
    driver.run(warmup)
    warmup_s = time.perf_counter() - t
    driver.reset_counts()

    take = engine.take
    observe = driver.observe
    perf = time.perf_counter_ns
    lat: list[int] = []
    record = lat.append
    by_type: dict[str, list[int]] = {}
    events = 0
    refused = 0
    samples: list[tuple[int, int]] = []
    sample_every = max(1, commands // 20)
    settle_process()  # as `joignable serve` does once its center is loaded
    wall = time.perf_counter()
    for i, (name, fn, args, kwargs) in enumerate(driver.steps(commands)):
        t0 = perf()
        try:
            fn(*args, **kwargs)
        except DomainError:
            refused += 1
        t1 = perf()
        record(t1 - t0)
        bt = by_type.get(name)
        if bt is None:
            bt = by_type[name] = []
        bt.append(t1 - t0)
        out = take()
        events += len(out)
        observe(out)
        if i % sample_every == 0:
            c = conservation(engine, driver.tally.arrived)
            samples.append((c["waiting"], c["free_agents"]))
    wall_s = time.perf_counter() - wall
    gc.unfreeze()  # this engine is dropped after the run: let its cycles be collected
    engine_ns = sum(lat)
    lat.sort()
    check = conservation(engine, driver.tally.arrived)
    return {
        "benchmark": "routing",
        "params": {
            "agents": agents,
            "queues": queues,
            "skills": skills,
            "commands": commands,
            "warmup": warmup,
            "seed": seed,
            "max_waiting": max_waiting,
        },
        "setup_s": round(setup_s, 3),
        "warmup_s": round(warmup_s, 3),
        "events": events,
        "engine_s": round(engine_ns / 1e9, 3),
        "events_per_s": round(events / (engine_ns / 1e9)),
        "commands_per_s": round(commands / (engine_ns / 1e9)),
        "wall_s": round(wall_s, 3),
        "events_per_wall_s": round(events / wall_s),
        "latency_us": {
            "p50": round(percentile(lat, 50) / 1000, 1),
            "p90": round(percentile(lat, 90) / 1000, 1),
            "p99": round(percentile(lat, 99) / 1000, 1),
            "p999": round(percentile(lat, 99.9) / 1000, 1),
            "max": round(lat[-1] / 1000, 1) if lat else 0.0,
        },
        "latency_by_command_us": {
            k: {
                "n": len(v),
                "p50": round(percentile(sorted(v), 50) / 1000, 1),
                "p99": round(percentile(sorted(v), 99) / 1000, 1),
                "mean": round(sum(v) / len(v) / 1000, 1),
            }
            for k, v in sorted(by_type.items())
        },
        "refused": refused,
        "commands_by_type": dict(sorted(driver.tally.commands.items())),
        "events_by_type": dict(sorted(driver.tally.events.items())),
        "ended_by_outcome": dict(sorted(driver.tally.ended.items())),
        "waiting_min_max": [min(s[0] for s in samples), max(s[0] for s in samples)],
        "free_agents_min_max": [min(s[1] for s in samples), max(s[1] for s in samples)],
        "check": check,
        "ok": check["lost"] == 0 and check["idle_with_work"] == 0,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return bench_main(argv, __doc__, run, format_result, {"commands": 60_000, "warmup": 20_000})


def format_result(r: dict[str, Any]) -> str:
    p, lat = r["params"], r["latency_us"]
    return (
        f"routing: {p['agents']} agents, {p['queues']} queues, {p['skills']} skills, "
        f"{p['commands']:,} commands after {p['warmup']:,} warm-up\n"
        f"  {r['events']:,} events in {r['engine_s']} s of engine time: "
        f"{r['events_per_s']:,} events/s ({r['commands_per_s']:,} commands/s); "
        f"wall incl. driver {r['wall_s']} s ({r['events_per_wall_s']:,} events/s)\n"
        f"  latency per command: p50 {lat['p50']} us, p90 {lat['p90']} us, p99 {lat['p99']} us, "
        f"p99.9 {lat['p999']} us, max {lat['max']} us\n"
        f"  waiting {r['waiting_min_max']}, free agents {r['free_agents_min_max']}, "
        f"refused {r['refused']}, check {r['check']}"
    )


if __name__ == "__main__":
    main()
