"""Stored XSS (issue #13 item 12) and the Content-Security-Policy the pages satisfy.

A payload is planted in every free-text field of every entity (committed, so the live server
and the browser see it; restored afterwards), then every page is opened in Chromium. A page
fails on any dialog, console error (a CSP violation is one), page error, or element created
from the payload; and where the planted text is shown, it must read as the text itself.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from landmatch.accounts.tokens import hash_token
from landmatch.api.security import SESSION_COOKIE
from tests.conftest import auth
from tests.routes import api_routes
from tests.web.conftest import Watched

MARK = "xss" + uuid.uuid4().hex[:6]
# HTML, attribute and script-element breakouts in one string; every element it could create
# carries data-xss, so the DOM check finds any of them.
PAYLOAD = (
    f"\"'><img src=x data-xss={MARK} onerror=alert(1)>"
    f"<script data-xss={MARK}>alert(2)</script><!--<script>"
    f"<svg data-xss={MARK} onload=alert(3)></svg>"
)

# Free-text columns per table (key column, columns). Every one gets the payload.
FIELDS: dict[str, list[str]] = {
    "parcel": [
        "name",
        "address",
        "approval_doc_no",
        "approval_batch",
        "contract_no",
        "holder",
        "gov_cause",
        "contact_name",
        "contact_phone",
        "notes",
    ],
    "dev_zone": ["name", "contact_name", "contact_phone", "source"],
    "zone_assessment": ["name", "doc_no"],
    "facility": ["name", "source"],
    "constraint_area": ["name", "source"],
    "policy": ["title", "issuer", "doc_no", "benefit_basis", "summary", "source"],
}

WATCH_JS = """() => {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
}"""
NOT_PAGES = (
    "/api/",
    "/healthz",
    "/openapi.json",
    "/tiles/",
    "/internal/logout",
    "/workbench/logout",
    "/workbench/parcels/export",  # a file download, not a page
    "/workbench/imports/template.xlsx",  # 〃
)
MATCH_BODY = {"industry": "34", "area_mu_min": 10, "area_mu_max": 400, "top": 10}


def _one(s: Session, sql: str, **params: Any) -> Any:
    return s.execute(text(sql), params).one()


@pytest.fixture(scope="module")
def planted(engine: Engine, live_url: str) -> Iterator[dict[str, Any]]:
    """Plant the payload (committed) and restore every touched row afterwards."""
    from landmatch.accounts.users import add_user

    first = httpx.post(live_url + "/api/match", json=MATCH_BODY, timeout=60).json()
    code = next(f["properties"]["code"] for f in first["features"] if f["properties"].get("code"))
    card = httpx.get(f"{live_url}/api/parcels/{code}/card").json()
    runs = [first["match_id"]]
    saved: list[tuple[str, int, dict[str, Any]]] = []
    created: list[tuple[str, int]] = []
    user = f"xss-{MARK}"
    with Session(engine) as s, s.begin():
        ids = {
            "parcel": _one(s, "SELECT id FROM landmatch.parcel WHERE code = :c", c=code)[0],
            "dev_zone": _one(
                s,
                "SELECT coalesce(p.zone_id, (SELECT min(id) FROM landmatch.dev_zone)) "
                "FROM landmatch.parcel p WHERE p.code = :c",
                c=code,
            )[0],
            "facility": _one(
                s,
                "SELECT f.id FROM landmatch.facility f, landmatch.parcel p WHERE p.code = :c "
                "ORDER BY f.geom <-> p.geom LIMIT 1",
                c=code,
            )[0],
            "constraint_area": _one(s, "SELECT min(id) FROM landmatch.constraint_area")[0],
            "policy": _one(
                s, "SELECT id FROM landmatch.policy WHERE code = :c", c=card["policies"][0]["code"]
            )[0],
        }
        zid = ids["dev_zone"]
        row = s.execute(
            text("SELECT id FROM landmatch.zone_assessment WHERE zone_id = :z LIMIT 1"), {"z": zid}
        ).first()
        if row is None:
            aid = _one(
                s,
                "INSERT INTO landmatch.zone_assessment (zone_id, kind, approved_on) "
                "VALUES (:z, 'energy', DATE '2024-01-01') RETURNING id",
                z=zid,
            )[0]
            created.append(("zone_assessment", aid))
        else:
            aid = row[0]
        ids["zone_assessment"] = aid
        for table, cols in FIELDS.items():
            before = _one(
                s, f"SELECT {', '.join(cols)} FROM landmatch.{table} WHERE id = :i", i=ids[table]
            )
            saved.append((table, ids[table], dict(zip(cols, before, strict=True))))
            sets = ", ".join(f"{c} = :v" for c in cols)
            s.execute(
                text(f"UPDATE landmatch.{table} SET {sets} WHERE id = :i"),
                {"v": PAYLOAD, "i": ids[table]},
            )
        pid = _one(
            s,
            "INSERT INTO landmatch.project (name, requirement, investor, owner, notes) "
            "VALUES (:v, CAST(:r AS jsonb), :v, :v, :v) RETURNING id",
            v=PAYLOAD,
            r='{"industry": "34"}',
        )[0]
        created.append(("project", pid))
        # A deleted one too (kept, listed on 已删除的项目 with who deleted it).
        gone = _one(
            s,
            "INSERT INTO landmatch.project (name, requirement, investor, owner, notes, "
            "deleted_at, deleted_by) VALUES (:v, CAST(:r AS jsonb), :v, :v, :v, now(), :v) "
            "RETURNING id",
            v=PAYLOAD,
            r='{"industry": "34"}',
        )[0]
        created.append(("project", gone))
        case = s.execute(
            text(
                "INSERT INTO landmatch.disposal_case (parcel_id, kind, city_code, area_m2, "
                "opened_on, note, opened_by) SELECT id, 'unsupplied', city_code, area_m2, "
                "DATE '2026-01-05', :v, :v FROM landmatch.parcel WHERE id = :p RETURNING id"
            ),
            {"v": PAYLOAD, "p": ids["parcel"]},
        ).scalar_one()
        created.append(("disposal_case", case))
        batch = _one(
            s,
            "INSERT INTO landmatch.import_batch (filename, format, actor, status) "
            "VALUES (:v, 'geojson', :v, 'rolled_back') RETURNING id",
            v=PAYLOAD,
        )[0]
        created.append(("import_batch", batch))
        # A 我有意向 inquiry (a lead) with the payload in every text field.
        lead = _one(
            s,
            "INSERT INTO landmatch.inquiry (parcel_id, parcel_code, city_code, name, company, "
            "phone, email, message, consent_at, nonce) SELECT id, code, city_code, :v, :v, :v, "
            ":v, :v, now(), md5(random()::text) FROM landmatch.parcel WHERE id = :p RETURNING id",
            v=PAYLOAD,
            p=ids["parcel"],
        )[0]
        created.append(("inquiry", lead))
        token = add_user(s, user, "admin")
        # A signed-in session of the same admin (the pages' cookie); made directly, the
        # sign-in form is tested elsewhere.
        cookie = secrets.token_urlsafe(32)
        s.execute(
            text(
                "INSERT INTO landmatch.user_session (user_id, token_hash, csrf_token, expires_at) "
                "SELECT id, :h, :c, now() + interval '12 hours' FROM landmatch.app_user "
                "WHERE name = :n"
            ),
            {"h": hash_token(cookie), "c": secrets.token_urlsafe(32), "n": user},
        )
    again = httpx.post(live_url + "/api/match", json=MATCH_BODY, timeout=60).json()
    runs.append(again["match_id"])
    # Reserved after the match (a reserved parcel leaves public results): the staff card
    # shows the reservation's project and who holds it.
    with Session(engine) as s, s.begin():
        rid = s.execute(
            text(
                "INSERT INTO landmatch.reservation (parcel_id, project_id, reserved_by, note) "
                "SELECT :p, :j, :v, :v WHERE NOT EXISTS (SELECT 1 FROM landmatch.reservation "
                "WHERE parcel_id = :p AND released_at IS NULL) RETURNING id"
            ),
            {"p": ids["parcel"], "j": pid, "v": PAYLOAD},
        ).scalar()
        if rid:
            created.append(("reservation", rid))
    f = _one_facility(engine, ids["facility"])
    yield {
        "code": code,
        "match_id": again["match_id"],
        "token": token,
        "cookie": cookie,
        "facility": f,
        "ids": ids,
        "lead": lead,
        "policy": card["policies"][0]["code"],
    }
    with Session(engine) as s, s.begin():
        for table, key in reversed(created):
            s.execute(text(f"DELETE FROM landmatch.{table} WHERE id = :i"), {"i": key})
        for table, key, before in saved:
            sets = ", ".join(f"{c} = :{c}" for c in before)
            s.execute(
                text(f"UPDATE landmatch.{table} SET {sets} WHERE id = :i"), {**before, "i": key}
            )
        s.execute(text("DELETE FROM landmatch.match_run WHERE id = ANY(:r)"), {"r": runs})
        s.execute(text("DELETE FROM landmatch.app_user WHERE name = :n"), {"n": user})


def _one_facility(engine: Engine, fid: int) -> dict[str, Any]:
    with engine.connect() as c:
        r = c.execute(
            text("SELECT ST_Y(geom), ST_X(geom) FROM landmatch.facility WHERE id = :i"), {"i": fid}
        ).one()
    return {"lat": r[0], "lon": r[1]}


def _open(watched: Any, url: str, cookie: str | None = None, **kw: Any) -> Watched:
    base = re.match(r"https?://[^/]+", url).group(0)  # type: ignore[union-attr]
    cookies = [{"name": SESSION_COOKIE, "value": cookie, "url": base + "/"}] if cookie else None
    w = watched(cookies=cookies, **kw)
    w.dialogs = []
    w.page.on("dialog", lambda d: (w.dialogs.append(d.message), d.dismiss()))
    w.page.add_init_script(f"({WATCH_JS})()")
    w.page.goto(url)
    w.page.wait_for_load_state("networkidle")
    return w


def _check(w: Watched, *, shows_payload: bool = True) -> None:
    w.page.wait_for_load_state("networkidle")
    injected = w.page.evaluate(f"document.querySelectorAll('[data-xss=\"{MARK}\"]').length")
    violations = w.page.evaluate("window.__csp")
    assert (injected, w.dialogs, violations, w.errors) == (0, [], [], []), w.page.url
    if shows_payload:
        assert PAYLOAD in w.page.inner_text("body"), f"{w.page.url}: planted text not shown"


def _open_card(w: Watched, code: str) -> None:
    w.page.fill("#lm-q", code)
    w.page.click("#lm-search button[type=submit]")
    w.page.locator("#lm-hits li").first.click()
    w.page.locator("#lm-card h2").wait_for(timeout=10000)


def _open_facility_tooltip(w: Watched, f: dict[str, Any]) -> str:
    w.page.evaluate(f"LM.map.setView([{f['lat']}, {f['lon']}], 16, {{animate: false}})")
    w.page.wait_for_load_state("networkidle")
    return str(
        w.page.evaluate(
            """(mark) => {
              let found = null;
              LM.layers.facilities.eachLayer(m => {
                const t = m.getTooltip && m.getTooltip();
                const c = t && t.getContent();
                const s = c && (c.textContent !== undefined ? c.textContent : String(c));
                if (s && s.indexOf(mark) >= 0) found = m;
              });
              if (!found) return '';
              found.openTooltip();
              return document.querySelector('.leaflet-tooltip').textContent;
            }""",
            MARK,
        )
    )


@pytest.mark.parametrize("staff", [False, True], ids=["public", "staff"])
def test_maps_show_planted_text_as_text(
    live_url: str, watched: Any, planted: dict[str, Any], staff: bool
) -> None:
    page = "/internal/map" if staff else "/map"
    w = _open(watched, live_url + page, planted["cookie"] if staff else None)
    assert w.page.url.endswith(page)
    _open_card(w, planted["code"])
    card = w.page.inner_text("#lm-card")
    assert PAYLOAD in card  # parcel name, address, zone, policy
    if staff:
        assert card.count(PAYLOAD) >= 5  # holder, contacts, reservation: internal fields too
    tip = _open_facility_tooltip(w, planted["facility"])
    assert PAYLOAD in tip, "the facility tooltip does not read as the planted text"
    _check(w)


def test_match_page_shows_planted_text_as_text(
    live_url: str, watched: Any, planted: dict[str, Any]
) -> None:
    w = _open(watched, f"{live_url}/match/{planted['match_id']}/map")
    items = w.page.locator("#lm-ranked [data-rank]")
    for i in range(items.count()):
        if PAYLOAD in items.nth(i).inner_text():
            items.nth(i).click()
            break
    w.page.locator("#lm-card h2").wait_for(timeout=10000)
    assert PAYLOAD in w.page.inner_text("#lm-card")
    _check(w)


def test_brochure_and_its_pdf_keep_planted_text_as_text(
    live_url: str, watched: Any, planted: dict[str, Any], session: Session, settings: Any
) -> None:
    from landmatch.auth import PUBLIC
    from landmatch.db.cards import extract_shapes
    from landmatch.inventory.cards import parcel_card
    from landmatch.maps.brochure import brochure_html

    code = planted["code"]
    w = _open(watched, f"{live_url}/parcels/{code}/brochure")
    assert PAYLOAD in w.page.title()
    _check(w)
    # The very HTML the server prints to PDF, opened the same way (from a file, its own CSP).
    card = parcel_card(session, code, PUBLIC, stale_after_days=settings.stale_after_days)
    html = brochure_html(card, extract_shapes(session, code, PUBLIC))
    p = watched()
    p.dialogs = []
    p.page.on("dialog", lambda d: (p.dialogs.append(d.message), d.dismiss()))
    p.page.add_init_script(f"({WATCH_JS})()")
    p.page.set_content(html)
    p.errors.clear()  # the offline page's own CSP refuses the planted <img src=x> load
    injected = p.page.evaluate(f"document.querySelectorAll('[data-xss=\"{MARK}\"]').length")
    assert (injected, p.dialogs) == (0, [])
    assert PAYLOAD in p.page.inner_text("body")
    pdf = httpx.get(f"{live_url}/parcels/{code}/brochure.pdf", timeout=90)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_dashboard_with_planted_data(live_url: str, watched: Any, planted: dict[str, Any]) -> None:
    base = re.match(r"https?://[^/]+", live_url).group(0)  # type: ignore[union-attr]
    w = watched(cookies=[{"name": SESSION_COOKIE, "value": planted["cookie"], "url": base + "/"}])
    w.dialogs = []
    w.page.on("dialog", lambda d: (w.dialogs.append(d.message), d.dismiss()))
    w.page.add_init_script(f"({WATCH_JS})()")
    w.page.goto(live_url + "/dashboard")
    w.page.wait_for_selector("body[data-ready='1']", timeout=30000)
    box = w.page.locator("#c-zones").bounding_box()
    for dy in range(10, int(box["height"]) - 20, 12):  # hover every zone bar: tooltips
        w.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + dy)
    _check(w, shows_payload=False)


def _feature_id(live_url: str, cid: str, token: str, params: dict[str, Any]) -> Any:
    r = httpx.get(
        f"{live_url}/ogc/collections/{cid}/items",
        params={"limit": 1000, **params},
        headers=auth(token),
        timeout=60,
    )
    assert r.status_code == 200, r.text
    for f in r.json()["features"]:
        if PAYLOAD in f["properties"].values():
            return f["id"]
    raise AssertionError(f"planted {cid} not found in {len(r.json()['features'])}: {r.url}")


def test_ogc_html_pages_keep_planted_text_as_text(
    live_url: str, watched: Any, planted: dict[str, Any], engine: Engine
) -> None:
    token = planted["token"]
    with engine.connect() as c:
        bbox = c.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_Envelope(geom) e FROM landmatch.parcel WHERE code = :c) x"
            ),
            {"c": planted["code"]},
        ).one()
    box = ",".join(str(v) for v in bbox)
    pages = [("/ogc?f=html", False), ("/ogc/collections?f=html", False)]
    for cid, params in (
        ("parcels", {"bbox": box}),
        ("zones", {}),
        ("facilities", {}),
        ("constraint_areas", {}),
        ("policies", {}),
    ):
        fid = _feature_id(live_url, cid, token, params)
        pages.append((f"/ogc/collections/{cid}?f=html", False))
        pages.append((f"/ogc/collections/{cid}/items/{fid}?f=html", True))
    pages.append((f"/ogc/collections/parcels/items?f=html&bbox={box}", True))
    pages.append(("/ogc/collections/policies/items?f=html&limit=1000", True))
    for path, shows in pages:
        w = _open(watched, live_url + path, planted["cookie"])
        _check(w, shows_payload=shows)
        w.page.context.close()


def test_reflected_login_parameter_is_text(live_url: str, watched: Any) -> None:
    w = _open(watched, f"{live_url}/internal/login?next={httpx.QueryParams({'x': PAYLOAD})['x']}")
    _check(w, shows_payload=False)


def test_workbench_pages_with_planted_data(
    live_url: str, watched: Any, planted: dict[str, Any]
) -> None:
    """Every parameterless workbench page, signed in as admin, with the payload planted."""
    from landmatch.api.app import create_app
    from landmatch.settings import load_settings

    app = create_app(load_settings())
    pages = sorted(
        path
        for path, route in api_routes(app)
        if path.startswith("/workbench")
        and "GET" in (route.methods or ())
        and "{" not in path
        and not path.startswith(NOT_PAGES)
    )
    assert "/workbench" in pages or "/workbench/" in pages, pages
    for path in pages:
        w = _open(watched, live_url + path, planted["cookie"])
        _check(w, shows_payload=path == "/workbench/projects/deleted")
        w.page.context.close()


PARCEL_PAGES = ("", "/edit", "/boundary", "/history")


def test_parcel_pages_with_planted_data(
    live_url: str, watched: Any, planted: dict[str, Any]
) -> None:
    """The inventory pages of the planted parcel (list, page, edit form, boundary editor with
    its map, history), signed in as admin: the planted text reads as text."""
    code = planted["code"]
    pages = [
        f"/workbench/parcels?q={code}",
        *(f"/workbench/parcels/{code}{p}" for p in PARCEL_PAGES),
    ]
    for path in pages:
        w = _open(watched, live_url + path, planted["cookie"])
        _check(w)
        w.page.context.close()


def test_lead_pages_with_planted_data(live_url: str, watched: Any, planted: dict[str, Any]) -> None:
    """A lead from the public 我有意向 form with the payload in every field, signed in as
    admin: the list, the lead and the home page's card read it as text."""
    for path, shows in (
        ("/workbench/leads?status=all", True),
        (f"/workbench/leads/{planted['lead']}", True),
        ("/workbench", False),
    ):
        w = _open(watched, live_url + path, planted["cookie"])
        _check(w, shows_payload=shows)
        w.page.context.close()


