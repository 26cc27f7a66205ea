"""The knowledge core stays pure: no outer layer, no I/O; SQLite only in ``store``, the command
line only in ``cli``, and the model files only in ``embedding`` and ``demo``."""

from __future__ import annotations

import ast
from pathlib import Path

KNOWLEDGE = Path(__file__).resolve().parents[2] / "src" / "joignable" / "knowledge"
OUTER = ("joignable.ledger", "joignable.center", "joignable.cli", "joignable.demo", "joignable.web")
IO = {"sqlite3", "socket", "asyncio", "threading", "subprocess", "click", "os", "importlib"}
ALLOWED = {"store.py": {"sqlite3"}, "cli.py": {"click"}, "embedding.py": {"os"}}


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_knowledge_imports_no_outer_layer_and_no_io() -> None:
    files = sorted(KNOWLEDGE.rglob("*.py"))
    assert len(files) > 10
    for f in files:
        allowed = ALLOWED.get(f.name, set()) | ({"importlib"} if f.parent.name == "demo" else set())
        for name in imports(f):
            assert not name.startswith(OUTER), f"{f.name} imports {name}"
            root = name.split(".")[0]
            assert root not in IO or root in allowed, f"{f.name} imports {name}"


def test_the_runner_needs_only_the_model() -> None:
    inside = {n for n in imports(KNOWLEDGE / "runner.py") if n.startswith("joignable")}
    assert inside == {"joignable.knowledge.model"}
