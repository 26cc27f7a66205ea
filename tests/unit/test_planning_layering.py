"""Planning is pure math: no ledger, runtime or I/O (docs: DESIGN "Rules that keep the house
livable"); only its command-line module may use click. The twin (the real core measured by the
ledger's KPIs and audit) and the forecast (from the ledger's history) may read the ledger, and
only they; the math modules never import them."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_layering import imports

PLANNING = Path(__file__).resolve().parents[2] / "src" / "joignable" / "planning"
FORBIDDEN = ("joignable.ledger", "joignable.center", "joignable.demo", "joignable.cli")
IO_MODULES = ("sqlite3", "socket", "asyncio", "threading", "subprocess", "time", "os")
LEDGER_READERS = ("twin.py", "forecast.py")
# The command line writes the chart files it is asked for (atomically: a temporary file, a rename).
CLI_IO = ("os", "tempfile")


def test_planning_imports_no_ledger_and_no_io() -> None:
    files = sorted(PLANNING.glob("*.py"))
    assert len(files) >= 8
    for f in files:
        for name in imports(f):
            forbidden = FORBIDDEN[1:] if f.name in LEDGER_READERS else FORBIDDEN
            assert not name.startswith(forbidden), f"{f.name} imports {name}"
            if f.name not in (*LEDGER_READERS, "cli.py"):
                assert not name.startswith(
                    ("joignable.planning.twin", "joignable.planning.forecast")
                )
            if not (f.name == "cli.py" and name in CLI_IO):
                assert name.split(".")[0] not in IO_MODULES, f"{f.name} imports {name}"
            if f.name != "cli.py":
                assert name.split(".")[0] != "click", f"{f.name} imports click"
