"""The core stays pure: it imports nothing from the ledger, the runtime or the entry points."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "src" / "joignable" / "core"
FORBIDDEN = ("joignable.ledger", "joignable.center", "joignable.cli", "joignable.demo")
IO_MODULES = ("sqlite3", "socket", "asyncio", "threading", "subprocess", "time")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_imports_no_outer_layer_and_no_io() -> None:
    files = sorted(CORE.glob("*.py"))
    assert files
    for f in files:
        for name in imports(f):
            assert not name.startswith(FORBIDDEN), f"{f.name} imports {name}"
            assert name.split(".")[0] not in IO_MODULES, f"{f.name} imports {name}"
