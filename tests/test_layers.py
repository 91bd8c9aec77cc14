"""The packages depend in one direction (docs/architecture.md): api/cli → services → db/geo."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from landmatch import auth, confidential
from landmatch.viewer import Viewer

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


def _offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    """The modules of ``package`` that import a module named by ``forbidden`` (prefixes)."""
    found = {
        path: sorted(m for m in imported if any(m == f or m.startswith(f + ".") for f in forbidden))
        for path, imported in _modules(package).items()
    }
    return {path: mods for path, mods in found.items() if mods}


def test_the_checks_see_lazy_imports(tmp_path: Path) -> None:
    """The walker itself: a lazy import in a function and one under TYPE_CHECKING count."""
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from landmatch.auth import Principal\n"
        "def f():\n    import landmatch.api.app\n",
        encoding="utf-8",
    )
    assert {"landmatch.auth", "landmatch.api.app"} <= _imports(module)


def test_db_does_not_import_auth_or_the_callers() -> None:
    """The db layer reads a ``Viewer`` (landmatch/viewer.py), not ``auth.Principal``; it never
    reaches up to the API, the pages or the command line."""
    forbidden: tuple[str, ...] = ("landmatch.auth", "landmatch.accounts", "landmatch.api")
    forbidden += ("landmatch.maps", "landmatch.cli")
    assert _offenders("db", forbidden) == {}


# The db layer reads the services' pure definitions through modules it may import (QA flags:
# db/qa_flags.py, publication: landmatch/publication.py). The field table (inventory/fields.py:
# which fields are public, the utility dates) is the one source db/parcels derives its column
# lists from; it imports nothing but vocab and inventory.quantities. The land-use table
# (inventory/land_use.py: the lease ceilings the QA flag reads) imports vocab alone.
_DB_MAY_READ = ("landmatch.inventory.fields", "landmatch.inventory.land_use")


def test_what_the_db_layer_may_read_is_pure_definitions() -> None:
    """Each module of ``_DB_MAY_READ`` imports only definitions: vocab, units, the other such
    modules (never a service with a session)."""
    pure = ("landmatch.vocab", "landmatch.inventory.quantities", *_DB_MAY_READ)
    for module in _DB_MAY_READ:
        path = PACKAGE / (module.removeprefix("landmatch.").replace(".", "/") + ".py")
        imported = {m for m in _imports(path) if m.startswith("landmatch.")}
        assert {m for m in imported if not m.startswith(pure)} == set(), module


def test_db_imports_no_service() -> None:
    """The db layer is below every service: it imports nothing from inventory/, match/,
    monitoring/, policies/, zones/, reflayers/, leads/, accounts/ or auth (a service passes
    what a query needs in, or the pure definition lives where db/ may import it)."""
    services = ("inventory", "match", "monitoring", "policies", "zones", "reflayers", "leads")
    forbidden = (*(f"landmatch.{s}" for s in services), "landmatch.accounts", "landmatch.auth")
    found = {
        path: [m for m in mods if not m.startswith(_DB_MAY_READ)]
        for path, mods in _offenders("db", forbidden).items()
    }
    assert {path: mods for path, mods in found.items() if mods} == {}


def test_the_confidentiality_rule_reads_a_viewer() -> None:
    """``confidential`` sits under db/ (db.parcels selects through it): no ``auth`` either."""
    imported = _imports(PACKAGE / "confidential.py") | _imports(PACKAGE / "viewer.py")
    assert not {m for m in imported if m.startswith(("landmatch.auth", "landmatch.accounts"))}


def test_a_principal_is_a_viewer() -> None:
    assert isinstance(auth.PUBLIC, Viewer)
    assert isinstance(auth.Principal(name="b", role="bureau", city_code="130100"), Viewer)


def test_the_published_price_is_the_publics_view() -> None:
    """``PUBLISHED_PRICE_SQL`` (match, OGC, tiles) is what ``ref_price_sql`` gives the public."""
    assert confidential.ref_price_sql(auth.PUBLIC) == confidential.PUBLISHED_PRICE_SQL
    staff = auth.Principal(name="b", role="bureau", city_code="130100")
    assert confidential.ref_price_sql(staff) != confidential.PUBLISHED_PRICE_SQL


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """landmatch's modules and the landmatch modules each imports, at its top, in functions or
    under TYPE_CHECKING (``from landmatch.match import engine`` imports the module ``engine``,
    not the package's ``__init__``)."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}

    def module_of(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(module_of(a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    targets.add(full if full in paths else module_of(node.module))
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


# Import cycles left, to be broken, never added to (none: keep it so).
KNOWN_CYCLES: list[set[str]] = []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert _cycles(graph) == [{"a", "b", "c"}]


def test_match_has_no_import_cycle() -> None:
    """The match's modules import each other in one direction (``Plan`` in match/plan.py is
    read by engine and whynot; numbers are written by landmatch/numbers.py for the valuation and
    the explanation alike)."""
    assert [c for c in _cycles(_graph()) if any(m.startswith("landmatch.match") for m in c)] == []


def test_no_new_import_cycle() -> None:
    """No cycle but the known ones (which may only shrink) among landmatch's modules."""
    cycles = _cycles(_graph())
    assert [c for c in cycles if not any(c <= known for known in KNOWN_CYCLES)] == []


def test_geo_is_pure() -> None:
    # landmatch.numbers writes figures for people (areas in 亩 and 公顷) and imports nothing;
    # landmatch.dates (calendar periods, Beijing's today) is pure too.
    allowed = ("landmatch.geo", "landmatch.errors", "landmatch.numbers", "landmatch.dates")
    offenders = {
        path: sorted(m for m in imported if m.startswith("landmatch") and not m.startswith(allowed))
        for path, imported in _modules("geo").items()
    }
    assert {p: m for p, m in offenders.items() if m} == {}


def test_only_the_api_imports_the_api() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.startswith("landmatch.api"))
        for p in PACKAGE.rglob("*.py")
        if "api" not in p.relative_to(PACKAGE).parts[:1]
    }
    assert {p: m for p, m in offenders.items() if m} == {}


def test_only_the_cli_imports_the_cli() -> None:
    """The commands live in landmatch/cli/ (one module per area, as api/routes/); no service
    reaches up to them, and the CLI and the API do not import each other."""
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.startswith("landmatch.cli"))
        for p in PACKAGE.rglob("*.py")
        if "cli" not in p.relative_to(PACKAGE).parts[:1]
    }
    assert {p: m for p, m in offenders.items() if m} == {}
    assert _offenders("cli", ("landmatch.api",)) == {}


