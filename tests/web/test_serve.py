"""``joignable serve`` for real: a process, a socket, the printed logins work."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_seeds_a_new_ledger_and_prints_working_logins(tmp_path: Path) -> None:
    port = _free_port()
    db = tmp_path / "demo.db"
    cmd = [sys.executable, "-m", "joignable.cli", "serve", "--db", str(db), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{base}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    logins = dict(re.findall(r"^  (\w+)\s+\S+\s+(\S+)", out, re.M))
    assert set(logins) == {"admin", "supervisor", "agent", "knowledge_expert"}, out
    assert proc.returncode == 0, out

    # A second start on the same ledger reuses it: no new passwords, the old ones work.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.post(
                    f"{base}/api/session",
                    json={"username": "supervisor", "password": logins["supervisor"]},
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start again"
                time.sleep(0.1)
        assert r.status_code == 200, r.text
        cookies = r.cookies
        live = httpx.get(f"{base}/api/stats/live", cookies=cookies)
        assert live.status_code == 200 and "billing" in live.json()["queues"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert "shown once" not in out
    assert all(password not in out for password in logins.values())  # nothing secret logged
    assert os.path.exists(db)
