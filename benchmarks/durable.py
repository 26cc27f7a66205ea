"""Durable throughput: whole contacts per second through the Center and the SQLite ledger.

Each contact runs the full path: ``arrive`` (routing offers it to a free agent in the same
command), ``accept`` and ``complete``: the issue's "arrive, offer, accept, complete", 3 commands
and 6 events (ContactArrived, OfferMade, OfferAccepted, ContactEnded, WrapupStarted and
WrapupEnded at once, the wrap-up limit being 0). With a wrap-up the agent also ends it
(``end_wrapup``): 4 commands, the same 6 events.
Every command is acknowledged only after its events are durable: the ledger is a real SQLite file
(WAL, ``synchronous=FULL``, so every commit is fsynced) in a temporary directory on the machine's
disk, and the Center's writer thread commits whatever has accumulated in one transaction (group
commit).

Two clients, both honest about acknowledgements:

- ``pipelined``: one client thread behaves like an async server holding ``inflight`` customer
  sessions. Each round it submits the next command of every session that is ready, as one batch
  (``center.submit_many``), then waits until the last of them is durable (``center.wait_durable``);
  only then are those commands acknowledged and their sessions move on. Nothing is acted upon
  before it is durable (an offer is accepted only after the arrival that made it is stored).
- ``threads``: ``threads`` client threads, each a synchronous client running one contact after
  the other with ``center.run`` (submit, then wait for durability), as a thread-per-request server
  would.

The center is the seeded 5,000 agents / 200 queues / 50 skills of ``scenario``, everyone logged
in. The live watchdog (the audit fed event by event inside the Center) is measured off and on.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from typing import Any

import msgspec

from benchmarks.scenario import bench_main, build_layout, percentile
from joignable.center import Center, Command, settle_process
from joignable.core import events as ev
from joignable.core.model import Channel
from joignable.core.state import Status
from joignable.ledger.store import SQLiteStore


def disk_of(path: str) -> dict[str, str]:
    """The filesystem a path lives on (a benchmark of fsync on tmpfs would measure nothing)."""
    try:
        out = subprocess.run(
            ["findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", path],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.split()
        return {"path": path, "device": out[0], "fstype": out[1]}
    except (OSError, subprocess.SubprocessError, IndexError):
        return {"path": path, "device": "?", "fstype": "?"}


def audit_available() -> bool:
    try:
        import joignable.ledger.audit  # noqa: F401
    except ImportError:
        return False
    return True


class Setup:
    """A Center on a fresh ledger file, configured, every agent logged in."""

    def __init__(
        self,
        tmp: str,
        rng: random.Random,
        agents: int,
        queues: int,
        skills: int,
        watchdog: bool,
        wrapup: bool = True,
    ) -> None:
        self.path = os.path.join(tmp, f"ledger-{time.monotonic_ns()}.db")
        self.layout = build_layout(rng, agents=agents, queues=queues, skills=skills)
        self.wrapup = wrapup
        if not wrapup:  # agents are ready again as soon as they complete
            self.layout.settings = msgspec.structs.replace(self.layout.settings, wrapup_limit=0.0)
        self.center = Center(SQLiteStore(self.path), time.time, watchdog=watchdog)
        c, lay = self.center, self.layout
        last = 0
        for cmd, arg in (
            [("configure", lay.settings)]
            + [("define_skill", s) for s in lay.skills]
            + [("configure_queue", q) for q in lay.queues]
            + [("configure_agent", a) for a in lay.agents]
        ):
            last = c.submit(cmd, arg)[1]
        for a in lay.agents:
            last = c.submit("set_presence", a.id, "available")[1]
        c.wait_durable(last, timeout=120)
        self.batches = 0
        self.events = 0
        c.subscribe(self._count)
        cum, acc = [], 0.0
        for w in lay.weights:
            acc += w
            cum.append(acc)
        self.cum = cum

    def _count(self, batch: list[tuple[int, ev.Event]]) -> None:
        self.batches += 1
        self.events += len(batch)

    def queue(self, rng: random.Random) -> tuple[str, Channel]:
        i = bisect.bisect_left(self.cum, rng.random() * self.cum[-1])
        q = self.layout.queues[min(i, len(self.cum) - 1)].id
        return q, self.layout.channel_of[q]


def _pipelined(
    s: Setup, rng: random.Random, contacts: int, warmup: int, inflight: int, depth: int = 2
) -> dict[str, Any]:
    center = s.center
    state = center.engine.state  # read between our own submits (we are the only client)
    # what a session does once its last command is durable
    after = {"arrive": "accept", "accept": "complete"}
    after["complete"] = "end_wrapup" if s.wrapup else "done"
    after["end_wrapup"] = "done"
    ready: list[tuple[str, str, str]] = []  # (next command, contact, agent)
    waiting: set[str] = set()  # arrived, not offered yet
    started = done = 0
    t_start = 0.0
    b0 = e0 = 0
    round_lat: list[int] = []
    perf = time.perf_counter_ns
    target = warmup + contacts
    # Two batches in flight, as an async server has: while one is being written, the next
    # one's commands run. A batch's sessions move on only once it is durable.
    outstanding: deque[tuple[int, list[tuple[str, str, str]], int]] = deque()
    share = max(1, inflight // depth)
    while done < target:
        while started < target and started - done < inflight:
            ready.append(("arrive", "", ""))
            started += 1
        if ready:
            # A round takes at most its share of the sessions in flight: sessions whose last
            # command is durable at the same time would otherwise move in lockstep, all in one
            # round, leaving nothing to run while that round is on disk (one batch in flight).
            batch, ready = ready[:share], ready[share:]
            commands: list[Command] = []
            for cmd, cid, agent in batch:
                if cmd == "arrive":
                    q, ch = s.queue(rng)
                    commands.append(("arrive", (q,), {"channel": ch}))
                elif cmd == "end_wrapup":
                    commands.append((cmd, (agent, cid), {"disposition": "ok"}))
                else:
                    commands.append((cmd, (agent, cid), {}))
            t0 = perf()
            results, last = center.submit_many(commands)
            acks: list[tuple[str, str, str]] = []
            for (cmd, cid, agent), res in zip(batch, results, strict=True):
                if isinstance(res, Exception):
                    raise res
                if cmd == "arrive":
                    cid = res.contact
                    c = state.contacts[cid]
                    if c.status is Status.OFFERED and c.agent is not None:
                        acks.append(("accept", cid, c.agent))
                    else:
                        waiting.add(cid)
                else:
                    acks.append((after[cmd], cid, agent))
            for cid in list(waiting):  # offered since, when an agent came out of wrap-up
                c = state.contacts[cid]
                if c.status is Status.OFFERED and c.agent is not None:
                    waiting.discard(cid)
                    acks.append(("accept", cid, c.agent))
            outstanding.append((last, acks, t0))
            if len(outstanding) < depth:
                continue
        if not outstanding:  # every session waits for an agent and nothing is in flight
            raise RuntimeError(f"stalled with {len(waiting)} contacts waiting for an agent")
        last, acks, t0 = outstanding.popleft()
        center.wait_durable(last)
        round_lat.append(perf() - t0)
        for ack in acks:
            if ack[0] == "done":
                done += 1
                if done == warmup:
                    t_start = time.perf_counter()
                    b0, e0 = s.batches, s.events
                    round_lat.clear()
            else:
                ready.append(ack)
    elapsed = time.perf_counter() - t_start
    round_lat.sort()
    per_contact = 4 if s.wrapup else 3
    return {
        "contacts": contacts,
        "elapsed_s": round(elapsed, 3),
        "contacts_per_s": round(contacts / elapsed),
        "commands_per_s": round(per_contact * contacts / elapsed),
        "events_per_s": round((s.events - e0) / elapsed),
        "commits": s.batches - b0,
        "events_per_commit": round((s.events - e0) / max(1, s.batches - b0), 1),
        "round_ms": {
            "p50": round(percentile(round_lat, 50) / 1e6, 2),
            "p99": round(percentile(round_lat, 99) / 1e6, 2),
            "max": round(round_lat[-1] / 1e6, 2) if round_lat else 0.0,
        },
    }


def _threads(s: Setup, seed: int, contacts: int, warmup: int, threads: int) -> dict[str, Any]:
    center = s.center
    lock = threading.Lock()
    counter = {"started": 0, "done": 0, "t0": 0.0, "b0": 0, "e0": 0}
    target = warmup + contacts
    lat: list[list[int]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def offered_to(cid: str) -> str | None:
        c = center.engine.state.contacts.get(cid)
        return c.agent if c is not None and c.status is Status.OFFERED else None

    def client(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        perf = time.perf_counter_ns
        mine = lat[k]
        try:
            while True:
                with lock:
                    if counter["started"] >= target:
                        return
                    counter["started"] += 1
                q, ch = s.queue(rng)
                t0 = perf()
                res = center.run("arrive", q, channel=ch)
                agent = center.read(lambda _e, cid=res.contact: offered_to(cid))
                while agent is None:  # no free agent yet: the offer comes when one frees up
                    time.sleep(0.001)
                    agent = center.read(lambda _e, cid=res.contact: offered_to(cid))
                center.run("accept", agent, res.contact)
                center.run("complete", agent, res.contact)
                center.run("end_wrapup", agent, res.contact, disposition="ok")
                mine.append(perf() - t0)
                with lock:
                    counter["done"] += 1
                    if counter["done"] == warmup:
                        counter["t0"] = time.perf_counter()
                        counter["b0"], counter["e0"] = s.batches, s.events
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    ts = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
    elapsed = time.perf_counter() - counter["t0"]
    measured = counter["done"] - warmup
    all_lat = sorted(x for xs in lat for x in xs)
    return {
        "threads": threads,
        "contacts": measured,
        "elapsed_s": round(elapsed, 3),
        "contacts_per_s": round(measured / elapsed),
        "commands_per_s": round(4 * measured / elapsed),
        "events_per_s": round((s.events - counter["e0"]) / elapsed),
        "commits": s.batches - counter["b0"],
        "events_per_commit": round(
            (s.events - counter["e0"]) / max(1, s.batches - counter["b0"]), 1
        ),
        "contact_ms": {  # one whole contact: 4 durable commands in a row
            "p50": round(percentile(all_lat, 50) / 1e6, 2),
            "p99": round(percentile(all_lat, 99) / 1e6, 2),
        },
    }


def _verify(s: Setup) -> dict[str, Any]:
    """After close: the file holds every event the center numbered, gapless, and every contact
    that arrived ended exactly once (or is still open)."""
    center = s.center
    last = center.seq
    center.close()
    store = SQLiteStore(s.path)
    arrived = ended = 0
    ends: set[str] = set()
    twice = 0
    expect = 1
    gaps = 0
    for seq, e in store.read_raw():
        if seq != expect:
            gaps += 1
        expect = seq + 1
        if b'"type":"contact_arrived"' in e:
            arrived += 1
        elif b'"type":"contact_ended"' in e:
            cid = ev.decode(e).contact  # type: ignore[union-attr]
            twice += cid in ends
            ends.add(cid)
            ended += 1
    stored = store.last_seq()
    store.close()
    size = os.path.getsize(s.path)
    return {
        "stored_seq": stored,
        "center_seq": last,
        "gaps": gaps,
        "arrived": arrived,
        "ended": ended,
        "ended_twice": twice,
        "ledger_mb": round(size / 1e6, 1),
        "ok": stored == last and gaps == 0 and twice == 0 and arrived >= ended,
    }


def run(
    *,
    agents: int = 5000,
    queues: int = 200,
    skills: int = 50,
    contacts: int = 60_000,
    warmup: int = 5_000,
    inflight: int = 1000,
    threads: int = 32,
    thread_contacts: int = 10_000,
    seed: int = 42,
    modes: tuple[str, ...] = ("pipelined", "threads"),
    watchdogs: tuple[bool, ...] | None = None,
    wrapups: tuple[bool, ...] = (False, True),
    tmpdir: str | None = None,
) -> dict[str, Any]:
    if watchdogs is None:
        watchdogs = (False, True) if audit_available() else (False,)
    tmp = tempfile.mkdtemp(prefix="joignable-bench-", dir=tmpdir)
    disk = disk_of(tmp)
    results: list[dict[str, Any]] = []
    try:
        # The contact is arrive, offer, accept, complete (no wrap-up: 3 commands);
        # with a wrap-up the agent also ends it (4 commands). Threads always wrap up.
        runs = [(m, wd, wu) for m in modes for wu in wrapups for wd in watchdogs]
        runs = [(m, wd, wu) for m, wd, wu in runs if m == "pipelined" or wu]
        for mode, wd, wu in runs:
            rng = random.Random(seed)
            t = time.perf_counter()
            s = Setup(tmp, rng, agents, queues, skills, wd, wu)
            setup_s = time.perf_counter() - t
            settle_process()  # as `joignable serve` does once its center is loaded
            if mode == "pipelined":
                r = _pipelined(s, rng, contacts, warmup, inflight)
                r["inflight"] = inflight
            else:
                r = _threads(s, seed, thread_contacts, warmup // 5, threads)
            r = {
                "mode": mode,
                "watchdog": wd,
                "wrapup": wu,
                "setup_s": round(setup_s, 2),
                **r,
            }
            r["alarms"] = len(s.center.alarms)
            r["check"] = _verify(s)
            results.append(r)
            os.remove(s.path)
            gc.unfreeze()  # this center is dropped: let its cycles be collected
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "benchmark": "durable",
        "params": {
            "agents": agents,
            "queues": queues,
            "skills": skills,
            "seed": seed,
            "synchronous": "FULL",
            "journal_mode": "WAL",
        },
        "disk": disk,
        "runs": results,
        "ok": all(r["check"]["ok"] for r in results),
    }


def format_result(r: dict[str, Any]) -> str:
    d = r["disk"]
    lines = [
        f"durable: SQLite WAL synchronous=FULL on {d['device']} ({d['fstype']}), "
        f"{r['params']['agents']} agents"
    ]
    for x in r["runs"]:
        who = (
            f"pipelined, {x['inflight']} sessions in flight"
            if x["mode"] == "pipelined"
            else f"{x['threads']} client threads"
        )
        lat = x.get("round_ms") or x.get("contact_ms")
        steps = "4 commands (wrap-up)" if x.get("wrapup", True) else "3 commands"
        lines.append(
            f"  {who}, {steps}, watchdog {'on' if x['watchdog'] else 'off'}: "
            f"{x['contacts_per_s']:,} contacts/s ({x['commands_per_s']:,} durable commands/s, "
            f"{x['events_per_s']:,} events/s), {x['commits']:,} commits "
            f"({x['events_per_commit']} events each), "
            f"{'round' if x['mode'] == 'pipelined' else 'contact'} latency {lat}, "
            f"check ok={x['check']['ok']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    def options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--tmpdir", default=None, help="where the ledger file goes (a real disk)")

    def kwargs(a: argparse.Namespace) -> dict[str, Any]:
        return {"tmpdir": a.tmpdir}

    quick = {"contacts": 10_000, "warmup": 2_000, "thread_contacts": 2_000, "watchdogs": (False,)}
    return bench_main(argv, __doc__, run, format_result, quick, options, kwargs)


if __name__ == "__main__":
    main()
