"""The command line on real SQLite ledgers: demo, audit, stats, their JSON and their errors."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

pytest.importorskip("joignable.ledger.audit")
pytest.importorskip("joignable.ledger.kpis")

from joignable.cli import main  # noqa: E402

SMALL = ["--agents", "8", "--contacts", "200", "--speed", "max", "--seed", "1"]


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small demo ledger shared by the read-only tests (copy it before changing it)."""
    db = tmp_path_factory.mktemp("cli") / "demo.db"
    result = cli("demo", "--db", str(db), *SMALL)
    assert result.exit_code == 0, result.output
    return db


def test_demo_then_audit_is_clean(ledger: Path) -> None:
    result = cli("audit", "--db", str(ledger))
    assert result.exit_code == 0, result.output
    assert "200 contacts arrived" in result.stdout
    assert "No discrepancy" in result.stdout


def test_demo_prints_progress_and_the_audit_when_not_on_a_terminal(tmp_path: Path) -> None:
    result = cli("demo", "--db", str(tmp_path / "d.db"), *SMALL)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"joignable demo on {tmp_path / 'd.db'}: seed 1, speed max")
    assert any("200/200 contacts" in line and "SL today" in line for line in lines)
    assert "No discrepancy" in result.stdout
    assert "\x1b[" not in result.stdout  # plain text, no live display


