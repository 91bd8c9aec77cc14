"""Imports of files as Hebei offices send them (issue #16, items 3–9): survey TXT without 用途,
old land-use codes, every problem of a row at once, the bureau's Excel 清单, Chinese parcel
codes, what the import decided, rollback, dry-run exit codes, BOM/UTF-16 GeoJSON and Chinese
messages. The files are made in the tests (tests/data/office_files.py)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from landmatch.auth import Principal
from landmatch.cli import app
from landmatch.errors import InvalidInput, UnprocessableInput
from landmatch.inventory.imports import ImportOptions, run_import
from landmatch.settings import Settings
from tests.conftest import auth
from tests.data import office_files as office
from tests.inventory.conftest import feature, geojson_bytes, post_import, square

ADMIN = Principal(name="tester", role="admin")


def _dry(session: Session, data: bytes, name: str, **opts: Any) -> dict[str, Any]:
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


def test_cli_dry_run_exits_2_when_a_row_would_be_rejected(
    tmp_path: Path, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
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
def test_geojson_with_bom_or_in_utf16_is_read(session: Session, encoding: str) -> None:
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
def test_parser_and_gdal_messages_are_in_chinese(
    client: TestClient,
    tokens: dict[str, str],
    fingerprint: Callable[[], tuple],
    name: str,
    make: Callable[[], bytes],
) -> None:
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


def test_rollback_frees_the_codes_it_created(session: Session) -> None:
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


def test_rollback_refused_when_a_created_parcel_was_reserved(session: Session) -> None:
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


def test_csv_row_longer_than_its_header_is_refused_not_shifted(session: Session) -> None:
    from landmatch.errors import FormatError

    data = (
        f'地块编号,地块名称,用途,WKT\nCSV-1,一号,100102,"{office.square_wkt(114.5, 38.04)}",多余\n'
    )
    with pytest.raises(FormatError) as info:
        _dry(session, data.encode(), "a.csv")
    assert "第 2 行有 5 列，而表头只有 4 列" in info.value.message


# --------------------------------------------------------------------------- item 4


def test_every_problem_of_a_row_at_once_location_first(session: Session) -> None:
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


def test_txt_parcel_outside_hebei_without_code_reports_the_location_first(session: Session) -> None:
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


# --------------------------------------------------------------------------- item 3


SURVEY = [  # a survey delivery: Chinese codes, 地块用途 left empty (GBK, CRLF)
    {"code": "石经开2025-31号", "name": "经开区31号地", "corners": office.gk_square(114.71, 38.01)},
    {"code": "石经开2025-32号", "name": "经开区32号地", "corners": office.gk_square(114.72, 38.01)},
]


def test_survey_txt_without_land_use_is_stored_unpublished_as_pending(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    from sqlalchemy import text

    r = post_import(client, tokens["admin"], "勘测定界.txt", office.survey_txt(SURVEY))
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["totals"]["created"] == 2
    decided = {d["field"]: d for d in rep["decisions"]}
    assert decided["land_use"]["count"] == 2
    assert "记为“待定”，地块保存为不公开（内部）" in decided["land_use"]["message"]
    assert decided["status"]["message"] == "未填写状态，按默认记为“批而未供”（导入时可指定默认值）"
    assert (
        decided["visibility"]["message"] == "未填写公开范围，按默认记为“内部”（导入时可指定默认值）"
    )
    stored = session.execute(
        text(
            "SELECT land_use, visibility, status FROM landmatch.parcel "
            "WHERE code = '石经开2025-31号'"
        )
    ).one()
    assert tuple(stored) == ("TBD", "internal", "unsupplied")
    # QA flags it ...
    qa = client.get("/api/qa?city=130100&limit=1000", headers=auth(tokens["admin"])).json()
    pending = next(c for c in qa["checks"] if c["id"] == "land_use_pending")
    assert {"石经开2025-31号", "石经开2025-32号"} <= {i["code"] for i in pending["items"]}
    # ... and it cannot be published until its land use is set.
    url = f"/api/parcels/{quote('石经开2025-31号', safe='')}"
    tag = client.get(url, headers=auth(tokens["admin"])).headers["ETag"]
    refused = client.patch(
        url,
        json={"visibility": "public", "status": "ready"},
        headers={**auth(tokens["admin"]), "If-Match": tag},
    )
    assert refused.status_code == 422, refused.text
    assert "用途待定的地块不能公开" in refused.json()["detail"]
    ok = client.patch(
        url,
        json={"land_use": "M2", "visibility": "public", "status": "ready"},
        headers={**auth(tokens["admin"]), "If-Match": tag},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["properties"]["land_use"] == "100102"


def test_pending_land_use_is_never_public_in_the_database(session: Session) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    conn = session.connection()
    run_import(conn, office.survey_txt(SURVEY[:1]), "a.txt", ADMIN, ImportOptions())
    with pytest.raises(IntegrityError, match="ck_parcel_pending_use"), conn.begin_nested():
        conn.execute(
            text("UPDATE landmatch.parcel SET visibility = 'public' WHERE code = '石经开2025-31号'")
        )


def test_defaults_given_with_the_import_fill_blanks_and_say_so(
    tmp_path: Path, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    from landmatch.settings import get_settings

    monkeypatch.setenv("LANDMATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    f = tmp_path / "勘测定界.txt"
    f.write_bytes(office.survey_txt(SURVEY))
    out = tmp_path / "report.json"
    args = ["import", str(f), "--land-use", "0601", "--status", "熟地", "--visibility", "public"]
    r = CliRunner().invoke(app, [*args, "--dry-run", "--report", str(out)])
    assert r.exit_code == 0, r.output
    rep = json.loads(out.read_text())
    messages = {d["field"]: d["message"] for d in rep["decisions"]}
    assert messages == {
        "land_use": "未填写用途，按导入时指定的默认值记为“二类工业用地”",
        "status": "未填写状态，按导入时指定的默认值记为“熟地”",
        "visibility": "未填写公开范围，按导入时指定的默认值记为“公开”",
        "county_code": "新地块未填县区，已按地块位置记为所在县区",
    }
    bad = CliRunner().invoke(app, ["import", str(f), "--dry-run", "--land-use", "0604"])
    assert isinstance(bad.exception, InvalidInput)  # main() prints it and exits 2
    assert "不是一一对应" in bad.exception.message
    with engine.connect() as c:
        assert not c.execute(
            text("SELECT count(*) FROM landmatch.parcel WHERE code LIKE '石经开2025-3_号'")
        ).scalar()


def test_api_defaults_and_pending_use_gives_way_to_internal(
    client: TestClient, tokens: dict[str, str]
) -> None:
    r = post_import(
        client,
        tokens["admin"],
        "a.txt",
        office.survey_txt(SURVEY),
        dry_run=True,
        visibility="公开",
        status="ready",
    )
    assert r.status_code == 200, r.text
    decided = {d["message"] for d in r.json()["decisions"]}
    assert "用途待定，不按默认值公开，记为“内部”" in decided


@pytest.mark.parametrize(
    ("written", "stored", "note"),
    [
        ("M2", "100102", None),
        ("W1", "110101", None),
        ("0602", "1002", None),
        ("A35", "0802", None),
        ("0601", "100102", "GB/T 21010-2017 工业用地"),
        ("0508", "110102", "三调工作分类 物流仓储用地"),
        ("工业用地", "100102", "未分一、二、三类"),
        ("0604", None, "可能是 1101 物流仓储用地，也可能是 1102 储备库用地"),
        ("0804", None, "在用地用海分类中 0804 是教育用地"),
        ("U15", None, "不是一一对应"),
        ("住宅", None, "无法识别"),
    ],
)
def test_old_land_use_codes_are_read_where_one_to_one(
    session: Session, written: str, stored: str | None, note: str | None
) -> None:
    rep = _dry(session, geojson_bytes(feature("LU-1", land_use=written)), "lu.geojson")
    row = rep["rows"][0]
    if stored is None:
        assert row["action"] == "rejected"
        assert note in row["problems"][0]["reason"]
        return
    assert row["action"] == "created"
    land_use_notes = [d["message"] for d in rep["decisions"] if d["field"] == "land_use"]
    assert (note is None and not land_use_notes) or note in land_use_notes[0]


def test_txt_land_class_is_read_when_the_use_is_empty(session: Session) -> None:
    from sqlalchemy import text

    txt = office.survey_txt([{**SURVEY[0], "land_class": "0601"}])
    run_import(session.connection(), txt, "a.txt", ADMIN, ImportOptions())
    assert (
        session.execute(
            text("SELECT land_use FROM landmatch.parcel WHERE code = '石经开2025-31号'")
        ).scalar()
        == "100102"
    )


def test_crosswalk_targets_are_inventory_codes() -> None:
    from landmatch import vocab
    from landmatch.inventory.land_use import CROSSWALK

    assert len({c.code for c in CROSSWALK}) == len(CROSSWALK)
    for c in CROSSWALK:
        assert c.target is None or c.target in vocab.LAND_USE, c
        assert c.target is not None or c.note, c  # a refusal says why


# --------------------------------------------------------------------------- item 5

BUREAU_ROWS = [
    # 序号, 编号, 名称, 县（市、区）, 亩, 公顷, 用地性质, 容积率, 建筑密度（%）, 绿地率（%）,
    # 七通一平情况, 供电能力（kVA）, 供水能力（m³/d）, 出让年限, 参考价格, 经度, 纬度, 状态
    [
        1,
        "石经开2025-31号",
        "经开区31号地",
        "藁城区",
        15.0,
        1.0,
        "M2",
        "1.0-2.0",
        "≤40",
        "≤15",
        "七通一平",
        "8000kVA",
        "1.2万",
        "50年",
        "面议",
        None,
        None,
        "熟地",
    ],
    [
        2,
        "石经开2025-32号",
        "经开区32号地",
        "藁城",
        15.2,
        1.01,
        "0601",
        "1.2",
        35,
        "15",
        "五通一平",
        "1.2MVA",
        3000,
        50,
        "35",
        None,
        None,
        "批而未供",
    ],
]


def test_bureau_excel_with_a_boundary_file_through_the_api(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    from sqlalchemy import text

    r = client.post(
        "/api/imports",
        files={
            "file": ("石家庄市熟地清单.xlsx", office.bureau_xlsx(BUREAU_ROWS)),
            "boundaries": ("勘测定界.txt", office.survey_txt(SURVEY)),
        },
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["totals"]["created"] == 2 and rep["crs"] == "EPSG:4526"
    assert any("第 7 行（合计行）、第 8 行（表下说明）" in w for w in rep["warnings"])
    rows = {
        r_.code: r_
        for r_ in session.execute(
            text(
                "SELECT code, county_code, land_use, status, far_min, far_max, density_max, "
                "green_ratio_max, readiness, power_kva, water_m3d, lease_years, "
                "ref_price_wan_per_mu, declared_area_m2 FROM landmatch.parcel "
                "WHERE code LIKE '石经开2025-3_号'"
            )
        )
    }
    a, b = rows["石经开2025-31号"], rows["石经开2025-32号"]
    assert (a.county_code, b.county_code) == ("130109", "130109")  # 藁城区 and 藁城
    assert (a.land_use, b.land_use) == ("100102", "100102")  # M2 and GB/T 21010 0601
    assert (a.status, b.status) == ("ready", "unsupplied")
    assert (float(a.far_min), float(a.far_max), float(b.far_min), b.far_max) == (
        1.0,
        2.0,
        1.2,
        None,
    )
    assert (float(a.density_max), float(b.density_max)) == (40.0, 35.0)
    assert float(a.green_ratio_max) == 15.0
    assert sorted(a.readiness) == sorted(
        ["road", "power", "water", "sewage", "telecom", "gas", "heat", "levelled"]
    )
    assert sorted(b.readiness) == sorted(["water", "power", "road", "gas", "telecom", "levelled"])
    assert (a.power_kva, b.power_kva) == (8000.0, 1200.0)
    assert (a.water_m3d, b.water_m3d) == (12000.0, 3000.0)
    assert (a.lease_years, b.lease_years) == (50, 50)
    assert a.ref_price_wan_per_mu is None and float(b.ref_price_wan_per_mu) == 35.0
    assert a.declared_area_m2 == pytest.approx(15.0 * 10000 / 15)
    decided = " ".join(d["message"] for d in rep["decisions"])
    for said in (
        "“面议”不是数值",
        "“七通一平”记为",
        "“五通一平”记为",
        "按下限记录",
        "藁城区",
        "0601",
    ):
        assert said in decided, said


def test_bureau_excel_with_boundaries_from_the_cli(
    tmp_path: Path, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from landmatch.settings import get_settings

    monkeypatch.setenv("LANDMATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    sheet = tmp_path / "清单.xlsx"
    sheet.write_bytes(office.bureau_xlsx(BUREAU_ROWS))
    txt = tmp_path / "勘测定界.txt"
    txt.write_bytes(office.survey_txt(SURVEY[:1]))
    out = tmp_path / "r.json"
    r = CliRunner().invoke(
        app, ["import", str(sheet), "--boundaries", str(txt), "--dry-run", "--report", str(out)]
    )
    assert r.exit_code == 2, r.output  # the second parcel has no boundary
    rep = json.loads(out.read_text())
    assert [x["action"] for x in rep["rows"]] == ["created", "rejected"]
    assert rep["rows"][1]["problems"] == [
        {
            "field": "geometry",
            "reason": "边界文件“勘测定界.txt”中没有这个编号的地块，新地块需要边界",
        }
    ]


def test_unknown_headers_and_bad_values_are_all_reported_at_once(session: Session) -> None:
    groups = [
        (None, ["序号"]),
        (None, ["地块编号"]),
        (None, ["地块名称"]),
        (None, ["颜色"]),
        (None, ["容积律"]),
        (None, ["供电能力（kVA）"]),
        (None, ["建筑密度（%）"]),
        (None, ["出让年限"]),
        (None, ["几何(WKT)"]),
    ]
    wkt = office.square_wkt(114.50, 38.04)
    rows = [
        [1, "HDR-1", "一号", "红", "1.0", "10kV", "≥40", "长期", wkt],
        [2, "HDR-2", "二号", "蓝", "1.0", "8000", "30", "50年", wkt],
    ]
    rep = _dry(session, office.bureau_xlsx(rows, groups=groups, footer=False), "清单.xlsx")
    header_problems = [p for p in rep["rejected"] if str(p["row"]).startswith("表头")]
    assert [(p["field"], p["reason"]) for p in header_problems] == [
        ("颜色", "无法识别的列“颜色”"),
        ("容积律", "无法识别的列“容积律”；最接近的已知字段：“容积率”"),
    ]
    assert header_problems[0]["row"] == "表头（第 3–4 行）"
    first = rep["rows"][0]
    assert [p["field"] for p in first["problems"]] == ["density_max", "lease_years", "power_kva"]
    reasons = " ".join(p["reason"] for p in first["problems"])
    assert "“10kV”是电压等级（kV），不是供电容量" in reasons
    assert "“≥40”与字段不符：此处应填上限（≤）" in reasons
    assert "“长期”不是数字" in reasons
    assert rep["rows"][1]["action"] == "created"  # checked in the same attempt


def test_percent_cells_and_title_only_sheets(session: Session) -> None:
    """A 建筑密度 cell formatted as a percentage (0.4 shown as 40%) is 40, not 0.4; the sheet
    with the list is found among others (a 说明 sheet first)."""
    from openpyxl import Workbook

    wb = Workbook()
    info = wb.active
    info.title = "说明"
    info.append(["本表由石家庄市自然资源和规划局填报"])
    ws = wb.create_sheet("地块")
    ws.append(["地块编号", "地块名称", "用途", "建筑密度（%）", "几何(WKT)"])
    ws.append(["PCT-1", "百分比", "100102", 0.4, office.square_wkt(114.5, 38.04)])
    ws["D2"].number_format = "0%"
    buf = io.BytesIO()
    wb.save(buf)
    from sqlalchemy import text

    run_import(session.connection(), buf.getvalue(), "x.xlsx", ADMIN, ImportOptions())
    assert (
        session.execute(
            text("SELECT density_max FROM landmatch.parcel WHERE code = 'PCT-1'")
        ).scalar()
        == 40
    )


# --------------------------------------------------------------------------- item 6


def test_a_chinese_code_works_end_to_end(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    import gzip

    import mapbox_vector_tile

    from landmatch.db.tiles import tile_at

    code = "石经开2025-31号"
    enc = quote(code, safe="")
    props = {"status": "ready", "visibility": "public", "city_code": "130100"}
    r = post_import(
        client,
        tokens["admin"],
        "a.geojson",
        geojson_bytes(feature(code, square(114.71, 38.01), **props)),
    )
    assert r.status_code == 200, r.text
    admin = auth(tokens["admin"])
    got = client.get(f"/api/parcels/{enc}", headers=admin)
    assert got.status_code == 200 and got.json()["properties"]["code"] == code
    assert got.headers["ETag"].isascii()
    patched = client.patch(
        f"/api/parcels/{enc}",
        json={"name": "改名"},
        headers={**admin, "If-Match": got.headers["ETag"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["properties"]["name"] == "改名"
    card = client.get(f"/api/parcels/{enc}/card", headers=admin).json()
    assert card["brochure_url"] == f"/parcels/{enc}/brochure"
    assert card["internal"]["history_url"] == f"/api/parcels/{enc}/history"
    assert client.get(card["internal"]["history_url"], headers=admin).status_code == 200
    brochure = client.get(card["brochure_url"])
    assert brochure.status_code == 200 and code in brochure.text
    # OGC API: filter by the code, follow the item's own link.
    items = client.get(f"/ogc/collections/parcels/items?code={enc}&f=json")
    assert items.status_code == 200, items.text
    [feat] = items.json()["features"]
    assert feat["properties"]["code"] == code
    self_link = next(link["href"] for link in items.json()["links"] if link["rel"] == "self")
    assert enc in self_link
    assert client.get(f"/ogc/collections/parcels/items/{feat['id']}?f=json").status_code == 200
    # A vector tile carries it, and a click finds it.
    x, y = tile_at(114.711, 38.011, 15)
    tile = client.get(f"/tiles/parcels/15/{x}/{y}.pbf")
    assert tile.status_code == 200
    body = tile.content if tile.content[:2] != b"\x1f\x8b" else gzip.decompress(tile.content)
    codes = {
        f["properties"].get("code") for f in mapbox_vector_tile.decode(body)["parcels"]["features"]
    }
    assert code in codes
    hit = client.get("/api/identify?lon=114.711&lat=38.011")
    assert code in hit.text


@pytest.mark.parametrize("bad", ["地块 1", "A/B-1", "x\u200by1", "ab", "a" * 65])
def test_codes_with_spaces_slashes_or_invisible_characters_are_refused(
    session: Session, bad: str
) -> None:
    rep = _dry(session, geojson_bytes(feature(bad)), "a.geojson")
    [problem] = rep["rows"][0]["problems"]
    assert problem["field"] == "code"
    rule = "不含空格、控制字符和 /、\\" if len(bad) <= 64 else "最多 64 个字符"
    assert rule in problem["reason"]


def test_a_zone_statistical_code_as_county_names_the_county(session: Session) -> None:
    rep = _dry(
        session,
        geojson_bytes(feature("HT-1", square(114.52, 38.04), county_code="130171")),
        "a.geojson",
    )
    [problem] = rep["rows"][0]["problems"]
    assert problem["field"] == "county_code"
    assert problem["reason"].startswith(
        "“130171”是石家庄高新技术产业开发区的统计代码，不是县区代码；地块位于"
    )
    assert "请填写 1301" in problem["reason"]


# --------------------------------------------------------------------------- item 7


def test_a_new_parcel_overlapping_a_stored_one_is_warned_with_both_codes(session: Session) -> None:
    conn = session.connection()
    run_import(
        conn,
        geojson_bytes(feature("OV-OLD", square(114.60, 38.10))),
        "a.geojson",
        ADMIN,
        ImportOptions(),
    )
    rep = run_import(
        conn,
        geojson_bytes(
            feature("OV-NEW", square(114.601, 38.101)), feature("OV-FAR", square(114.65, 38.10))
        ),
        "b.geojson",
        ADMIN,
        ImportOptions(dry_run=True),
    )
    new, far = rep["rows"]
    [warning] = new["warnings"]
    assert warning["message"].startswith("与已登记地块 OV-OLD 重叠 ")
    assert "warnings" not in far
    assert any(
        w.startswith("第 1 行（OV-NEW）几何图形：与已登记地块 OV-OLD 重叠") for w in rep["warnings"]
    )


def test_a_dry_run_update_lists_what_changes_old_to_new(session: Session) -> None:
    conn = session.connection()
    run_import(
        conn,
        geojson_bytes(feature("UPD-1", far_max=2.0, status="ready")),
        "a.geojson",
        ADMIN,
        ImportOptions(),
    )
    rep = run_import(
        conn,
        geojson_bytes(feature("UPD-1", square(114.50, 38.04, 0.003), far_max=2.5, status="idle")),
        "b.geojson",
        ADMIN,
        ImportOptions(dry_run=True),
    )
    [row] = rep["rows"]
    assert row["action"] == "updated"
    changes = {c["field"]: (c["old"], c["new"]) for c in row["changes"]}
    assert changes["far_max"] == ("2", "2.5")
    assert changes["status"] == ("熟地（ready）", "闲置（idle）")
    assert (
        changes["geometry"][0].startswith("面积 ")
        and changes["geometry"][0] != changes["geometry"][1]
    )
    assert set(changes) == {"far_max", "status", "geometry"}


def test_declared_area_off_by_more_than_one_percent_is_a_warning_row(session: Session) -> None:
    rep = _dry(
        session,
        geojson_bytes(
            feature("AR-1", None, **{"面积(亩)": 999}), feature("AR-2", square(114.52, 38.05))
        ),
        "a.geojson",
    )
    first, second = rep["rows"]
    assert first["action"] == "created" and "warnings" not in second
    [warning] = first["warnings"]
    assert warning["field"] == "declared_area_m2" and "超过 1%" in warning["message"]
