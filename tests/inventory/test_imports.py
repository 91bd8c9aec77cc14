"""Imports through the API and the service: dry run = same report and nothing written, upsert
by code, import ids on versions, rollback of a whole import, export → import round trips."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.geo.txt import parse_txt
from landmatch.inventory.imports import ImportOptions, rollback_import, run_import
from landmatch.settings import Settings
from tests.conftest import auth
from tests.inventory.conftest import feature, geojson_bytes, post_import, square

ADMIN = Principal(name="tester", role="admin")


def test_dry_run_reports_the_same_and_writes_nothing(
    client: TestClient, tokens: dict[str, str], fingerprint: Callable[[], tuple]
) -> None:
    data = geojson_bytes(feature("IMP-001"), feature("IMP-002", square(114.52, 38.05)))
    before = fingerprint()
    dry = post_import(client, tokens["bureau"], "a.geojson", data, dry_run=True)
    assert dry.status_code == 200, dry.text
    assert fingerprint() == before
    real = post_import(client, tokens["bureau"], "a.geojson", data)
    assert real.status_code == 200, real.text
    d, r = dry.json(), real.json()
    assert (
        d["totals"]
        == r["totals"]
        == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    )
    assert [x["action"] for x in d["rows"]] == [x["action"] for x in r["rows"]]
    assert d["import_id"] is None and r["import_id"] > 0
    again = post_import(client, tokens["bureau"], "a.geojson", data).json()
    assert again["totals"]["unchanged"] == 2


def test_upsert_versions_carry_import_id_and_rollback(session: Session) -> None:
    conn = session.connection()
    first = run_import(
        conn,
        geojson_bytes(feature("IMP-R1"), feature("IMP-R2", square(114.52, 38.05))),
        "one.geojson",
        ADMIN,
        ImportOptions(),
    )
    changed = feature("IMP-R1", far_max=2.0, name="改过")
    second = run_import(
        conn,
        geojson_bytes(changed, feature("IMP-R3", square(114.53, 38.05))),
        "two.geojson",
        ADMIN,
        ImportOptions(),
    )
    assert second["totals"]["updated"] == 1 and second["totals"]["created"] == 1
    ids = conn.execute(
        text(
            "SELECT code, version, import_id, op FROM landmatch.parcel_version "
            "WHERE code LIKE 'IMP-R%' ORDER BY code, version"
        )
    ).all()
    assert [tuple(r) for r in ids] == [
        ("IMP-R1", 1, first["import_id"], "insert"),
        ("IMP-R1", 2, second["import_id"], "update"),
        ("IMP-R2", 1, first["import_id"], "insert"),
        ("IMP-R3", 1, second["import_id"], "insert"),
    ]
    out = rollback_import(conn, second["import_id"], ADMIN)
    assert out == {
        "import_id": second["import_id"],
        "status": "rolled_back",
        "deleted": 1,
        "restored": 1,
    }
    name = conn.execute(
        text("SELECT name, far_max FROM landmatch.parcel WHERE code = 'IMP-R1'")
    ).one()
    assert name[0] == "测试地块IMP-R1" and name[1] is None
    gone = conn.execute(text("SELECT count(*) FROM landmatch.parcel WHERE code = 'IMP-R3'"))
    assert gone.scalar() == 0  # the code is free again (tests/inventory/test_office_imports.py)
    status = conn.execute(
        text("SELECT status FROM landmatch.import_batch WHERE id = :i"), {"i": second["import_id"]}
    ).scalar()
    assert status == "rolled_back"
    # Nothing points at the undone import any more; its versions stay, as history.
    pointing = conn.execute(
        text("SELECT count(*) FROM landmatch.parcel WHERE import_id = :i"),
        {"i": second["import_id"]},
    ).scalar()
    assert pointing == 0
    kept = conn.execute(
        text("SELECT count(*) FROM landmatch.parcel_version WHERE import_id = :i"),
        {"i": second["import_id"]},
    ).scalar()
    assert kept == 2


def test_rollback_refused_after_later_edit(session: Session) -> None:
    from landmatch.errors import Conflict

    conn = session.connection()
    rep = run_import(conn, geojson_bytes(feature("IMP-C1")), "c.geojson", ADMIN, ImportOptions())
    conn.execute(text("UPDATE landmatch.parcel SET name = 'later' WHERE code = 'IMP-C1'"))
    with pytest.raises(Conflict):
        rollback_import(conn, rep["import_id"], ADMIN)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "xlsx", "txt"])
def test_export_import_round_trip(
    client: TestClient, tokens: dict[str, str], session: Session, fmt: str
) -> None:
    conn = session.connection()
    holes = shapely.Polygon(
        [(114.60, 38.10), (114.604, 38.10), (114.604, 38.104), (114.60, 38.104)],
        [[(114.601, 38.101), (114.602, 38.101), (114.602, 38.102), (114.601, 38.102)]],
    )
    feats = [
        feature(
            "RT-001",
            far_min=1.0,
            far_max=2.5,
            supply_modes=["auction", "flexible_term"],
            checklist=["title_clear", "no_dispute"],
            power_kva=1200.5,
            power_as_of="2025-01-02",
            notes="内部说明，含逗号",
            zone_code=None,
        ),
        feature(
            "RT-002",
            json.loads(shapely.to_geojson(holes)),
            status="unsupplied",
            land_use="110101",
            is_standard_land=True,
        ),
    ]
    run_import(conn, geojson_bytes(*feats), "rt.geojson", ADMIN, ImportOptions(city="130100"))
    geoms_before: dict[str, bytes] = dict(
        conn.execute(
            text("SELECT code, ST_AsBinary(geom) FROM landmatch.parcel WHERE code LIKE 'RT-%'")
        ).all()
    )
    r = client.get(
        f"/api/exports/parcels?format={fmt}&city=130100&status=ready,unsupplied",
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 200, r.text
    name = {"shp": "x.zip"}.get(fmt, f"x.{fmt}")
    # Only our two parcels: re-import a filtered file for speed and a precise assertion.
    data = r.content
    if fmt == "txt":
        parsed = parse_txt(data)
        assert {"RT-001", "RT-002"} <= {p.code for p in parsed.parcels}
    rep = post_import(client, tokens["admin"], name, data, dry_run=True)
    assert rep.status_code in (200, 422), rep.text
    body = rep.json() if rep.status_code == 200 else rep.json()["errors"]
    rows = {x["code"]: x["action"] for x in body["rows"]}
    assert rows["RT-001"] == "unchanged" and rows["RT-002"] == "unchanged", body["totals"]
    # Every parcel of the file (the seeded ones too) comes back unchanged: zero changes.
    changed = {c: a for c, a in rows.items() if a != "unchanged"}
    assert not changed, (fmt, list(changed.items())[:5], body["rows"][:3])
    assert body["totals"]["unchanged"] == body["totals"]["rows"] > 2, body["totals"]
    # Geometry really identical to 1 mm after a real TXT round trip.
    if fmt == "txt":
        txt_only = [p for p in parse_txt(data).parcels if p.code.startswith("RT-")]
        for p in txt_only:
            before = shapely.from_wkb(geoms_before[p.code])
            assert shapely.hausdorff_distance(before, p.geometry_4490) < 1e-8


def test_txt_export_per_zone_round_trip(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    """Parcels in zones 38 and 40: a zip of one TXT per zone, each parcel in its own zone, and
    every file imports back unchanged to 1 mm."""
    import io
    import zipfile

    from landmatch.geo.crs import transform_geom

    conn = session.connection()
    changli = shapely.box(119.160, 39.700, 119.164, 39.704)  # 昌黎, zone 40
    shijiazhuang = shapely.box(114.600, 38.100, 114.603, 38.103)  # zone 38
    feats = [
        feature("ZN-40", json.loads(shapely.to_geojson(changli)), status="withdrawn"),
        feature("ZN-38", json.loads(shapely.to_geojson(shijiazhuang)), status="withdrawn"),
    ]
    run_import(conn, geojson_bytes(*feats), "zn.geojson", ADMIN, ImportOptions())
    stored = {
        code: shapely.from_wkb(bytes(wkb))
        for code, wkb in conn.execute(
            text("SELECT code, ST_AsBinary(geom) FROM landmatch.parcel WHERE code LIKE 'ZN-%'")
        ).all()
    }
    r = client.get(
        "/api/exports/parcels?format=txt&status=withdrawn", headers=auth(tokens["admin"])
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"].endswith('-txt.zip"')
    files = {
        name: zipfile.ZipFile(io.BytesIO(r.content)).read(name)
        for name in zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    }
    assert {"界址点_38带.txt", "界址点_40带.txt"} <= set(files)
    seen: dict[str, int] = {}
    for name, data in files.items():
        zone = int(name.removeprefix("界址点_").removesuffix("带.txt"))
        parsed = parse_txt(data)
        assert parsed.epsg == 4488 + zone and parsed.header["带号"] == str(zone)
        assert parsed.warnings == []
        for p in parsed.parcels:
            if p.code in stored:
                seen[p.code] = zone
                assert shapely.hausdorff_distance(stored[p.code], p.geometry_4490) < 1e-8
                # 地块面积 is the area in the parcel's own zone.
                own = transform_geom(stored[p.code], 4490, 4488 + zone).area / 1e4
                assert p.declared_area_ha == pytest.approx(own, abs=5e-5)
        back = post_import(client, tokens["admin"], name, data, dry_run=True)
        assert back.status_code in (200, 422), back.text
        body = back.json() if back.status_code == 200 else back.json()["errors"]
        assert body["totals"]["created"] == 0
        rows = {x["code"]: x["action"] for x in body["rows"]}
        assert all(rows[code] == "unchanged" for code, z in seen.items() if z == zone)
    assert seen == {"ZN-40": 40, "ZN-38": 38}
    # The old export put ZN-40 in zone 38: its area would be 0.47 % too large.
    in_38 = transform_geom(stored["ZN-40"], 4490, 4526).area
    in_40 = transform_geom(stored["ZN-40"], 4490, 4528).area
    assert in_38 / in_40 - 1 > 0.004


def test_txt_export_in_one_zone_is_one_file(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.get("/api/exports/parcels?format=txt&city=130100", headers=auth(tokens["admin"]))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["content-disposition"].endswith('.txt"')
    assert parse_txt(r.content).epsg == 4526


def test_cli_txt_export_over_several_zones_writes_a_zip(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    from typer.testing import CliRunner

    from landmatch.cli import app
    from landmatch.settings import get_settings

    monkeypatch.setenv("LANDMATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    out = tmp_path / "x.txt"
    r = CliRunner().invoke(app, ["export", str(out), "--format", "txt"])
    assert r.exit_code == 0, r.output
    assert not out.exists() and (tmp_path / "x.zip").exists()
    assert "投影带" in r.output
    names = zipfile.ZipFile(tmp_path / "x.zip").namelist()
    assert {"界址点_38带.txt", "界址点_39带.txt", "界址点_40带.txt"} <= set(names)
    for name in names:
        zone = int(name.removeprefix("界址点_").removesuffix("带.txt"))
        assert parse_txt(zipfile.ZipFile(tmp_path / "x.zip").read(name)).epsg == 4488 + zone
    single = tmp_path / "sjz.txt"
    r = CliRunner().invoke(app, ["export", str(single), "--format", "txt", "--city", "130100"])
    assert r.exit_code == 0, r.output
    assert parse_txt(single.read_bytes()).epsg == 4526


def test_public_export_has_public_fields_only(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.get("/api/exports/parcels?format=geojson&city=130100")
    assert r.status_code == 200
    feats = r.json()["features"]
    assert feats, "the seed has public ready parcels in 130100"
    for f in feats:
        assert (
            "contact_phone" not in f["properties"]
            and "reserve_price_wan_per_mu" not in f["properties"]
        )
        assert f["properties"]["status"] == "ready"
    staff = client.get(
        "/api/exports/parcels?format=geojson&city=130100", headers=auth(tokens["admin"])
    ).json()["features"]
    assert len(staff) > len(feats) and "contact_phone" in staff[0]["properties"]


def test_xlsx_is_the_ready_land_list(client: TestClient, tokens: dict[str, str]) -> None:
    import io

    from openpyxl import load_workbook

    r = client.get("/api/exports/parcels?format=xlsx&status=ready", headers=auth(tokens["admin"]))
    wb = load_workbook(io.BytesIO(r.content))
    header = [c.value for c in wb["熟地清单"][1]]
    assert {"地块编号", "地块名称", "计算面积(亩)", "计算面积(公顷)", "状态"} <= set(header)
    rows = list(wb["熟地清单"].iter_rows(min_row=2, values_only=True))
    mu, ha = header.index("计算面积(亩)"), header.index("计算面积(公顷)")
    assert all(abs(r_[mu] * 10000 / 15 - r_[ha] * 10000) < 5 for r_ in rows)
    # Each summary line: 序号, code, name, 地块数 …; the total: no 序号, 合计, "", 地块数 …
    summary = list(wb["按城市汇总"].iter_rows(min_row=2, values_only=True))
    assert summary[-1][1] == "合计" and summary[-1][0] is None
    assert sum(s[3] for s in summary[:-1]) == len(rows) == summary[-1][3]
    # One summary sheet per city: by county (with a total), then by land use; 说明 last.
    cities = [s[2] for s in summary[:-1]]
    assert wb.sheetnames == ["熟地清单", "按城市汇总", *(f"{c}汇总" for c in cities), "说明"]
    city_col = header.index("城市名称")
    for c, line in zip(cities, summary[:-1], strict=True):
        lines = list(wb[f"{c}汇总"].iter_rows(min_row=2, values_only=True))
        total = next(x for x in lines if x and x[1] == "合计")
        assert total[3] == line[3] == sum(1 for r_ in rows if r_[city_col] == c)
        start = lines.index(total)
        by_county = lines[:start]
        assert sum(x[3] for x in by_county) == total[3]
        assert lines[start + 2][:3] == ("序号", "用途代码", "用途")
        uses = [x for x in lines[start + 3 :] if x and x[1]]
        assert sum(x[3] for x in uses) == total[3]
        assert abs(sum(x[4] for x in uses) - total[4]) < 0.05 * len(uses)


def test_export_pages_and_refuses_unknown_cities(
    client: TestClient, tokens: dict[str, str]
) -> None:
    h = auth(tokens["admin"])
    every = client.get("/api/exports/parcels?format=geojson&status=ready", headers=h).json()
    page = client.get(
        "/api/exports/parcels?format=geojson&status=ready&limit=5&offset=3", headers=h
    ).json()
    codes = [f["properties"]["code"] for f in every["features"]]
    assert [f["properties"]["code"] for f in page["features"]] == codes[3:8]
    bad = client.get("/api/exports/parcels?format=geojson&city=999999", headers=h)
    assert bad.status_code == 422 and "未知城市代码" in bad.json()["detail"]
    assert client.get("/api/parcels?city=999999", headers=h).status_code == 422


def test_txt_export_in_gbk_and_in_one_chosen_zone(
    client: TestClient, tokens: dict[str, str]
) -> None:
    h = auth(tokens["admin"])
    r = client.get(
        "/api/exports/parcels?format=txt&city=130200&status=ready&encoding=GBK&gk_zone=39",
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    text_ = r.content.decode("gbk")  # 唐山 spans zones 39 and 40: all written in 39
    assert "带号=39" in text_
    with pytest.raises(UnicodeDecodeError):
        r.content.decode("utf-8")
    parsed = parse_txt(r.content)
    assert parsed.epsg == 4527 and len(parsed.parcels) > 0
    bad = client.get("/api/exports/parcels?format=geojson&gk_zone=39", headers=h)
    assert bad.status_code == 400 and "只用于界址点" in bad.json()["detail"]


def test_shapefile_gbk_with_cpg(client: TestClient, tokens: dict[str, str]) -> None:
    import io
    import zipfile

    r = client.get(
        "/api/exports/parcels?format=shp&encoding=GBK&city=130100", headers=auth(tokens["admin"])
    )
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    assert zf.read("parcels.cpg").decode().strip() == "GBK"
    back = post_import(client, tokens["admin"], "g.zip", r.content, dry_run=True)
    body = back.json() if back.status_code == 200 else back.json()["errors"]
    assert body["totals"]["created"] == 0 and body["totals"]["unchanged"] > 0


def test_txt_import_with_projected_crs(client: TestClient, tokens: dict[str, str]) -> None:
    txt = (
        "[属性描述]\r\n坐标系=2000国家大地坐标系\r\n几度分带=3\r\n带号=38\r\n[地块坐标]\r\n"
        "5,1.0000,TXT-1,地块1,面,,工业用地,,@\r\n"
        "J1,1,4212000.000,38544700.000\r\nJ2,1,4212000.000,38544800.000\r\n"
        "J3,1,4212100.000,38544800.000\r\nJ4,1,4212100.000,38544700.000\r\n"
        "J1,1,4212000.000,38544700.000\r\n"
    ).encode("gbk")
    r = post_import(client, tokens["bureau"], "a.txt", txt)
    assert r.status_code == 200, r.text
    assert r.json()["crs"] == "EPSG:4526" and r.json()["totals"]["created"] == 1
    p = client.get("/api/parcels/TXT-1", headers=auth(tokens["bureau"])).json()["properties"]
    assert abs(p["area_m2"] - 10000) < 5 and p["land_use"] == "100102"


def test_limits(client: TestClient, tokens: dict[str, str], app: FastAPI) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"max_upload_mb": 1, "max_import_rows": 1}
    )
    big = post_import(client, tokens["admin"], "a.geojson", b" " * (2 * 1024 * 1024))
    assert big.status_code == 413 and "MB" in big.json()["detail"]
    rows = post_import(
        client,
        tokens["admin"],
        "a.geojson",
        geojson_bytes(feature("LIM-1"), feature("LIM-2", square(114.52, 38.05))),
    )
    assert rows.status_code == 413 and "上限" in rows.json()["detail"]


def _mixed_file(n: int, *, bad_at: int | None = None, foreign_at: int | None = None) -> bytes:
    feats = []
    for i in range(n):
        lon, lat = 114.60 + 0.003 * (i % 10), 38.10 + 0.003 * (i // 10)
        props: dict = {}  # type: ignore[type-arg]
        if i == bad_at:
            props["far_min"] = "很高"
        geom = square(lon, lat)
        if i == foreign_at:
            geom = square(114.48, 39.40)  # 保定市, outside 石家庄's bureau scope
        feats.append(feature(f"IMP-B{i:03d}", geom, **props))
    return geojson_bytes(*feats)


def test_batches_start_small_and_cover_every_row_once() -> None:
    from landmatch.inventory.imports import BATCH, batches

    assert batches(0) == []
    assert batches(1_500) == [(0, 1_500)]
    spans = batches(100_000)
    assert spans[:3] == [(0, 2_000), (2_000, 10_000), (10_000, 10_000 + BATCH)]
    assert spans[-1][1] == 100_000
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_batches_are_written_in_turn_and_a_late_rejection_writes_nothing(
    session: Session, fingerprint: Callable[[], tuple], monkeypatch: pytest.MonkeyPatch
) -> None:
    import landmatch.inventory.imports as imports
    from landmatch.errors import Forbidden, UnprocessableInput

    monkeypatch.setattr(imports, "FIRST_BATCHES", (1,))
    monkeypatch.setattr(imports, "BATCH", 4)  # 11 rows: four batches (1, 4, 4, 2)
    conn = session.connection()
    before = fingerprint()
    with pytest.raises(UnprocessableInput) as bad:
        run_import(conn, _mixed_file(11, bad_at=9), "m.geojson", ADMIN, ImportOptions())
    report = bad.value.detail
    # What the other rows would have done, as a dry run says; none of it stays.
    assert report["totals"] == {
        "rows": 11,
        "created": 10,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
    }
    assert report["rejected"][0]["row"] == 10 and report["rejected"][0]["field"] == "far_min"
    assert fingerprint() == before  # every batch was sent, then rolled back
    bureau = Principal(name="t-b", role="bureau", city_code="130100")
    with pytest.raises(Forbidden):
        run_import(conn, _mixed_file(11, foreign_at=10), "f.geojson", bureau, ImportOptions())
    assert fingerprint() == before
    ok = run_import(conn, _mixed_file(11), "ok.geojson", ADMIN, ImportOptions())
    assert ok["totals"]["created"] == 11
    again = run_import(conn, _mixed_file(11), "ok.geojson", ADMIN, ImportOptions())
    assert again["totals"]["unchanged"] == 11


def test_repeated_codes_are_found_across_batches(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import landmatch.inventory.imports as imports
    from landmatch.errors import UnprocessableInput

    monkeypatch.setattr(imports, "FIRST_BATCHES", ())
    monkeypatch.setattr(imports, "BATCH", 2)
    data = geojson_bytes(
        feature("IMP-D1"),
        feature("IMP-D2", square(114.52, 38.05)),
        feature("IMP-D3", square(114.53, 38.05)),
        feature("IMP-D1", square(114.54, 38.05)),
    )
    with pytest.raises(UnprocessableInput) as bad:
        run_import(session.connection(), data, "d.geojson", ADMIN, ImportOptions())
    reasons = [(p["row"], p["reason"]) for p in bad.value.detail["rejected"]]
    assert reasons == [
        (1, "地块编号“IMP-D1”在文件中重复（首次出现于第 1 行）"),
        (4, "地块编号“IMP-D1”在文件中重复（首次出现于第 1 行）"),
    ]


def test_lon_lat_columns_check_a_stored_parcel_and_never_make_one(
    session: Session, fingerprint: Callable[[], tuple]
) -> None:
    from landmatch.errors import UnprocessableInput

    conn = session.connection()
    code, x, y = conn.execute(
        text(
            "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            "FROM landmatch.parcel WHERE deleted_at IS NULL ORDER BY id LIMIT 1"
        )
    ).one()
    ok = f"地块编号,经度,纬度,参考价格(万元/亩)\n{code},{x:.7f},{y:.7f},33.5\n".encode()
    report = run_import(conn, ok, "price.csv", ADMIN, ImportOptions())
    assert report["totals"]["updated"] == 1
    price = conn.execute(
        text("SELECT ref_price_wan_per_mu FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).scalar_one()
    assert float(price) == 33.5
    before = fingerprint()
    far = f"地块编号,经度,纬度,参考价格(万元/亩)\n{code},{x + 0.05:.7f},{y:.7f},34\n".encode()
    with pytest.raises(UnprocessableInput) as bad:
        run_import(conn, far, "far.csv", ADMIN, ImportOptions())
    [problem] = bad.value.detail["rejected"]
    assert problem["field"] == "geometry" and f"不在已登记地块 {code} 的范围内" in problem["reason"]
    new = f"地块编号,地块名称,用途,经度,纬度\nLL-NEW-1,点位地块,100102,{x:.6f},{y:.6f}\n".encode()
    with pytest.raises(UnprocessableInput) as bad:
        run_import(conn, new, "new.csv", ADMIN, ImportOptions())
    assert "经纬度列只能核对已登记地块的位置" in bad.value.detail["rejected"][0]["reason"]
    assert fingerprint() == before


def test_one_reason_per_bad_field(session: Session) -> None:
    from landmatch.errors import UnprocessableInput

    data = geojson_bytes(feature("IMP-LU1", land_use="月球用地"))
    with pytest.raises(UnprocessableInput) as bad:
        run_import(session.connection(), data, "lu.geojson", ADMIN, ImportOptions())
    [problem] = bad.value.detail["rejected"]  # not also "新地块缺少用途"
    assert problem["field"] == "land_use" and "无法识别" in problem["reason"]


def test_lease_years_within_the_ceiling_of_the_use(session: Session) -> None:
    """出让年限 at most the use's maximum term (docs/domain.md §10: 工业 50, 商业 40 years),
    also where an update gives the term or the use alone (the other is the stored one)."""
    from landmatch.errors import UnprocessableInput

    conn = session.connection()
    bad = geojson_bytes(
        feature("IMP-LY1", lease_years=70),
        feature("IMP-LY2", square(114.52, 38.05), land_use="0901", lease_years=70),
        feature("IMP-LY3", square(114.54, 38.05), land_use="0901", lease_years=40),
    )
    with pytest.raises(UnprocessableInput) as refused:
        run_import(conn, bad, "lease.geojson", ADMIN, ImportOptions())
    assert [(p["row"], p["field"], p["reason"]) for p in refused.value.detail["rejected"]] == [
        (1, "lease_years", "出让年限 70 年超过工业用地最高 50 年"),
        (2, "lease_years", "出让年限 70 年超过商业、旅游、娱乐用地最高 40 年"),
    ]
    ok = geojson_bytes(
        feature("IMP-LY1", lease_years=50),
        feature("IMP-LY3", square(114.54, 38.05), land_use="0901", lease_years=40),
    )
    assert run_import(conn, ok, "ok.geojson", ADMIN, ImportOptions())["totals"]["created"] == 2
    # The term alone, against the stored use; the use alone, against the stored term.
    for csv, field, reason in (
        ("地块编号,出让年限\nIMP-LY3,50\n", "lease_years", "商业、旅游、娱乐用地最高 40 年"),
        ("地块编号,用途\nIMP-LY1,0901\n", "land_use", "出让年限 50 年超过商业"),
        ("地块编号,用途,出让年限\nIMP-LY1,,60\n", "lease_years", "工业用地最高 50 年"),
    ):
        with pytest.raises(UnprocessableInput) as refused:
            run_import(conn, csv.encode(), "update.csv", ADMIN, ImportOptions())
        [problem] = refused.value.detail["rejected"]
        assert problem["field"] == field and reason in problem["reason"], (csv, problem)
    fine = "地块编号,出让年限\nIMP-LY3,30\n".encode()
    assert run_import(conn, fine, "fine.csv", ADMIN, ImportOptions())["totals"]["updated"] == 1


def test_impossible_control_indicators_are_refused(session: Session) -> None:
    """A 绿地率上限 over 100 %, a negative 建筑系数下限 or 容积率 cannot be a parcel's
    (docs/domain.md §8); nothing is written."""
    from landmatch.errors import UnprocessableInput

    bad = geojson_bytes(
        feature("IMP-CI1", green_ratio_max=120),
        feature("IMP-CI2", square(114.52, 38.05), building_coeff_min=-5),
        feature("IMP-CI3", square(114.54, 38.05), far_min=-1),
    )
    with pytest.raises(UnprocessableInput) as refused:
        run_import(session.connection(), bad, "ci.geojson", ADMIN, ImportOptions())
    got = {(p["row"], p["field"]) for p in refused.value.detail["rejected"]}
    assert got == {(1, "green_ratio_max"), (2, "building_coeff_min"), (3, "far_min")}
    reasons = " ".join(p["reason"] for p in refused.value.detail["rejected"])
    assert "绿地率上限(%)=120 超过允许的最大值 100" in reasons
    n = session.execute(
        text("SELECT count(*) FROM landmatch.parcel WHERE code LIKE 'IMP-CI%'")
    ).scalar_one()
    assert n == 0


def test_compatible_uses_are_read_as_the_land_use_is(session: Session) -> None:
    """兼容用途 takes what 用途 takes, read by the same normaliser (land_use.read): a level-2
    code or name as its default sub-class (said in the report), an old code through the
    crosswalk; what 用途 refuses it refuses with the same reason."""
    from landmatch.errors import UnprocessableInput

    conn = session.connection()
    wkt = (
        "POLYGON((114.5{k} 38.03,114.5{k}3 38.03,114.5{k}3 38.033,114.5{k} 38.033,114.5{k} 38.03))"
    )
    rows = ("1101", "物流仓储用地", "W3、0802", "110101")
    csv = "地块编号,地块名称,用途,兼容用途,wkt,状态\n" + "".join(
        f'IMP-CU{k},兼容{k},100102,{uses},"{wkt.format(k=k)}",ready\n'
        for k, uses in enumerate(rows)
    )
    report = run_import(conn, csv.encode(), "compat.csv", ADMIN, ImportOptions())
    assert report["totals"]["created"] == 4
    stored: dict[str, list[str]] = dict(
        conn.execute(
            text("SELECT code, compatible_uses FROM landmatch.parcel WHERE code LIKE 'IMP-CU%'")
        ).all()
    )
    assert stored == {
        "IMP-CU0": ["110102"],
        "IMP-CU1": ["110102"],
        "IMP-CU2": ["110103", "0802"],
        "IMP-CU3": ["110101"],
    }
    said = {d["message"]: d["rows"] for d in report["decisions"] if d["field"] == "compatible_uses"}
    assert said == {
        "兼容用途“1101”对应用地用海分类 1101 物流仓储用地，未分一、二、三类，按 110102 "
        "二类物流仓储用地记录": [2],
        "兼容用途“物流仓储用地”对应用地用海分类 1101 物流仓储用地，未分一、二、三类，按 110102 "
        "二类物流仓储用地记录": [3],
    }
    bad = "地块编号,兼容用途\nIMP-CU0,0604\nIMP-CU1,待定\n"
    with pytest.raises(UnprocessableInput) as refused:
        run_import(conn, bad.encode(), "bad.csv", ADMIN, ImportOptions())
    [first, second] = refused.value.detail["rejected"]
    assert first["field"] == "compatible_uses"
    assert first["reason"].startswith(
        "兼容用途“0604”（GB/T 21010-2017 仓储用地）与用地用海分类不是"
    )
    assert second["reason"] == "兼容用途含无法识别的取值：待定"


def test_a_reserve_price_below_the_minimum_price_is_reported(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import row giving an industrial 出让底价 below its county's grade of the national
    minimum price (a setting) is imported with a warning in the report."""
    from landmatch.settings import get_settings

    wkt = "POLYGON((114.50 38.03,114.503 38.03,114.503 38.033,114.50 38.033,114.50 38.03))"
    csv = f'地块编号,地块名称,用途,底价(万元/亩),wkt\nIMP-MP1,底价,100102,20,"{wkt}"\n'
    monkeypatch.setenv("LANDMATCH_INDUSTRIAL_PRICE_GRADES", '{"130100": 5}')
    get_settings.cache_clear()
    try:
        report = run_import(
            session.connection(), csv.encode(), "mp.csv", ADMIN, ImportOptions(dry_run=True)
        )
    finally:
        monkeypatch.delenv("LANDMATCH_INDUSTRIAL_PRICE_GRADES")
        get_settings.cache_clear()
    [warning] = [w for w in report["warnings"] if "最低价" in w]
    assert "出让底价 20 万元/亩低于全国工业用地出让最低价标准（第 5 等" in warning, warning


