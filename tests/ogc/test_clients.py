"""The real clients against a live server: OWSLib and GDAL (ogrinfo, ogr2ogr)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
from owslib.ogcapi.features import Features
from sqlalchemy import Engine, text

from landmatch.db.parcels import INTERNAL_COLUMNS, PUBLIC_WHERE

BBOX = (114.3, 37.9, 114.8, 38.3)  # around Shijiazhuang


def _public_count(engine: Engine, extra: str = "TRUE", **params: object) -> int:
    with engine.connect() as c:
        return int(
            c.execute(
                text(f"SELECT count(*) FROM landmatch.parcel p WHERE {PUBLIC_WHERE} AND {extra}"),
                params,
            ).scalar_one()
        )


def test_owslib_landing_collections_items_item_queryables(live_url: str, engine: Engine) -> None:
    api = Features(live_url)
    assert api.links and any(link["rel"] == "service-desc" for link in api.links)
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in api.conformance()["conformsTo"]
    )
    ids = {c["id"] for c in api.collections()["collections"]}
    # The public's list: constraint areas are staff data (landmatch.publication).
    assert ids == {"parcels", "zones", "admin_divisions", "facilities", "policies"}
    meta = api.collection("parcels")
    assert meta["itemType"] == "feature"

    expected = _public_count(
        engine,
        "ST_Intersects(p.geom, ST_MakeEnvelope(:a, :b, :c, :d, 4490))",
        a=BBOX[0],
        b=BBOX[1],
        c=BBOX[2],
        d=BBOX[3],
    )
    assert expected > 3, "seed has too few public parcels in the test bbox"
    seen: list[int] = []
    offset = 0
    while True:
        page = api.collection_items("parcels", bbox=list(BBOX), limit=3, offset=offset)
        assert page["numberMatched"] == expected
        seen += [f["id"] for f in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 3
    assert len(seen) == expected == len(set(seen))
    for fid in seen[:2]:
        lon0, lat0, lon1, lat1 = BBOX
        one = api.collection_item("parcels", str(fid))
        assert one["id"] == fid and one["geometry"]["type"] == "MultiPolygon"
        xs = [pt[0] for poly in one["geometry"]["coordinates"] for ring in poly for pt in ring]
        assert min(xs) < lon1 and max(xs) > lon0  # lon first in CRS84

    q = api.collection_queryables("parcels")
    assert q["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "status" in q["properties"] and "contact_phone" not in q["properties"]


def _ogrinfo(*args: str) -> str:
    out = subprocess.run(["ogrinfo", *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_gdal_ogrinfo_count_and_fields(live_url: str, engine: Engine) -> None:
    info = _ogrinfo("-so", f"OAPIF:{live_url}", "parcels")
    count = int(info.split("Feature Count:")[1].split()[0])
    assert count == _public_count(engine)
    api_count = httpx.get(f"{live_url}/collections/parcels/items?limit=1").json()["numberMatched"]
    assert count == api_count
    fields = {line.split(":")[0] for line in info.splitlines() if ": " in line}
    assert {"code", "name", "status", "area_m2", "city_name"} <= fields
    assert not fields & (set(INTERNAL_COLUMNS) - {"id"})
    assert "Multi Polygon" in info


def test_gdal_ogr2ogr_copies_every_public_parcel(
    live_url: str, engine: Engine, tmp_path: Path
) -> None:
    gpkg = tmp_path / "parcels.gpkg"
    out = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(gpkg), f"OAPIF:{live_url}", "parcels"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    api_count = httpx.get(f"{live_url}/collections/parcels/items?limit=1").json()["numberMatched"]
    info = _ogrinfo("-so", str(gpkg), "parcels")
    assert int(info.split("Feature Count:")[1].split()[0]) == api_count == _public_count(engine)
    # FIDs are the API's integer ids, codes are unique
    sql = _ogrinfo(str(gpkg), "-sql", "SELECT count(DISTINCT code) AS n FROM parcels", "-q")
    assert f"n (Integer) = {api_count}" in sql


def test_gdal_reads_points_and_records(live_url: str, engine: Engine) -> None:
    with engine.connect() as c:
        n_fac = c.execute(text("SELECT count(*) FROM landmatch.facility")).scalar_one()
        n_pol = c.execute(
            text("SELECT count(*) FROM landmatch.policy WHERE visibility = 'public'")
        ).scalar_one()
    fac = _ogrinfo("-so", f"OAPIF:{live_url}", "facilities")
    assert f"Feature Count: {n_fac}" in fac and "Geometry: Point" in fac
    pol = _ogrinfo("-so", f"OAPIF:{live_url}", "policies")
    assert f"Feature Count: {n_pol}" in pol


def test_mvt_tile_reads_in_gdal(live_url: str, tmp_path: Path) -> None:
    page = httpx.get(f"{live_url}/collections/parcels/items?limit=1").json()
    lon, lat = page["features"][0]["geometry"]["coordinates"][0][0][0]
    import math

    z = 12
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    r = httpx.get(f"{live_url}/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert (
        r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    )
    path = tmp_path / str(z) / str(x)
    path.mkdir(parents=True)
    (path / f"{y}.pbf").write_bytes(r.content)
    info = _ogrinfo("-al", "-so", str(path / f"{y}.pbf"))
    assert "Layer name: parcels" in info
    n = int(info.split("Feature Count:")[1].split()[0])
    assert n >= 1
    assert "contact_phone" not in info


def test_landing_is_json_for_any_accept(live_url: str) -> None:
    r = httpx.get(live_url + "/", headers={"Accept": "*/*"})
    assert r.headers["content-type"].startswith("application/json")
    desc = [link for link in r.json()["links"] if link["rel"] == "service-desc"][0]
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = httpx.get(desc["href"])
    assert doc.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert json.loads(doc.text)["openapi"].startswith("3.0.")
