"""The import wizard's pages (issue #14 §3) through the app, without a browser: every page
and endpoint walked as each role (and as a bureau of another city), the wizard from upload
through column mapping, dry run, report (filters, paging, xlsx, map), a corrected file, commit
and rollback; saved mappings offered next time; CSRF; bad files refused in Chinese with
nothing written; the Excel template; a shapefile dropped as its parts; a background job run
on its own connections with its progress in the database.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tests.accounts_made import add_usable_user
from tests.api.test_geojson_rfc7946 import check
from tests.conftest import sign_in
from tests.data import import_wizard_files as W
from tests.data import office_files as office

ROLES = ("public", "admin", "bureau", "zone", "promoter")
IMPORTERS = ("admin", "bureau")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _count(session: Session, sql: str, **params: Any) -> int:
    return int(session.execute(text(sql), params).scalar_one())


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _upload(client: Any, csrf: str, files: list[tuple[str, bytes]]) -> Any:
    return client.post(
        "/workbench/imports",
        data={"csrf_token": csrf},
        files=[("files", f) for f in files],
        follow_redirects=False,
    )


def _job_url(r: Any) -> str:
    assert r.status_code == 303, r.text[:500]
    url = r.headers["location"]
    assert re.fullmatch(r"/workbench/imports/\d+", url), url
    return str(url)


def _mapping_fields(html: str) -> dict[str, str]:
    """The mapping step's select names by the header they map."""
    return {h: f"map-{i}" for i, h in re.findall(r'<label for="map-(\d+)">([^<]+)</label>', html)}


def _check(client: Any, url: str, csrf: str, mapping: dict[str, str | None], **options: str) -> Any:
    page = client.get(url)
    fields = _mapping_fields(page.text)
    data = {"csrf_token": csrf, **options}
    for header, target in mapping.items():
        data[fields[header]] = "__ignore__" if target is None else target
    return client.post(url + "/check", data=data, follow_redirects=False)


@pytest.fixture
def other_bureau(session: Session, password_hash: str) -> str:
    """A land bureau of 唐山 (130200), signed in with TEST_PASSWORD."""
    add_usable_user(session, "t-bureau-ts", "bureau", "130200", password_hash=password_hash)
    return "t-bureau-ts"


@pytest.mark.parametrize("role", ROLES)
def test_pages_as_each_role(
    client: TestClient, passwords: dict[str, str], session: Session, role: str
) -> None:
    if role != "public":
        sign_in(client, passwords[role])
    for path in (
        "/workbench/imports",
        "/workbench/imports/new",
        "/workbench/imports/template.xlsx",
    ):
        r = client.get(path, follow_redirects=False)
        if role == "public":
            assert r.status_code == 303 and r.headers["location"].startswith("/workbench/login")
        else:
            assert r.status_code == (200 if role in IMPORTERS else 403), (role, path)
            if r.status_code == 403:
                assert "无权" in r.text
    home = client.get("/workbench", follow_redirects=False)
    if role != "public":
        assert ('href="/workbench/imports"' in home.text) == (role in IMPORTERS)
    # The upload itself.
    csrf = _csrf(home.text) if role != "public" else ""
    before = _count(session, "SELECT count(*) FROM landmatch.import_job")
    r = _upload(client, csrf, [("清单.xlsx", W.bureau_xlsx("E1", fixed=True))])
    if role == "public":
        assert r.status_code == 303 and r.headers["location"].startswith("/workbench/login")
    else:
        assert r.status_code == (303 if role in IMPORTERS else 403), (role, r.text[:300])
    made = _count(session, "SELECT count(*) FROM landmatch.import_job") - before
    assert made == (1 if role in IMPORTERS else 0)


