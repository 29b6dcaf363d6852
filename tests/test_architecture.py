"""Layering rules that keep one engine and thin dialects (DESIGN.md, STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "crmbatch"


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_dialects_build_no_sql():
    offenders = [
        str(p.relative_to(SRC))
        for p in (SRC / "dialects").rglob("*.py")
        if any(n == "sqlalchemy" or n.startswith("sqlalchemy.") for n in imports(p))
    ]
    assert offenders == []


def test_core_does_not_know_the_dialects_or_the_environment():
    for p in (SRC / "core").rglob("*.py"):
        names = imports(p)
        assert not any(n.startswith("crmbatch.dialects") for n in names), p
        assert "os" not in names, f"{p} reads the environment; take settings as arguments"


def test_sql_lives_in_store_modules():
    for p in (SRC / "core").rglob("*.py"):
        if p.name != "store.py":
            uses = {n for n in imports(p) if n == "sqlalchemy" or n.startswith("sqlalchemy.")}
            assert uses <= {"sqlalchemy.engine", "sqlalchemy.exc"}, f"{p} builds SQL: {uses}"


def test_the_client_does_not_carry_the_server():
    """``crmbatch.client`` talks HTTP only: it may share value conversion with the engine, not
    its database, web framework or dialects."""
    allowed = {"crmbatch.core.values", "crmbatch.core.schema.model"}
    for p in (SRC / "client").rglob("*.py"):
        for name in imports(p):
            server_side = name.startswith(("crmbatch.core", "crmbatch.db", "crmbatch.dialects"))
            assert not server_side or name in allowed, f"{p} imports {name}"
            assert name.split(".")[0] not in ("sqlalchemy", "fastapi", "starlette"), p


def test_the_core_reaches_up_to_no_edge_and_no_dialect_imports_the_worker():
    """The engine knows nothing of the HTTP app, the worker loop or the webhook sender; a
    dialect reaches the engine through the core only (never through the worker)."""
    edges = ("crmbatch.app", "crmbatch.worker", "crmbatch.delivery", "crmbatch.background")
    for p in (SRC / "core").rglob("*.py"):
        for name in imports(p):
            assert not name.startswith(edges), f"{p} imports {name}"
    for p in (SRC / "dialects").rglob("*.py"):
        names = imports(p)
        assert not any(n.startswith(("crmbatch.worker", "crmbatch.delivery")) for n in names), p


MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80


def test_no_god_files_and_no_god_functions():
    """Every source file stays under 600 lines and every function under 80 (migrations aside):
    a module about one thing, a function that fits on a screen."""
    too_long = []
    for p in SRC.rglob("*.py"):
        if "migrations" in p.parts:
            continue
        text = p.read_text()
        if len(text.splitlines()) > MAX_FILE_LINES:
            too_long.append(f"{p.relative_to(SRC)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{p.relative_to(SRC)}:{node.name}: {length} lines")
    assert too_long == []
