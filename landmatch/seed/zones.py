"""Demo development-zone polygons around the real zone centres (layers/zone_centres.geojson)
plus provincial zones at county seats. Zones never overlap and never cross a county line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from landmatch import vocab
from landmatch.dates import add_years
from landmatch.geo.validate import normalise_polygons
from landmatch.seed.profiles import CITY_PROFILES

KM_PER_DEG_LAT = 110.95


@dataclass
class DemoZone:
    code: str
    name: str
    city_code: str
    level: str
    kind: str
    geom: MultiPolygon
    leading_industries: list[str]
    approximate: bool
    source: str
    contact_name: str
    contact_phone: str
    assessments: list[dict[str, object]] = field(default_factory=list)


def _ellipse(lon: float, lat: float, a_km: float, b_km: float, rot_deg: float) -> Polygon:
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    x, y = a_km * np.cos(t), b_km * np.sin(t)
    r = np.radians(rot_deg)
    xr, yr = x * np.cos(r) - y * np.sin(r), x * np.sin(r) + y * np.cos(r)
    kx = KM_PER_DEG_LAT * np.cos(np.radians(lat))
    return Polygon(np.column_stack([lon + xr / kx, lat + yr / KM_PER_DEG_LAT]))


def _largest(geom: BaseGeometry) -> Polygon | None:
    parts = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and not g.is_empty]
    return max(parts, key=lambda g: g.area) if parts else None


def _assessments(
    rng: np.random.Generator, national: bool, as_of: dt.date
) -> list[dict[str, object]]:
    plan_kinds = vocab.PLAN_ASSESSMENTS
    share = 0.85 if national else 0.5
    out = []
    for kind in plan_kinds:
        if rng.random() > share:
            continue
        approved = as_of - dt.timedelta(days=int(rng.integers(60, 2200)))
        valid = add_years(approved, 5)
        out.append(
            {
                "kind": kind,
                "name": vocab.ASSESSMENTS[kind],
                "approved_on": approved,
                "valid_until": valid,
                "doc_no": f"冀评〔{approved.year}〕{int(rng.integers(1, 300))}号",
            }
        )
    return out


def build_zones(
    centres: list[dict[str, object]],
    counties: list[tuple[str, str, str, BaseGeometry]],
    rng: np.random.Generator,
    as_of: dt.date,
    provincial_share: float = 0.45,
) -> list[DemoZone]:
    """``centres``: records from zone_centres.geojson (code, name, city_code, level, kind, lon,
    lat, approximate, source). ``counties``: (code, name, city_code, geometry)."""
    tree = shapely.STRtree([c[3] for c in counties])
    taken: BaseGeometry = Polygon()
    zones: list[DemoZone] = []

    def place(code, name, city, level, kind, poly, approximate, source) -> None:  # type: ignore[no-untyped-def]
        nonlocal taken
        idx = tree.query(poly.centroid, predicate="within")
        if len(idx) == 0:
            return
        county_code, _cname, county_city, county_geom = counties[int(idx[0])]
        clipped = _largest(poly.intersection(county_geom).difference(taken))
        if clipped is None or clipped.area < poly.area * 0.3:
            return
        clipped = shapely.make_valid(clipped)
        clipped = _largest(clipped)
        if clipped is None:
            return
        taken = taken.union(clipped)
        profile = CITY_PROFILES.get(county_city)
        industries = list(profile.industries) if profile else ["34", "35"]
        pick = sorted(rng.choice(industries, size=min(3, len(industries)), replace=False).tolist())
        phone_area = {
            "130100": "0311",
            "130200": "0315",
            "130300": "0335",
            "130400": "0310",
            "130500": "0319",
            "130600": "0312",
            "130700": "0313",
            "130800": "0314",
            "130900": "0317",
            "131000": "0316",
            "131100": "0318",
        }.get(county_city, "0311")
        zones.append(
            DemoZone(
                code=code,
                name=name,
                city_code=city or county_city,
                level=level,
                kind=kind,
                geom=normalise_polygons(MultiPolygon([clipped])),
                leading_industries=pick,
                approximate=approximate,
                source=source,
                contact_name=f"{name}招商服务中心",
                contact_phone=f"{phone_area}-{int(rng.integers(6000000, 8999999))}",
                assessments=_assessments(rng, level == "national", as_of),
            )
        )

    for c in sorted(centres, key=lambda c: (c["level"] != "national", str(c["code"]))):
        if c["kind"] not in ("经开区", "高新区", "综保区"):
            continue  # FTZ areas are policy overlays, not zone polygons
        big = c["kind"] != "综保区"
        a = float(rng.uniform(2.5, 4.0) if big else rng.uniform(0.9, 1.4))
        b = a * float(rng.uniform(0.55, 0.9))
        poly = _ellipse(float(c["lon"]), float(c["lat"]), a, b, float(rng.uniform(0, 180)))  # type: ignore[arg-type]
        place(
            str(c["code"]),
            str(c["name"]),
            str(c["city_code"]),
            str(c["level"]),
            str(c["kind"]),
            poly,
            True,
            "演示边界：以 layers/zone_centres.geojson 的近似中心生成的示意范围",
        )

    for code, name, _city, geom in counties:
        if rng.random() > provincial_share:
            continue
        seat = geom.representative_point()
        ang = rng.uniform(0, 2 * np.pi)
        d = rng.uniform(2, 5)
        kx = KM_PER_DEG_LAT * np.cos(np.radians(seat.y))
        lon = seat.x + d * np.cos(ang) / kx
        lat = seat.y + d * np.sin(ang) / KM_PER_DEG_LAT
        a = float(rng.uniform(1.3, 2.4))
        poly = _ellipse(lon, lat, a, a * float(rng.uniform(0.5, 0.9)), float(rng.uniform(0, 180)))
        short = name.removesuffix("市").removesuffix("县").removesuffix("区")
        if len(short) < 2:
            short = name
        # Centred a few km from the county's seat, the zone may fall in a neighbouring
        # county: it belongs to the city it lies in (a zone lies within its city's territory,
        # landmatch.zones.records), which ``place`` takes from the county it is placed in.
        place(
            f"pz-{code}",
            f"河北{short}经济开发区",
            None,
            "provincial",
            "经开区",
            poly,
            True,
            "演示数据：县域省级开发区的示意范围",
        )
    return zones