def test_job_pages_as_each_role_and_city(
    client: TestClient, passwords: dict[str, str], other_bureau: str, session: Session
) -> None:
    """A 石家庄 job: its bureau and admins see and run it; 唐山's bureau, zone committees and
    promoters are refused on every page and endpoint; the public is sent to sign in."""
    csrf = sign_in(client, passwords["bureau"])
    url = _job_url(_upload(client, csrf, [("清单.xlsx", W.bureau_xlsx("R1", fixed=True))]))
    assert _check(client, url, csrf, W.MAPPING).status_code == 303
    client.post("/workbench/logout", data={"csrf_token": csrf})
    gets = ("", "/progress", "/report.xlsx", "/features.geojson")
    for who in ("public", "admin", "bureau", other_bureau, "zone", "promoter"):
        client.cookies.clear()
        name = passwords.get(who, who)
        token = sign_in(client, name) if who != "public" else ""
        allowed = who in IMPORTERS
        for suffix in gets:
            r = client.get(url + suffix, follow_redirects=False)
            if who == "public":
                assert r.status_code == 303, suffix
            else:
                assert r.status_code == (200 if allowed else 403), (who, suffix, r.text[:200])
        listed = client.get("/workbench/imports")
        if allowed:
            assert f'href="{url}"' in listed.text
        elif who == other_bureau:
            assert listed.status_code == 200 and f'href="{url}"' not in listed.text
        if not allowed and who != "public":
            for suffix, data in (("/check", {}), ("/commit", {}), ("/rollback", {"reason": "x"})):
                r = client.post(
                    url + suffix, data={**data, "csrf_token": token}, follow_redirects=False
                )
                assert r.status_code == 403, (who, suffix)
            r = client.post(
                url + "/files",
                data={"csrf_token": token},
                files=[("files", ("清单.xlsx", W.bureau_xlsx("R1", fixed=True)))],
                follow_redirects=False,
            )
            assert r.status_code == 403, who
    job = int(url.rsplit("/", 1)[1])
    assert _count(session, "SELECT count(*) FROM landmatch.import_job WHERE id = :j", j=job) == 1