def test_the_minimum_price_reads_the_sale_price_and_says_when_the_use_is_unknown(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import holds 底价 and 成交价 to the minimum price by the same rule as an edit
    (docs/domain.md §10): a 成交价 (万元) over the parcel's 亩 below the floor is a warning on
    the row and field; a new row without 用途 (stored 待定) is reported as not checkable; an
    update row giving a price without 用途 is checked against the stored use and area."""
    from landmatch.settings import get_settings

    wkt = "POLYGON((114.50 38.03,114.503 38.03,114.503 38.033,114.50 38.033,114.50 38.03))"
    far = "POLYGON((114.51 38.03,114.513 38.03,114.513 38.033,114.51 38.033,114.51 38.03))"
    conn = session.connection()
    run_import(  # a stored industrial parcel of about 131 亩, before any grade is set
        conn,
        f'地块编号,地块名称,用途,wkt\nIMP-SP0,已存,100102,"{far}"\n'.encode(),
        "sp0.csv",
        ADMIN,
        ImportOptions(),
    )
    csv = (
        "地块编号,地块名称,用途,底价(万元/亩),成交价(万元),wkt\n"
        f'IMP-SP1,成交价低,100102,30,1000,"{wkt}"\n'
        f'IMP-SP2,无用途,,10,1000,"{wkt.replace("38.03", "38.05")}"\n'
    )
    update = "地块编号,成交价(万元),底价(万元/亩)\nIMP-SP0,1000,10\n"
    monkeypatch.setenv("LANDMATCH_INDUSTRIAL_PRICE_GRADES", '{"130100": 5}')
    get_settings.cache_clear()
    try:
        report = run_import(conn, csv.encode(), "sp.csv", ADMIN, ImportOptions(dry_run=True))
        stored = run_import(conn, update.encode(), "up.csv", ADMIN, ImportOptions(dry_run=True))
    finally:
        monkeypatch.delenv("LANDMATCH_INDUSTRIAL_PRICE_GRADES")
        get_settings.cache_clear()
    rows = {r["code"]: r for r in report["rows"]}
    [sale] = rows["IMP-SP1"]["warnings"]  # 底价 30 is above 25.6; 成交价 ≈ 7.6 万元/亩 is not
    assert sale["field"] == "land_price_wan"
    assert sale["message"].startswith("成交价 1,000 万元（合 7.6"), sale
    [unknown] = rows["IMP-SP2"]["warnings"]
    assert unknown == {
        "field": "reserve_price_wan_per_mu",
        "message": "用途待定，无法核验出让底价和成交价是否低于全国工业用地出让最低价标准"
        "（本地为第 5 等，合 25.6 万元/亩，适用于工业用地）：请补充用途",
    }
    assert any(
        w.startswith("第 3 行（IMP-SP2）底价(万元/亩)：用途待定") for w in report["warnings"]
    )
    # The update row names neither 用途 nor a boundary: the stored ones are read.
    [row] = stored["rows"]
    assert [w["field"] for w in row["warnings"]] == [
        "reserve_price_wan_per_mu",
        "land_price_wan",
    ], row
    assert row["warnings"][1]["message"].startswith("成交价 1,000 万元（合 7.6"), row


def test_xiongan_as_a_city_is_refused_with_what_to_write(session: Session) -> None:
    """雄安新区 (133100) is not a city of the inventory (docs/domain.md §4: an NBS code, not
    GB/T 2260, and no boundary in the division layer): a row naming it as the city is told so
    and what to write (blank, or 保定 130600), where it got the generic list of eight cities."""
    from landmatch.errors import InvalidInput, UnprocessableInput

    wkt = "POLYGON((115.86 39.05,115.863 39.05,115.863 39.053,115.86 39.053,115.86 39.05))"
    csv = (
        "地块编号,地块名称,用途,城市代码,wkt\n"
        f'IMP-XA1,容城,100102,133100,"{wkt}"\n'
        f'IMP-XA2,容城,100102,雄安新区,"{wkt}"\n'
    )
    with pytest.raises(UnprocessableInput) as refused:
        run_import(session.connection(), csv.encode(), "xa.csv", ADMIN, ImportOptions())
    reasons = [(p["field"], p["reason"]) for p in refused.value.detail["rejected"]]
    assert reasons == [
        (
            "city_code",
            f"城市代码“{given}”：雄安新区（133100）在本系统中不是单独的城市：新区所辖"
            "容城、安新、雄县按国家区划代码属保定市（130600），其余部分按所在县区的城市；请把城市代码"
            "留空（由地块位置确定）或填写 130600",
        )
        for given in ("133100", "雄安新区")
    ]
    # Left blank, the location decides: 容城 is 保定's.
    ok = run_import(
        session.connection(),
        csv.replace(",133100,", ",,").replace(",雄安新区,", ",,").encode(),
        "xa.csv",
        ADMIN,
        ImportOptions(dry_run=True),
    )
    assert ok["totals"]["rejected"] == 0, ok["rejected"]
    # Named as the import's city (--city, the API's form field): the same answer.
    with pytest.raises(InvalidInput) as whole:
        run_import(
            session.connection(), csv.encode(), "xa.csv", ADMIN, ImportOptions(city="133100")
        )
    assert whole.value.message.startswith(
        "导入时指定的城市“133100”：雄安新区（133100）在本系统中不是单独的城市"
    ), whole.value.message


def test_declared_area_warning_reads_mu_exactly(session: Session) -> None:
    """The declared-area warning converts with the exact 1 亩 = 10000/15 m² (not a rounded
    666.6667) and writes 亩 as people read them: to 0.01, with thousands separators."""
    from landmatch.geo.measure import M2_PER_MU

    declared = 1234.56503 * M2_PER_MU  # 0.01 亩 rounding flips with 666.6667
    wkt = "POLYGON((114.50 38.03,114.503 38.03,114.503 38.033,114.50 38.033,114.50 38.03))"
    csv = f'地块编号,地块名称,用途,申报面积(平方米),wkt\nIMP-DA1,申报,100102,{declared!r},"{wkt}"\n'
    report = run_import(
        session.connection(), csv.encode(), "da.csv", ADMIN, ImportOptions(dry_run=True)
    )
    [warning] = [w for w in report["warnings"] if "申报面积" in w]
    assert "申报面积 1,234.57 亩与计算面积 " in warning, warning


def test_energy_indicator_is_per_value_added(session: Session) -> None:
    """The 标准地 energy figure is per value added, as the match reads it (docs/domain.md §8):
    labelled 单位增加值能耗上限 in 吨标煤/万元增加值; the earlier header 单位产值能耗上限 and a
    value in 千克标煤/万元 are read."""
    from landmatch.inventory.fields import BY_NAME, split_label

    assert split_label("energy_per_value_max") == ("单位增加值能耗上限", "吨标煤/万元增加值")
    assert "产值" not in BY_NAME["energy_per_value_max"].label
    conn = session.connection()
    wkt = (
        "POLYGON((114.5{k} 38.03,114.5{k}3 38.03,114.5{k}3 38.033,114.5{k} 38.033,114.5{k} 38.03))"
    )
    for k, (header, value) in enumerate(
        (
            ("单位产值能耗上限", "0.5"),
            ("单位增加值能耗上限(吨标煤/万元增加值)", "0.4"),
            ("单位增加值能耗上限", "300千克标煤/万元"),
        )
    ):
        csv = f'地块编号,地块名称,用途,{header},wkt\nIMP-EN{k},能耗,100102,{value},"{wkt.format(k=k)}"\n'
        report = run_import(conn, csv.encode(), "energy.csv", ADMIN, ImportOptions())
        assert report["totals"]["created"] == 1, report
    stored = conn.execute(
        text(
            "SELECT code, energy_per_value_max FROM landmatch.parcel WHERE code LIKE 'IMP-EN%' "
            "ORDER BY code"
        )
    ).all()
    assert [(c, float(v)) for c, v in stored] == [
        ("IMP-EN0", 0.5),
        ("IMP-EN1", 0.4),
        ("IMP-EN2", 0.3),
    ]


def _parcel_of(conn: Any, city: str) -> tuple[str, str, str]:
    """(code, name, geometry as WKT) of a stored parcel of ``city``."""
    row = conn.execute(
        text(
            "SELECT code, name, ST_AsText(geom) FROM landmatch.parcel "
            "WHERE city_code = :c AND deleted_at IS NULL ORDER BY code LIMIT 1"
        ),
        {"c": city},
    ).one()
    return row[0], row[1], row[2]


def test_a_bureau_cannot_overwrite_or_move_another_citys_parcel(
    client: TestClient, tokens: dict[str, str], session: Session, fingerprint: Callable[[], tuple]
) -> None:
    """The 石家庄 bureau imports rows whose codes are 廊坊 parcels: each row is refused with
    its reason (the parcel edit path's rule), in the dry run too, and nothing is written; the
    same file is fine for the admin. Reviewer's D1: the import renamed and moved them."""
    conn = session.connection()
    code, name, wkt = _parcel_of(conn, "131000")
    own, _own_name, _ = _parcel_of(conn, "130100")
    rename = f"地块编号,地块名称\r\n{own},本市改名\r\n{code},改名\r\n".encode()
    move = geojson_bytes(
        feature(code, square(114.50, 38.03), 城市="130100", name="被石家庄局改写"),
    )
    before = fingerprint()
    for fname, data, row in (("x.csv", rename, 3), ("hijack.geojson", move, 1)):
        dry = post_import(client, tokens["bureau"], fname, data, dry_run=True)
        assert dry.status_code == 200, dry.text
        [problem] = dry.json()["rejected"]
        assert problem["row"] == row and problem["field"] == "code", problem
        assert "无权编辑廊坊市的地块" in problem["reason"] and code in problem["reason"]
        real = post_import(client, tokens["bureau"], fname, data)
        assert real.status_code == 422, real.text
        assert "无权编辑廊坊市的地块" in real.json()["detail"]
        assert fingerprint() == before
    stored = conn.execute(
        text("SELECT name, city_code, ST_AsText(geom) FROM landmatch.parcel WHERE code = :c"),
        {"c": code},
    ).one()
    assert tuple(stored) == (name, "131000", wkt)
    # A deleted parcel of another city is not brought back either.
    conn.execute(
        text("UPDATE landmatch.parcel SET deleted_at = now() WHERE code = :c"), {"c": code}
    )
    again = post_import(client, tokens["bureau"], "x.csv", rename, dry_run=True)
    assert [p["row"] for p in again.json()["rejected"]] == [3]
    conn.execute(text("UPDATE landmatch.parcel SET deleted_at = NULL WHERE code = :c"), {"c": code})
    # The admin may.
    ok = post_import(client, tokens["admin"], "x.csv", rename)
    assert ok.status_code == 200 and ok.json()["totals"]["updated"] == 2, ok.text


def test_a_bureaus_lon_lat_check_says_nothing_of_where_another_citys_parcel_lies(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    """A 石家庄 bureau's table names a 廊坊 parcel with lon/lat far from it: the row is refused
    for its scope only; the location check (which would name the distance to that parcel) is
    not run for a parcel the caller may not write. Its own parcel is still checked."""
    conn = session.connection()
    code, _name, _wkt = _parcel_of(conn, "131000")
    own, _own_name, _ = _parcel_of(conn, "130100")
    data = (
        f"地块编号,经度,纬度,参考价格(万元/亩)\r\n{own},114.0,36.5,30\r\n{code},114.0,36.5,30\r\n"
    ).encode()
    dry = post_import(client, tokens["bureau"], "far.csv", data, dry_run=True)
    assert dry.status_code == 200, dry.text
    by_code = {p["code"]: p for p in dry.json()["rejected"]}
    assert set(by_code) == {own, code}, by_code
    assert by_code[own]["field"] == "geometry" and "相距" in by_code[own]["reason"]
    assert by_code[code]["field"] == "code" and "无权编辑廊坊市的地块" in by_code[code]["reason"]
    assert "相距" not in dry.text.replace(by_code[own]["reason"], "")


def _collection(*members: dict[str, Any]) -> dict[str, Any]:
    return {"type": "GeometryCollection", "geometries": list(members)}


def test_geometry_collections_are_boundaries_only_of_polygons(
    client: TestClient, tokens: dict[str, str], fingerprint: Callable[[], tuple]
) -> None:
    """A GeometryCollection: a line or a point in it is refused by row (it was a 500, or the
    point was dropped silently); overlapping polygons in it are invalid, in the dry run as in
    the import (the dry run passed and the import failed in PostGIS with a 500); disjoint
    polygons make a MultiPolygon; "repair" merges overlapping ones (review D4)."""
    line = {"type": "LineString", "coordinates": [[114.5, 38.0], [114.51, 38.01]]}
    point = {"type": "Point", "coordinates": [114.6, 38.1]}
    cases = {
        "GC-LINE": (_collection(line), "几何集合中含有线（LineString）"),
        "GC-POINT": (_collection(square(114.52, 38.02), point), "几何集合中含有点（Point）"),
        "GC-OVER": (
            _collection(square(114.53, 38.03), square(114.5305, 38.0305)),
            "几何图形无效：自相交",
        ),
    }
    before = fingerprint()
    for code, (geometry, reason) in cases.items():
        data = geojson_bytes(feature(code, geometry))
        for dry in (True, False):
            r = post_import(client, tokens["admin"], f"{code}.geojson", data, dry_run=dry)
            assert r.status_code == (200 if dry else 422), (code, r.text)
            body = r.json() if dry else r.json()["errors"]
            [problem] = body["rejected"]
            assert problem["field"] == "geometry" and problem["reason"].startswith(reason), problem
    assert fingerprint() == before
    disjoint = _collection(square(114.54, 38.04), square(114.55, 38.04))
    r = post_import(
        client, tokens["admin"], "d.geojson", geojson_bytes(feature("GC-TWO", disjoint))
    )
    assert r.status_code == 200 and r.json()["totals"]["created"] == 1, r.text
    over = cases["GC-OVER"][0]
    r = post_import(
        client, tokens["admin"], "o.geojson", geojson_bytes(feature("GC-OVER", over)), repair=True
    )
    assert r.status_code == 200 and r.json()["totals"]["created"] == 1, r.text


def test_lon_lat_columns_are_checked_beside_a_boundary_file(
    session: Session, fingerprint: Callable[[], tuple]
) -> None:
    """A table with lon/lat columns and a boundary file in Gauss–Krüger (a TXT): the lon/lat
    are still checked against the stored parcel, in their own CRS (review D13: the boundary
    file's CRS was used for them, which made them infinite, and the check was skipped)."""
    from landmatch.errors import UnprocessableInput
    from tests.geo import shapes

    conn = session.connection()
    code, x, y = conn.execute(
        text(
            "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            "FROM landmatch.parcel WHERE deleted_at IS NULL ORDER BY id LIMIT 1"
        )
    ).one()
    txt = (shapes.TXT_EXAMPLE.replace("\n", "\r\n").encode("gbk"), "边界.txt")
    before = fingerprint()
    far = f"地块编号,经度,纬度,参考价格(万元/亩)\n{code},{x + 0.05:.7f},{y:.7f},34\n".encode()
    with pytest.raises(UnprocessableInput) as bad:
        run_import(conn, far, "far.csv", ADMIN, ImportOptions(), boundaries=txt)
    [problem] = bad.value.detail["rejected"]
    assert problem["field"] == "geometry" and f"不在已登记地块 {code} 的范围内" in problem["reason"]
    assert fingerprint() == before
    near = f"地块编号,经度,纬度,参考价格(万元/亩)\n{code},{x:.7f},{y:.7f},34\n".encode()
    report = run_import(conn, near, "near.csv", ADMIN, ImportOptions(dry_run=True), boundaries=txt)
    assert report["totals"]["updated"] == 1 and report["crs"] == "EPSG:4526"


def test_rollback_refused_when_it_would_restore_a_state_refused_today(session: Session) -> None:
    """A rollback restores each changed parcel's state before the import: one today's
    validation refuses (出让年限 70 on industrial land, stored before the rule) is refused
    with the parcel, field and reason, and nothing is written."""
    from landmatch.errors import UnprocessableInput

    conn = session.connection()
    run_import(conn, geojson_bytes(feature("IMP-LY")), "a.geojson", ADMIN, ImportOptions())
    conn.execute(text("UPDATE landmatch.parcel SET lease_years = 70 WHERE code = 'IMP-LY'"))
    rep = run_import(
        conn, geojson_bytes(feature("IMP-LY", lease_years=50)), "b.geojson", ADMIN, ImportOptions()
    )
    assert rep["totals"]["updated"] == 1, rep
    with pytest.raises(UnprocessableInput) as refused:
        rollback_import(conn, rep["import_id"], ADMIN)
    assert "IMP-LY（出让年限：出让年限 70 年超过工业用地最高 50 年）" in refused.value.message
    assert refused.value.detail == [
        {"code": "IMP-LY", "field": "lease_years", "reason": "出让年限 70 年超过工业用地最高 50 年"}
    ]
    stored = conn.execute(
        text(
            "SELECT p.lease_years, p.version, b.status FROM landmatch.parcel p "
            "JOIN landmatch.import_batch b ON b.id = :i WHERE p.code = 'IMP-LY'"
        ),
        {"i": rep["import_id"]},
    ).one()
    assert tuple(stored) == (50, 3, "committed")
