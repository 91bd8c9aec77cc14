"""GDAL's ``ogr2ogr -where`` pushes the filter down (``filter-lang=cql-text``, which the OpenAPI
document lists), so it fetches one page per ``limit`` of the matching parcels instead of the
whole collection; counted on the server (issue 17 items 2 and 8)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from sqlalchemy import Engine, text

from landmatch.db.parcels import PUBLIC_WHERE
from tests.interop.conftest import Counted


@pytest.mark.parametrize(
    ("where", "sql", "page"),
    [
        ("area_m2 > 50000 AND status = 'ready'", "p.area_m2 > 50000 AND p.status = 'ready'", 1000),
        ("is_standard_land = 1", "p.is_standard_land", 100),
        (
            "is_standard_land = 0 AND city_code = '130100'",
            "NOT p.is_standard_land AND p.city_code = '130100'",
            100,
        ),
    ],
)
def test_ogr2ogr_where_fetches_only_the_matching_pages(
    counted: Counted, engine: Engine, tmp_path: Path, where: str, sql: str, page: int
) -> None:
    with engine.connect() as c:
        expected = c.execute(
            text(f"SELECT count(*) FROM landmatch.parcel p WHERE {PUBLIC_WHERE} AND {sql}")
        ).scalar_one()
        everything = c.execute(
            text(f"SELECT count(*) FROM landmatch.parcel p WHERE {PUBLIC_WHERE}")
        ).scalar_one()
    assert 0 < expected < everything
    out = tmp_path / "out.geojson"
    mark = counted.mark()
    run = subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "GeoJSON",
            str(out),
            f"OAPIF:{counted.url}/ogc",
            "parcels",
            "-oo",
            f"PAGE_SIZE={page}",
            "-where",
            where,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    asked = counted.since(mark)
    got = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert len(got) == expected
    items = [parse_qs(q) for _, path, q in asked if path == "/ogc/collections/parcels/items"]
    filtered = [q for q in items if "filter" in q]
    assert filtered and all(q["filter-lang"] == ["cql-text"] for q in filtered)
    # one unfiltered probe (GDAL reads the first page for the layer's fields), then one
    # filtered page per `limit` of the matching parcels: never the whole collection
    assert len(items) - len(filtered) <= 1
    assert len(filtered) == -(-expected // page)
    print(
        f"ogr2ogr -where {where!r} (PAGE_SIZE={page}): {len(asked)} requests "
        f"({len(filtered)} filtered item pages) for {expected} of {everything} public parcels"
    )
