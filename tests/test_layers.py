"""The packages depend in one direction (docs/architecture.md): api → services → db/geo."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "landmatch"


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at its top, in functions or under TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _modules(package: str) -> dict[str, set[str]]:
    return {
        str(p.relative_to(ROOT)): _imports(p)
        for p in (PACKAGE / package).rglob("*.py")
        if "migrations" not in p.parts
    }


def test_geo_is_pure():
    allowed = ("landmatch.geo", "landmatch.errors")
    offenders = {
        path: sorted(m for m in imported if m.startswith("landmatch") and not m.startswith(allowed))
        for path, imported in _modules("geo").items()
    }
    assert {p: m for p, m in offenders.items() if m} == {}


def test_only_the_api_imports_the_api():
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.startswith("landmatch.api"))
        for p in PACKAGE.rglob("*.py")
        if "api" not in p.relative_to(PACKAGE).parts[:1]
    }
    assert {p: m for p, m in offenders.items() if m} == {}


def test_monitoring_routes_leave_authorization_to_the_services():
    source = (PACKAGE / "api" / "routes" / "monitoring.py").read_text(encoding="utf-8")
    assert ".require(" not in source and "Forbidden" not in source


def test_services_leave_the_commit_to_their_caller():
    """Routes and the CLI own the transaction; a service writes in it. (The import wizard's
    background worker owns its own connection; a refused sign-in's audit row is committed on
    purpose, since the request then fails.)"""
    own_transaction = {"landmatch/inventory/wizard.py", "landmatch/accounts/sessions.py"}
    committing = sorted(
        str(p.relative_to(ROOT))
        for package in ("inventory", "match", "monitoring", "zones", "policies", "reflayers")
        for p in (PACKAGE / package).rglob("*.py")
        if "session.commit()" in p.read_text(encoding="utf-8")
        or "conn.commit()" in p.read_text(encoding="utf-8")
    )
    assert [p for p in committing if p not in own_transaction] == []
