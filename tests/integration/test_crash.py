"""SIGKILL at random moments under load: after restart, every acknowledged contact is in the
ledger, the sequence has no gap, and the audit passes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from joignable.core import events as ev
from joignable.ledger.store import SQLiteStore

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


def run_and_kill(db: Path, seed: int, after: float) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(db), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    assert ready.strip() == "ready", proc.stderr.read() if proc.stderr else ""
    time.sleep(after)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err
    # The kill can cut the last line short ("ack c12" of "ack c123"): only whole lines count.
    whole = out.split("\n")[:-1]
    return {line.split()[1] for line in whole if line.startswith("ack ") and len(line.split()) == 2}


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_loses_no_acknowledged_contact(tmp_path: Path, seed: int) -> None:
    db = tmp_path / "crash.db"
    rng = random.Random(seed)
    acked: set[str] = set()
    for round_ in range(4):
        acked |= run_and_kill(db, seed * 10 + round_, rng.uniform(0.3, 1.2))
    assert len(acked) > 20  # the load was real

    store = SQLiteStore(db, readonly=True)
    log = list(store.read())
    assert [s for s, _ in log] == list(range(1, len(log) + 1))  # gapless
    arrived = {e.contact for _, e in log if isinstance(e, ev.ContactArrived)}
    assert acked <= arrived, f"lost acknowledged contacts: {sorted(acked - arrived)[:10]}"
    assert sum(isinstance(e, ev.Recovered) for _, e in log) >= 3

    audit = pytest.importorskip("joignable.ledger.audit")
    report = audit.audit(log)
    assert report.ok, report.text()