def test_determinism_across_processes(tmp_path: Path) -> None:
    """Two processes with different string hashing write byte-identical ledgers."""
    dumps = []
    for n in (1, 2):
        db = tmp_path / f"{n}.db"
        done = subprocess.run(
            [sys.executable, "-m", "joignable.cli", "demo", "--db", str(db), *SMALL, "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": str(n)},
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["audit"]["ok"] is True
        with sqlite3.connect(db) as con:
            dumps.append(con.execute("SELECT seq, data FROM events ORDER BY seq").fetchall())
    assert dumps[0] == dumps[1] and len(dumps[0]) > 1000


def test_resume_adds_contacts_and_stays_clean(tmp_path: Path, ledger: Path) -> None:
    db = tmp_path / "resume.db"
    shutil.copy(ledger, db)
    result = cli("demo", "--db", str(db), "--contacts", "50", "--speed", "max", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["resumed"] is True and doc["agents"] == 8
    assert doc["audit"]["ok"] and doc["audit"]["counts"]["arrived"] == 250
    assert cli("audit", "--db", str(db)).exit_code == 0


def test_tampered_ledger_fails_the_audit_and_names_the_contact(
    tmp_path: Path, ledger: Path
) -> None:
    db = tmp_path / "tampered.db"
    shutil.copy(ledger, db)
    with sqlite3.connect(db) as con:
        seq, data = con.execute(
            "SELECT seq, data FROM events WHERE json_extract(data, '$.type') = 'contact_ended'"
            " ORDER BY seq LIMIT 1 OFFSET 40"
        ).fetchone()
        con.execute("DELETE FROM events WHERE seq = ?", (seq,))
    contact = json.loads(data)["contact"]
    result = cli("audit", "--db", str(db))
    assert result.exit_code == 1
    assert contact in result.stdout
    assert "lost_contact" in result.stdout and "conservation" in result.stdout
    doc = json.loads(cli("audit", "--db", str(db), "--json").stdout)
    assert doc["ok"] is False
    assert any(contact in d["contacts"] for d in doc["discrepancies"])


def test_audit_window_and_json(ledger: Path) -> None:
    result = cli("audit", "--db", str(ledger), "--from", "2026-01-05T09:00", "--to", "1767607200")
    assert result.exit_code == 0, result.output
    assert "window: 2026-01-05T09:00:00+00:00 to 2026-01-05T10:00:00+00:00" in result.stdout
    doc = json.loads(cli("audit", "--db", str(ledger), "--json", "--tolerance", "5").stdout)
    assert doc["ok"] is True and doc["tolerance"] == 5
    assert {"counts", "discrepancies", "balanced", "events", "open_contacts"} <= set(doc)
    zoned = cli("audit", "--db", str(ledger), "--from", "2026-01-05T10:00+01:00", "--json")
    assert json.loads(zoned.stdout)["start"] == 1767603600  # 09:00 UTC


def test_stats_tables_and_json(ledger: Path) -> None:
    result = cli("stats", "--db", str(ledger), "--interval", "1800")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Intervals of 30 min" in out and "2026-01-05 08:00" in out
    assert "SL ans/off" in out and "SL -short" in out and "answered_within_t_over_offered" in out
    assert "Live state at the end of the log" in out
    doc = json.loads(cli("stats", "--db", str(ledger), "--json", "--queue", "tech").stdout)
    assert {"intervals", "totals", "live", "definitions", "default_sl"} <= set(doc)
    assert {row["queue"] for row in doc["intervals"]} == {"tech"}
    assert doc["intervals"][0]["end"] - doc["intervals"][0]["start"] == 900
    assert set(doc["totals"][0]["sl"]) == set(doc["definitions"])
    assert list(doc["live"]["queues"]) == ["tech"]
    assert doc["live"]["agents_by_state"]["offline"] == 8
    ranged = json.loads(
        cli("stats", "--db", str(ledger), "--json", "--from", "2026-01-05T09:00").stdout
    )
    assert all(row["start"] >= 1767603600 for row in ranged["intervals"])


def test_demo_json_is_one_document_with_figures_and_audit(tmp_path: Path) -> None:
    result = cli("demo", "--db", str(tmp_path / "j.db"), *SMALL, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {"seed", "speed", "simulated", "run", "figures", "audit", "events"} <= set(doc)
    assert doc["seed"] == 1 and doc["speed"] == "max" and doc["resumed"] is False
    assert doc["audit"]["ok"] is True
    assert doc["audit"]["counts"]["arrived"] == 200
    totals = doc["figures"]["totals"]
    assert [t["queue"] for t in totals] == ["billing", "french", "sales", "tech", None]
    assert totals[-1]["offered"] == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "--db", "{ledger}", "--from", "yesterday"], "is not a time"),
        (["audit", "--db", "{ledger}", "--from", "2026-13-01"], "is not a time"),
        (["stats", "--db", "{ledger}", "--to", "nan"], "not a finite time"),
        (["audit", "--db", "{ledger}", "--from", "2026-01-06", "--to", "2026-01-05"], "after"),
        (["audit", "--db", "{missing}"], "does not exist"),
        (["stats", "--db", "{missing}"], "does not exist"),
        (["stats", "--db", "{ledger}", "--interval", "600"], "'600' is not one of"),
        (["stats", "--db", "{ledger}", "--queue", "nope"], "no queue 'nope'"),
        (["demo", "--db", "{new}", "--speed", "fast"], "neither 'max' nor a number"),
        (["demo", "--db", "{new}", "--speed", "0"], "above 0"),
        (["demo", "--db", "{new}", "--agents", "-3"], "-3 is not in the range"),
        (["demo", "--db", "{new}", "--contacts", "-1"], "-1 is not in the range"),
    ],
)
def test_bad_input_is_a_clear_usage_error(
    args: list[str], message: str, ledger: Path, tmp_path: Path
) -> None:
    paths = {"ledger": ledger, "missing": tmp_path / "missing.db", "new": tmp_path / "new.db"}
    result = cli(*(a.format(**paths) for a in args))
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "new.db").exists()  # refused before anything was created


def test_domain_errors_are_one_line_with_their_code(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a ledger at all " * 200)
    for command in ("audit", "stats", "demo"):
        result = cli(command, "--db", str(junk))
        assert result.exit_code == 2
        assert result.stderr.startswith("error [ledger_error]: ")
        assert "not a joignable ledger" in result.stderr
        assert "Traceback" not in result.output


def test_installed_entry_point_reports_errors_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "joignable"
    if not exe.exists():
        pytest.skip("the joignable script is not installed in this environment")
    done = subprocess.run(
        [str(exe), "audit", "--db", str(tmp_path / "nope.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr


def test_every_command_group_is_reachable_from_the_main_cli() -> None:
    """plan and kb live beside what they drive; the main CLI must still offer them."""
    r = cli("plan", "staffing", "--arrivals", "100", "--period", "1800", "--aht", "180", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["agents"] == 14
    r = cli("kb", "search", "carte bloquée", "--lexical", "--json", "-k", "1")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["hits"][0]["id"] == "article:fr-sim-blocked"
