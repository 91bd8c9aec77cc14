"""Imports of files as Hebei offices send them (issue #16, items 3–9): survey TXT without 用途,
old land-use codes, every problem of a row at once, the bureau's Excel 清单, Chinese parcel
codes, what the import decided, rollback, dry-run exit codes, BOM/UTF-16 GeoJSON and Chinese
messages. The files are made in the tests (tests/data/office_files.py)."""

from __future__ import annotations

import io
import json
import re
import zipfile

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from landmatch.auth import Principal
from landmatch.cli import app
from landmatch.errors import UnprocessableInput
from landmatch.inventory.imports import ImportOptions, run_import
from tests.data import office_files as office
from tests.inventory.conftest import feature, geojson_bytes, post_import, square

ADMIN = Principal(name="tester", role="admin")


def _dry(session, data: bytes, name: str, **opts):  # type: ignore[no-untyped-def]
    """A dry-run report; a rejected import's report (the same shape) when rows are refused."""
    try:
        return run_import(
            session.connection(), data, name, ADMIN, ImportOptions(dry_run=True, **opts)
        )
    except UnprocessableInput as exc:
        if not (isinstance(exc.detail, dict) and "totals" in exc.detail):
            raise  # not a report of rows: the file itself was refused
        return exc.detail


# --------------------------------------------------------------------------- item 9


def test_cli_dry_run_exits_2_when_a_row_would_be_rejected(tmp_path, engine, settings, monkeypatch):  # type: ignore[no-untyped-def]
    from landmatch.settings import get_settings

    monkeypatch.setenv("LANDMATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    good = tmp_path / "good.geojson"
    good.write_bytes(geojson_bytes(feature("CLI-DRY-1")))
    bad = tmp_path / "bad.geojson"
    bad.write_bytes(geojson_bytes(feature("CLI-DRY-2"), feature("CLI-DRY-3", status="乱填")))
    ok = CliRunner().invoke(app, ["import", str(good), "--dry-run"])
    assert ok.exit_code == 0, ok.output
    refused = CliRunner().invoke(app, ["import", str(bad), "--dry-run"])
    assert refused.exit_code == 2, refused.output
    assert "试运行" in refused.output and "乱填" in refused.output


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_geojson_with_bom_or_in_utf16_is_read(session, encoding):  # type: ignore[no-untyped-def]
    data = office.geojson([feature("BOM-001", name="带BOM的地块")], encoding=encoding)
    rep = _dry(session, data, "windows.geojson")
    assert rep["totals"]["created"] == 1, rep
    assert rep["format"] == "geojson"


def _gpkg() -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "p.gpkg"
        gdf = gpd.GeoDataFrame(
            {"地块编号": ["GP-1"]}, geometry=[shapely.box(114.5, 38.0, 114.51, 38.01)], crs=4490
        )
        gdf.to_file(path, engine="pyogrio")
        return path.read_bytes()


def _corrupt_shp_zip() -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        gdf = gpd.GeoDataFrame(
            {"code": ["SHP-1"]}, geometry=[shapely.box(114.5, 38.0, 114.51, 38.01)], crs=4490
        )
        gdf.to_file(Path(d) / "p.shp", engine="pyogrio")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for p in sorted(Path(d).iterdir()):
                data = p.read_bytes()
                zf.writestr(p.name, data[:60] if p.suffix == ".shp" else data)
        return buf.getvalue()


OPEN_RING = {
    "type": "Feature",
    "properties": {"地块编号": "RING-1"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[114.5, 38.0], [114.51, 38.0], [114.5, 38.01], [114.49, 38.0]]],
    },
}
# Words a Chinese message may contain: format names, file names, codes.
ALLOWED_WORDS = {
    "GeoJSON",
    "GeoPackage",
    "Shapefile",
    "JSON",
    "CSV",
    "WKT",
    "Excel",
    "xlsx",
    "shp",
    "shx",
    "dbf",
    "UTF",
    "BOM",
    "EPSG",
    "gpkg",
    "geojson",
    "csv",
    "zip",
}


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("地块.gpkg", lambda: _gpkg()[:3000]),
        ("地块.gpkg", lambda: _gpkg()[:100] + b"\0" * 4000),
        ("地块.zip", _corrupt_shp_zip),
        (
            "地块.geojson",
            lambda: json.dumps({"type": "FeatureCollection", "features": [OPEN_RING]}).encode(),
        ),
        ("地块.geojson", lambda: b'{"type": "FeatureCollection", "features": [,]}'),
        ("地块.geojson", lambda: b'{"type": "FeatureCollection"} trailing'),
        ("地块.csv", lambda: "地块编号,地块名称\nA-1,一,多余\n".encode()),
        ("地块.csv", lambda: '地块编号,WKT\nW-1,"POLYGON((114.5 38, 114.6 38, 114.6"\n'.encode()),
    ],
)
def test_parser_and_gdal_messages_are_in_chinese(client, tokens, fingerprint, name, make):  # type: ignore[no-untyped-def]
    before = fingerprint()
    r = post_import(client, tokens["admin"], name, make())
    assert r.status_code == 422, r.text
    body = r.json()
    report = body.get("errors") if isinstance(body.get("errors"), dict) else {}
    messages = [body["detail"], *(p["reason"] for p in report.get("rejected", []))]
    text = " ".join(messages).replace(name, "")
    words = set(re.findall(r"[A-Za-z]{3,}", text)) - ALLOWED_WORDS
    assert not words, text
    assert fingerprint() == before


# --------------------------------------------------------------------------- item 8


