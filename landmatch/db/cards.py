"""The parcel card's reads from the parcel's own row: its utilities with their age, the
data-quality flags staff see, its reservation, and the shapes of a brochure's map extract. The
card itself (the zone with its assessments, the policies that apply) is put together by the
service :mod:`landmatch.inventory.cards`.

Visibility follows :mod:`landmatch.db.parcels`: the public gets the public columns of public
ready parcels, nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.db import holds
from landmatch.db.geometry import geojson_sql
from landmatch.db.parcels import PUBLIC_WHERE
from landmatch.errors import NotFound
from landmatch.viewer import Viewer


def utilities_of(p: dict[str, Any], stale_before: dt.date) -> list[dict[str, Any]]:
    spec = [
        ("power", "供电", p.get("power_kva"), "kVA", p.get("power_as_of")),
        ("water", "供水", p.get("water_m3d"), "m³/日", p.get("water_as_of")),
        ("sewage", "排水", p.get("sewage_m3d"), "m³/日", p.get("sewage_as_of")),
        ("gas", "燃气", p.get("gas_m3d"), "m³/日", p.get("gas_as_of")),
        ("heat", "供热", p.get("heat_mw"), "MW", p.get("heat_as_of")),
    ]
    out = []
    for key, label, value, unit, as_of in spec:
        out.append(
            {
                "key": key,
                "label": label,
                "value": value,
                "unit": unit,
                "as_of": as_of,
                "stale": bool(as_of and dt.date.fromisoformat(as_of) < stale_before),
            }
        )
    tel = [t for t, on in (("5G", p.get("telecom_5g")), ("光纤", p.get("fibre"))) if on]
    out.append(
        {
            "key": "telecom",
            "label": "通信",
            "value": "、".join(tel) if tel else None,
            "unit": "",
            "as_of": p.get("telecom_as_of"),
            "stale": bool(
                p.get("telecom_as_of") and dt.date.fromisoformat(p["telecom_as_of"]) < stale_before
            ),
        }
    )
    return out


def qa_flags_of(p: dict[str, Any], utilities: list[dict[str, Any]]) -> list[str]:
    """Data-quality flags staff should see (never shown to the public)."""
    flags = []
    if p.get("land_use") == vocab.LAND_USE_PENDING:
        flags.append("用途待定：补充用途后才能公开")
    declared, area = p.get("declared_area_m2"), p.get("area_m2")
    if declared and area and abs(declared - area) / area > 0.05:
        flags.append(f"申报面积与实测面积相差 {abs(declared - area) / area:.0%}")
    stale = [u["label"] for u in utilities if u["stale"]]
    if stale:
        flags.append("配套数据过期：" + "、".join(stale))
    unknown = [u["label"] for u in utilities if u["value"] is None]
    if unknown:
        flags.append("配套容量未知：" + "、".join(unknown))
    if p.get("status") == "ready":
        missing = [
            vocab.READY_CHECKLIST[k]
            for k in vocab.READY_CHECKLIST
            if k not in (p.get("checklist") or [])
        ]
        if missing:
            flags.append("熟地核查未完成：" + "、".join(missing))
    return flags


def reservation_of(session: Session, code: str, principal: Viewer) -> dict[str, Any] | None:
    """The parcel's active hold as ``principal`` may see it (:func:`landmatch.db.holds.seen`:
    in full for the holding team and admins, the team and date for the bureau of its city,
    for others that the parcel is held and until when)."""
    row = session.execute(
        text(f"SELECT {holds.COLUMNS} {holds.FROM} WHERE p.code = :c AND {holds.IN_FORCE}"),
        {"c": code, **holds.day()},
    ).first()
    return None if row is None else holds.seen(row, principal)


def extract_shapes(
    session: Session, code: str, principal: Viewer, margin_ratio: float = 0.6
) -> dict[str, Any]:
    """Geometries for a brochure's map extract: the parcel, its (visible) neighbours and the
    zone boundary, each as GeoJSON in CGCS2000, within a box around the parcel."""
    where = PUBLIC_WHERE if principal.is_public else "p.deleted_at IS NULL"
    box = session.execute(
        text(
            f"SELECT ST_XMin(p.geom), ST_YMin(p.geom), ST_XMax(p.geom), ST_YMax(p.geom), p.zone_id "
            f"FROM landmatch.parcel p WHERE p.code = :c AND {where}"
        ),
        {"c": code},
    ).first()
    if box is None:
        raise NotFound(f"未找到地块 {code}")
    x0, y0, x1, y1, zone_id = box
    dx, dy = max(x1 - x0, 0.002), max(y1 - y0, 0.002)
    half = max(dx, dy) * (0.5 + margin_ratio)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    env = {"a": cx - half, "b": cy - half, "c2": cx + half, "d": cy + half}
    envelope = "ST_MakeEnvelope(:a, :b, :c2, :d, 4490)"
    neighbours = session.execute(
        text(
            f"SELECT p.code, {geojson_sql(f'ST_Intersection(p.geom, {envelope})', 7)} "
            "FROM landmatch.parcel p "
            f"WHERE p.geom && {envelope} AND p.code <> :c AND {where} LIMIT 400"
        ),
        env | {"c": code},
    ).all()
    zone = None
    if zone_id is not None:
        zone = session.execute(
            text(
                f"SELECT {geojson_sql(f'ST_Boundary(ST_Intersection(geom, {envelope}))', 7)} "
                "FROM landmatch.dev_zone WHERE id = :z"
            ),
            env | {"z": zone_id},
        ).scalar()
    parcel = session.execute(
        text(f"SELECT {geojson_sql('geom', 7)} FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).scalar_one()
    return {
        "bbox": [env["a"], env["b"], env["c2"], env["d"]],
        "parcel": json.loads(parcel),
        "neighbours": [json.loads(g) for _c, g in neighbours if g],
        "zone": json.loads(zone) if zone else None,
    }
