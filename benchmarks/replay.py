"""Replay: rebuild the center's state from a long ledger.

A realistic ledger is generated first (not timed): the seeded center of ``scenario`` driven by the
same traffic as the routing benchmark, every event written by ``SQLiteStore.append`` in batches,
until the log holds ``events`` events (1,000,000 by default). Then, on that file:

- ``Center(store)``: what a restart costs, timed whole: read the rows, decode them, apply them
  (``replay``), then recovery (offers pending at the crash released, agents set offline, those
  events written durably), until it serves. With the live watchdog on, the watchdog then folds
  the whole log in the background: the time until it watches live is given too;
- the parts on their own: reading the rows from SQLite, decoding them, and the pure
  ``replay()`` of already-decoded events (the apply loop alone).

Correctness: the state rebuilt by ``replay()`` must equal the live engine's (``snapshot()``), and
the Center's state after recovery must equal the live engine's after the same recovery.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import tempfile
import time
from typing import Any

from benchmarks.durable import audit_available, disk_of
from benchmarks.scenario import Clock, Driver, bench_main, build_layout, configure
from joignable.center import Center
from joignable.core import events as ev
from joignable.core.engine import Engine, replay
from joignable.ledger.store import SQLiteStore


def generate(
    path: str, events: int, seed: int, agents: int, queues: int, skills: int
) -> tuple[Engine, int]:
    """Write a ledger of at least ``events`` events; return the live engine that made it and
    the number of commands it ran."""
    rng = random.Random(seed)
    layout = build_layout(rng, agents=agents, queues=queues, skills=skills)
    clock = Clock()
    engine = Engine(clock)
    store = SQLiteStore(path)
    seq = 0
    pending: list[tuple[int, ev.Event]] = []

    def sink(batch: list[ev.Event]) -> None:
        nonlocal seq
        for e in batch:
            seq += 1
            pending.append((seq, e))

    configure(engine, layout)
    sink(engine.take())
    driver = Driver(engine, clock, layout, rng)
    while seq < events:
        driver.run(min(20_000, max(1, (events - seq) // 2)), sink)
        store.append(pending)
        pending.clear()
    store.append(pending)
    store.close()
    return engine, sum(driver.tally.commands.values())


def run(
    *,
    events: int = 1_000_000,
    agents: int = 5000,
    queues: int = 200,
    skills: int = 50,
    seed: int = 42,
    watchdogs: tuple[bool, ...] | None = None,
    tmpdir: str | None = None,
) -> dict[str, Any]:
    if watchdogs is None:
        watchdogs = (False, True) if audit_available() else (False,)
    tmp = tempfile.mkdtemp(prefix="joignable-replay-", dir=tmpdir)
    disk = disk_of(tmp)
    try:
        path = os.path.join(tmp, "ledger.db")
        t = time.perf_counter()
        live, commands = generate(path, events, seed, agents, queues, skills)
        gen_s = time.perf_counter() - t
        live_snapshot = live.state.snapshot()
        size = os.path.getsize(path)

        # The parts, each on its own.
        store = SQLiteStore(path)
        n = store.last_seq()
        gc.collect()
        t = time.perf_counter()
        raw = [data for _seq, data in store.read_raw()]
        read_s = time.perf_counter() - t
        t = time.perf_counter()
        decode = ev.decode
        decoded = [decode(r) for r in raw]
        decode_s = time.perf_counter() - t
        del raw
        store.close()
        gc.collect()
        end_clock = Clock(live.state.last_at + 60.0)
        t = time.perf_counter()
        rebuilt = replay(decoded, end_clock)
        replay_s = time.perf_counter() - t
        replay_equal = rebuilt.state.snapshot() == live_snapshot
        del decoded, rebuilt
        gc.collect()

        # A restart, whole: Center(store) on a copy of the file (recovery appends to it).
        live.clock = end_clock
        live.recover(n)
        live.take()
        recovered_snapshot = live.state.snapshot()
        opens = []
        for wd in watchdogs:
            copy = os.path.join(tmp, f"copy-{int(wd)}.db")
            shutil.copyfile(path, copy)
            gc.collect()
            t = time.perf_counter()
            center = Center(SQLiteStore(copy), end_clock, watchdog=wd)
            open_s = time.perf_counter() - t
            # serving from here; the watchdog catches up with the log in the background
            center.watchdog_ready.wait()
            watch_s = time.perf_counter() - t
            equal = center.read(lambda e: e.state.snapshot()) == recovered_snapshot
            opens.append(
                {
                    "watchdog": wd,
                    "open_s": round(open_s, 2),
                    "watchdog_live_s": round(watch_s, 2),
                    "events_per_s": round(n / open_s),
                    "recovery_events": center.seq - n,
                    "alarms": len(center.alarms),
                    "state_equal": equal,
                }
            )
            center.close()
            del center
            os.remove(copy)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "benchmark": "replay",
        "params": {
            "events": events,
            "agents": agents,
            "queues": queues,
            "skills": skills,
            "seed": seed,
        },
        "disk": disk,
        "ledger": {
            "events": n,
            "commands": commands,
            "mb": round(size / 1e6, 1),
            "generate_s": round(gen_s, 1),
        },
        "read_s": round(read_s, 2),
        "decode_s": round(decode_s, 2),
        "replay_s": round(replay_s, 2),
        "replay_events_per_s": round(n / replay_s),
        "replay_equal": replay_equal,
        "center_open": opens,
        "ok": replay_equal and all(o["state_equal"] for o in opens),
    }


def format_result(r: dict[str, Any]) -> str:
    led = r["ledger"]
    lines = [
        f"replay: ledger of {led['events']:,} events ({led['commands']:,} commands, "
        f"{led['mb']} MB, generated in {led['generate_s']} s) on {r['disk']['fstype']}",
        f"  parts: read rows {r['read_s']} s, decode {r['decode_s']} s, "
        f"replay() {r['replay_s']} s ({r['replay_events_per_s']:,} events/s); "
        f"rebuilt state equals live: {r['replay_equal']}",
    ]
    for o in r["center_open"]:
        lines.append(
            f"  Center(store), watchdog {'on' if o['watchdog'] else 'off'}: serving after "
            f"{o['open_s']} s ({o['events_per_s']:,} events/s incl. recovery of "
            f"{o['recovery_events']:,} events)"
            + (f", watchdog live after {o['watchdog_live_s']} s" if o["watchdog"] else "")
            + f"; state equals live after recovery: {o['state_equal']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    def options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--events", type=int, default=None)
        p.add_argument("--tmpdir", default=None, help="where the ledger file goes (a real disk)")

    def kwargs(a: argparse.Namespace) -> dict[str, Any]:
        return {"tmpdir": a.tmpdir, **({"events": a.events} if a.events else {})}

    quick = {"events": 100_000, "watchdogs": (False,)}
    return bench_main(argv, __doc__, run, format_result, quick, options, kwargs)


if __name__ == "__main__":
    main()
