"""The staff inventory list: one parcel filter (``landmatch.db.parcels.ParcelFilter``, the one
exports take too) within the caller's scope, sorted and paged on the server, with its count.

Reusable by every workbench area (imports, QA, cases link here with their filters):

- :func:`scoped`: a filter narrowed to what the caller keeps (a bureau its city, a zone
  committee its zone); asking for another city is refused;
- :func:`parcel_page`: one page of rows and the total;
- :func:`status_counts`: parcels and area by status in the caller's scope;
- :func:`flag_counts`: parcels per QA flag in the caller's scope.

Paging is an index-backed offset: the page's ids come from an index-only scan of
``ix_parcel_list`` (migration 0020_parcel_list: the list's filter and sort columns covered), the
rows are read for those ids only, the total is counted once per data version (cached), and a
page past the middle is read from the other end (reversed order), so the last page costs what
the first does and the middle one skips half the set's index entries.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db.holds import hold_text, seen_by_parcel
from landmatch.db.parcels import ParcelFilter, filter_sql
from landmatch.db.values import json_row
from landmatch.errors import Forbidden, InvalidInput
from landmatch.geo.measure import M2_PER_MU
from landmatch.inventory.qa import FLAG_TITLES, flag_params, flag_sql
from landmatch.ogc import cache
from landmatch.paging import Page

# Sort keys → SQL (each in ix_parcel_list; the code breaks ties).
SORTS: dict[str, str] = {
    "code": "p.code",
    "name": "p.name",
    "area": "p.area_m2",
    "status": "p.status",
    "land_use": "p.land_use",
    "data": "p.data_updated_on",
    "updated": "p.updated_at",
}
SORT_LABELS: dict[str, str] = {
    "code": "地块编号",
    "name": "地块名称",
    "area": "面积",
    "status": "状态",
    "land_use": "用途",
    "data": "数据更新日期",
    "updated": "最后修改",
}
AGES: dict[str, str] = {"fresh": "数据较新", "stale": "数据过期", "unknown": "未注明日期"}
MAX_PAGE = 500
# How long the home page's QA counts are reused (they read every parcel in scope).
FLAG_COUNTS_MAX_AGE_S = 600.0
_FROM = "landmatch.parcel p LEFT JOIN landmatch.dev_zone z ON z.id = p.zone_id"
_ROW = (
    "p.id, p.code, p.name, p.city_code, p.county_code, p.status, p.visibility, p.land_use, "
    "p.area_m2, p.data_updated_on, p.updated_at, p.updated_by, p.version, p.deleted_at, "
    "z.code AS zone_code, z.name AS zone_name, c.name AS county_name"
)


def own_city(principal: Principal) -> str | None:
    """The city a bureau keeps (None: every city — the province's bureau, admins, promoters)."""
    if principal.role == "bureau" and principal.city_code not in (None, vocab.PROVINCE_CODE):
        return principal.city_code
    return None


def offered_cities(principal: Principal) -> list[tuple[str, str]]:
    """The cities a staff member's list filters offer: every city to the province's staff
    (admins, promoters, the province's bureau); none to a city bureau or a zone committee,
    whose lists hold their own city's or zone's records only."""
    if principal.role == "zone" or own_city(principal) is not None:
        return []
    return list(vocab.CITIES.items())


def zone_city(session: Session, principal: Principal) -> str | None:
    """The city of a zone committee's zone, where its parcel writes are checked
    (:meth:`landmatch.auth.Principal.can_edit_parcel`: in its zone and in that zone's city);
    None for other roles and for a committee without a zone. Read at each check, so a zone
    moved to another city takes its committee's scope with it."""
    if principal.role != "zone" or principal.zone_id is None:
        return None
    city = session.execute(
        text("SELECT city_code FROM landmatch.dev_zone WHERE id = :z"), {"z": principal.zone_id}
    ).scalar()
    return None if city is None else str(city)


def scoped(f: ParcelFilter, principal: Principal) -> ParcelFilter:
    """``f`` narrowed to the caller's scope: a city bureau sees its city (asking for another is
    refused), a zone committee its zone's parcels; admins and promoters see every city."""
    principal.require("admin", "bureau", "zone", "promoter")
    if f.city is not None and f.city not in vocab.CITIES:
        raise InvalidInput(vocab.unknown_city(f.city))
    city = own_city(principal)
    if city is not None:
        if f.city not in (None, city):
            raise Forbidden(
                f"无权查看{vocab.label(vocab.CITIES, f.city)}的地块：本账号的城市范围为"
                f"{vocab.label(vocab.CITIES, city)}"
            )
        return replace(f, city=city)
    if principal.role == "zone":
        return replace(f, zone_id=principal.zone_id if principal.zone_id is not None else -1)
    return f


def check_filter(f: ParcelFilter) -> None:
    """Refuse values outside the vocabularies (the page's selects offer only these)."""
    bad = [s for s in f.status or [] if s not in vocab.PARCEL_STATUS]
    bad += [u for u in f.land_use or [] if u not in vocab.PARCEL_LAND_USE]
    if f.visibility and f.visibility not in vocab.VISIBILITY:
        bad.append(f.visibility)
    if f.age and f.age not in AGES:
        bad.append(f.age)
    if f.qa and f.qa not in FLAG_TITLES:
        bad.append(f.qa)
    if bad:
        raise InvalidInput(f"未知的筛选值：{'、'.join(bad)}")
    lo, hi = f.area_mu_min, f.area_mu_max
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInput("面积下限不能大于上限")


def _key(f: ParcelFilter) -> tuple[Any, ...]:
    return tuple(
        tuple(v) if isinstance(v, list) else v
        for k, v in vars(f).items()
        if k not in ("limit", "offset")
    )


def count(session: Session, f: ParcelFilter, principal: Principal) -> int:
    """How many parcels ``f`` selects (counted once per data version)."""
    version = cache.data_version(session, "parcel")
    key = ("wb-count", cache.database_key(session), version, principal.is_public, _key(f))
    if version is not None:
        hit = cache.get(key)
        if hit is not None:
            return int(hit)
    where, params = filter_sql(f, principal)
    n = int(
        session.execute(
            text(f"SELECT count(*) FROM {_FROM} WHERE {' AND '.join(where)}"), params
        ).scalar_one()
    )
    if version is not None:
        cache.put(key, n)
    return n


def parcel_page(
    session: Session,
    f: ParcelFilter,
    principal: Principal,
    *,
    sort: str = "code",
    descending: bool = False,
) -> Page[dict[str, Any]]:
    """One page (``f.offset``, ``f.limit``) of the parcels ``f`` selects within the caller's
    scope, as table rows (labels, 亩 and 公顷), and the total."""
    f = scoped(f, principal)
    check_filter(f)
    if sort not in SORTS:
        raise InvalidInput(f"未知的排序字段 {sort}；可选：{'、'.join(SORTS)}")
    limit = max(1, min(f.limit, MAX_PAGE))
    if f.qa:  # a QA flag's spatial predicates would have PostgreSQL JIT-compile (seconds)
        session.execute(text("SET LOCAL jit = off"))
    total = count(session, f, principal)
    where, params = filter_sql(f, principal)
    # Past the middle, read from the other end: the last page costs what the first does.
    reverse = f.offset > total // 2
    offset, take = f.offset, limit
    if reverse:
        take = min(limit, total - f.offset)
        offset = max(total - f.offset - take, 0)
        if take <= 0:
            return Page([], total, f.offset, limit)
    order = _order(sort, descending, reverse=reverse)
    params.update(limit=take, offset=offset)
    rows = session.execute(
        text(
            "WITH page AS MATERIALIZED (SELECT p.id, row_number() OVER () AS n FROM ("
            f"SELECT p.id FROM {_FROM} WHERE {' AND '.join(where)} ORDER BY {order} "
            "LIMIT :limit OFFSET :offset) p) "
            f"SELECT {_ROW} FROM page JOIN landmatch.parcel p ON p.id = page.id "
            "LEFT JOIN landmatch.dev_zone z ON z.id = p.zone_id "
            "LEFT JOIN landmatch.admin_division c ON c.code = p.county_code ORDER BY page.n"
        ),
        params,
    ).mappings()
    items = [_row(r) for r in rows]
    holds = seen_by_parcel(session, [r["id"] for r in items], principal)
    for item in items:
        item["hold"] = holds.get(item["id"])
        item["hold_text"] = hold_text(item["hold"])
    return Page(items[::-1] if reverse else items, total, f.offset, limit)


def _order(sort: str, descending: bool, *, reverse: bool = False) -> str:
    """ORDER BY of a sort key, empty values last either way; ``reverse``: the exact reverse
    of that order (to read a page from the other end)."""
    d = "DESC" if descending != reverse else "ASC"
    nulls = "FIRST" if reverse else "LAST"
    if sort == "code":  # by city first: the index's order, also across cities
        return f"p.city_code {d}, p.code {d}"
    return f"{SORTS[sort]} {d} NULLS {nulls}, p.code {d}"


def _row(r: Any) -> dict[str, Any]:
    out = json_row(r)
    area = r["area_m2"] or 0.0
    out["area_mu"] = area / M2_PER_MU
    out["area_ha"] = area / 10_000
    out["status_label"] = vocab.label(vocab.PARCEL_STATUS, r["status"])
    out["land_use_label"] = vocab.label(vocab.PARCEL_LAND_USE, r["land_use"])
    out["visibility_label"] = vocab.label(vocab.VISIBILITY, r["visibility"])
    out["city_name"] = vocab.label(vocab.CITIES, r["city_code"])
    out["updated_at"] = r["updated_at"]
    out["deleted_at"] = r["deleted_at"]
    return out


def status_counts(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Parcels and their area (亩) by status in the caller's scope, every status listed."""
    f = scoped(ParcelFilter(), principal)
    where, params = filter_sql(f, principal)
    found = {
        r[0]: (int(r[1]), float(r[2] or 0))
        for r in session.execute(
            text(
                f"SELECT p.status, count(*), sum(p.area_m2) FROM {_FROM} "
                f"WHERE {' AND '.join(where)} GROUP BY p.status"
            ),
            params,
        )
    }
    return [
        {
            "status": s,
            "label": label,
            "count": found.get(s, (0, 0.0))[0],
            "area_mu": found.get(s, (0, 0.0))[1] / M2_PER_MU,
        }
        for s, label in vocab.PARCEL_STATUS.items()
    ]


def flag_counts(
    session: Session,
    principal: Principal,
    *,
    stale_days: int,
    checks: tuple[str, ...] = (),
    max_age_s: float = FLAG_COUNTS_MAX_AGE_S,
    city: str | None = None,
) -> dict[str, Any]:
    """Parcels per QA flag (``landmatch.inventory.qa``) in the caller's scope (narrowed to
    ``city`` if given), in one pass. The spatial checks read every parcel in scope (seconds on
    a large city), so a result is reused for ``max_age_s`` whatever was written meanwhile, and
    says when it was counted."""
    f = scoped(ParcelFilter(stale_days=stale_days, city=city), principal)
    names = checks or tuple(FLAG_TITLES)
    version = cache.data_version(session, "parcel")
    key = ("wb-flags", cache.database_key(session), names, _key(f))
    now = time.time()
    hit = cache.get(key) if version is not None else None
    if hit is not None and now - hit[0] <= max_age_s:
        at, found = hit
    else:
        where, params = filter_sql(f, principal)
        params.update(flag_params(stale_days))
        cols = ", ".join(f"count(*) FILTER (WHERE {flag_sql(c)})" for c in names)
        row = session.execute(
            text(f"SELECT {cols} FROM {_FROM} WHERE {' AND '.join(where)}"), params
        ).one()
        at, found = now, tuple(int(v) for v in row)
        if version is not None:
            cache.put(key, (at, found))
    return {
        "at": dt.datetime.fromtimestamp(at, dt.UTC),
        "flags": [
            {"check": c, "title": FLAG_TITLES[c], "count": n}
            for c, n in zip(names, found, strict=True)
        ],
    }


def deleted_count(session: Session, principal: Principal) -> int:
    f = scoped(ParcelFilter(deleted=True), principal)
    return count(session, f, principal)