POLICY_PAGES = ("", "/edit")


def test_policy_pages_with_planted_data(
    live_url: str, watched: Any, planted: dict[str, Any]
) -> None:
    """The planted policy's page (with its history) and its edit form, signed in as admin:
    the planted text reads as text."""
    for p in POLICY_PAGES:
        w = _open(
            watched, f"{live_url}/workbench/policies/{planted['policy']}{p}", planted["cookie"]
        )
        _check(w)
        w.page.context.close()


# ---- the Content-Security-Policy header --------------------------------------------------------


def _html_pages(app: Any, planted: dict[str, Any]) -> list[str]:
    """Every GET page of the app: the parameterless routes (any workbench page included), and
    the parameterised pages with planted values."""
    paths = {
        f"/match/{planted['match_id']}/map",
        f"/parcels/{planted['code']}/brochure",
        f"/ogc/collections/parcels/items/{planted['code']}?f=html",
        "/ogc/collections/zones?f=html",
        *(f"/workbench/parcels/{planted['code']}{p}" for p in PARCEL_PAGES),
        f"/workbench/leads/{planted['lead']}",
        *(f"/workbench/policies/{planted['policy']}{p}" for p in POLICY_PAGES),
    }
    for path, route in api_routes(app):
        if "GET" in (route.methods or ()) and "{" not in path and not path.startswith(NOT_PAGES):
            paths.add(path)
    return sorted(paths)


