"""Web chat at scale: concurrent chat customers and agents through a real server over loopback.

A server process runs the app as ``joignable serve`` does (uvicorn, the same settings) on a
fresh SQLite ledger, seeded with one chat queue and ``agents`` agents (each a user of role agent,
taking up to ``capacity`` chats at once). Client processes (asyncio; HTTP on a light HTTP/1.1
client, ``web_harness.HttpPool``, since httpx costs about 8 ms of CPU a request and tens of ms
a client made; websockets for the streams) then do what the pages and desktops do:

- each agent logs in (a session cookie and its CSRF token), opens its stream (``/api/stream``),
  sets itself available, accepts every offer that stream brings, follows each chat it holds on
  its chat stream and answers each customer message after a short think time;
- each customer starts a chat (``POST /api/chat``, from its own loopback address: one address
  may start 20 a minute), follows it on its stream and, once answered, sends a message every
  ``interval`` seconds on average (exponential gaps).

Once every customer is in conversation the measured window opens for ``duration`` seconds.
Every message carries a unique id and its send time (``time.monotonic``, one clock for every
process of the machine), taken just before the POST: its delivery latency is the receipt on the
other side's stream minus that. Every acknowledged (201) message must arrive exactly once (lost
and duplicated are counted after a drain). The server's and the clients' CPU over the window come
from /proc. At the end the customers leave and the agents complete and wrap up each chat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from typing import Any

from benchmarks.scenario import bench_main, percentile
from benchmarks.web_harness import (
    PASSWORD,
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

STARTS_PER_ADDRESS = 15  # under the server's 20 chat starts a minute per address


# -- the client processes ----------------------------------------------------------------------


def error_code(answer: bytes) -> str:
    """The error code of an error answer ("" if it has none)."""
    try:
        return str(json.loads(answer)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


class Tally:
    """What one client process saw: latencies in the window, acknowledged and received ids."""

    def __init__(self) -> None:
        self.go = math.inf
        self.end = math.inf
        self.latencies: list[float] = []  # ms, messages sent inside the window
        self.acked: list[str] = []
        self.received: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.reconnects = 0
        self.counter = 0

    def text(self, prefix: str) -> tuple[str, str, float]:
        self.counter += 1
        mid = f"{prefix}{self.counter}"
        now = time.monotonic()
        return mid, f"bench {mid} {now:.6f}", now

    def receive(self, text: str) -> None:
        now = time.monotonic()
        parts = text.split()
        if len(parts) != 3 or parts[0] != "bench":
            return
        self.received[parts[1]] += 1
        sent = float(parts[2])
        if self.go <= sent < self.end:
            self.latencies.append((now - sent) * 1000.0)

    def error(self, what: str) -> None:
        self.errors[what] += 1


async def _client(cfg: dict[str, Any]) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosedError, InvalidHandshake

    base = cfg["base"]
    ws_base = "ws" + base[len("http") :]
    rng = random.Random(cfg["seed"])
    tally = Tally()
    prefix = f"p{cfg['index']}-"
    fast = HttpPool(base, cfg["connections"])
    go = asyncio.Event()
    leave = asyncio.Event()
    tasks: set[asyncio.Task[Any]] = set()
    answered: dict[str, asyncio.Event] = {}
    completed = 0

    def done(t: asyncio.Task[Any]) -> None:
        tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            tally.error(repr(t.exception())[:80])

    def spawn(coro: Any) -> None:
        t = asyncio.ensure_future(coro)
        tasks.add(t)
        t.add_done_callback(done)

    async def post(url: str, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        """A POST (on the light client: messages are the hot path); an answer of 400 or more,
        or none (the error is counted), is None, else the answer's body."""
        try:
            status, answer = await fast.request("POST", url, json, headers)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.error(repr(exc)[:80])
            return None
        if status >= 400:
            tally.error(f"{status} {error_code(answer)}")
            return None
        return answer

    async def follow(
        path: str,
        handle: Any,
        cookie: str | None = None,
        hello: str | None = None,
        opened: asyncio.Event | None = None,
    ) -> None:
        """Follow a stream until ``handle(message)`` says stop or the server closes it. A lost
        connection (or a handshake the busy server did not answer in time) is opened again
        with ``?after=`` the last seq received: the server resends what was missed, nothing
        twice (duplicates would show in the tally)."""
        last = 0
        headers = {"Cookie": cookie} if cookie else None
        while True:
            try:
                async with connect(
                    f"{ws_base}{path}?after={last}",
                    additional_headers=headers,
                    max_queue=None,
                    open_timeout=60,
                    # A browser answers the server's pings but sends none: it does not drop
                    # a stream because a busy server was slow to answer.
                    ping_interval=None,
                ) as ws:
                    if hello is not None:
                        await ws.send(hello)
                    if opened is not None:
                        opened.set()
                    async for raw in ws:
                        m = json.loads(raw)
                        seq = m.get("seq") or (m.get("message") or {}).get("seq")
                        if seq:
                            last = max(last, seq)
                        if handle(m):
                            return
                    return  # closed by the server
            except ConnectionClosedError as exc:
                if exc.rcvd is not None and exc.rcvd.code >= 4000:
                    return  # refused or ended by the server (4401, 4403): no point retrying
                tally.reconnects += 1
            except (OSError, TimeoutError, InvalidHandshake):
                tally.reconnects += 1
            await asyncio.sleep(0.5 + rng.random())

    # -- an agent ------------------------------------------------------------------------------

    async def send_reply(aid: str, contact: str, headers: dict[str, str]) -> None:
        await asyncio.sleep(rng.uniform(*cfg["think"]))
        if time.monotonic() >= tally.end:
            return
        mid, text, _ = tally.text(prefix)
        r = await post(
            f"/api/agents/{aid}/chats/{contact}/messages", json={"text": text}, headers=headers
        )
        if r is not None:
            tally.acked.append(mid)

    async def hold(aid: str, contact: str, headers: dict[str, str], cookie: str) -> None:
        nonlocal completed
        if await post(f"/api/agents/{aid}/offers/{contact}/accept", headers=headers) is None:
            return

        def handle(m: dict[str, Any]) -> bool:
            if m["type"] != "message":
                return False
            msg = m["message"]
            if msg["sender"] == "customer":
                tally.receive(msg["text"])
                spawn(send_reply(aid, contact, headers))
            return bool(
                msg["sender"] == "system" and msg["text"] in ("customer_left", "customer_gone")
            )

        await follow(f"/api/agents/{aid}/chats/{contact}/stream", handle, cookie)
        await post(f"/api/agents/{aid}/contacts/{contact}/complete", headers=headers)
        r = await post(
            f"/api/agents/{aid}/wrapups/{contact}", json={"disposition": "ok"}, headers=headers
        )
        completed += r is not None

    async def agent(aid: str) -> None:
        login = {"username": aid, "password": PASSWORD}
        status, lines, answer = await fast.exchange("POST", "/api/session", login)
        if status != 200:
            raise RuntimeError(f"login {aid}: {status} {answer[:80]!r}")
        cookie = next(  # this agent's session only
            x.split(b":", 1)[1].split(b";")[0].strip().decode()
            for x in lines
            if x.lower().startswith(b"set-cookie: joignable_session=")
        )
        headers = {"Cookie": cookie, "X-CSRF-Token": json.loads(answer)["csrf_token"]}

        def handle(m: dict[str, Any]) -> bool:
            if m["type"] == "offer_made" and m["event"]["agent"] == aid:
                spawn(hold(aid, m["event"]["contact"], headers, cookie))
            return False

        opened = asyncio.Event()
        following = asyncio.ensure_future(follow("/api/stream", handle, cookie, opened=opened))
        await opened.wait()
        presence = {"presence": "available"}
        status, answer = await fast.request("PUT", f"/api/agents/{aid}/presence", presence, headers)
        if status != 200:
            raise RuntimeError(f"presence {aid}: {status} {answer[:80]!r}")
        agents_ready.append(aid)
        await following

    # -- a customer ----------------------------------------------------------------------------

    async def customer(i: int, starter: HttpPool) -> None:
        start = {"name": f"Customer {i}", "topic": TOPIC}
        try:
            status, answer = await starter.request("POST", "/api/chat", start)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.error(f"start {exc!r}"[:80])
            ramp.release()
            return
        if status != 201:
            tally.error(f"start {status} {error_code(answer)}")
            ramp.release()
            return
        body = json.loads(answer)
        contact, token = body["contact"], body["token"]
        headers = {"X-Chat-Token": token}
        here = answered[contact] = asyncio.Event()

        def handle(m: dict[str, Any]) -> bool:
            if m["type"] == "state" and m["state"]["status"] == "connected":
                here.set()
            elif m["type"] == "message" and m["message"]["sender"] == "agent":
                tally.receive(m["message"]["text"])
            return bool(m["type"] == "message" and m["message"]["text"] == "customer_left")

        opened = asyncio.Event()
        hello = json.dumps({"token": token})
        following = asyncio.ensure_future(
            follow(f"/api/chat/{contact}/stream", handle, hello=hello, opened=opened)
        )
        await opened.wait()
        ramp.release()  # this customer is in: the next one may come

        async def talk() -> None:
            await here.wait()
            await go.wait()
            while True:
                gap = rng.expovariate(1.0 / cfg["interval"])
                # cut at the window's end: a long gap left customers asleep past the leave
                await asyncio.sleep(min(gap, max(0.0, tally.end - time.monotonic())))
                if time.monotonic() >= tally.end:
                    break
                mid, text, _ = tally.text(prefix)
                r = await post(
                    f"/api/chat/{contact}/messages", json={"text": text}, headers=headers
                )
                if r is not None:
                    tally.acked.append(mid)
            await leave.wait()
            await post(f"/api/chat/{contact}/leave", headers=headers)

        await asyncio.gather(talk(), following)

    # -- ramp up, wait for the go, run, drain, leave --------------------------------------------

    agents: list[str] = cfg["agents"]
    customers: list[int] = cfg["customers"]
    agents_ready: list[str] = []
    for aid in agents:
        spawn(agent(aid))
    starters = []
    for k in range(0, len(customers), STARTS_PER_ADDRESS):
        n = cfg["index"] * 1000 + k // STARTS_PER_ADDRESS
        local = f"127.1.{n // 250}.{n % 250 + 1}"  # one address for each few customers
        starters.append(HttpPool(base, 4, local=local))
    loop = asyncio.get_running_loop()
    t_ready = time.monotonic() + cfg["ramp_timeout"]  # for the whole ramp
    while len(agents_ready) < len(agents) and time.monotonic() < t_ready:
        await asyncio.sleep(0.1)  # the agents are logged in and available before customers come
    t_customers = time.monotonic()
    ramp = asyncio.Semaphore(cfg["ramp_inflight"])  # customers arriving at once
    for k, i in enumerate(customers):
        try:
            await asyncio.wait_for(ramp.acquire(), max(0.0, t_ready - time.monotonic()))
        except TimeoutError:
            break
        spawn(customer(i, starters[k // STARTS_PER_ADDRESS]))
    while len(answered) < len(customers) or not all(e.is_set() for e in answered.values()):
        if time.monotonic() > t_ready:
            break
        await asyncio.sleep(0.1)
    ready = sum(e.is_set() for e in answered.values())
    customers_s = time.monotonic() - t_customers
    print(json.dumps({"ready": ready, "customers_s": customers_s}), flush=True)
    line = await loop.run_in_executor(None, sys.stdin.readline)
    tally.go, tally.end = json.loads(line)["window"]
    go.set()
    await asyncio.sleep(max(0.0, tally.end - time.monotonic()) + cfg["drain"])
    print(json.dumps({"drained": True}), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # every process drained
    leave.set()
    deadline = time.monotonic() + 60
    while tasks and time.monotonic() < deadline:
        pending = [t for t in tasks if not t.done()]
        if all(t.get_coro().__name__ == "agent" for t in pending):  # type: ignore[union-attr]
            break
        await asyncio.sleep(0.1)
    result = {
        "ready": ready,
        "latencies": tally.latencies,
        "acked": tally.acked,
        "received": dict(tally.received),
        "errors": dict(tally.errors),
        "reconnects": tally.reconnects,
        "completed": completed,
    }
    # Told before closing thousands of connections, which may take long on a swamped server
    # (the parent ends this process once it has the tally).
    print(json.dumps(result), flush=True)
    for t in list(tasks):
        t.cancel()


def client_child() -> None:
    """A client process: its share of agents and customers as one JSON line on stdin; prints a
    ready line, waits for the window, prints a drained line, waits, then prints its tally."""
    asyncio.run(_client(json.loads(sys.stdin.readline())))


# -- the orchestration -------------------------------------------------------------------------


def run(
    *,
    chats: int = 2000,
    agents: int = 300,
    capacity: int | None = None,
    procs: int = 2,
    duration: float = 60.0,
    interval: float = 10.0,
    think: tuple[float, float] = (0.5, 2.0),
    drain: float = 4.0,
    ramp_inflight: int = 20,
    ramp_timeout: float = 900.0,
    seed: int = 42,
    tmpdir: str | None = None,
    profile_to: str | None = None,
) -> dict[str, Any]:
    """``capacity`` (chats per agent) defaults to what seats every customer at once;
    ``profile_to``: py-spy samples the server over the measured window into that file."""
    if capacity is None:
        capacity = max(1, math.ceil(chats / agents))
    tmp = tempfile.mkdtemp(prefix="joignable-webchat-", dir=tmpdir)
    server: Server | None = None
    clients: list[subprocess.Popen[bytes]] = []
    load = os.getloadavg()
    try:
        t0 = time.perf_counter()
        server = Server(tmp, agents, capacity)
        agent_ids = [f"a{i:04d}" for i in range(agents)]
        configs = [
            {
                "index": k,
                "base": server.base,
                "seed": seed * 1000 + k,
                "agents": agent_ids[k::procs],
                "customers": list(range(chats))[k::procs],
                "interval": interval,
                "think": think,
                "drain": drain,
                "ramp_inflight": ramp_inflight,
                "ramp_timeout": ramp_timeout,
                "connections": 400,
            }
            for k in range(procs)
        ]
        clients = start_clients("benchmarks.web_chat:client_child", configs)
        readies = [read(p, ramp_timeout + 120) for p in clients]
        ready = sum(r["ready"] for r in readies)
        ramp_s = time.perf_counter() - t0
        cpu0 = cpu_snapshot(server, clients)
        start = time.monotonic() + 0.5
        window = [start, start + duration]
        for p in clients:
            tell(p, {"window": window})
        time.sleep(max(0.0, window[0] - time.monotonic()))
        spy = profile(server.pid, duration, profile_to)
        time.sleep(max(0.0, window[1] - time.monotonic()))
        cpu1 = cpu_snapshot(server, clients)
        load_after = os.getloadavg()
        for p in clients:
            read(p, drain + 120)
        for p in clients:
            tell(p, {"leave": True})
        t1 = time.perf_counter()
        tallies = [read(p, 180) for p in clients]
        if spy is not None:
            spy.wait(60)
        leave_s = time.perf_counter() - t1
    finally:
        shut_down(clients, server, tmp)

    lat = sorted(x for t in tallies for x in t["latencies"])
    acked = [m for t in tallies for m in t["acked"]]
    received = merged(t["received"] for t in tallies)
    acked_set = set(acked)
    lost = sum(1 for m in acked_set if m not in received)
    duplicated = sum(n - 1 for n in received.values() if n > 1)
    span = duration
    server_cpu, clients_cpu = cores(cpu0, cpu1, span)

    return {
        "benchmark": "web_chat",
        "params": {
            "chats": chats,
            "agents": agents,
            "capacity": capacity,
            "duration_s": duration,
            "interval_s": interval,
            "think_s": list(think),
            "seed": seed,
        },
        "clients": {
            "processes": procs,
            "cpus": os.cpu_count(),
            "library": "asyncio HTTP/1.1 + websockets",
        },
        "load_before": [round(x, 2) for x in load],
        "load_after": [round(x, 2) for x in load_after],
        "ramp_s": round(ramp_s, 1),  # from the server's start: seeding and agents included
        "ramp_customers_s": round(max(r["customers_s"] for r in readies), 1),
        "leave_s": round(leave_s, 1),
        "in_conversation": ready,
        "messages": len(lat),
        "messages_per_s": round(len(lat) / span, 1),
        "latency_ms": latency_ms(lat, (50, 90, 99)),
        "acknowledged": len(acked),
        "lost": lost,
        "duplicated": duplicated,
        "unacknowledged_delivered": sum(1 for m in received if m not in acked_set),
        "errors": merged(t["errors"] for t in tallies),
        "reconnects": sum(t["reconnects"] for t in tallies),
        "completed": sum(t["completed"] for t in tallies),
        "server_cpu": server_cpu,  # cores (1.0: one core busy all the window)
        "clients_cpu": clients_cpu,
        "goal": {"p99_ms": 100.0},
        "meets_goal": bool(lat) and percentile(lat, 99) < 100.0,
        "ok": ready == chats and lost == 0 and duplicated == 0 and bool(lat),
    }


def format_result(r: dict[str, Any]) -> str:
    p, lat, c = r["params"], r["latency_ms"], r["clients"]
    return (
        f"web chat: {p['chats']:,} customers, {p['agents']} agents ({p['capacity']} chats each), "
        f"{r['in_conversation']:,} in conversation after {r['ramp_s']} s "
        f"(the customers' part {r['ramp_customers_s']} s); "
        f"{r['messages']:,} messages in {p['duration_s']:.0f} s ({r['messages_per_s']}/s): "
        f"delivery p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms, "
        f"max {lat['max']} ms; lost {r['lost']}, duplicated {r['duplicated']}, "
        f"{r['reconnects']} stream reconnections; "
        f"server CPU {r['server_cpu']} cores, clients {r['clients_cpu']} cores "
        f"({c['processes']} client processes, {c['cpus']} CPUs); "
        f"load {r['load_before'][0]} -> {r['load_after'][0]}; "
        f"{'meets' if r['meets_goal'] else 'misses'} p99 < {r['goal']['p99_ms']:.0f} ms"
        + (f"; errors {r['errors']}" if r["errors"] else "")
    )


QUICK: dict[str, Any] = {"chats": 200, "agents": 30, "duration": 15.0}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    def options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--chats", type=int)
        p.add_argument("--agents", type=int)
        p.add_argument("--capacity", type=int, help="chats per agent (default: seats everyone)")
        p.add_argument("--procs", type=int, help="client processes")
        p.add_argument("--duration", type=float, help="the measured window, seconds")
        p.add_argument("--interval", type=float, help="mean seconds between a customer's messages")
        p.add_argument("--tmpdir", default=None, help="where the ledger file goes (a real disk)")
        p.add_argument("--profile", dest="profile_to", help="py-spy the server: FILE.svg or raw")

    def kwargs(a: argparse.Namespace) -> dict[str, Any]:
        names = ["chats", "agents", "capacity", "procs", "duration", "interval", "tmpdir"]
        names.append("profile_to")
        return {n: getattr(a, n) for n in names if getattr(a, n) is not None}

    return bench_main(argv, __doc__, run, format_result, QUICK, options, kwargs)


if __name__ == "__main__":
    main()