# What a route must not decide itself: who may (roles, scopes, teams, refusals).
_AUTHORIZATION = re.compile(
    r"\.require\(|\bForbidden\b|\bUnauthorized\b|\.can_edit|\.owns\("
    r"|principal\.(role|zone_id|city_code|team)\b"
)
# Routes that still gate in the route; to be emptied, never added to (empty: keep it so).
_ROUTES_STILL_GATING: set[str] = set()


def test_routes_leave_authorization_to_the_services() -> None:
    """The API's routes parse, call a service with the principal and shape the answer; the
    service decides who may (``monitoring.scope``, ``monitoring.cases.get_case``,
    ``zones.assessments.visible_assessments`` …). The workbench pages gate whole pages by role
    (``staff_with``) and call the same services."""
    routes = PACKAGE / "api" / "routes"
    offenders = {
        p.name: sorted({m.group(0) for m in _AUTHORIZATION.finditer(p.read_text("utf-8"))})
        for p in routes.glob("*.py")
        if p.name not in _ROUTES_STILL_GATING
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_authorization_check_sees_a_decision() -> None:
    assert _AUTHORIZATION.search('    if principal.role == "zone" and x:')
    assert _AUTHORIZATION.search('    principal.require("admin")')
    assert not _AUTHORIZATION.search("    return service.read(session, principal, city)")


def test_monitoring_routes_leave_authorization_to_the_services() -> None:
    source = (PACKAGE / "api" / "routes" / "monitoring.py").read_text(encoding="utf-8")
    assert ".require(" not in source and "Forbidden" not in source


def test_services_leave_the_commit_to_their_caller() -> None:
    """Routes and the CLI own the transaction; a service writes in it. (The import wizard's
    background worker owns its own connection; a refused sign-in's audit row is committed on
    purpose, since the request then fails; the dashboard figures' background refresh keeps what it
    computed on its own session.)"""
    own_transaction = {
        "landmatch/inventory/wizard.py",
        "landmatch/accounts/sessions.py",
        "landmatch/monitoring/summary.py",
    }
    committing = sorted(
        str(p.relative_to(ROOT))
        for package in ("inventory", "match", "monitoring", "zones", "policies", "reflayers")
        for p in (PACKAGE / package).rglob("*.py")
        if "session.commit()" in p.read_text(encoding="utf-8")
        or "conn.commit()" in p.read_text(encoding="utf-8")
    )
    assert [p for p in committing if p not in own_transaction] == []
