"""Declaring constraint-layer coverage: over HTTP, with a layer import and from the CLI; who may
declare it, its history and data versions, and the facts it refreshes (exactly those a full
recomputation gives)."""

from __future__ import annotations

from types import ModuleType

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.inventory.qa import run_checks
from landmatch.seed.profiles import CONSTRAINT_LAYER_CITY, CONSTRAINTS
from landmatch.settings import Settings
from tests.conftest import auth
from tests.zones.conftest import box, geojson
from tests.zones.test_layers import _full_recompute_matches

pytestmark = pytest.mark.usefixtures("facts_ready")
URL = "/api/layers/constraint_area/coverage"


def _versions(conn: Connection) -> dict[str, int]:
    return dict(conn.execute(text("SELECT name, version FROM landmatch.data_state")).all())


def _null_excluded(conn: Connection, city: str) -> int:
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM landmatch.parcel_fact WHERE city_code = :c "
                "AND deleted_at IS NULL AND excluded IS NULL"
            ),
            {"c": city},
        ).scalar_one()
    )


def test_the_seed_declares_what_its_demo_layers_belong_to(conn: Connection) -> None:
    assert set(CONSTRAINT_LAYER_CITY) == {c[0] for c in CONSTRAINTS}
    kinds = {c[0]: c[2] for c in CONSTRAINTS}
    want = {(kinds[code], city) for code, city in CONSTRAINT_LAYER_CITY.items()}
    got = set(conn.execute(text("SELECT kind, city_code FROM landmatch.constraint_coverage")).all())
    assert got == want
    assert ("eco_redline", "130900") not in got  # 白洋淀 only spills into 沧州
    assert ("water_source", "130800") not in got  # 潘家口 belongs to 唐山's layer
    # Only 保定 and 秦皇岛 have demo layers of every excluding kind: only their parcels can
    # read "checked and clear"; the others outside an area are "not checked".
    assert {c for k, c in got if k == "basic_farmland"} == {"130600", "130300"}
    clear_cities = set(
        conn.execute(
            text(
                "SELECT DISTINCT city_code FROM landmatch.parcel_fact WHERE excluded IS FALSE "
                "AND deleted_at IS NULL"
            )
        ).scalars()
    )
    assert clear_cities == {"130600", "130300"}


def test_declare_and_withdraw_over_http(
    conn: Connection, client: TestClient, tokens: dict[str, str]
) -> None:
    h = auth(tokens["bureau"])  # 石家庄
    v0 = _versions(conn)
    n = int(
        conn.execute(
            text(
                "SELECT count(*) FROM landmatch.parcel WHERE city_code = '130100' AND deleted_at IS NULL"
            )
        ).scalar_one()
    )
    assert _null_excluded(conn, "130100") > 0
    body = {
        "kinds": ["永久基本农田"],
        "cities": ["130100"],
        "source": "石家庄市永久基本农田划定成果（测试）",
        "as_of": "2025-09-30",
        "reason": "成果入库",
    }
    r = client.post(URL, json=body, headers=h)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["inserted"] == ["basic_farmland:130100"]
    assert report["affected_parcels"] == n and report["facts_changed"]["excluded"] > 0
    assert _null_excluded(conn, "130100") == 0  # every parcel is now inside or clear
    v1 = _versions(conn)
    assert v1["constraint_coverage"] > v0["constraint_coverage"] and v1["all"] > v0["all"]
    hist = conn.execute(
        text(
            "SELECT op, actor, reason, row ->> 'source' FROM landmatch.layer_version "
            "WHERE layer = 'constraint_coverage' AND row ->> 'kind' = 'basic_farmland' "
            "AND row ->> 'city_code' = '130100'"
        )
    ).all()
    assert [tuple(x) for x in hist] == [
        ("insert", "t-bureau-sjz", "成果入库", "石家庄市永久基本农田划定成果（测试）")
    ]
    listed = client.get(URL + "?city=130100", headers=h).json()
    farmland = next(x for x in listed if x["kind"] == "basic_farmland")
    assert farmland["declared_by"] == "t-bureau-sjz" and farmland["as_of"] == "2025-09-30"
    assert farmland["kind_label"] == "永久基本农田" and farmland["city_name"] == "石家庄市"
    _full_recompute_matches(conn)
    # Withdrawn: back to "not checked", history kept.
    r = client.delete(URL + "/basic_farmland/130100?reason=撤回", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] == ["basic_farmland:130100"]
    assert _null_excluded(conn, "130100") > 0
    assert not conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel_fact WHERE excluded IS FALSE "
            "AND city_code = '130100'"
        )
    ).scalar()
    _full_recompute_matches(conn)
    assert client.delete(URL + "/basic_farmland/130100", headers=h).status_code == 404


