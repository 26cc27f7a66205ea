"""Planning is pure math: no ledger, runtime or I/O (docs: DESIGN "Rules that keep the house
livable"); only its command-line module may use click."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_layering import imports

PLANNING = Path(__file__).resolve().parents[2] / "src" / "joignable" / "planning"
FORBIDDEN = ("joignable.ledger", "joignable.center", "joignable.demo", "joignable.cli")
IO_MODULES = ("sqlite3", "socket", "asyncio", "threading", "subprocess", "time", "os")


def test_planning_imports_no_ledger_and_no_io() -> None:
    files = sorted(PLANNING.glob("*.py"))
    assert len(files) >= 8
    for f in files:
        for name in imports(f):
            assert not name.startswith(FORBIDDEN), f"{f.name} imports {name}"
            assert name.split(".")[0] not in IO_MODULES, f"{f.name} imports {name}"
            if f.name != "cli.py":
                assert name.split(".")[0] != "click", f"{f.name} imports click"
