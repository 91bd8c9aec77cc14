"""The reference layers as tables for staff: records per layer and city (paged, labelled, no
geometry) and how many each city holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.errors import InvalidInput
from landmatch.paging import Page
from landmatch.reflayers.changes import FIELDS, KIND_LABELS, LAYERS, require_layer


def _check(layer: str, city: str | None) -> None:
    require_layer(layer)
    if city not in (None, "", vocab.PROVINCE_CODE) and city not in vocab.CITIES:
        raise InvalidInput(vocab.unknown_city(city))


def city_counts(session: Session, principal: Principal) -> dict[str, dict[str, int]]:
    """``{layer: {city_code or "": records}}`` ("" = no city: province-wide records)."""
    principal.require("admin", "bureau", "zone", "promoter")
    out: dict[str, dict[str, int]] = {}
    for layer in LAYERS:
        rows = session.execute(
            text(
                f"SELECT coalesce(city_code, ''), count(*) FROM landmatch.{layer} "
                "GROUP BY 1 ORDER BY 1"
            )
        ).all()
        out[layer] = {str(c): int(n) for c, n in rows}
    return out


def record_page(
    session: Session,
    principal: Principal,
    layer: str,
    *,
    city: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[dict[str, Any]]:
    """One page of a layer's records (of ``city``; ``""`` = those without a city), by code,
    with the kind's and severity's Chinese labels."""
    principal.require("admin", "bureau", "zone", "promoter")
    _check(layer, city)
    where = "true"
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if city == "":
        where = "city_code IS NULL"
    elif city is not None:
        where, params["city"] = "city_code = :city", city
    total = int(
        session.execute(
            text(f"SELECT count(*) FROM landmatch.{layer} WHERE {where}"), params
        ).scalar_one()
    )
    rows = session.execute(
        text(
            f"SELECT {', '.join(FIELDS[layer])}, version, updated_at FROM landmatch.{layer} "
            f"WHERE {where} ORDER BY code LIMIT :limit OFFSET :offset"
        ),
        params,
    ).mappings()
    items = []
    for r in rows:
        d = dict(r)
        d["kind_label"] = vocab.label(KIND_LABELS[layer], d["kind"])
        if "severity" in d:
            d["severity_label"] = vocab.label(vocab.CONSTRAINT_SEVERITY, d["severity"])
        d["city_label"] = vocab.label(vocab.CITIES, d["city_code"]) if d["city_code"] else "全省"
        items.append(d)
    return Page(items, total, offset, limit)


#: A report's field in Chinese (the change report's errors name the file's columns).
FIELD_LABELS = {
    "code": "编码",
    "name": "名称",
    "kind": "类型",
    "severity": "管控强度",
    "city_code": "城市代码",
    "source": "来源",
    "geometry": "几何",
    "kinds": "管控类型",
    "cities": "城市",
    "as_of": "现势日期",
}


def fact_label(column: str) -> str:
    """A parcel fact (``facts.FACT_COLUMNS``) in Chinese, for the change report."""
    if column.startswith("dist_") and column.endswith("_km"):
        kind = column[5:-3]
        return f"到最近{vocab.label(vocab.FACILITY_KINDS, kind)}的距离"
    return {
        "zone_id": "所属开发区",
        "excluded": "是否处于禁止类管控区",
        "constraint_hits": "管控区冲突",
    }.get(column, column)
