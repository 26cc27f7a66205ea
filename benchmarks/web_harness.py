"""What the web benchmarks (``web_chat``, ``web_contacts``) share: the server process (the app as
``joignable serve`` runs it, on a fresh seeded ledger), the client processes and their JSON-line
conversation with the parent, the CPU taken from /proc, py-spy, and the tally's arithmetic.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from benchmarks.scenario import percentile

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "web"
PASSWORD = "bench-password"
TICKS = os.sysconf("SC_CLK_TCK")


# -- the server process ------------------------------------------------------------------------


def seed_org(services: Any, agents: int, capacity: int) -> str:
    """One chat queue, ``agents`` agents with their logins, and an API token (returned) that may
    create and read contacts."""
    from joignable.core.model import AgentConfig, Channel, QueueConfig, Settings
    from joignable.web.accounts import Role

    center, accounts = services.center, services.accounts
    center.run("configure", Settings(offer_timeout=60.0, wrapup_limit=120.0))
    center.run("define_skill", "chat", "Chat")
    center.run("configure_queue", QueueConfig(id=TOPIC, name="Web", requirements={"chat": 1}))
    configs = [
        AgentConfig(
            id=f"a{i:04d}", name=f"Agent {i}", skills={"chat": 5}, capacity={Channel.CHAT: capacity}
        )
        for i in range(agents)
    ]
    _, last = center.submit_many([("configure_agent", (c,), {}) for c in configs])
    center.wait_durable(last)
    for c in configs:
        accounts.create_user(c.id, PASSWORD, Role.AGENT, c.name, c.id)
    _, secret = accounts.create_token("benchmark", ["contacts:write", "contacts:read"], "bench")
    return str(secret)


def serve_child() -> None:
    """The server: ``python -c 'from benchmarks.web_harness import serve_child; serve_child()'``
    with its options as one JSON document on stdin.
    Prints one JSON line (the API token) once seeded, then serves until terminated."""
    from argon2 import PasswordHasher

    from joignable.bootstrap import open_services
    from joignable.web.app import create_app
    from joignable.web.cli import run_server

    cfg = json.loads(sys.stdin.readline())
    # Logging in is set-up, not what is measured: a cheap hash keeps 300 logins quick.
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    services = open_services(cfg["db"], hasher=hasher)
    try:  # uvicorn stops on SIGTERM
        token = seed_org(services, cfg["agents"], cfg["capacity"])
        print(json.dumps({"token": token}), flush=True)
        sys.stdout = sys.stderr  # uvicorn's access log: the log file, not the closed pipe
        os.dup2(2, 1)
        run_server(create_app(services), port=cfg["port"])
    finally:
        services.close()


class Server:
    """A server process on a fresh ledger in ``tmp``, listening on a loopback port."""

    def __init__(self, tmp: str, agents: int, capacity: int) -> None:
        self.db = os.path.join(tmp, "ledger.db")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a free port
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(tmp, "server.log"), "w+b")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from benchmarks.web_harness import serve_child; serve_child()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        cfg = {"db": self.db, "agents": agents, "capacity": capacity, "port": self.port}
        self.proc.stdin.write((json.dumps(cfg) + "\n").encode())
        self.proc.stdin.close()
        line = self.proc.stdout.readline()
        self.proc.stdout.close()
        if not line:
            raise RuntimeError(f"the server did not start:\n{self.tail()}")
        self.token: str = json.loads(line)["token"]
        self.pid = self.proc.pid
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"the server is not answering:\n{self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def profile(pid: int, seconds: float, path: str | None) -> subprocess.Popen[bytes] | None:
    """With ``path``, py-spy (beside this Python, or on PATH) samples the server for
    ``seconds``: a flame graph (.svg) or its raw folded stacks (any other name)."""
    if not path:
        return None
    exe = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy")
    if exe is None:
        raise RuntimeError("--profile needs py-spy (pip install py-spy)")
    fmt = "flamegraph" if path.endswith(".svg") else "raw"
    cmd = [exe, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds)))]
    cmd += ["--rate", "50", "--nonblocking", "--format", fmt, "-o", path]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# -- the client processes and the parent's side ---------------------------------------------


def start_clients(target: str, configs: list[dict[str, Any]]) -> list[subprocess.Popen[bytes]]:
    """One client process per config, running ``target`` (``module:function``, which reads its
    config as the first JSON line on stdin), each told its config."""
    module, func = target.split(":")
    clients: list[subprocess.Popen[bytes]] = []
    try:
        for cfg in configs:
            proc = subprocess.Popen(
                [sys.executable, "-c", f"from {module} import {func} as c; c()"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            clients.append(proc)
            tell(proc, cfg)
    except BaseException:
        for p in clients:  # none is left behind if one could not start
            p.kill()
            p.wait()
        raise
    return clients


def read(proc: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    """The next JSON line a child prints (within ``timeout`` seconds)."""
    import select

    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else b""
    if not line:
        raise RuntimeError(f"client process {proc.pid} said nothing (exit {proc.poll()})")
    out: dict[str, Any] = json.loads(line)
    return out


def tell(proc: subprocess.Popen[bytes], doc: dict[str, Any]) -> None:
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(doc) + "\n").encode())
    proc.stdin.flush()


def cpu_snapshot(server: Server, clients: list[subprocess.Popen[bytes]]) -> list[float]:
    """CPU seconds so far: the server's first, then each client's."""
    return [cpu_seconds(server.pid), *(cpu_seconds(p.pid) for p in clients)]


def cores(before: list[float], after: list[float], span: float) -> tuple[float, float]:
    """(server, all clients) cores used between two snapshots ``span`` seconds apart."""
    clients = sum(b - a for a, b in zip(before[1:], after[1:], strict=True))
    return round((after[0] - before[0]) / span, 2), round(clients / span, 2)


def shut_down(clients: list[subprocess.Popen[bytes]], server: Server | None, tmp: str) -> None:
    """Ends what is still running and removes the ledger's directory."""
    for p in clients:
        if p.poll() is None:
            p.kill()
        p.wait()
    if server is not None:
        server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def merged(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The client processes' counters added up (errors, receipts)."""
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return dict(total)


def latency_ms(values: list[float], points: tuple[float, ...] = (50, 99)) -> dict[str, float]:
    """Percentiles (``p50``...) and the max of latencies in ms, rounded to 0.1 ms."""
    lat = sorted(values)
    out = {f"p{p:g}": round(percentile(lat, p), 1) if lat else 0.0 for p in points}
    out["max"] = round(lat[-1], 1) if lat else 0.0
    return out


# -- a light HTTP client for the clients' hot path -------------------------------------------


class HttpPool:
    """Keep-alive HTTP/1.1 connections to the server, written by hand on asyncio streams: httpx
    costs a client about 8 ms of CPU a request, so at hundreds of requests a second the clients
    would measure themselves. Enough HTTP for this server's answers (a status line, headers, a
    ``content-length`` body). A connection idle for ``expiry`` s is dropped before the server's
    keep-alive (5 s) ends it: a request sent on a connection the server is closing would fail."""

    def __init__(self, base: str, size: int, expiry: float = 2.0, local: str | None = None) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.local = None if local is None else (local, 0)  # the clients' own address
        self.authority = base.removeprefix("http://")
        self.expiry = expiry
        self.free = size
        self.idle: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.freed = asyncio.Condition()

    async def _take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        now = time.monotonic()
        while self.idle:
            at, reader, writer = self.idle.pop()
            if now - at < self.expiry:
                return reader, writer
            writer.close()
            self.free += 1
        async with self.freed:
            await self.freed.wait_for(lambda: self.free > 0 or bool(self.idle))
        if self.idle:
            return await self._take()
        self.free -= 1
        try:
            return await asyncio.open_connection(self.host, self.port, local_addr=self.local)
        except BaseException:
            await self._give(None)
            raise

    async def _give(
        self, streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None
    ) -> None:
        if streams is None:
            self.free += 1
        else:
            self.idle.append((time.monotonic(), *streams))
        async with self.freed:
            self.freed.notify()

    async def request(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        """``(status, body)``; ``body`` (if not None) is sent as JSON."""
        status, _, content = await self.exchange(method, path, body, headers)
        return status, content

    async def exchange(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, list[bytes], bytes]:
        """``(status, header lines, body)``; ``body`` (if not None) is sent as JSON."""
        data = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.authority}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            head.append("Content-Type: application/json")
        head.append(f"Content-Length: {len(data)}\r\n\r\n")
        reader, writer = await self._take()
        try:
            writer.write("\r\n".join(head).encode() + data)
            answer = await reader.readuntil(b"\r\n\r\n")
            status = int(answer[9:12])
            length, close = 0, False
            lines = answer.split(b"\r\n")[1:]
            for line in (x.lower() for x in lines):
                if line.startswith(b"content-length:"):
                    length = int(line[15:])
                elif line == b"connection: close":
                    close = True
            content = await reader.readexactly(length)
        except BaseException:
            writer.close()
            await self._give(None)
            raise
        if close:
            writer.close()
            await self._give(None)
        else:
            await self._give((reader, writer))
        return status, lines, content