def test_who_may_declare(client: TestClient, tokens: dict[str, str]) -> None:
    body = {"kinds": ["flood"], "cities": ["130200"], "source": "x", "as_of": "2025-01-01"}
    r = client.post(URL, json=body, headers=auth(tokens["bureau"]))  # 石家庄 declaring 唐山
    assert r.status_code == 403 and "唐山市" in r.json()["detail"]
    assert client.post(URL, json=body, headers=auth(tokens["promoter"])).status_code == 403
    assert client.post(URL, json=body).status_code == 401
    assert client.get(URL).status_code == 401
    bad = client.post(URL, json=body | {"kinds": ["karst"]}, headers=auth(tokens["admin"]))
    assert bad.status_code == 400 and "未知管控区类型" in bad.json()["detail"]
    bad = client.post(URL, json=body | {"cities": ["130000"]}, headers=auth(tokens["admin"]))
    assert bad.status_code == 400
    future = client.post(URL, json=body | {"as_of": "2999-01-01"}, headers=auth(tokens["admin"]))
    assert future.status_code == 400
    assert client.post(URL, json=body, headers=auth(tokens["admin"])).status_code == 200


def test_an_import_declares_the_cities_it_covers(
    conn: Connection, client: TestClient, tokens: dict[str, str]
) -> None:
    """沧州's own red-line layer, imported with the city it covers: the spill of 白洋淀 no
    longer decides anything, 沧州's parcels are checked for red lines."""
    data = geojson(
        [
            (
                {"code": "eco-cz-test", "name": "沧州测试红线", "kind": "生态保护红线"},
                box(117.20, 38.20, 117.21, 38.21),
            )
        ]
    )
    files = {"file": ("cangzhou-redline.geojson", data, "application/geo+json")}
    r = client.post(
        "/api/layers/constraint_area/import",
        headers=auth(tokens["admin"]),
        files=files,
        data={"covers": "130900", "reason": "沧州红线入库"},
    )
    assert r.status_code == 400 and "as_of" in r.json()["detail"]  # a date is required
    r = client.post(
        "/api/layers/constraint_area/import",
        headers=auth(tokens["admin"]),
        files=files,
        data={"covers": "130900", "covers_as_of": "2025-06-30", "reason": "沧州红线入库"},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["inserted"] == ["eco-cz-test"]
    assert report["coverage"]["declared"] == ["eco_redline:130900"]
    assert any("沧州市" in w for w in report["warnings"])  # still no farmland, water layer
    row = conn.execute(
        text(
            "SELECT source, as_of::text, declared_by FROM landmatch.constraint_coverage "
            "WHERE kind = 'eco_redline' AND city_code = '130900'"
        )
    ).one()
    assert tuple(row) == ("cangzhou-redline.geojson", "2025-06-30", "t-admin")
    with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
        checks = run_checks(s, Principal(name="x", role="admin"), city="130900")["checks"]
    eco = next(c for c in checks if c["id"] == "constraints")["items"][0]
    assert eco["kind"] == "eco_redline" and eco["not_checked"] == 0 and eco["clear"] > 0
    # A bureau cannot declare another city's coverage with an import either.
    r = client.post(
        "/api/layers/constraint_area/import",
        headers=auth(tokens["bureau"]),
        files=files,
        data={"covers": "130900", "covers_as_of": "2025-06-30"},
    )
    assert r.status_code == 403
    r = client.post(
        "/api/layers/facility/import",
        headers=auth(tokens["admin"]),
        files={"file": ("f.geojson", b"{}", "application/geo+json")},
        data={"covers": "130900", "covers_as_of": "2025-06-30"},
    )
    assert r.status_code in (400, 422)


def test_cli_declare_list_withdraw(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from landmatch.cli import app
    from landmatch.settings import get_settings

    monkeypatch.setenv("LANDMATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    with engine.connect() as c:
        before = set(c.execute(text("SELECT kind, city_code FROM landmatch.constraint_coverage")))
        n_hist = c.execute(text("SELECT count(*) FROM landmatch.layer_version")).scalar()
    runner = CliRunner()
    try:
        r = runner.invoke(
            app,
            [
                "layers",
                "coverage",
                "declare",
                "--kind",
                "flood",
                "--city",
                "131100",
                "--source",
                "衡水市蓄滞洪区（测试）",
                "--as-of",
                "2025-03-31",
                "--actor",
                "cli-test",
            ],
        )
        assert r.exit_code == 0, r.output
        assert "flood:131100" in r.output
        r = runner.invoke(app, ["layers", "coverage", "list", "--city", "131100"])
        assert r.exit_code == 0, r.output
        assert "蓄滞洪区" in r.output and "cli-test" in r.output
        r = runner.invoke(
            app, ["check", "--city", "131100", "--limit", "1"], env={"COLUMNS": "160"}
        )
        assert r.exit_code == 0, r.output
        assert "已声明" in r.output and "未声明" in r.output and "未核查" in r.output
        r = runner.invoke(
            app, ["layers", "coverage", "withdraw", "--kind", "蓄滞洪区", "--city", "131100"]
        )
        assert r.exit_code == 0, r.output
        r = runner.invoke(
            app,
            ["layers", "coverage", "declare", "--kind", "flood", "--city", "131100"]
            + ["--source", "x", "--as-of", "2025-13-01"],
        )
        assert r.exit_code != 0 and "YYYY-MM-DD" in r.output
    finally:
        with engine.begin() as c:
            c.execute(
                text(
                    "DELETE FROM landmatch.constraint_coverage WHERE kind = 'flood' "
                    "AND city_code = '131100'"
                )
            )
            c.execute(
                text(
                    "DELETE FROM landmatch.layer_version WHERE layer = 'constraint_coverage' "
                    "AND row ->> 'city_code' = '131100' AND row ->> 'kind' = 'flood'"
                )
            )
        with engine.connect() as c:
            after = set(
                c.execute(text("SELECT kind, city_code FROM landmatch.constraint_coverage"))
            )
            assert after == before
            assert (
                c.execute(text("SELECT count(*) FROM landmatch.layer_version")).scalar() == n_hist
            )
    assert vocab.EXCLUDING_KINDS == ("eco_redline", "water_source", "basic_farmland")


def _migration() -> ModuleType:
    import importlib.util

    from landmatch.db.engine import MIGRATIONS

    path = MIGRATIONS / "versions" / "0012_constraint_coverage.py"
    spec = importlib.util.spec_from_file_location("m0012", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_coverage_table_constraints(conn: Connection) -> None:
    from sqlalchemy.exc import IntegrityError

    def insert(kind: str, city: str, source: str = "来源") -> None:
        conn.execute(
            text(
                "INSERT INTO landmatch.constraint_coverage (kind, city_code, source, as_of, "
                "declared_by) VALUES (:k, :c, :s, '2025-01-01', 't')"
            ),
            {"k": kind, "c": city, "s": source},
        )

    for args in (("karst", "130100"), ("flood", "130000"), ("flood", "130100", " ")):
        with pytest.raises(IntegrityError), conn.begin_nested():
            insert(*args)
    insert("flood", "130100")
    with pytest.raises(IntegrityError), conn.begin_nested():
        insert("flood", "130100")  # one declaration per kind and city


def test_the_migration_brings_stored_facts_to_the_new_reading(conn: Connection) -> None:
    """What 0012 does to facts computed the old way: "clear" without coverage becomes "not
    checked", and a hit that only touches is dropped (with its exclusion)."""
    pid = conn.execute(
        text(
            "INSERT INTO landmatch.parcel (code, name, city_code, status, land_use, geom) VALUES "
            "('T-MIG', '迁移测试', '130100', 'ready', '100102', ST_Multi(ST_MakeEnvelope("
            "114.650, 38.122, 114.652, 38.124, 4490))) RETURNING id"
        )
    ).scalar_one()
    conn.execute(
        text(
            "INSERT INTO landmatch.constraint_area (code, name, kind, severity, geom) VALUES "
            "('eco-mig', '迁移测试红线', 'eco_redline', 'excludes', "
            "ST_Multi(ST_MakeEnvelope(114.640, 38.120, 114.650, 38.130, 4490)))"
        )
    )
    from landmatch.db.facts import refresh_facts

    refresh_facts(conn, [pid])
    # The old facts: a touching hit counted as inside, and every other parcel "clear".
    conn.execute(
        text(
            "UPDATE landmatch.parcel_fact SET excluded = true, penalised = false, "
            'constraint_hits = \'[{"code": "eco-mig", "severity": "excludes"}]\' '
            "WHERE parcel_id = :p"
        ),
        {"p": pid},
    )
    conn.execute(text("UPDATE landmatch.parcel_fact SET excluded = false WHERE excluded IS NULL"))
    inside_before = conn.execute(
        text("SELECT count(*) FROM landmatch.parcel_fact WHERE excluded AND parcel_id <> :p"),
        {"p": pid},
    ).scalar()
    conn.execute(text("DELETE FROM landmatch.constraint_coverage"))
    conn.execute(text(_migration().FACTS_SQL))
    row = conn.execute(
        text("SELECT excluded, constraint_hits FROM landmatch.parcel_fact WHERE parcel_id = :p"),
        {"p": pid},
    ).one()
    assert row.excluded is None and row.constraint_hits == []
    counts: dict[bool | None, int] = dict(
        conn.execute(text("SELECT excluded, count(*) FROM landmatch.parcel_fact GROUP BY 1")).all()
    )
    assert False not in counts and counts[True] == inside_before
    # And it is what a refresh computes.
    _full_recompute_matches(conn)
