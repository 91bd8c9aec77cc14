"""The whole OpenAPI (``/openapi.json``) and the OGC API (``/ogc/api``) fuzzed by Schemathesis as
each role — public, admin, bureau, promoter — checking that no request gets a 5xx.

It writes (as admin it deletes too), so it runs against a database of its own, created, seeded
and dropped here, served by its own live server: nothing leaks into the other tests.

The number of examples per operation is bounded to keep the suite quick; run it longer with
``LANDMATCH_SCHEMATHESIS_EXAMPLES=20 LANDMATCH_SCHEMATHESIS_PHASES=examples,coverage,fuzzing
./scripts/test tests/test_schemathesis.py`` (``LANDMATCH_SCHEMATHESIS_SEED`` for another seed). A failure prints Schemathesis' report with a
``curl`` line that reproduces each 5xx.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from landmatch.settings import SERVER_OPTIONS, Settings, load_settings
from tests.conftest import _free_port

EXAMPLES = int(os.environ.get("LANDMATCH_SCHEMATHESIS_EXAMPLES", "3"))
SEED = int(os.environ.get("LANDMATCH_SCHEMATHESIS_SEED", "20251"))
# The coverage phase (boundary and invalid values of every parameter, ~50 cases an operation)
# takes a minute or more per role: part of a long run, not of every suite run.
PHASES = os.environ.get("LANDMATCH_SCHEMATHESIS_PHASES", "examples,fuzzing")
# The bureau before the admin: the admin's fuzzed deletes would take parcels from under it.
ROLES = ("public", "bureau", "admin", "promoter")
FUZZ_TEAM = "模糊测试团队"  # the promoter's: the known projects are its team's
FUZZ_PARCELS = 400
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
# No 5xx, and every answer is what /openapi.json declares: a documented status (errors are the
# ``default`` problem+json), a documented content type, a body valid against its schema.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


@pytest.fixture(scope="module")
def fuzz_server(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """A live server on a database of its own (seeded small), and a token per role."""
    import uvicorn

    from landmatch.accounts.users import add_user
    from landmatch.api.app import create_app
    from landmatch.db.engine import get_engine, upgrade
    from landmatch.seed.run import seed

    base, _, _ = settings.database_url.rpartition("/")
    name = f"landmatch_fuzz_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{base}/{name}"
    server = None
    try:
        upgrade(url)
        engine = create_engine(url)
        with engine.begin() as conn:
            seed(conn, n=FUZZ_PARCELS, seed_value=11)
        with Session(engine) as s, s.begin():
            tokens = {
                "admin": add_user(s, "fuzz-admin", "admin"),
                "bureau": add_user(s, "fuzz-bureau", "bureau", "130100"),
                "promoter": add_user(s, "fuzz-promoter", "promoter", team=FUZZ_TEAM),
            }
            known = _known(s)
        engine.dispose()
        known_file = tmp_path_factory.mktemp("fuzz") / "known.json"
        known_file.write_text(json.dumps(known))
        os.environ["LANDMATCH_FUZZ_KNOWN"] = str(known_file)
        fuzz = load_settings(database_url=url, mode="test", settle_poll_seconds=0)
        port = _free_port()
        app = create_app(fuzz)
        # Built (seconds on a loaded machine) before Schemathesis asks for it within its 10 s.
        app.openapi()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", **SERVER_OPTIONS)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", tokens | {"database": url}
    finally:
        if server is not None:
            server.should_exit = True
            time.sleep(0.5)
        get_engine.cache_clear()  # the fuzz server's engines: their connections go with the DB
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _known(s: Session) -> dict[str, list[Any]]:
    """Stored identifiers the hooks (``tests/schemathesis_hooks.py``) put into part of the
    generated cases; a few projects, a reservation and a match run are made for them first."""
    from landmatch.auth import Principal
    from landmatch.match.engine import run_match
    from landmatch.match.projects import ProjectIn, ReservationIn, create_project, reserve
    from landmatch.match.requirements import Requirement

    staff = Principal(name="fuzz", role="admin")
    req = Requirement(industry="36", area_mu_min=10, area_mu_max=500, top=5)
    projects = [
        create_project(
            s, staff, ProjectIn(name=f"模糊测试项目{i}", requirement=req, team=FUZZ_TEAM)
        )["id"]
        for i in range(3)
    ]
    run = run_match(s, req.model_copy(update={"project_id": projects[0]}), staff)
    reserve(s, staff, ReservationIn(parcel_code=run["features"][0]["id"], project_id=projects[0]))

    def col(sql: str) -> list[Any]:
        return list(s.execute(text(sql)).scalars())

    return {
        # Some of every city, and more of the bureau's own (130100), which it may write.
        "parcels": col(
            "(SELECT code FROM landmatch.parcel ORDER BY id LIMIT 20) UNION ALL "
            "(SELECT code FROM landmatch.parcel WHERE city_code = '130100' ORDER BY id LIMIT 20)"
        ),
        "zones": col("SELECT code FROM landmatch.dev_zone ORDER BY id"),
        "assessments": col("SELECT id FROM landmatch.zone_assessment ORDER BY id"),
        "policies": col("SELECT code FROM landmatch.policy ORDER BY id"),
        "facilities": col("SELECT code FROM landmatch.facility ORDER BY id"),
        "constraint_areas": col("SELECT code FROM landmatch.constraint_area ORDER BY id"),
        "layer_codes": col(
            "SELECT code FROM landmatch.facility UNION ALL "
            "SELECT code FROM landmatch.constraint_area"
        ),
        "layers": ["facility", "constraint_area"],
        "projects": projects,
        "cases": col("SELECT id FROM landmatch.disposal_case ORDER BY id"),
        "reservations": col("SELECT id FROM landmatch.reservation ORDER BY id"),
        "imports": col("SELECT id FROM landmatch.import_batch ORDER BY id"),
        "match_runs": [run["match_id"]],
        "alerts": col("SELECT id FROM landmatch.layer_alert ORDER BY id"),
    }


def _schemathesis(
    schema: str, base: str, token: str | None, tmp: Path
) -> subprocess.CompletedProcess[str]:
    st = Path(sys.executable).with_name("st")
    args = [
        str(st),
        "run",
        schema,
        "--url",
        base,
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--phases",
        PHASES,
        "--workers",
        "1",
        "--request-timeout",
        "120",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
        "--no-color",
        "--report-dir",
        str(tmp),
        "--generation-database",
        "none",
    ]
    if token:
        args += ["--header", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)}
    return subprocess.run(args, capture_output=True, text=True, timeout=1800, cwd=tmp, env=env)


@pytest.mark.parametrize("role", ROLES)
def test_openapi_has_no_server_errors(
    fuzz_server: tuple[str, dict[str, str]], role: str, tmp_path: Path
) -> None:
    url, tokens = fuzz_server
    out = _schemathesis(f"{url}/openapi.json", url, tokens.get(role), tmp_path)
    report = out.stdout[-20000:] + out.stderr[-5000:]
    assert out.returncode == 0, report
    cases = re.search(r"(\d+) generated", out.stdout)
    assert cases and int(cases[1]) >= EXAMPLES * 50, report  # every operation was exercised
    print(f"schemathesis {role}: {cases[1]} cases, no 5xx")
    if role != "public":  # the cases reached real writes, not only 404/412/428
        engine = create_engine(tokens["database"])
        with engine.connect() as conn:
            writes = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM landmatch.parcel_version WHERE actor = :a)"
                    " + (SELECT count(*) FROM landmatch.layer_version WHERE actor = :a)"
                ),
                {"a": f"fuzz-{role}"},
            ).scalar()
        engine.dispose()
        assert role == "promoter" or writes, f"no write by fuzz-{role} went through"


@pytest.mark.parametrize("role", ("public", "admin"))
def test_ogc_api_has_no_server_errors(
    fuzz_server: tuple[str, dict[str, str]], role: str, tmp_path: Path
) -> None:
    url, tokens = fuzz_server
    out = _schemathesis(f"{url}/ogc/api", f"{url}/ogc", tokens.get(role), tmp_path)
    report = out.stdout[-20000:] + out.stderr[-5000:]
    assert out.returncode == 0, report
    cases = re.search(r"(\d+) generated", out.stdout)
    assert cases and int(cases[1]) > 0, report
    print(f"schemathesis OGC {role}: {cases[1]} cases, no 5xx")
