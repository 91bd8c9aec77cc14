"""Who sees what, over every GET route of the application, as each role (issue 13 items 7
and 8): landmatch.confidential and landmatch.publication.

Sentinel values are planted in 石家庄 (130100): every parcel there gets a reserve price, an
unpublished reference price and a staff mobile number that appear nowhere else, and a
constraint area a name that appears nowhere else (also in the parcels' constraint hits). Then
every GET route (parameters filled with real values, every layer and collection) is requested
as the public, a promoter, a zone committee and the 唐山 bureau — none of whom may read them —
and as the 石家庄 bureau and the admin, who may. Bodies are searched as text, spreadsheets and
archives unpacked first.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from typing import Any

import pytest
from sqlalchemy import text

from landmatch.reflayers.changes import LAYERS as REF_LAYERS
from tests.accounts_made import add_usable_user
from tests.conftest import ROLE_USERS, TEST_PASSWORD, auth, sign_in
from tests.routes import api_routes

CITY = "130100"  # 石家庄, where the sentinels live
RESERVE = "98765.43"
REF_PRICE = "87654.32"
PHONE = "13900009999"
CONSTRAINT_NAME = "哨兵管控区甲"
# Rendered as numbers may be (98765.43, 98,765.43, 98765.4 …).
SECRET_PRICES = re.compile(r"98,?765\.4|87,?654\.3")

NOT_ENTITLED = ("public", "promoter", "zone", "bureau_other")
ENTITLED = ("bureau", "admin")
# Not walked: PDFs (a Chromium each; the brochure's HTML page is walked with the same data).
SKIPPED = (".pdf",)


@pytest.fixture
def planted(session: Any, tokens: dict[str, str]) -> dict[str, Any]:
    code = session.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE city_code = :c AND status = 'ready' "
            "AND visibility = 'public' AND deleted_at IS NULL ORDER BY code LIMIT 1"
        ),
        {"c": CITY},
    ).scalar_one()
    session.execute(
        text(
            "UPDATE landmatch.parcel SET reserve_price_wan_per_mu = :r, "
            "ref_price_wan_per_mu = :p, price_public = false, contact_phone = :ph "
            "WHERE city_code = :c"
        ),
        {"r": RESERVE, "p": REF_PRICE, "ph": PHONE, "c": CITY},
    )
    ca = session.execute(
        text(
            "UPDATE landmatch.constraint_area SET name = :n WHERE id = "
            "(SELECT min(id) FROM landmatch.constraint_area) RETURNING code, kind"
        ),
        {"n": CONSTRAINT_NAME},
    ).one()
    hit = {"code": ca.code, "name": CONSTRAINT_NAME, "kind": ca.kind, "severity": "penalises"}
    session.execute(
        text(
            "UPDATE landmatch.parcel_fact f SET constraint_hits = CAST(:h AS jsonb), "
            "excluded = false FROM landmatch.parcel p WHERE p.id = f.parcel_id "
            "AND p.city_code = :c"
        ),
        {"h": json.dumps([hit], ensure_ascii=False), "c": CITY},
    )

    tokens = dict(tokens) | {
        "bureau_other": add_usable_user(
            session, "t-bureau-ts", "bureau", "130200", password_hash=_hash()
        )
    }

    def one(sql: str) -> Any:
        return session.execute(text(sql)).scalar()

    lon, lat = session.execute(
        text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c "
            "FROM landmatch.parcel WHERE code = :c) s"
        ),
        {"c": code},
    ).one()
    return {
        "code": code,
        "constraint": ca.code,
        "tokens": tokens,
        "zone": one(
            "SELECT z.code FROM landmatch.dev_zone z WHERE z.city_code = '130100' ORDER BY id LIMIT 1"
        ),
        "policy": one("SELECT code FROM landmatch.policy ORDER BY id LIMIT 1"),
        "case": one("SELECT coalesce(min(id), 1) FROM landmatch.disposal_case"),
        "job": one("SELECT coalesce(min(id), 1) FROM landmatch.import_job"),
        "lonlat": (lon, lat),
    }


def _hash() -> str:
    from landmatch.accounts.passwords import hash_password

    return hash_password(TEST_PASSWORD)


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _concrete(path: str, p: dict[str, Any], ids: dict[str, Any]) -> list[str]:
    """Every concrete URL worth asking for one GET route."""
    lon, lat = p["lonlat"]
    x, y = _tile(lon, lat, 12)
    code = p["code"]
    if "{code}" in path:
        if path.startswith(("/api/zones", "/workbench/zones")):
            code = p["zone"]
        elif path.startswith(("/api/policies", "/workbench/policies")):
            code = p["policy"]
        elif path.startswith("/api/industries"):
            code = "C3670"
        elif path.startswith("/api/layers"):
            code = p["constraint"]
    values = {
        "code": code,
        "z": "12",
        "x": str(x),
        "y": str(y),
        "match_id": ids["match"],
        "project_id": str(ids["project"]),
        "case_id": str(p["case"]),
        "job_id": str(p["job"]),
        "token": "none",
        "name": "t-admin",
    }
    if "{layer}" in path:
        layers = REF_LAYERS if path.startswith("/api/layers") else TILE_LAYERS
        paths = [path.replace("{layer}", layer) for layer in layers]
    elif "{cid}" in path:
        paths = [path.replace("{cid}", cid) for cid in COLLECTION_IDS]
    else:
        paths = [path]
    out = []
    for one in paths:
        if "{fid}" in one:
            one = one.replace("{fid}", code if "/parcels/" in one else "1")
        out.append(re.sub(r"\{(\w+)(:[^}]+)?\}", lambda m: values.get(m[1], "1"), one))
    return out


TILE_LAYERS = ("parcels", "zones", "constraints", "admin", "facilities")
COLLECTION_IDS = (
    "parcels",
    "zones",
    "admin_divisions",
    "facilities",
    "constraint_areas",
    "policies",
)


def _text(body: bytes, content_type: str) -> str:
    """The response as searchable text: archives (xlsx, zip) unpacked."""
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    raw = body.decode("utf-8", "replace")
    if "json" in content_type:
        try:  # \\u-escaped JSON as text
            return raw + json.dumps(json.loads(raw), ensure_ascii=False)
        except ValueError:
            return raw
    return raw


def _leaks(body: str, *, constraints: bool) -> list[str]:
    found = []
    if SECRET_PRICES.search(body):
        found.append("price")
    if PHONE in body:
        found.append("phone")
    if constraints and CONSTRAINT_NAME in body:
        found.append("constraint")
    return found


@pytest.fixture
def walk(app: Any, make_client: Any, planted: dict[str, Any], passwords: Any) -> Any:
    tokens = planted["tokens"]
    clients: dict[str, Any] = {}
    for role in (*NOT_ENTITLED, *ENTITLED):
        # Pages read the sign-in cookie, the API, OGC API and tiles the bearer token (a script's).
        page, api = _client(make_client), _client(make_client)
        if role != "public":
            sign_in(page, "t-bureau-ts" if role == "bureau_other" else ROLE_USERS[role])
            api.headers.update(auth(tokens[role]))
        clients[role] = Caller(page, api)
    admin = clients["admin"]
    match = admin.post(
        "/api/match", json={"industry": "36", "location": {"cities": [CITY]}, "top": 50}
    )
    assert match.status_code == 200, match.text
    project = clients["promoter"].post(
        "/api/projects", json={"name": "哨兵项目", "requirement": {"industry": "36"}}
    )
    assert project.status_code in (200, 201), project.text
    ids = {"match": match.json()["match_id"], "project": project.json()["id"]}
    urls = sorted(
        {
            url
            for path, route in api_routes(app)
            if "GET" in (route.methods or ()) and not path.endswith(SKIPPED)
            for url in _concrete(path, planted, ids)
        }
        | {f"/api/exports/parcels?format={f}&city={CITY}" for f in ("xlsx", "geojson")}
        | {f"/api/parcels?city={CITY}&limit=50", f"/workbench/parcels?city={CITY}"}
    )
    return clients, urls


def _client(make_client: Any) -> Any:
    """A client whose long-job routes (exports …) also see the test's planted rows."""
    from fastapi import Depends

    from landmatch.api.deps import get_job_session, get_session

    c = make_client()

    def same_session(session: Any = Depends(get_session)) -> Any:  # noqa: B008
        return session

    c.app.dependency_overrides[get_job_session] = same_session
    return c


