"""New contacts per second through the API: ``POST /api/contacts`` with an API token.

The server is the one of ``web_chat`` (uvicorn as ``joignable serve`` runs it, a fresh SQLite
ledger with ``synchronous=FULL``: every acknowledgement comes after an fsync, shared by the
requests of one group commit), its agents logged out, so each contact arrives and waits in line.
Client processes (asyncio streams, ``web_harness.HttpPool``) keep ``concurrency`` requests in
flight between them over loopback for ``duration`` seconds after a short warm-up. Afterwards,
with the server stopped, the ledger file is read back: every contact the API acknowledged (201)
must be there. The server's CPU per contact (from /proc) is the figure that holds on a busy
machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks.scenario import bench_main
from benchmarks.web_harness import (
    TOPIC,
    HttpPool,
    Server,
    cores,
    cpu_snapshot,
    latency_ms,
    merged,
    profile,
    read,
    shut_down,
    start_clients,
    tell,
)


async def _client(cfg: dict[str, Any]) -> dict[str, Any]:
    # httpx cost the clients about 8 ms of CPU a request (0.84 cores at 105/s): at 500/s they
    # alone would have needed more than the machine's 2 cores
    http = HttpPool(cfg["base"], cfg["concurrency"])
    auth = {"Authorization": f"Bearer {cfg['token']}"}
    loop = asyncio.get_running_loop()
    print(json.dumps({"ready": True}), flush=True)
    warm, go, end = json.loads(await loop.run_in_executor(None, sys.stdin.readline))["window"]
    acked: list[str] = []
    latencies: list[float] = []
    errors: dict[str, int] = {}
    n = 0

    async def worker(w: int) -> None:
        nonlocal n
        while (now := time.monotonic()) < end:
            n += 1
            body = {"queue": TOPIC, "channel": "chat", "customer": f"c{cfg['index']}-{n}"}
            try:
                status, answer = await http.request("POST", "/api/contacts", body, auth)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors[repr(exc)[:60]] = errors.get(repr(exc)[:60], 0) + 1
                continue
            done = time.monotonic()
            if status != 201:
                key = f"{status} {answer[:60].decode(errors='replace')}"
                errors[key] = errors.get(key, 0) + 1
                continue
            contact = json.loads(answer)["contact"]
            if go <= now and done < end:  # inside the window: counted and timed
                acked.append(contact)
                latencies.append((done - now) * 1000.0)
            else:
                acked.append("+" + contact)  # outside it: still checked in the ledger

    await asyncio.sleep(max(0.0, warm - time.monotonic()))
    await asyncio.gather(*(worker(w) for w in range(cfg["concurrency"])))
    return {"acked": acked, "latencies": latencies, "errors": errors}


def contacts_child() -> None:
    # Plain asyncio: under uvloop, a tally longer than the pipe's 64 KiB reached the parent cut
    # short (uvloop 0.23, Python 3.11).
    cfg = json.loads(sys.stdin.readline())
    print(json.dumps(asyncio.run(_client(cfg))), flush=True)


def _stored_contacts(db: str) -> set[str]:
    from joignable.core import events as ev
    from joignable.ledger.store import SQLiteStore

    store = SQLiteStore(db, readonly=True)
    try:
        return {e.contact for _, e in store.read() if isinstance(e, ev.ContactArrived)}
    finally:
        store.close()


def run(
    *,
    concurrency: int = 64,
    procs: int = 2,
    duration: float = 20.0,
    warmup: float = 3.0,
    agents: int = 50,
    seed: int = 42,
    tmpdir: str | None = None,
    profile_to: str | None = None,
) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="joignable-webcontacts-", dir=tmpdir)
    server: Server | None = None
    clients: list[subprocess.Popen[bytes]] = []
    load = os.getloadavg()
    try:
        server = Server(tmp, agents, 1)
        configs = [
            {
                "index": k,
                "base": server.base,
                "token": server.token,
                "concurrency": concurrency // procs + (k < concurrency % procs),
            }
            for k in range(procs)
        ]
        clients = start_clients("benchmarks.web_contacts:contacts_child", configs)
        for p in clients:
            read(p, 120)
        warm = time.monotonic() + 0.5
        window = [warm, warm + warmup, warm + warmup + duration]
        for p in clients:
            tell(p, {"window": window})
        time.sleep(max(0.0, window[1] - time.monotonic()))
        cpu0 = cpu_snapshot(server, clients)
        spy = profile(server.pid, duration, profile_to)
        time.sleep(max(0.0, window[2] - time.monotonic()))
        cpu1 = cpu_snapshot(server, clients)
        load_after = os.getloadavg()
        tallies = [read(p, 120) for p in clients]
        if spy is not None:
            spy.wait(60)
        server.stop()  # then the file holds everything that was acknowledged
        stored = _stored_contacts(server.db)
    finally:
        shut_down(clients, server, tmp)

    acked = [c.lstrip("+") for t in tallies for c in t["acked"]]
    counted = sum(1 for t in tallies for c in t["acked"] if not c.startswith("+"))
    lat = sorted(x for t in tallies for x in t["latencies"])
    missing = sum(1 for c in acked if c not in stored)
    errors = merged(t["errors"] for t in tallies)
    server_cpu, clients_cpu = cores(cpu0, cpu1, duration)

    rate = counted / duration
    return {
        "benchmark": "web_contacts",
        "params": {"concurrency": concurrency, "duration_s": duration, "warmup_s": warmup},
        "clients": {"processes": procs, "cpus": os.cpu_count(), "library": "asyncio streams"},
        "load_before": [round(x, 2) for x in load],
        "load_after": [round(x, 2) for x in load_after],
        "contacts": counted,
        "contacts_per_s": round(rate, 1),
        "latency_ms": latency_ms(lat),
        "acknowledged": len(acked),
        "stored": len(stored),
        "missing": missing,
        "errors": errors,
        "server_cpu": server_cpu,
        "server_cpu_ms_per_contact": round(server_cpu * 1000.0 / rate, 2) if counted else 0.0,
        "clients_cpu": clients_cpu,
        "goal": {"contacts_per_s": 500},
        "meets_goal": rate >= 500,
        "ok": counted > 0 and missing == 0 and not errors,
    }


def format_result(r: dict[str, Any]) -> str:
    lat, c = r["latency_ms"], r["clients"]
    return (
        f"web contacts: {r['contacts_per_s']:,} new contacts/s through POST /api/contacts "
        f"({r['params']['concurrency']} in flight, {c['processes']} client processes, "
        f"{c['cpus']} CPUs), latency p50 {lat['p50']} ms, p99 {lat['p99']} ms, "
        f"max {lat['max']} ms; "
        f"{r['acknowledged']:,} acknowledged, {r['missing']} missing from the ledger; "
        f"server CPU {r['server_cpu']} cores ({r['server_cpu_ms_per_contact']} ms a contact), "
        f"clients {r['clients_cpu']} cores; "
        f"load {r['load_before'][0]} -> {r['load_after'][0]}; "
        f"{'meets' if r['meets_goal'] else 'misses'} >= {r['goal']['contacts_per_s']}/s"
        + (f"; errors {r['errors']}" if r["errors"] else "")
    )


QUICK: dict[str, Any] = {"duration": 5.0, "warmup": 1.0}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    def options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--concurrency", type=int, help="requests in flight, all clients together")
        p.add_argument("--procs", type=int, help="client processes")
        p.add_argument("--duration", type=float, help="the measured window, seconds")
        p.add_argument("--tmpdir", default=None, help="where the ledger file goes (a real disk)")
        p.add_argument("--profile", dest="profile_to", help="py-spy the server: FILE.svg or raw")

    def kwargs(a: argparse.Namespace) -> dict[str, Any]:
        names = ("concurrency", "procs", "duration", "tmpdir", "profile_to")
        return {n: getattr(a, n) for n in names if getattr(a, n) is not None}

    return bench_main(argv, __doc__, run, format_result, QUICK, options, kwargs)


if __name__ == "__main__":
    main()
