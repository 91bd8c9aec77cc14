"""``/workbench/parcels``: the inventory list (filters, sorting, paging, the count), export of
exactly the filtered set, bulk actions on a selection, and the parcel page.

Who: admins (every city), bureaus (their city; the province's bureau every city), zone
committees (their zone's parcels), promoters (read only: no selection, no edit links).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.api.deps import JobSessionDep, SessionDep, SettingsDep
from landmatch.api.limits import heavy
from landmatch.api.routes.workbench.common import (
    EditorCtx,
    Staff,
    StaffCtx,
    StaffDep,
    redirect,
    render,
    saved_flash,
)
from landmatch.basemap.store import water_loaded
from landmatch.db.parcels import ParcelFilter
from landmatch.errors import InvalidInput, LandMatchError
from landmatch.inventory import edits, listing, sheet
from landmatch.inventory.exports import FORMATS, export_parcels
from landmatch.inventory.qa import FLAG_TITLES
from landmatch.maps.workbench import bounds_of, parcel_map

router = APIRouter(include_in_schema=False)
URL = "/workbench/parcels"
PAGE_SIZE = 50
Text = Annotated[str | None, Query(max_length=100)]


def _number(value: str | None, what: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        out = float(value.replace(",", ""))
    except ValueError:
        raise InvalidInput(f"{what}应为数字") from None
    if not 0 <= out < 1e9:
        raise InvalidInput(f"{what}超出范围")
    return out


#: The list's 预留 filter: held for a project or not (``landmatch.db.holds``).
HELD_CHOICES = {"1": "已预留", "0": "未预留"}


def _held(value: str | None) -> bool | None:
    if not value:
        return None
    if value not in HELD_CHOICES:
        raise InvalidInput(f"未知的筛选值：{value}")
    return value == "1"


@dataclass
class ListQuery:
    """The list's query string: filters, sort and page (every view has its URL)."""

    filter: ParcelFilter
    sort: str
    descending: bool
    values: dict[str, Any]