class Caller:
    """One role's two clients; ``get`` picks the one a real user of that URL would use."""

    def __init__(self, page: Any, api: Any) -> None:
        self.page, self.api = page, api

    def get(self, url: str, **kw: Any) -> Any:
        return (self.page if url.startswith(PAGES) else self.api).get(url, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.api.post(url, **kw)


PAGES = ("/workbench", "/internal", "/dashboard")


def test_nobody_outside_the_city_reads_its_secrets(walk: Any) -> None:
    clients, urls = walk
    assert len(urls) > 120
    leaks: list[tuple[str, str, list[str]]] = []
    answered = 0
    for role in NOT_ENTITLED:
        for url in urls:
            r = clients[role].get(url, follow_redirects=False)
            assert r.status_code < 500, (role, url, r.status_code, r.text[:300])
            answered += r.status_code == 200
            found = _leaks(
                _text(r.content, r.headers.get("content-type", "")), constraints=role == "public"
            )
            if found:
                leaks.append((role, url, found))
    assert not leaks, leaks
    assert answered > 200  # the walk reached real pages, not a wall of 404s


def test_the_city_bureau_and_the_admin_read_them(walk: Any, planted: dict[str, Any]) -> None:
    """The positive control: the same sentinels reach those entitled, where the rule says."""
    clients, _ = walk
    code = planted["code"]
    for role in ENTITLED:
        c = clients[role]
        parcel = c.get(f"/api/parcels/{code}").json()["properties"]
        assert parcel["reserve_price_wan_per_mu"] == float(RESERVE), role
        assert parcel["ref_price_wan_per_mu"] == float(REF_PRICE), role
        assert parcel["contact_phone"] == PHONE, role
        page = c.get(f"/workbench/parcels/{code}").text
        assert _leaks(page, constraints=True) == ["price", "phone", "constraint"], role
        export = c.get("/api/exports/parcels", params={"city": CITY, "format": "geojson"})
        assert export.status_code == 200, export.text[:300]
        assert _leaks(export.text, constraints=False) == ["price", "phone"], role
    layer = clients["promoter"].get("/api/layers/constraint_area")
    assert layer.status_code == 200 and CONSTRAINT_NAME in layer.text


def test_the_public_gets_no_constraint_areas_but_kind_and_severity(walk: Any) -> None:
    clients, _ = walk
    public = clients["public"]
    assert public.get("/api/layers/constraint_area").status_code == 401
    assert public.get("/api/layers/facility").status_code == 200
    assert public.get("/ogc/collections/constraint_areas/items").status_code == 401
    listed = [c["id"] for c in public.get("/ogc/collections?f=json").json()["collections"]]
    assert "constraint_areas" not in listed and "parcels" in listed
    assert public.get("/tiles/constraints/6/52/24.pbf").status_code == 403
    run = public.post(
        "/api/match", json={"industry": "36", "location": {"cities": [CITY]}, "top": 20}
    ).json()
    hits = [h for f in run["features"] for h in f["properties"]["constraint_hits"] or []]
    assert hits, "the planted hits reach the public match"
    assert {tuple(sorted(h)) for h in hits} == {
        ("kind", "kind_label", "severity", "severity_label")
    }