def test_the_wizard_from_upload_to_rollback(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    tag = "W" + uuid.uuid4().hex[:6]
    codes = W.codes(tag)
    # Upload: the detected values are shown and pre-filled; two headers need a mapping.
    url = _job_url(
        _upload(client, csrf, [("石家庄市熟地清单.xlsx", W.bureau_xlsx(tag, fixed=False))])
    )
    page = client.get(url)
    assert page.status_code == 200
    assert "Excel 工作簿" in page.text and "4 行" in page.text and "EPSG:4490" in page.text
    assert re.search(r'<option value="130100" selected>', page.text)
    assert set(_mapping_fields(page.text)) == {"宗地坐落位置", "地块四至"}
    assert "最接近：坐落" in page.text
    # Options refused beside their field; nothing kept.
    r = _check(client, url, csrf, W.MAPPING, crs="EPSG:99999", land_use="不存在的用途")
    assert r.status_code == 200 and "is-invalid" in r.text
    assert "坐标系" in r.text
    # The dry run with the mapping (saved for the city under a name).
    r = _check(client, url, csrf, W.MAPPING, city="130100", mapping_name="经开区清单格式")
    assert r.status_code == 303
    page = client.get(url)
    assert "试运行报告" in page.text and "拒绝 1" in page.text and "新建 3" in page.text
    assert "U15" in page.text and "用途" in page.text
    assert 'id="commit-form"' not in page.text and 'id="fix-first"' in page.text
    assert (
        _count(session, "SELECT count(*) FROM landmatch.parcel WHERE code = ANY(:c)", c=codes) == 0
    )
    # Filters: the rejected rows only; by code.
    r = client.get(url + "?action=rejected")
    rows = re.findall(r'<tr class="lm-line-(\w+)">', r.text)
    assert rows == ["rejected"]
    r = client.get(url, params={"q": codes[0]})
    assert re.findall(r'<tr class="lm-line-\w+"><td>(\d+)</td>', r.text) == [str(W.FIRST_ROW)]
    # The map's parcels, each with its action; the report as xlsx.
    fc = client.get(url + "/features.geojson").json()
    assert check(fc, "the import map") == len(fc["features"])  # RFC 7946 (issue 17 item 6)
    assert sorted(f["properties"]["action"] for f in fc["features"]) == [
        "created",
        "created",
        "created",
        "rejected",
    ]
    x = client.get(url + "/report.xlsx")
    assert x.status_code == 200 and x.headers["content-type"] == XLSX
    # A plain file name too, for clients that read no filename* (curl -OJ).
    assert re.search(r'filename="import-\d+-report\.xlsx"', x.headers["content-disposition"])
    ws = load_workbook(io.BytesIO(x.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[2] == ["行号", "地块编号", "处理结果", "字段", "原因/说明"]
    assert any(v[2] == "拒绝" and "U15" in (v[4] or "") for v in values[3:])
    # Commit refused while a row is rejected.
    r = client.post(url + "/commit", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 409 and "被拒绝" in r.text
    # The corrected file replaces the first; options and mapping stay.
    r = client.post(
        url + "/files",
        data={"csrf_token": csrf},
        files=[("files", ("石家庄市熟地清单（修正）.xlsx", W.bureau_xlsx(tag, fixed=True)))],
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(url)
    assert 'value="坐落" selected' in page.text and 'value="__ignore__" selected' in page.text
    r = client.post(
        url + "/check",
        data={
            "csrf_token": csrf,
            "city": "130100",
            **{
                v: ("坐落" if k == "宗地坐落位置" else "__ignore__")
                for k, v in _mapping_fields(page.text).items()
            },
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(url)
    assert "拒绝 0" in page.text and 'id="commit-form"' in page.text
    # Commit without the CSRF token: refused, nothing written.
    r = client.post(url + "/commit", data={}, follow_redirects=False)
    assert r.status_code == 403
    assert (
        _count(session, "SELECT count(*) FROM landmatch.parcel WHERE code = ANY(:c)", c=codes) == 0
    )
    r = client.post(url + "/commit", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(url)
    assert "已导入" in page.text and "导入报告" in page.text and 'id="rollback-form"' in page.text
    stored = session.execute(
        text(
            "SELECT code, address, land_use, import_id FROM landmatch.parcel WHERE code = ANY(:c)"
        ),
        {"c": codes},
    ).all()
    assert len(stored) == 4
    assert all(r.address and r.address.startswith("石家庄经济技术开发区") for r in stored)
    assert {r.land_use for r in stored} == {"100101"}
    import_id = stored[0].import_id
    assert f"导入批次 {import_id}" in page.text
    assert (
        client.post(url + "/commit", data={"csrf_token": csrf}, follow_redirects=False).status_code
        == 409
    )
    # The list shows it with its totals and a rollback button (CSRF, confirmation).
    listed = client.get("/workbench/imports")
    assert f'action="{url}/rollback"' in listed.text and "data-confirm=" in listed.text
    assert (
        client.post(url + "/rollback", data={"reason": "x"}, follow_redirects=False).status_code
        == 403
    )
    r = client.post(
        url + "/rollback",
        data={"csrf_token": csrf, "reason": "清单有误", "back": "list"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/workbench/imports"
    assert (
        _count(
            session,
            "SELECT count(*) FROM landmatch.parcel WHERE code = ANY(:c) AND deleted_at IS NULL",
            c=codes,
        )
        == 0
    )
    assert "已撤销" in client.get(url).text
    # Next time: the saved mapping is offered and pre-filled.
    url2 = _job_url(_upload(client, csrf, [("清单2.xlsx", W.bureau_xlsx("N" + tag, fixed=True))]))
    page = client.get(url2)
    assert 'id="mapping-offered"' in page.text and "经开区清单格式" in page.text
    assert 'value="坐落" selected' in page.text


def test_a_large_report_pages(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """A report of more lines than a page: the pager walks it, the count is complete."""
    csrf = sign_in(client, passwords["bureau"])
    tag = "P" + uuid.uuid4().hex[:6]
    url = _job_url(_upload(client, csrf, [("清单.xlsx", W.bureau_xlsx(tag, fixed=True, n=130))]))
    assert _check(client, url, csrf, W.MAPPING).status_code == 303
    first = client.get(url)
    assert "共 130 条，第 1–100 条" in first.text
    last = client.get(url + "?offset=100")
    assert "第 101–130 条" in last.text
    assert len(re.findall(r'<tr class="lm-line-', last.text)) == 30


def test_csrf_and_text_stays_text(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    before = _count(session, "SELECT count(*) FROM landmatch.import_job")
    r = client.post(
        "/workbench/imports",
        files=[("files", ("清单.xlsx", W.bureau_xlsx("C1", fixed=True)))],
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert _count(session, "SELECT count(*) FROM landmatch.import_job") == before
    rows = W.bureau_rows("C2", fixed=True)
    rows[0][4] = '<script>alert("用途")</script>'
    data = office.bureau_xlsx(rows, groups=W.GROUPS, footer=False)
    url = _job_url(_upload(client, csrf, [("<b>清单</b>.xlsx", data)]))
    assert _check(client, url, csrf, W.MAPPING).status_code == 303
    page = client.get(url)
    assert "拒绝 1" in page.text
    assert '<script>alert("用途")' not in page.text and "&lt;script&gt;alert(" in page.text
    assert "<b>清单</b>" not in page.text


def test_bad_files_are_refused_in_chinese(
    client: TestClient,
    make_client: Callable[..., TestClient],
    passwords: dict[str, str],
    session: Session,
) -> None:
    csrf = sign_in(client, passwords["bureau"])
    jobs = _count(session, "SELECT count(*) FROM landmatch.import_job")
    parcels = _count(session, "SELECT count(*) FROM landmatch.parcel")
    good = W.bureau_xlsx("B1", fixed=True)
    cases = [
        ("broken.xlsx", good[: len(good) // 2], ("损坏", "无法", "不完整", "zip")),
        ("坐标.txt", b"\xff\xfe\x00\xd8" * 50, ("编码", "损坏")),
        ("空.geojson", b"", ("为空",)),
    ]
    for name, data, words in cases:
        r = _upload(client, csrf, [(name, data)])
        assert r.status_code == 200, (name, r.status_code, r.text[:300])
        msg = re.search(r'id="f-files-msg" role="alert">([^<]+)<', r.text)
        assert msg, (name, r.text[:500])
        assert re.search(r"[\u4e00-\u9fff]", msg.group(1)), msg.group(1)
        assert any(w in msg.group(1) for w in words), (name, msg.group(1))
    # Files that do not go together.
    r = _upload(client, csrf, [("a.geojson", b"{}"), ("b.txt", b"x")])
    assert r.status_code == 200 and "无法组合" in r.text
    r = _upload(client, csrf, [("p.shp", b"x"), ("p.dbf", b"y")])
    assert r.status_code == 200 and "缺少 .shx" in r.text
    # GBK read as UTF-8 (an option the user set): the dry run fails with the reason.
    txt = office.survey_txt(
        [
            {
                "code": "石经开2026-G1号",
                "name": "广安街地块",
                "corners": office.gk_square(114.52, 38.05),
            }
        ]
    )
    url = _job_url(_upload(client, csrf, [("勘测定界.txt", txt)]))
    assert "GBK" in client.get(url).text or "GB18030" in client.get(url).text
    r = client.post(
        url + "/check",
        data={"csrf_token": csrf, "encoding": "utf-8-sig", "code_prefix": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(url)
    assert "失败" in page.text and "无法按 utf-8-sig 解码" in page.text
    # Wrong CRS: the file's projected coordinates read as longitude/latitude.
    r = client.post(
        url + "/check",
        data={"csrf_token": csrf, "encoding": "", "crs": "EPSG:4490"},
        follow_redirects=False,
    )
    page = client.get(url)
    assert ("失败" in page.text or "拒绝 1" in page.text) and "坐标" in page.text
    assert 'id="commit-form"' not in page.text
    # Oversized: 413 in Chinese before anything is read.
    small = make_client(max_upload_mb=1)
    token = sign_in(small, passwords["bureau"])
    r = _upload(small, token, [("big.xlsx", b"PK" + b"\0" * (2 << 20))])
    assert r.status_code == 413 and "上限 1 MB" in r.text
    assert _count(session, "SELECT count(*) FROM landmatch.import_job") == jobs + 1
    assert _count(session, "SELECT count(*) FROM landmatch.parcel") == parcels


def test_the_excel_template(client: TestClient, passwords: dict[str, str]) -> None:
    from landmatch.inventory import template

    csrf = sign_in(client, passwords["bureau"])
    r = client.get("/workbench/imports/template.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[:2] == ["说明", "熟地清单"] and "词表" in wb.sheetnames
    ws = wb["熟地清单"]
    headers = [c.value for c in ws[1]]
    assert headers == template.headers()
    assert {
        "地块编号",
        "用途",
        "状态",
        "公开范围",
        "面积(亩)",
        "供电容量(kVA)",
        "几何(WKT)",
    } <= set(headers)
    lists = {
        next(iter(dv.sqref.ranges)).coord.split(":")[0].rstrip("0123456789"): dv
        for dv in ws.data_validations.dataValidation
    }
    col = {h: ws.cell(1, j + 1).column_letter for j, h in enumerate(headers)}
    for h in ("状态", "公开范围", "用途", "城市代码", "标准地"):
        assert col[h] in lists, h
        assert lists[col[h]].formula1.startswith("=词表!")
    notes = [[c.value for c in row] for row in wb["说明"].iter_rows()]
    assert ["列名", "类型", "说明"] in notes and any(n[0] == "供电容量(kVA)" for n in notes)
    # Filled in with dropdown values, it imports without a mapping.
    ws.append(
        {
            headers.index("地块编号") + 1: "石经开2026-T1号",
            headers.index("地块名称") + 1: "模板地块",
            headers.index("用途") + 1: "一类工业用地",
            headers.index("状态") + 1: "熟地",
            headers.index("公开范围") + 1: "内部",
            headers.index("面积(亩)") + 1: 58.4,
            headers.index("几何(WKT)") + 1: office.square_wkt(114.52, 38.12),
        }
    )
    buf = io.BytesIO()
    wb.save(buf)
    url = _job_url(_upload(client, csrf, [("熟地清单模板.xlsx", buf.getvalue())]))
    page = client.get(url)
    assert 'id="mapping-table"' not in page.text
    client.post(url + "/check", data={"csrf_token": csrf}, follow_redirects=False)
    page = client.get(url)
    assert "新建 1" in page.text and "拒绝 0" in page.text, re.findall(
        r"<td>[^<]*</td>", page.text
    )[:20]


def test_a_shapefile_dropped_as_its_parts(
    client: TestClient, passwords: dict[str, str], tmp_path: Path
) -> None:
    import geopandas as gpd
    from shapely import wkt

    csrf = sign_in(client, passwords["bureau"])
    frame = gpd.GeoDataFrame(
        {
            "DKBH": ["石经开2026-S1号"],
            "DKMC": ["分件上传地块"],
            "TDYT": ["100101"],
            "ZT": ["ready"],
        },
        geometry=[wkt.loads(office.square_wkt(114.53, 38.13))],
        crs=4490,
    )
    frame.to_file(tmp_path / "地块.shp", encoding="utf-8")
    parts = [(p.name, p.read_bytes()) for p in sorted(tmp_path.iterdir())]
    assert {n.rsplit(".", 1)[1] for n, _ in parts} >= {"shp", "shx", "dbf", "prj", "cpg"}
    url = _job_url(_upload(client, csrf, parts))
    page = client.get(url)
    assert "Shapefile" in page.text and "地块.zip" in page.text
    client.post(url + "/check", data={"csrf_token": csrf}, follow_redirects=False)
    assert "新建 1" in client.get(url).text


def test_a_job_in_the_background(engine: Engine) -> None:
    """A job run on the server's own connections (as a large file is): its state and progress
    are in the database, the report lines and shapes too; a stopped worker reads as
    interrupted and may be run again."""
    from landmatch.auth import Principal
    from landmatch.inventory import wizard
    from landmatch.inventory.uploads import group_files

    bureau = Principal(name="bg-bureau", role="bureau", city_code="130100")
    limits = wizard.Limits(inline_max_bytes=0)
    tag = "BG" + uuid.uuid4().hex[:6]
    upset = group_files([("清单.xlsx", W.bureau_xlsx(tag, fixed=True))], 1 << 30)
    with engine.begin() as c:
        job_id = wizard.create_job(c, bureau, upset, limits)
        wizard.save_options(c, job_id, bureau, {}, W.MAPPING)
        wizard.start(c, job_id, bureau, commit=False)
        assert wizard.runs_in_background(c, job_id, limits)
    try:
        wizard.run_in_background(engine, job_id, bureau, commit=False, limits=limits).join(120)
        with engine.connect() as c:
            job = wizard.job_for(c, job_id, bureau)
            assert job["state"] == "checked", job["error"]
            assert job["report"]["totals"]["created"] == 4
            lines, total = wizard.report_page(
                c, job, action="created", field=None, q=None, limit=10, offset=0
            )
            assert total == 4 and len(wizard.features(c, job)["features"]) == 4
        with engine.begin() as c:
            wizard.start(c, job_id, bureau, commit=True)
        wizard.run_in_background(engine, job_id, bureau, commit=True, limits=limits).join(120)
        with engine.connect() as c:
            job = wizard.job_for(c, job_id, bureau)
            assert job["state"] == "committed" and job["import_id"], job["error"]
            n = c.execute(
                text("SELECT count(*) FROM landmatch.parcel WHERE import_id = :i"),
                {"i": job["import_id"]},
            ).scalar_one()
            assert n == 4
        with engine.begin() as c:
            out = wizard.rollback(c, job_id, bureau, "测试结束")
            assert out["deleted"] == 4
        # A worker that stopped mid-run: the heartbeat is old, the job reads as interrupted.
        with engine.begin() as c:
            c.execute(
                text(
                    "UPDATE landmatch.import_job SET state = 'checking', "
                    "heartbeat_at = now() - interval '1 hour' WHERE id = :id"
                ),
                {"id": job_id},
            )
            job = wizard.job_for(c, job_id, bureau)
            assert job["state"] == "failed" and "中断" in job["error"]
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM landmatch.import_job WHERE id = :id"), {"id": job_id})
            c.execute(
                text("DELETE FROM landmatch.parcel WHERE code = ANY(:c)"), {"c": W.codes(tag)}
            )


def test_the_api_takes_the_same_mapping(client: TestClient, tokens: dict[str, str]) -> None:
    """``columns`` on POST /api/imports: the mapping the wizard keeps, read by the same code."""
    import json

    from tests.conftest import auth

    data = W.bureau_xlsx("A" + uuid.uuid4().hex[:6], fixed=True)
    files = {"file": ("清单.xlsx", data)}
    r = client.post(
        "/api/imports", files=files, data={"dry_run": "true"}, headers=auth(tokens["bureau"])
    )
    assert r.status_code == 200 and any("宗地坐落位置" in p["field"] for p in r.json()["rejected"])
    r = client.post(
        "/api/imports",
        files=files,
        data={"dry_run": "true", "columns": json.dumps(W.MAPPING, ensure_ascii=False)},
        headers=auth(tokens["bureau"]),
    )
    assert r.status_code == 200, r.text
    assert r.json()["rejected"] == [] and r.json()["totals"]["created"] == 4
    r = client.post(
        "/api/imports",
        files=files,
        data={"dry_run": "true", "columns": '{"宗地坐落位置": "不存在"}'},
        headers=auth(tokens["bureau"]),
    )
    assert r.status_code == 400 and "无法识别" in r.json()["detail"]


def test_a_survey_txt_gets_a_code_prefix_suggested(
    client: TestClient, passwords: dict[str, str]
) -> None:
    """A survey TXT numbers its parcels 1, 2 …: the wizard suggests a prefix (city-year-file),
    pre-filled, and the dry run creates the parcels under it; GBK is detected."""
    csrf = sign_in(client, passwords["bureau"])
    txt = office.survey_txt(
        [
            {"code": "1", "name": "一号地", "corners": office.gk_square(114.55, 38.16)},
            {"code": "2", "name": "二号地", "corners": office.gk_square(114.56, 38.16)},
        ]
    )
    url = _job_url(_upload(client, csrf, [("勘测定界.txt", txt)]))
    page = client.get(url)
    prefix = re.search(
        r'id="f-code_prefix" name="code_prefix" type="text" value="([^"]*)"', page.text
    )
    assert prefix and re.fullmatch(r"130100-20\d\d-勘测定界", prefix.group(1)), prefix
    assert "GBK/GB18030" in page.text and "已建议前缀" in page.text
    r = client.post(
        url + "/check",
        data={"csrf_token": csrf, "code_prefix": prefix.group(1), "land_use": "100101"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(url)
    assert "新建 2" in page.text and f"{prefix.group(1)}-1" in page.text


def test_the_wizard_refuses_another_citys_parcels(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """The 石家庄 bureau's wizard job naming a 廊坊 parcel: the dry run rejects the row with
    its reason, the import cannot be started, the parcel keeps its name (reviewer's D1)."""
    code, name = session.execute(
        text(
            "SELECT code, name FROM landmatch.parcel WHERE city_code = '131000' "
            "AND deleted_at IS NULL ORDER BY code LIMIT 1"
        )
    ).one()
    csrf = sign_in(client, passwords["bureau"])
    data = f"地块编号,地块名称\r\n{code},改名\r\n".encode()
    url = _job_url(_upload(client, csrf, [("改名.csv", data)]))
    r = client.post(url + "/check", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(url)
    assert "拒绝 1" in page.text and "无权编辑廊坊市的地块" in page.text
    assert 'id="commit-form"' not in page.text
    r = client.post(url + "/commit", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 409
    stored = session.execute(
        text("SELECT name FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).scalar_one()
    assert stored == name


@pytest.fixture
def production_client(settings: Any, engine: Engine) -> Iterator[tuple[TestClient, str]]:
    """A client of the app as production builds it — its own engines and sessions, each
    request's commit a real one (the ``client`` fixture binds every session to the test's
    transaction, where a commit only releases a savepoint and the connection stays open) —
    and a committed 石家庄 bureau account; what the test imports is removed afterwards."""
    from landmatch.api.app import create_app
    from tests.web.conftest import drop_account, make_account

    name = make_account(engine, "bureau", city="130100")
    app = create_app(settings.model_copy(update={"settle_poll_seconds": 0}))
    try:
        with TestClient(app) as c:
            yield c, name
    finally:
        with engine.begin() as c:
            ids = c.execute(
                text("SELECT import_id FROM landmatch.import_job WHERE actor = :a"), {"a": name}
            ).scalars()
            c.execute(
                text("DELETE FROM landmatch.parcel WHERE import_id = ANY(:i)"),
                {"i": [i for i in ids if i is not None]},
            )
            c.execute(text("DELETE FROM landmatch.import_job WHERE actor = :a"), {"a": name})
        drop_account(engine, name)


def test_a_small_file_runs_in_the_request_with_real_commits(
    production_client: tuple[TestClient, str], engine: Engine
) -> None:
    """A file under ``import_inline_max_kb`` is checked and imported in the request itself;
    with the app's own sessions the commit ends the connection the route had taken, and the
    job is read again after it (review D2: 500 on every small-file dry run and import)."""
    client, name = production_client
    csrf = sign_in(client, name)
    tag = "Q" + uuid.uuid4().hex[:6]
    url = _job_url(_upload(client, csrf, [("清单.xlsx", W.bureau_xlsx(tag, fixed=True, n=2))]))
    r = _check(client, url, csrf, W.MAPPING)
    assert r.status_code == 303 and r.headers["location"] == url, r.text[:300]
    page = client.get(url)
    assert "试运行完成" in page.text and "新建 2" in page.text
    r = client.post(url + "/commit", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    assert "导入完成" in client.get(url).text
    with engine.connect() as c:
        n = c.execute(
            text("SELECT count(*) FROM landmatch.parcel WHERE code = ANY(:c)"),
            {"c": W.codes(tag, 2)},
        ).scalar_one()
    assert n == 2


def test_a_mapping_onto_a_header_the_file_has_is_refused(
    client: TestClient, passwords: dict[str, str], tokens: dict[str, str], session: Session
) -> None:
    """A column mapped to a header the file already has (or two columns to one): refused
    naming both columns, in the API and beside the wizard's mapping (review D5: a 500,
    "Buffer has wrong number of dimensions")."""
    import json

    from tests.conftest import auth

    wkt = office.square_wkt(114.5, 38.03)
    data = f'地块编号,宗地号,地块名称,几何(WKT)\nMAPDUP-1,ZD-001,映射测试,"{wkt}"\n'.encode()
    for mapping, words in (
        ({"地块名称": "地块编号"}, ("列“地块名称”映射为“地块编号”", "已有列“地块编号”")),
        ({"宗地号": "坐落", "地块名称": "坐落"}, ("列“宗地号”和列“地块名称”都映射为“坐落”",)),
    ):
        r = client.post(
            "/api/imports",
            files={"file": ("m.csv", data)},
            data={"dry_run": "true", "columns": json.dumps(mapping, ensure_ascii=False)},
            headers=auth(tokens["bureau"]),
        )
        assert r.status_code == 400, r.text
        assert all(w in r.json()["detail"] for w in words), r.json()["detail"]
    csrf = sign_in(client, passwords["bureau"])
    url = _job_url(_upload(client, csrf, [("映射.csv", data)]))
    r = _check(client, url, csrf, {"宗地号": "地块编号"})
    assert r.status_code == 200 and 'class="small text-danger"' in r.text, r.text[:300]
    assert "列“宗地号”映射为“地块编号”，而文件中已有列“地块编号”" in r.text
    job = session.execute(
        text("SELECT state, columns FROM landmatch.import_job WHERE id = :i"),
        {"i": int(url.rsplit("/", 1)[1])},
    ).one()
    assert job.state == "uploaded" and not job.columns


def _unzoned_txt() -> bytes:
    """A survey TXT whose eastings carry no zone prefix and whose header leaves 带号 empty:
    its CRS cannot be told from the file (CGCS2000 3° GK, central meridian 114°)."""
    head = (
        "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n"
        "带号=\n[地块坐标]\n5,1.0000,1,地块1,面,,工业用地,,@\n"
    )
    n, e, d = 4212000.0, 544700.0, 100.0
    corners = [(n, e), (n, e + d), (n + d, e + d), (n + d, e), (n, e)]
    points = [f"J{i % 4 + 1},1,{x:.3f},{y:.3f}" for i, (x, y) in enumerate(corners)]
    return (head + "\n".join(points) + "\n").replace("\n", "\r\n").encode()


def test_a_file_whose_crs_must_be_chosen_gets_a_job(
    client: TestClient, passwords: dict[str, str]
) -> None:
    """A file whose CRS the file does not tell: the job is made, the page asks for the CRS
    (in words a browser user can act on, no command-line flags), the dry run waits for it
    and runs with it (review D8: no job could be made, and the message named --crs)."""
    csrf = sign_in(client, passwords["bureau"])
    url = _job_url(_upload(client, csrf, [("坐标.txt", _unzoned_txt())]))
    page = client.get(url)
    assert "未能识别" in page.text and "EPSG:4547、4548、4549" in page.text
    assert "--crs" not in page.text
    r = client.post(
        url + "/check",
        data={"csrf_token": csrf, "code_prefix": "130100-2026-ZB", "land_use": "100101"},
        follow_redirects=False,
    )
    assert r.status_code == 200 and 'is-invalid" id="f-crs"' in r.text, r.text[:300]
    r = client.post(
        url + "/check",
        data={
            "csrf_token": csrf,
            "crs": "EPSG:4547",
            "code_prefix": "130100-2026-ZB",
            "land_use": "100101",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(url)
    assert "新建 1" in page.text and "拒绝 0" in page.text
