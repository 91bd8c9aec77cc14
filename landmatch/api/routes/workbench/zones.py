"""``/workbench/zones``: the zone page — a zone committee keeps its own zone (boundary,
leading industries, regional assessments, the 招商 desk contact) and sees its parcels and its
indicators as the dashboard ranks them among its city's zones; a bureau
the zones of its city; an admin every zone.

Every write goes through ``landmatch.zones`` as the API's do: the zone's row is locked and the
version the form was opened at is checked (``If-Match`` = the hidden ``version``), so a save
made in between is refused with the conflict shown; the history is the zone's
``layer_version`` rows (zone and assessments), listed on the page.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response

from landmatch import industry_codes, vocab
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    EditorCtx,
    Staff,
    redirect,
    refused,
    render,
)
from landmatch.basemap.store import water_loaded
from landmatch.dates import beijing_minute, beijing_today
from landmatch.db.locking import etag
from landmatch.db.parcels import ParcelFilter
from landmatch.errors import GeometryError, LandMatchError, PreconditionFailed, UnprocessableInput
from landmatch.geo.coords import polygon_from_text, text_from_geometry
from landmatch.geo.measure import M2_PER_MU
from landmatch.inventory import listing
from landmatch.inventory.uploads import LAYER_FILES, receive
from landmatch.maps.workbench import boundary_editor, bounds_of, parcel_map
from landmatch.monitoring import zones as zone_kpis
from landmatch.numbers import mu
from landmatch.settings import Settings
from landmatch.zones import assessments, preview, records

router = APIRouter(include_in_schema=False)
URL = "/workbench/zones"
Version = Annotated[int, Form(ge=0)]
Short = Annotated[str, Form(max_length=200)]
Coords = Annotated[str, Form(max_length=2_000_000)]
PARCELS_SHOWN = 20
HISTORY_SHOWN = 30
# Forms of the zone page, named in ``form=`` so an error or a conflict reopens the right one.
FORMS = ("basic", "contact", "assessment")


def industry_options(selected: list[str]) -> list[tuple[str, str]]:
    """GB/T 4754-2017 choices as (code, "code name"): the divisions (大类) the engine knows,
    plus every code the zone holds, at any level, named from the full table."""
    known = {c: f"{c} {industry_codes.name(c)}" for c in vocab.INDUSTRIES}
    for c in selected:
        known.setdefault(c, f"{c} {industry_codes.name(c)}")
    return sorted(known.items())


def _zone_in_scope(session: Any, staff: Staff, code: str) -> dict[str, Any]:
    zone = records.get_zone_row(session, code)
    staff.principal.require_zone(zone["id"], zone["city_code"])
    return zone


@dataclass(frozen=True)
class ZoneForm:
    """What the zone's page and each of its forms take: the request, the zone's code, the
    session, the settings and the staff member (admin, bureau or zone committee)."""

    request: Request
    code: str
    session: Any
    settings: Settings
    staff: Staff


def _zone_form(ctx: EditorCtx, code: str) -> ZoneForm:
    return ZoneForm(ctx.request, code, ctx.session, ctx.settings, ctx.staff)


ZoneFormDep = Annotated[ZoneForm, Depends(_zone_form)]


def _assessment_state(a: dict[str, Any], today: dt.date) -> tuple[str, str]:
    if a["approved_on"] > today:
        return "future", "未生效"
    if a["valid"]:
        return "valid", "有效"
    return "expired", "已过期"


def _page(
    at: ZoneForm,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    renew: int | None = None,
    status: int = 200,
) -> HTMLResponse:
    session, staff, code = at.session, at.staff, at.code
    _zone_in_scope(session, staff, code)
    today = beijing_today()
    z = records.show_zone(session, staff.principal, code, today)
    for a in z["assessments"]:
        a["state"], a["state_label"] = _assessment_state(a, today)
        a["days_left"] = (a["valid_until"] - today).days if a["valid_until"] else None
    renewing = next((a for a in z["assessments"] if a["id"] == renew), None)
    if form != "assessment" and renewing is not None:
        values = {
            "kind": renewing["kind"],
            "name": renewing["name"],
            "approved_on": today.isoformat(),
        }
    parcels = listing.parcel_page(
        session, ParcelFilter(zone=code, limit=PARCELS_SHOWN), staff.principal
    )
    history = records.zone_history(session, staff.principal, code)[-HISTORY_SHOWN:][::-1]
    ranking = zone_kpis.zone_kpis(session, staff.principal, today, z["city_code"])
    kpis = next((r for r in ranking["zones"] if r["code"] == code), None)
    areas = {
        label: mu((kpis or {}).get(f"{key}_m2", 0) / M2_PER_MU)
        for key, label in (("approved", "批准"), ("supplied", "已供应"), ("ready", "熟地"))
    }
    areas["闲置"] = mu((kpis or {}).get("idle_m2", 0) / M2_PER_MU)
    parts = parcel_map(at.settings, bounds_of(z["geometry"]), water=water_loaded(session))
    config = {
        "map": parts.name,
        "parcel": {"type": "Feature", "geometry": z["geometry"], "properties": {}},
    }
    return render(
        at.request,
        "workbench/zones/zone.html",
        status=status,
        z=z,
        form=form,
        values=values or {},
        errors=errors or {},
        notice=notice,
        renewing=renewing,
        zone_role=staff.principal.role == "zone",
        levels=list(vocab.ZONE_LEVELS.items()),
        kinds=[(k, k) for k in vocab.ZONE_KINDS],
        industries=industry_options(z["leading_industries"]),
        industry_names=dict(industry_options(z["leading_industries"])),
        assessment_kinds=list(assessments.KINDS.items()),
        parcels=parcels,
        history=history,
        kpis=kpis,
        kpi_labels=ranking["kpis"],
        ranked=sum(1 for r in ranking["zones"] if r["rank"] is not None),
        kpi_date=ranking["as_of"],
        kpi_areas=areas,
        map=parts,
        map_config=config,
        today=today,
    )


@router.get(URL, response_class=HTMLResponse)
def zone_list(ctx: EditorCtx) -> Response:
    if ctx.staff.principal.role == "zone":
        if not ctx.staff.account.zone_code:
            return render(ctx.request, "workbench/zones/list.html", zones=[], city=None)
        return redirect(ctx.request, f"{URL}/{ctx.staff.account.zone_code}")
    city = listing.own_city(ctx.staff.principal)
    zones = records.list_zones(ctx.session, ctx.staff.principal, city=city)
    for z in zones:
        z["city_label"] = vocab.label(vocab.CITIES, z["city_code"])
        z["industry_labels"] = [
            label
            for _, label in industry_options(z["leading_industries"])
            if _ in z["leading_industries"]
        ]
    return render(
        ctx.request,
        "workbench/zones/list.html",
        zones=zones,
        city=vocab.label(vocab.CITIES, city) if city else None,
    )


@router.get(URL + "/{code}", response_class=HTMLResponse)
def zone_page(at: ZoneFormDep, renew: int | None = None) -> HTMLResponse:
    return _page(at, renew=renew)


def _conflict_notice(at: ZoneForm, exc: LandMatchError) -> str:
    last = records.zone_history(at.session, at.staff.principal, at.code)[-1:]
    who = (
        f"（最近一次保存：{last[0]['actor'] or '他人'}，{beijing_minute(last[0]['at'])}）"
        if last
        else ""
    )
    return f"未保存：{exc.message}{who}。下方表单保留了您填写的内容，核对后可再次保存。"


def _save(
    at: ZoneForm,
    form: str,
    values: dict[str, Any],
    write: Any,
    done: str,
) -> Response:
    """Run ``write`` (a service call); on a refused value, re-open ``form`` with the errors
    beside the fields; on a version conflict, with the notice and the current version."""
    refused = _attempt(at, write)
    if refused is None:
        return redirect(at.request, f"{URL}/{at.code}#{form}", flash=("success", done))
    return _page(at, form=form, values=values, **refused)


def _attempt(at: ZoneForm, write: Any) -> dict[str, Any] | None:
    """Run ``write`` and commit; or roll back and return what the page shows instead: the
    conflict notice (a save made in between) or the errors by field (a refused value).
    Refusals of scope (403), a missing zone (404) and server errors propagate."""
    session = at.session
    try:
        write()
    except PreconditionFailed as exc:
        session.rollback()
        return {"notice": _conflict_notice(at, exc), "status": FORM_ERROR}
    except LandMatchError as exc:
        return {"errors": refused(session, exc, (403, 404)), "status": FORM_ERROR}
    session.commit()
    return None


@router.post(URL + "/{code}")
async def save_basic(at: ZoneFormDep) -> Response:
    """Name, level, kind, leading industries and source: the fields the form carries (a zone
    committee's form has no level or kind: the service refuses them from it)."""
    session, staff, code = at.session, at.staff, at.code
    form = await at.request.form()
    version = int(str(form.get("version") or 0))
    changes: dict[str, Any] = {
        k: str(form.get(k) or "").strip() for k in ("name", "level", "kind", "source") if k in form
    }
    if "source" in changes:
        changes["source"] = changes["source"] or None
    changes["leading_industries"] = [str(v) for v in form.getlist("leading_industries") if v]
    extra = str(form.get("add_industry") or "").strip()[:50]
    reason = str(form.get("reason") or "").strip()[:500] or "在工作台修改开发区信息"
    values = changes | {"reason": reason, "add_industry": extra}

    def write() -> None:
        if extra:  # a code at any level from the picker (C3670 → 3670), added to the list
            try:
                code_added = industry_codes.normalize(extra)
            except UnprocessableInput as exc:
                raise UnprocessableInput(
                    exc.message, detail=[{"field": "add_industry", "reason": exc.message}]
                ) from None
            if code_added not in changes["leading_industries"]:
                changes["leading_industries"].append(code_added)
        records.update_zone(
            session, staff.principal, code, changes, reason=reason, if_match=etag(code, version)
        )

    return _save(at, "basic", values, write, "开发区信息已保存")


@router.post(URL + "/{code}/contact")
def save_contact(
    at: ZoneFormDep,
    version: Version = 0,
    contact_name: Annotated[str, Form(max_length=100)] = "",
    contact_phone: Annotated[str, Form(max_length=50)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    changes = {
        "contact_name": contact_name.strip() or None,
        "contact_phone": contact_phone.strip() or None,
    }
    why = reason.strip() or "在工作台修改招商服务联系方式"

    def write() -> None:
        records.update_zone(
            at.session,
            at.staff.principal,
            at.code,
            changes,
            reason=why,
            if_match=etag(at.code, version),
        )

    return _save(at, "contact", changes | {"reason": reason}, write, "招商服务联系方式已保存")


def _date(value: str, field: str, required: bool) -> dt.date | None:
    value = value.strip()
    if not value:
        if required:
            raise UnprocessableInput(
                f"{field}：缺少必填项", detail=[{"field": field, "reason": "请填写日期"}]
            )
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UnprocessableInput(
            f"{field}：日期格式应为 YYYY-MM-DD",
            detail=[{"field": field, "reason": "日期格式应为 YYYY-MM-DD"}],
        ) from None


@router.post(URL + "/{code}/assessments")
def add_assessment(
    at: ZoneFormDep,
    version: Version = 0,
    kind: Annotated[str, Form(max_length=20)] = "",
    name: Short = "",
    approved_on: Annotated[str, Form(max_length=20)] = "",
    valid_until: Annotated[str, Form(max_length=20)] = "",
    doc_no: Short = "",
    renews: Annotated[int | None, Form()] = None,
) -> Response:
    """Record an assessment; a renewal is a new approval of the same kind (the expired one
    stays listed as expired, and in the history)."""
    session, staff, code = at.session, at.staff, at.code
    values = {
        "kind": kind,
        "name": name,
        "approved_on": approved_on,
        "valid_until": valid_until,
        "doc_no": doc_no,
        "renews": renews,
    }

    def write() -> None:
        approved = _date(approved_on, "approved_on", True)
        until = _date(valid_until, "valid_until", False)
        zone = records.lock_zone(session, code, etag(code, version))
        assert approved is not None
        assessments.add_assessment(
            session,
            staff.principal,
            zone,
            kind=kind,
            approved_on=approved,
            valid_until=until,
            doc_no=doc_no.strip() or None,
            name=name.strip() or None,
        )

    return _save(at, "assessment", values, write, "区域评估已续期" if renews else "区域评估已登记")


@router.post(URL + "/{code}/assessments/{assessment_id}/delete")
def delete_assessment(at: ZoneFormDep, assessment_id: int, version: Version = 0) -> Response:
    def write() -> None:
        zone = records.lock_zone(at.session, at.code, etag(at.code, version), "删除")
        assessments.delete_assessment(at.session, at.staff.principal, zone, assessment_id)

    return _save(at, "assessment", {}, write, "区域评估已删除")


# ---- the boundary (the parcels' editor: workbench/_boundary.html, wb-boundary.js) ----------


def _boundary_page(
    at: ZoneForm,
    *,
    geometry: dict[str, Any] | None = None,
    version: int | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    reason: str = "",
    status: int = 200,
    typed: str | None = None,
) -> HTMLResponse:
    """The zone's boundary page. ``typed``: the coordinates text a refused form sent, shown as
    it was typed (even when it could not be read) instead of the text of ``geometry``."""
    session, settings, code = at.session, at.settings, at.code
    _zone_in_scope(session, at.staff, code)
    z = records.show_zone(session, at.staff.principal, code)
    geometry = geometry or z["geometry"]
    parts = boundary_editor(settings, bounds_of(geometry), draw=False, water=water_loaded(session))
    config = {
        "map": parts.name,
        "drawn": parts.drawn,
        "editable": True,
        "subject": "开发区",
        "parcel": {"type": "Feature", "geometry": geometry, "properties": {}},
        "neighbours": preview.neighbours(session, code),
    }
    return render(
        at.request,
        "workbench/zones/boundary.html",
        status=status,
        z=z,
        version=version or z["version"],
        map=parts,
        map_config=config,
        coords=text_from_geometry(shapely.geometry.shape(geometry)) if typed is None else typed,
        errors=errors or {},
        notice=notice,
        reason=reason,
        max_mb=settings.max_upload_mb,
    )


@router.get(URL + "/{code}/boundary", response_class=HTMLResponse)
def boundary(at: ZoneFormDep) -> HTMLResponse:
    return _boundary_page(at)


@router.post(URL + "/{code}/boundary/preview")
def boundary_preview(code: str, ctx: EditorCtx, coords: Coords = "") -> JSONResponse:
    """The server's figures for a boundary before it is saved (JSON for the page's script)."""
    try:
        geom = polygon_from_text(coords)
    except GeometryError as exc:
        return JSONResponse({"problems": [{"field": "geometry", "reason": exc.message}]})
    return JSONResponse(preview.preview_boundary(ctx.session, ctx.staff.principal, code, geom))


@router.post(URL + "/{code}/boundary")
def save_boundary(
    at: ZoneFormDep,
    version: Version = 0,
    coords: Coords = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    session, staff, code = at.session, at.staff, at.code
    geometry: dict[str, Any] | None = None

    def write() -> None:
        nonlocal geometry
        geometry = json.loads(shapely.to_geojson(polygon_from_text(coords)))
        geom, _ = records.boundary_from_geojson(geometry)
        records.update_zone(
            session,
            staff.principal,
            code,
            {},
            geom,
            reason=reason.strip() or "在工作台修改开发区边界",
            if_match=etag(code, version),
        )

    refused = _attempt(at, write)
    if refused is None:
        return redirect(at.request, f"{URL}/{code}", flash=("success", "开发区边界已保存"))
    if "notice" in refused:
        refused["notice"] += "请重新加载后再修改边界，或用下方坐标重新应用您的边界。"
    else:  # every problem of a boundary goes beside the coordinates
        errs = refused["errors"]
        refused["errors"] = {"geometry": errs.get("geometry") or "；".join(errs.values())}
    return _boundary_page(
        at, geometry=geometry, version=version, reason=reason, typed=coords, **refused
    )


@router.post(URL + "/{code}/boundary/upload")
async def upload_boundary(
    at: ZoneFormDep,
    file: Annotated[UploadFile, File()],
    crs: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Read a boundary file through the guarded upload path (every polygon of the file,
    dissolved, as the API's PUT does); shown in the editor, saved only from there."""
    settings = at.settings
    _zone_in_scope(at.session, at.staff, at.code)
    shown: dict[str, Any]
    try:
        up = await receive(
            at.request, file, LAYER_FILES, settings.max_upload_mb, settings.max_unpacked_mb
        )
        geom, warnings = records.boundary_from_file(up.data, up.filename, crs.strip() or None)
    except UnprocessableInput as exc:
        shown = {"errors": {"file": exc.message}, "status": FORM_ERROR}
    else:
        notice = "已读入文件中的边界（尚未保存）：请预览核对面积与重叠后保存。"
        if warnings:
            notice += "提示：" + "；".join(warnings)
        shown = {"geometry": json.loads(shapely.to_geojson(geom)), "notice": notice}
    return _boundary_page(at, **shown)