def list_query(
    request: Request,
    settings: SettingsDep,
    status: Annotated[list[str] | None, Query(max_length=12)] = None,
    city: Annotated[str | None, Query(max_length=6)] = None,
    county: Annotated[str | None, Query(max_length=6)] = None,
    zone: Annotated[str | None, Query(max_length=40)] = None,
    land_use: Annotated[list[str] | None, Query(max_length=8)] = None,
    area_min: Text = None,
    area_max: Text = None,
    visibility: Annotated[str | None, Query(max_length=10)] = None,
    qa: Annotated[str | None, Query(max_length=24)] = None,
    age: Annotated[str | None, Query(max_length=10)] = None,
    held: Annotated[str | None, Query(max_length=5)] = None,
    q: Text = None,
    deleted: Annotated[str | None, Query(max_length=5)] = None,
    sort: Annotated[str, Query(max_length=12)] = "code",
    desc: Annotated[str | None, Query(max_length=5)] = None,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> ListQuery:
    f = ParcelFilter(
        status=[s for s in status or [] if s] or None,
        city=city or None,
        county=county or None,
        zone=zone or None,
        land_use=[u for u in land_use or [] if u] or None,
        area_mu_min=_number(area_min, "面积下限"),
        area_mu_max=_number(area_max, "面积上限"),
        visibility=visibility or None,
        qa=qa or None,
        age=age or None,
        held=_held(held),
        q=(q or "").strip() or None,
        deleted=deleted == "1",
        stale_days=settings.stale_after_days,
        limit=PAGE_SIZE,
        offset=offset,
    )
    values = {
        "status": f.status or [],
        "city": city or "",
        "county": county or "",
        "zone": zone or "",
        "land_use": f.land_use or [],
        "area_min": area_min or "",
        "area_max": area_max or "",
        "visibility": visibility or "",
        "qa": qa or "",
        "age": age or "",
        "held": held or "",
        "q": q or "",
        "deleted": deleted == "1",
        "sort": sort,
        "desc": desc == "1",
    }
    return ListQuery(f, sort, desc == "1", values)


ListQueryDep = Annotated[ListQuery, Depends(list_query)]


def _choices(session: Any, staff: Staff) -> dict[str, Any]:
    from sqlalchemy import text

    # A zone committee's lists are of its zone: the counties of its zone's city.
    city = listing.own_city(staff.principal) or listing.zone_city(session, staff.principal)
    zones = session.execute(
        text(
            "SELECT code, name FROM landmatch.dev_zone WHERE CAST(:c AS text) IS NULL "
            "OR city_code = :c ORDER BY city_code, code"
        ),
        {"c": city},
    ).all()
    counties = session.execute(
        text(
            "SELECT code, name FROM landmatch.admin_division WHERE level = 'county' "
            "AND (CAST(:c AS text) IS NULL OR parent_code = :c) ORDER BY code"
        ),
        {"c": city},
    ).all()
    return {
        "cities": listing.offered_cities(staff.principal),
        "zones": [(r[0], r[1]) for r in zones] if staff.principal.role != "zone" else [],
        "counties": [(r[0], r[1]) for r in counties],
        "statuses": list(vocab.PARCEL_STATUS.items()),
        "land_uses": list(vocab.PARCEL_LAND_USE.items()),
        "visibilities": list(vocab.VISIBILITY.items()),
        "flags": list(FLAG_TITLES.items()),
        "ages": list(listing.AGES.items()),
        "helds": list(HELD_CHOICES.items()),
        "sorts": list(listing.SORT_LABELS.items()),
    }


def list_session(request: Request, lq: ListQueryDep, session: SessionDep) -> Iterator[Session]:
    """The request's session, or with a QA filter the job session: the spatial checks read
    every parcel in scope (many seconds on a large city, past the request limit)."""
    if not lq.filter.qa:
        yield session
        return
    with request.app.state.job_sessions() as job:
        yield job


@router.get(URL, response_class=HTMLResponse)
def parcel_list(
    ctx: StaffCtx, session: Annotated[Session, Depends(list_session)], lq: ListQueryDep
) -> HTMLResponse:
    page = listing.parcel_page(
        session, lq.filter, ctx.staff.principal, sort=lq.sort, descending=lq.descending
    )
    query = ctx.request.url.query
    return render(
        ctx.request,
        "workbench/parcels/list.html",
        page=page,
        filters=lq.values,
        query=query,
        can_edit=ctx.staff.principal.role in ("admin", "bureau", "zone"),
        formats=[(k, v) for k, v in EXPORT_LABELS.items() if k in FORMATS],
        bulk_statuses=list(vocab.PARCEL_STATUS.items()),
        **_choices(session, ctx.staff),
    )


EXPORT_LABELS = {
    "xlsx": "Excel 熟地清单（.xlsx）",
    "shp": "Shapefile（.zip）",
    "gpkg": "GeoPackage（.gpkg）",
    "geojson": "GeoJSON",
    "txt": "界址点 TXT",
}


@router.get(URL + "/export")
def export(
    _slot: Annotated[None, heavy("export")],
    session: JobSessionDep,
    staff: StaffDep,
    lq: ListQueryDep,
    format: Annotated[str, Query(max_length=8)] = "xlsx",
    encoding: Annotated[str, Query(max_length=8)] = "UTF-8",
    gk_zone: Annotated[str | None, Query(max_length=2)] = None,
) -> Response:
    """The list's filtered set (every page of it) as a file, through the export service."""
    f = listing.scoped(lq.filter, staff.principal)
    listing.check_filter(f)
    f.offset = 0
    zone = int(gk_zone) if gk_zone and gk_zone.isdigit() else None
    out = export_parcels(session, f, staff.principal, format, encoding, zone=zone)
    return Response(
        out.data,
        media_type=out.media_type,
        headers={"Content-Disposition": f'attachment; filename="{out.filename}"'},
    )


BULK_ACTIONS = {"publish": "设为公开", "unpublish": "设为内部", "status": "修改状态"}


@router.post(URL + "/bulk")
def bulk(
    ctx: EditorCtx,
    action: Annotated[str, Form(max_length=12)] = "",
    status: Annotated[str, Form(max_length=12)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=4000)] = "",
    sel: Annotated[list[str] | None, Form(max_length=200)] = None,
) -> Response:
    """Publish, unpublish or change the status of the selected parcels (``sel``: code|etag),
    all or nothing, with a reason."""
    back_url = URL + ("?" + back if back and not back.startswith(("/", "\\")) else "")
    items = []
    for value in sel or []:
        code, _, tag = value.partition("|")
        items.append((code, tag or None))
    props = {
        "publish": {"visibility": "public"},
        "unpublish": {"visibility": "internal"},
        "status": {"status": status},
    }.get(action)
    try:
        if props is None:
            raise InvalidInput("请选择批量操作")
        tags, warnings = edits.bulk_update(ctx.session, items, props, ctx.staff.principal, reason)
        ctx.session.commit()
    except LandMatchError as exc:
        if exc.status >= 500:
            raise
        ctx.session.rollback()
        return redirect(ctx.request, back_url, flash=("danger", f"批量操作未执行：{exc.message}"))
    label = BULK_ACTIONS[action] + (
        f"为“{vocab.label(vocab.PARCEL_STATUS, status)}”" if action == "status" else ""
    )
    done = f"已将 {len(tags)} 宗地块{label}"
    return redirect(ctx.request, back_url, flash=saved_flash(warnings, done))


@router.get(URL + "/{code}", response_class=HTMLResponse)
def parcel_page(ctx: StaffCtx, code: str) -> HTMLResponse:
    data = sheet.parcel_sheet(
        ctx.session, code, ctx.staff.principal, stale_days=ctx.settings.stale_after_days
    )
    geometry = data["feature"]["geometry"]
    parts = parcel_map(ctx.settings, bounds_of(geometry), water=water_loaded(ctx.session))
    config = {
        "map": parts.name,
        "parcel": {"type": "Feature", "geometry": geometry, "properties": {"code": code}},
        **data["surroundings"],
    }
    return render(
        ctx.request, "workbench/parcels/parcel.html", d=data, map=parts, map_config=config
    )