def test_rollback_frees_the_codes_it_created(session):  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from landmatch.inventory.imports import rollback_import

    conn = session.connection()
    first = run_import(
        conn,
        geojson_bytes(feature("RB-NEW-1", notes="第一次导入的备注", far_max=2.0)),
        "first.geojson",
        ADMIN,
        ImportOptions(),
    )
    old_id = conn.execute(text("SELECT id FROM landmatch.parcel WHERE code = 'RB-NEW-1'")).scalar()
    rollback_import(conn, first["import_id"], ADMIN)
    again = run_import(
        conn, geojson_bytes(feature("RB-NEW-1")), "again.geojson", ADMIN, ImportOptions()
    )
    assert again["totals"]["created"] == 1 and again["rows"][0]["action"] == "created"
    row = conn.execute(
        text("SELECT id, version, notes, far_max FROM landmatch.parcel WHERE code = 'RB-NEW-1'")
    ).one()
    assert row.id != old_id and row.version == 1
    assert row.notes is None and row.far_max is None  # nothing of the rolled-back file
    # The rolled-back parcel's history is kept: inserted, then deleted by the rollback.
    ops = conn.execute(
        text(
            "SELECT op, row ->> 'notes' FROM landmatch.parcel_version_full "
            "WHERE parcel_id = :p ORDER BY version, id"
        ),
        {"p": old_id},
    ).all()
    assert [tuple(o) for o in ops] == [
        ("insert", "第一次导入的备注"),
        ("delete", "第一次导入的备注"),
    ]


def test_rollback_refused_when_a_created_parcel_was_reserved(session):  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from landmatch.errors import Conflict
    from landmatch.inventory.imports import rollback_import

    conn = session.connection()
    rep = run_import(conn, geojson_bytes(feature("RB-RES-1")), "r.geojson", ADMIN, ImportOptions())
    project = conn.execute(
        text(
            "INSERT INTO landmatch.project (name, requirement) "
            "VALUES ('汽车零部件项目', '{}'::jsonb) RETURNING id"
        )
    ).scalar()
    conn.execute(
        text(
            "INSERT INTO landmatch.reservation (parcel_id, project_id, reserved_by) "
            "SELECT id, :pr, 'promoter' FROM landmatch.parcel WHERE code = 'RB-RES-1'"
        ),
        {"pr": project},
    )
    with pytest.raises(Conflict) as info:
        rollback_import(conn, rep["import_id"], ADMIN)
    assert "RB-RES-1（预留）" in info.value.message
    assert (
        conn.execute(
            text(
                "SELECT count(*) FROM landmatch.reservation r JOIN landmatch.parcel p "
                "ON p.id = r.parcel_id WHERE p.code = 'RB-RES-1'"
            )
        ).scalar()
        == 1
    )


def test_csv_row_longer_than_its_header_is_refused_not_shifted(session):  # type: ignore[no-untyped-def]
    from landmatch.errors import FormatError

    data = (
        f'地块编号,地块名称,用途,WKT\nCSV-1,一号,100102,"{office.square_wkt(114.5, 38.04)}",多余\n'
    )
    with pytest.raises(FormatError) as info:
        _dry(session, data.encode(), "a.csv")
    assert "第 2 行有 5 列，而表头只有 4 列" in info.value.message


# --------------------------------------------------------------------------- item 4


def test_every_problem_of_a_row_at_once_location_first(session):  # type: ignore[no-untyped-def]
    """A parcel in Beijing that also lacks its code and has a bad status and date; a parcel
    in 唐山 stated as 石家庄 with a FAR out of range: every problem, location first."""
    beijing = {
        "type": "Feature",
        "properties": {
            "name": "北京的地块",
            "land_use": "100102",
            "status": "乱填",
            "approval_date": "2024-13-45",
        },
        "geometry": square(116.40, 39.90),
    }
    tangshan = feature("ORD-2", square(118.18, 39.63), city_code="130100", far_max=99)
    rep = _dry(session, geojson_bytes(beijing, tangshan), "faults.geojson")
    first, second = rep["rows"]
    assert [p["field"] for p in first["problems"]] == [
        "geometry",
        "code",
        "status",
        "approval_date",
    ]
    assert first["problems"][0]["reason"].startswith("地块不在河北省范围内")
    assert first["problems"][1]["reason"] == "缺少地块编号"
    assert [p["field"] for p in second["problems"]] == ["city_code", "far_max"]
    assert "地块位于唐山市，与所填城市石家庄市不符" in second["problems"][0]["reason"]
    # The flat list is in the same order.
    assert [p["field"] for p in rep["rejected"]] == [
        "geometry",
        "code",
        "status",
        "approval_date",
        "city_code",
        "far_max",
    ]


def test_txt_parcel_outside_hebei_without_code_reports_the_location_first(session):  # type: ignore[no-untyped-def]
    """A survey TXT (GBK) whose second parcel lies in Beijing (zone 39) and has no code."""
    txt = office.survey_txt(
        [
            {
                "code": "石经开2025-31号",
                "name": "经开区31号地",
                "corners": office.gk_square(116.71, 39.1, zone=39),
            },
            {"code": "", "name": "京界地块", "corners": office.gk_square(116.40, 39.90, zone=39)},
        ],
        zone=39,
    )
    rep = _dry(session, txt, "勘测定界.txt")
    outside = rep["rows"][1]
    assert outside["action"] == "rejected"
    assert outside["problems"][0]["field"] == "geometry"
    assert outside["problems"][0]["reason"].startswith("地块不在河北省范围内")
    assert any(p["field"] == "code" for p in outside["problems"][1:])