def test_every_html_page_sends_the_policy(live_url: str, planted: dict[str, Any]) -> None:
    from landmatch.api.app import create_app
    from landmatch.settings import load_settings

    app = create_app(load_settings())
    html_seen = []
    cookies = {SESSION_COOKIE: planted["cookie"]}
    for path in _html_pages(app, planted):
        for who in ({}, cookies):
            r = httpx.get(
                live_url + path,
                cookies=who,
                timeout=60,
                params={"f": "html"} if path.startswith("/ogc") and "?" not in path else None,
            )
            if not r.headers.get("content-type", "").startswith("text/html"):
                continue
            html_seen.append(path)
            csp = r.headers.get("content-security-policy", "")
            m = re.search(r"script-src ([^;]*)", csp)
            assert m and "'unsafe-inline'" not in m.group(1), (path, csp)
            nonce = re.search(r"'nonce-([^']+)'", m.group(1))
            assert nonce, (path, csp)
            for tag in re.findall(r"<script\b[^>]*>", r.text, flags=re.I):
                assert f'nonce="{nonce.group(1)}"' in tag, (path, tag)
            assert "object-src 'none'" in csp and "base-uri 'none'" in csp
    for page in ("/map", "/internal/map", "/dashboard", "/docs", "/workbench/login", "/ogc"):
        assert page in html_seen, page


def test_swagger_ui_loads_from_the_app_under_the_policy(live_url: str, watched: Any) -> None:
    w = _open(watched, live_url + "/docs")
    w.page.locator(".swagger-ui .info").wait_for(timeout=20000)
    assert all(u.startswith(live_url) or u.startswith("data:") for u in w.requests), w.requests
    _check(w, shows_payload=False)
