"""The land bureau's journeys the other browser tests leave out, in real headless Chromium
against the live app and PostGIS, failing on any console error: a file with a self-intersecting
boundary is refused row by row, then imported with the wizard's 自动修复 and rolled back from
the job page; a parcel held for a project shows its hold on the bureau's parcel page until the
promotion team releases it; a boundary saved in one tab is refused in the other with who and
when, the typed boundary kept, and saving again re-applies it."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import shapely
from shapely import affinity
from sqlalchemy import Engine, text

from tests.conftest import TEST_PASSWORD
from tests.web.conftest import Watched, browser_sign_in, drop_account, make_account, restore_parcel

CITY = "130100"
TEAM = "t-bureau-holds"


@pytest.fixture
def bureau(engine: Engine) -> Iterator[str]:
    name = make_account(engine, "bureau", city=CITY)
    yield name
    with engine.begin() as c:
        c.execute(text("DELETE FROM landmatch.import_job WHERE actor = :a"), {"a": name})
    drop_account(engine, name)


def _square(lon: float, lat: float, d: float = 0.002) -> list[list[float]]:
    return [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]


def _bowtie_file(codes: list[str]) -> bytes:
    """Two parcels in 石家庄: a square, and a bow-tie (its boundary crosses itself)."""
    lon, lat = 114.575, 38.083
    bowtie = [[lon, lat], [lon + 0.002, lat + 0.002], [lon + 0.002, lat], [lon, lat + 0.002]]
    rings = [_square(lon - 0.004, lat), [*bowtie, bowtie[0]]]
    features = [
        {
            "type": "Feature",
            "properties": {"地块编号": code, "地块名称": f"测试{i + 1}号地", "用途": "M1"},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        for i, (code, ring) in enumerate(zip(codes, rings, strict=True))
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _live_codes(engine: Engine, codes: list[str]) -> list[str]:
    with engine.connect() as c:
        return list(
            c.execute(
                text(
                    "SELECT code FROM landmatch.parcel WHERE code = ANY(:c) "
                    "AND deleted_at IS NULL ORDER BY code"
                ),
                {"c": codes},
            ).scalars()
        )


def test_an_invalid_boundary_is_repaired_by_the_wizard_then_the_import_rolled_back(
    live_url: str, watched: Any, bureau: str, engine: Engine
) -> None:
    tag = uuid.uuid4().hex[:6]
    codes = [f"石修复{tag}-1号", f"石修复{tag}-2号"]
    w = watched(viewport=(1280, 1000))
    page = w.page
    page.on("dialog", lambda d: d.accept())
    page.goto(live_url + "/workbench/imports/new")
    browser_sign_in(page, live_url, bureau)
    page.wait_for_url(re.compile(r"/workbench/imports/new$"))
    page.set_input_files(
        "#f-files",
        files=[
            {
                "name": "长安区边界.geojson",
                "mimeType": "application/geo+json",
                "buffer": _bowtie_file(codes),
            }
        ],
    )
    page.click("#upload-submit")
    page.wait_for_url(re.compile(r"/workbench/imports/\d+$"))

    # The dry run refuses the bow-tie: its row, the field and the reason, and what to do.
    page.click("#check-submit")
    page.wait_for_selector("#report-table", timeout=120_000)
    assert "拒绝 1" in page.inner_text("#totals")
    refused = page.locator("#report-table tbody tr", has_text="拒绝")
    assert refused.count() == 1
    line = refused.inner_text()
    assert codes[1] in line and "几何图形" in line and "自相交" in line
    assert "可选择“自动修复”后重试" in line
    assert page.locator("#commit-form").count() == 0

    # The option the message names is on the page: ticked, the dry run repairs and says so.
    page.get_by_label("自动修复", exact=False).check()
    page.click("#check-submit")
    page.wait_for_selector("#commit-form", timeout=120_000)
    assert "拒绝 0" in page.inner_text("#totals") and "新建 2" in page.inner_text("#totals")
    assert "已自动修复" in page.inner_text("#report")
    assert page.locator("#f-repair").is_checked()
    assert _live_codes(engine, codes) == []  # a dry run writes nothing

    # Commit, then roll the import back from the same page.
    page.click("#commit-submit")
    page.wait_for_function(
        "() => document.getElementById('job-state') && "
        "document.getElementById('job-state').textContent === '已导入'",
        timeout=120_000,
    )
    assert _live_codes(engine, codes) == sorted(codes)
    with engine.connect() as c:
        assert c.execute(
            text("SELECT bool_and(ST_IsValid(geom)) FROM landmatch.parcel WHERE code = ANY(:c)"),
            {"c": codes},
        ).scalar()
    page.fill("#f-rollback-reason", "边界需重新测绘")
    page.click("#rollback-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert "已撤销导入任务" in page.inner_text(".alert-success")
    assert _live_codes(engine, codes) == []
    assert w.errors == [], w.errors


@pytest.fixture
def held(live_url: str, engine: Engine) -> Iterator[tuple[str, str, str]]:
    """A promoter of a team, its project and a 石家庄 parcel it holds for the project until a
    date: (promoter, parcel code, until)."""
    promoter = make_account(engine, "promoter", team=TEAM)
    with engine.connect() as c:
        code = c.execute(
            text(
                "SELECT p.code FROM landmatch.parcel p WHERE p.city_code = :city "
                "AND p.status = 'ready' AND p.deleted_at IS NULL AND NOT EXISTS (SELECT 1 "
                "FROM landmatch.reservation r WHERE r.parcel_id = p.id AND r.released_at IS NULL) "
                "ORDER BY p.code LIMIT 1 OFFSET 3"
            ),
            {"city": CITY},
        ).scalar_one()
    auth = (promoter, TEST_PASSWORD)
    req = {"industry": "34", "area_mu_min": 10, "area_mu_max": 400}
    r = httpx.post(
        live_url + "/api/projects",
        json={"name": "新能源电池项目", "requirement": req},
        auth=auth,
        timeout=60,
    )
    assert r.status_code in (200, 201), r.text
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    r = httpx.post(
        live_url + "/api/reservations",
        json={"parcel_code": code, "project_id": r.json()["id"], "until": until},
        auth=auth,
        timeout=60,
    )
    assert r.status_code in (200, 201), r.text
    yield promoter, code, until
    with engine.begin() as c:  # reservations go with their projects
        c.execute(text("DELETE FROM landmatch.project WHERE owner_team = :t"), {"t": TEAM})
    drop_account(engine, promoter)


def test_the_bureau_sees_a_hold_on_its_parcel_until_it_is_released(
    live_url: str, watched: Any, bureau: str, held: tuple[str, str, str]
) -> None:
    promoter, code, until = held
    w = watched(viewport=(1280, 900))
    page = w.page
    page.goto(f"{live_url}/workbench/parcels/{code}")
    browser_sign_in(page, live_url, bureau)
    page.wait_for_url(re.compile(r"/workbench/parcels/[^/]+$"))
    hold = page.inner_text("#reservation")
    assert hold == f"已被招商团队为项目预留，至 {until}", hold
    assert "新能源电池项目" not in page.content()  # the project is the team's

    # The team releases it on its project page; the bureau's page says so.
    x = watched(viewport=(1280, 900))
    x.page.on("dialog", lambda d: d.accept())
    x.page.goto(live_url + "/workbench/projects")
    browser_sign_in(x.page, live_url, promoter)
    x.page.click("a:has-text('新能源电池项目')")
    x.page.wait_for_url(re.compile(r"/workbench/projects/\d+$"))
    mine = watched(viewport=(1280, 900))
    mine.page.goto(f"{live_url}/workbench/parcels/{code}")
    browser_sign_in(mine.page, live_url, promoter)
    mine.page.wait_for_url(re.compile(r"/workbench/parcels/[^/]+$"))
    assert mine.page.inner_text("#reservation").startswith("为项目“新能源电池项目”预留")
    x.page.click(f"form[data-confirm*='{code}'] button[type=submit]")
    x.page.wait_for_selector(".alert-success")
    page.reload()
    assert page.inner_text("#reservation") == "未预留"
    assert w.errors == [] and x.errors == [] and mine.errors == [], (w.errors, x.errors)


@pytest.fixture
def square_parcel(engine: Engine) -> Iterator[str]:
    """A 石家庄 parcel of one ring outside any zone (not the other journeys' picks); its state
    is put back afterwards (a restore: the history keeps the test's versions)."""
    with engine.connect() as c:
        code, pid, version = c.execute(
            text(
                "SELECT code, id, version FROM landmatch.parcel WHERE city_code = :city "
                "AND deleted_at IS NULL AND status = 'supplied' AND zone_id IS NULL "
                "AND ST_NumGeometries(geom) = 1 AND ST_NRings(geom) = 1 "
                "AND area_m2 BETWEEN 20000 AND 200000 ORDER BY code LIMIT 1"
            ),
            {"city": CITY},
        ).one()
    yield code
    with engine.begin() as c:
        restore_parcel(c, pid, version)


def _shrunk(engine: Engine, code: str, factor: float) -> tuple[str, float]:
    """The parcel's boundary scaled about its centre, as the page's coordinates text, with
    its planar area (for comparing which one was saved)."""
    from landmatch.geo.coords import text_from_geometry

    with engine.connect() as c:
        wkt = c.execute(
            text("SELECT ST_AsText(geom) FROM landmatch.parcel WHERE code = :c"), {"c": code}
        ).scalar_one()
    geom = affinity.scale(shapely.from_wkt(wkt), factor, factor)
    return text_from_geometry(geom), geom.area


def test_a_boundary_saved_in_another_tab_is_refused_with_who_and_when_then_reapplied(
    live_url: str, watched: Any, bureau: str, square_parcel: str, engine: Engine
) -> None:
    code = square_parcel
    first_text, _ = _shrunk(engine, code, 0.95)
    second_text, second_area = _shrunk(engine, code, 0.9)
    w = watched(viewport=(1280, 900))
    page = w.page
    page.goto(f"{live_url}/workbench/parcels/{code}/boundary")
    browser_sign_in(page, live_url, bureau)
    page.wait_for_url(re.compile(r"/boundary$"))
    second = Watched(page.context.new_page())  # a second tab of the same browser
    other = second.page
    other.goto(f"{live_url}/workbench/parcels/{code}/boundary")
    for tab, coords, reason in (
        (page, first_text, "第一次调整"),
        (other, second_text, "第二次调整"),
    ):
        tab.fill("#f-coords", coords)
        tab.fill("#boundary-form #f-reason", reason)
        tab.click("#save-boundary")
        tab.wait_for_load_state("networkidle")
    assert "边界已保存" in page.inner_text(".alert-success")

    # The second tab: refused, who saved which version when and why; its boundary kept.
    notice = other.inner_text("#notice")
    assert notice.startswith("未保存：") and bureau in notice and "第一次调整" in notice
    assert re.search(r"于 \d{4}-\d{2}-\d{2} \d{2}:\d{2} 保存了版本", notice), notice
    assert other.input_value("#f-coords") == second_text
    # Saving again re-applies it on the saved version.
    other.click("#save-boundary")
    other.wait_for_url(re.compile(r"/workbench/parcels/[^/]+$"))
    assert "边界已保存" in other.inner_text(".alert-success")
    with engine.connect() as c:
        area = c.execute(
            text("SELECT ST_Area(geom) FROM landmatch.parcel WHERE code = :c"), {"c": code}
        ).scalar_one()
    assert area == pytest.approx(second_area, rel=1e-6)
    assert w.errors == [] and second.errors == [], (w.errors, second.errors)
