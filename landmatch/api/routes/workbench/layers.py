"""``/workbench/layers``: the reference layers (facilities, constraint areas) for admins and
bureaus — records per layer and city, a file imported or replacing the layer within the
caller's scope (previewed first: what it would add, change and delete, per kind, confirmed by
the user against the plan previewed, ``landmatch.reflayers.staging``), and the constraint
layers' coverage declarations (declare, withdraw), each write answered with the change report the CLI prints (``landmatch layers import``,
``landmatch layers coverage declare|withdraw``), laid out as a page; an alert about the
caller's ready parcels (listed on the home page) marked as checked.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from urllib.parse import quote

import shapely.geometry
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from shapely.geometry.base import BaseGeometry
from starlette.concurrency import run_in_threadpool

from landmatch import vocab
from landmatch.api.deps import JobSessionDep
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    BureauCtx,
    Staff,
    Version,
    conflict_page,
    form_errors,
    redirect,
    refused,
    render,
)
from landmatch.basemap.store import water_loaded
from landmatch.dates import beijing_today
from landmatch.db.locking import etag
from landmatch.errors import (
    Conflict,
    Forbidden,
    GeometryError,
    InvalidInput,
    LandMatchError,
    PreconditionFailed,
)
from landmatch.geo.coords import (
    point_from_text,
    polygon_from_text,
    text_from_geometry,
    text_from_point,
)
from landmatch.inventory import sheet
from landmatch.inventory.listing import own_city
from landmatch.inventory.uploads import LAYER_FILES, receive
from landmatch.maps.workbench import HEBEI, bounds_of, feature_editor
from landmatch.reflayers import alerts, changes, coverage, history, listing, scope, staging

router = APIRouter(include_in_schema=False)
URL = "/workbench/layers"
PAGE_SIZE = 100
Text = Annotated[str, Form(max_length=500)]


def _cities(staff: Staff) -> list[tuple[str, str]]:
    """The cities the caller may name in a write (the service checks again)."""
    city = own_city(staff.principal)
    return [(c, n) for c, n in vocab.CITIES.items() if city in (None, c)]


@router.get(URL, response_class=HTMLResponse)
def layer_list(
    ctx: BureauCtx,
    layer: Annotated[str, Query(max_length=20)] = "constraint_area",
    city: Annotated[str | None, Query(max_length=6)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    page = listing.record_page(
        ctx.session, ctx.staff.principal, layer, city=city, limit=PAGE_SIZE, offset=offset
    )
    return render(
        ctx.request,
        "workbench/layers/list.html",
        layer=layer,
        layers=changes.LAYERS,
        city=city,
        counts=listing.city_counts(ctx.session, ctx.staff.principal),
        city_names=vocab.CITIES,
        page=page,
        cities=_cities(ctx.staff),
        max_mb=ctx.settings.max_upload_mb,
    )


def _report_page(
    request: Request,
    title: str,
    back: str,
    *,
    report: dict[str, Any] | None = None,
    error: LandMatchError | None = None,
    status: int = 200,
) -> HTMLResponse:
    problems = []
    if error is not None and isinstance(error.detail, list):
        problems = [
            {
                "row": d.get("row"),
                "field": listing.FIELD_LABELS.get(str(d.get("field")), d.get("field")),
                "reason": d.get("reason") or error.message,
            }
            for d in error.detail
            if isinstance(d, dict)
        ]
    return render(
        request,
        "workbench/layers/report.html",
        status=status,
        title=title,
        back=back,
        report=report,
        raw=json.dumps(report, ensure_ascii=False, indent=2, default=str) if report else "",
        fact_label=listing.fact_label,
        error=error,
        problems=problems,
    )


def _date(value: str, what: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{what}：日期格式应为 YYYY-MM-DD",
            detail=[{"field": "as_of", "reason": "日期格式错误"}],
        ) from None


def _outcome(
    request: Request,
    session: Any,
    title: str,
    back: str,
    report: Any = None,
    error: InvalidInput | Forbidden | None = None,
) -> HTMLResponse:
    """The page of a layer change: committed, with its report; or rolled back, with the
    refusal (a bad file or value, features outside the account's city: the report page says
    which)."""
    if error is not None:
        session.rollback()
        status = FORM_ERROR if isinstance(error, InvalidInput) else error.status
        return _report_page(request, title, back, error=error, status=status)
    session.commit()
    return _report_page(request, title, back, report=report.to_dict())


def _import_outcome(
    request: Request,
    session: Any,
    layer: str,
    report: Any = None,
    error: InvalidInput | Forbidden | None = None,
) -> HTMLResponse:
    """The page of a layer file's import (:func:`_outcome`), back to the layer's list."""
    title = f"导入{changes.LAYERS.get(layer, layer)}"
    return _outcome(request, session, title, f"{URL}?layer={layer}", report, error)


def _listed(exc: Forbidden) -> Forbidden:
    """A refusal of an import's features of another city (reflayers.scope) is shown with every
    one of them listed, as a bad value's rows are; any other 403 is raised on, to the bare
    error page."""
    if not isinstance(exc.detail, list):
        raise exc
    return exc


@router.post(URL + "/{layer}/import", response_class=HTMLResponse)
async def import_layer(
    ctx: BureauCtx,
    layer: str,
    session: JobSessionDep,
    file: Annotated[UploadFile, File()],
    crs: Annotated[str, Form(max_length=40)] = "",
    replace: Annotated[str, Form(max_length=5)] = "",
    reason: Text = "",
    covers: Annotated[list[str] | None, Form()] = None,
    covers_as_of: Annotated[str, Form(max_length=20)] = "",
    covers_source: Text = "",
) -> Response:
    try:
        up = await receive(
            ctx.request, file, LAYER_FILES, ctx.settings.max_upload_mb, ctx.settings.max_unpacked_mb
        )
        cities = tuple(c for c in covers or [] if c)
        cover = (
            changes.Covers(cities, _date(covers_as_of, "现势日期"), covers_source.strip() or None)
            if cities
            else None
        )
        upload_id = await run_in_threadpool(  # off the event loop: other requests go on
            staging.preview_upload,
            session,
            ctx.staff.principal,
            layer,
            up.data,
            up.filename,
            crs=crs.strip() or None,
            replace=replace == "1",
            reason=reason.strip() or None,
            covers=cover,
        )
    except InvalidInput as exc:
        return _import_outcome(ctx.request, session, layer, error=exc)
    except Forbidden as exc:
        return _import_outcome(ctx.request, session, layer, error=_listed(exc))
    session.commit()
    return redirect(ctx.request, f"{URL}/uploads/{upload_id}")


def _preview_page(
    ctx: Any,
    upload: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    stale: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        ctx.request,
        "workbench/layers/preview.html",
        status=status,
        upload=upload,
        preview=upload["preview"],
        layers=changes.LAYERS,
        ops=staging.OPS,
        fact_label=listing.fact_label,
        errors=errors or {},
        stale=stale,
    )


@router.get(URL + "/uploads/{upload_id}", response_class=HTMLResponse)
def upload_preview(ctx: BureauCtx, upload_id: int) -> HTMLResponse:
    """What an uploaded file would add, change and delete, to confirm or leave."""
    return _preview_page(ctx, staging.get_upload(ctx.session, ctx.staff.principal, upload_id))


@router.post(URL + "/uploads/{upload_id}/apply", response_class=HTMLResponse)
async def upload_apply(
    ctx: BureauCtx,
    upload_id: int,
    session: JobSessionDep,
    fingerprint: Annotated[str, Form(max_length=64)] = "",
    confirm_other_kinds: Annotated[str, Form(max_length=5)] = "",
) -> HTMLResponse:
    """The previewed upload imported, unless the layer changed since the preview (then the
    preview as it is now, to confirm again) or a replace's other kinds are not confirmed."""
    upload = staging.get_upload(ctx.session, ctx.staff.principal, upload_id)
    layer = upload["layer"]
    try:
        report = await run_in_threadpool(
            staging.apply_upload,
            session,
            ctx.staff.principal,
            upload_id,
            fingerprint,
            confirm_other_kinds=confirm_other_kinds == "1",
        )
    except PreconditionFailed as exc:
        session.rollback()
        return _preview_page(ctx, upload, stale=exc.message, status=exc.status)
    except InvalidInput as exc:
        if isinstance(exc.detail, list) and any(
            isinstance(d, dict) and d.get("field") == "confirm_other_kinds" for d in exc.detail
        ):
            session.rollback()
            return _preview_page(ctx, upload, errors=form_errors(exc), status=FORM_ERROR)
        return _import_outcome(ctx.request, session, layer, error=exc)
    except Forbidden as exc:
        return _import_outcome(ctx.request, session, layer, error=_listed(exc))
    return _import_outcome(ctx.request, session, layer, report)


@router.post(URL + "/uploads/{upload_id}/preview")
async def upload_preview_again(
    ctx: BureauCtx, upload_id: int, session: JobSessionDep
) -> RedirectResponse:
    """The kept file previewed again on the layer as it is now."""
    await run_in_threadpool(staging.preview_again, session, ctx.staff.principal, upload_id)
    session.commit()
    return redirect(
        ctx.request, f"{URL}/uploads/{upload_id}", flash=("info", "已按图层当前状态重新预览")
    )


@router.get(URL + "/coverage", response_class=HTMLResponse)
def coverage_list(
    ctx: BureauCtx, city: Annotated[str | None, Query(max_length=6)] = None
) -> HTMLResponse:
    rows = coverage.list_coverage(ctx.session, ctx.staff.principal, city=city or None)
    return render(
        ctx.request,
        "workbench/layers/coverage.html",
        rows=rows,
        city=city or "",
        cities=_cities(ctx.staff),
        all_cities=list(vocab.CITIES.items()),
        kinds=list(vocab.CONSTRAINT_KINDS.items()),
        today=beijing_today(),
    )


@router.post(URL + "/coverage", response_class=HTMLResponse)
def declare(
    ctx: BureauCtx,
    kinds: Annotated[list[str] | None, Form()] = None,
    cities: Annotated[list[str] | None, Form()] = None,
    source: Text = "",
    as_of: Annotated[str, Form(max_length=20)] = "",
    reason: Text = "",
) -> HTMLResponse:
    back = f"{URL}/coverage"
    try:
        if not kinds or not cities:
            raise InvalidInput(
                "请至少选择一种管控类型和一个城市",
                detail=[{"field": "kinds" if not kinds else "cities", "reason": "缺少必填项"}],
            )
        if not source.strip():
            raise InvalidInput(
                "请填写数据来源", detail=[{"field": "source", "reason": "缺少必填项"}]
            )
        day = _date(as_of, "现势日期")
        if day is None:
            raise InvalidInput(
                "请填写现势日期", detail=[{"field": "as_of", "reason": "缺少必填项"}]
            )
        report = coverage.change(
            ctx.session,
            ctx.staff.principal,
            kinds,
            cities,
            source=source.strip(),
            as_of=day,
            reason=reason.strip() or None,
        )
    except InvalidInput as exc:
        return _outcome(ctx.request, ctx.session, "声明覆盖范围", back, error=exc)
    return _outcome(ctx.request, ctx.session, "声明覆盖范围", back, report)


@router.post(URL + "/coverage/{kind}/{city_code}/withdraw", response_class=HTMLResponse)
def withdraw(ctx: BureauCtx, kind: str, city_code: str, reason: Text = "") -> HTMLResponse:
    back = f"{URL}/coverage"
    try:
        report = coverage.change(
            ctx.session,
            ctx.staff.principal,
            [kind],
            [city_code],
            withdraw=True,
            reason=reason.strip() or None,
        )
    except InvalidInput as exc:
        return _outcome(ctx.request, ctx.session, "撤销覆盖声明", back, error=exc)
    return _outcome(ctx.request, ctx.session, "撤销覆盖声明", back, report)


@router.post(URL + "/alerts/{alert_id}/ack")
def acknowledge_alert(ctx: BureauCtx, alert_id: int) -> RedirectResponse:
    """An alert of the home page checked: it leaves the list (kept, with who and when)."""
    alerts.acknowledge(ctx.session, ctx.staff.principal, alert_id)
    ctx.session.commit()
    return redirect(ctx.request, "/workbench", flash=("success", "预警已标记为已核查"))


@router.get(URL + "/deleted", response_class=HTMLResponse)
def deleted_list(
    ctx: BureauCtx, layer: Annotated[str, Query(max_length=20)] = "facility"
) -> HTMLResponse:
    """The layer's deleted features, each linking to its history to be restored."""
    rows = history.deleted_features(ctx.session, ctx.staff.principal, layer)
    return render(
        ctx.request, "workbench/layers/deleted.html", layer=layer, layers=changes.LAYERS, rows=rows
    )


def _history_page(
    ctx: Any,
    layer: str,
    code: str,
    *,
    errors: dict[str, str] | None = None,
    stale: str | None = None,
    sent: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        ctx.request,
        "workbench/layers/history.html",
        status=status,
        h=history.feature_history(ctx.session, ctx.staff.principal, layer, code),
        layers=changes.LAYERS,
        errors=errors or {},
        stale=stale,
        sent=sent or {},
    )


@router.get(URL + "/{layer}/{code}/history", response_class=HTMLResponse)
def feature_history(ctx: BureauCtx, layer: str, code: str) -> HTMLResponse:
    """A feature's versions (who, when, why, old → new), each restorable."""
    return _history_page(ctx, layer, code)


@router.post(URL + "/{layer}/{code}/restore", response_class=HTMLResponse)
def feature_restore(
    ctx: BureauCtx,
    layer: str,
    code: str,
    version_id: Annotated[int, Form(ge=1)],
    current: Annotated[int, Form(ge=0)],
    reason: Text = "",
) -> HTMLResponse:
    """A version brought back against the version the page showed (``current``; 0: deleted)."""
    title = f"恢复{changes.LAYERS.get(layer, layer)} {code}"
    back = f"{URL}/{layer}/{quote(code, safe='')}/history"
    sent = {"version_id": str(version_id), "reason": reason}
    try:
        report = history.restore_version(
            ctx.session,
            ctx.staff.principal,
            layer,
            code,
            version_id,
            if_match=etag(code, current),
            reason=reason.strip() or None,
        )
    except PreconditionFailed as exc:
        ctx.session.rollback()
        return _history_page(ctx, layer, code, stale=exc.message, sent=sent, status=exc.status)
    except InvalidInput as exc:
        ctx.session.rollback()
        return _history_page(
            ctx, layer, code, errors=form_errors(exc), sent=sent, status=FORM_ERROR
        )
    return _outcome(ctx.request, ctx.session, title, back, report)


#: The attributes of one feature the form edits.
EDITED = {
    "facility": ("name", "kind", "source"),
    "constraint_area": ("name", "kind", "severity", "source"),
}
#: The form fields of its geometry: a facility's point, a constraint area's boundary (typed, or
#: drawn on the map: ``wb-point.js``, ``wb-boundary.js``); errors on them go under ``geometry``.
SHAPE = {"facility": ("lon", "lat"), "constraint_area": ("coords",)}
SHAPE_LABELS = {"facility": "位置（经度, 纬度）", "constraint_area": "范围（界址点）"}


def _shape_text(layer: str, geometry: dict[str, Any] | BaseGeometry | None) -> dict[str, str]:
    """A geometry (GeoJSON or shapely) as the form's fields, at the precision the form shows
    (7 decimals, 1 cm): what the user sees is what an unchanged form sends back."""
    if geometry is None:
        return dict.fromkeys(SHAPE[layer], "")
    g = geometry if isinstance(geometry, BaseGeometry) else shapely.geometry.shape(geometry)
    if layer == "facility":
        return dict(zip(SHAPE[layer], text_from_point(g), strict=True))
    return {"coords": text_from_geometry(g, digits=7)}


def _typed_shape(layer: str, typed: dict[str, str]) -> BaseGeometry:
    """The geometry the form's fields describe (GeometryError naming the field)."""
    if layer == "facility":
        return point_from_text(typed["lon"], typed["lat"])
    return polygon_from_text(typed["coords"])


def _refused_place(exc: LandMatchError, errors: dict[str, str]) -> dict[str, str]:
    """A form's errors by field, a refusal of the place that names no form field of its own
    (outside Hebei or the account's city, an unreadable or invalid shape) put beside the
    map's fields (``geometry``)."""
    shape = isinstance(exc, GeometryError) and "" in errors
    if isinstance(exc, Forbidden) or "city_code" in errors or shape:
        rest = {k: v for k, v in errors.items() if k not in ("", "city_code", "geometry")}
        return {"geometry": exc.message} | rest
    return errors


def _shape_shown(layer: str, geometry: dict[str, Any] | None) -> str:
    """A geometry in words for the conflict screen: a point's coordinates, a boundary's size."""
    if geometry is None:
        return "—"
    if layer == "facility":
        return "，".join(_shape_text(layer, geometry).values())
    g = shapely.geometry.shape(geometry)
    rings = [r for p in getattr(g, "geoms", [g]) for r in (p.exterior, *p.interiors)]
    return f"{sum(len(r.coords) - 1 for r in rings)} 个界址点"


def _feature_url(layer: str, code: str) -> str:
    return f"{URL}/{layer}/{quote(code, safe='')}"


def _place_map(
    ctx: Any, layer: str, geometry: dict[str, Any] | None, code: str | None
) -> dict[str, Any]:
    """The form's map of a feature's place (a new one's: the bureau's city, to draw or click
    on), its page JSON (the parcels, zones and constraint areas round a stored feature drawn
    too) and the script that edits it."""
    point = layer == "facility"
    start = None
    if geometry is None:  # a new feature: over the bureau's city (Hebei for the province)
        start = sheet.scope_bounds(ctx.session, ctx.staff.principal)
        bounds = start or HEBEI
    else:
        bounds = bounds_of(geometry)
        if point:  # a box round the point, not a zero-sized one to zoom into
            (y, x), pad = bounds[0], 0.004
            bounds = [[y - pad, x - pad], [y + pad, x + pad]]
    parts = feature_editor(
        ctx.settings, bounds, point=point, draw=code is None, water=water_loaded(ctx.session)
    )
    config: dict[str, Any] = {
        "map": parts.name,
        "drawn": parts.drawn,
        "editable": True,
        "subject": changes.LAYERS[layer],
        "placing": code is None,
        "start": start,
        "parcel": None
        if geometry is None
        else {"type": "Feature", "geometry": geometry, "properties": {}},
    }
    if code is not None:
        config |= sheet.feature_surroundings(ctx.session, layer, code)
    return {
        "map": parts,
        "map_config": config,
        "editor": "wb-point.js" if point else "wb-boundary.js",
    }


def _form_context(layer: str) -> dict[str, Any]:
    return {
        "layer": layer,
        "layers": changes.LAYERS,
        "kinds": list(listing.KIND_LABELS[layer].items()),
        "severities": list(vocab.CONSTRAINT_SEVERITY.items()),
    }


def _edit_page(
    ctx: Any,
    layer: str,
    record: dict[str, Any],
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    stale: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    geometry = record["geometry"]
    if values is None:
        values = {f: record.get(f) or "" for f in EDITED[layer]} | _shape_text(layer, geometry)
        values["reason"] = ""
    return render(
        ctx.request,
        "workbench/layers/edit.html",
        status=status,
        r=record,
        values=values,
        errors=errors or {},
        stale=stale,
        url=_feature_url(layer, record["code"]),
        city_label=scope.place_label(record["city_code"]),
        **_form_context(layer),
        **_place_map(ctx, layer, geometry, record["code"]),
    )


def _editable(ctx: Any, layer: str, code: str) -> dict[str, Any]:
    """The stored feature, refused (403) outside the caller's city as its write would be."""
    record = changes.get_record(ctx.session, ctx.staff.principal, layer, code)
    scope.require(ctx.staff.principal, changes.LAYERS[layer], code, record["city_code"])
    return record


def _new_page(
    ctx: Any,
    layer: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    geometry = None
    if values is not None:
        try:  # what was typed, drawn again where it can be read
            geometry = shapely.geometry.mapping(_typed_shape(layer, values))
        except GeometryError:
            geometry = None
    return render(
        ctx.request,
        "workbench/layers/new.html",
        status=status,
        values=values or dict.fromkeys(("code", *EDITED[layer], *SHAPE[layer], "reason"), ""),
        errors=errors or {},
        new=True,
        code_rule=vocab.CODE_RULE,
        **_form_context(layer),
        **_place_map(ctx, layer, geometry, None),
    )


@router.get(URL + "/{layer}/new", response_class=HTMLResponse)
def feature_new(ctx: BureauCtx, layer: str) -> HTMLResponse:
    """One new feature: its code, attributes and place (clicked or drawn on the map, typed)."""
    changes.require_layer(layer)
    return _new_page(ctx, layer)


@router.post(URL + "/{layer}/new", response_class=HTMLResponse)
async def feature_create(ctx: BureauCtx, layer: str, reason: Text = "") -> HTMLResponse:
    """Add the feature through ``changes.create_record`` (as an import of one record: the
    city from its place, the caller's scope checked inside the write); refused values are
    said beside their fields with what was typed kept."""
    changes.require_layer(layer)
    form = await ctx.request.form()
    names = ("code", *EDITED[layer])
    sent = {f: str(form[f]).strip()[:500] for f in names if isinstance(form.get(f), str)}
    typed = {f: str(form.get(f) or "")[:2_000_000] for f in SHAPE[layer]}
    record: dict[str, Any] = {f: v or None for f, v in sent.items()}
    try:
        record["geometry"] = _typed_shape(layer, typed)
        report = changes.create_record(
            ctx.session, ctx.staff.principal, layer, record, reason=reason.strip() or None
        )
    except (InvalidInput, Forbidden, Conflict) as exc:
        errors = _refused_place(exc, refused(ctx.session, exc, raise_on=()))
        values = sent | typed | {"reason": reason}
        return _new_page(ctx, layer, values=values, errors=errors, status=FORM_ERROR)
    title = f"新增{changes.LAYERS[layer]} {record['code']}"
    return _outcome(
        ctx.request, ctx.session, title, _feature_url(layer, record["code"]) + "/history", report
    )


@router.get(URL + "/{layer}/{code}/edit", response_class=HTMLResponse)
def feature_edit(ctx: BureauCtx, layer: str, code: str) -> HTMLResponse:
    """One feature's name, kind, severity and source in a form; its delete."""
    return _edit_page(ctx, layer, _editable(ctx, layer, code))


@router.post(URL + "/{layer}/{code}/edit", response_class=HTMLResponse)
async def feature_save(
    ctx: BureauCtx, layer: str, code: str, version: Version, reason: Text = ""
) -> HTMLResponse:
    """Save the fields sent (a re-applied conflict sends only the user's) against the version
    the form was opened at, through the API's own ``changes.update_record``. The geometry is
    sent on only when its fields say something else than the stored one does."""
    form = await ctx.request.form()
    changes.require_layer(layer)
    sent = {f: str(form[f]).strip()[:500] for f in EDITED[layer] if isinstance(form.get(f), str)}
    fields: dict[str, Any] = {f: (v or None) if f == "source" else v for f, v in sent.items()}
    typed = {f: str(form[f])[:2_000_000] for f in SHAPE[layer] if isinstance(form.get(f), str)}
    try:
        if len(typed) == len(SHAPE[layer]):
            shape = _typed_shape(layer, typed)
            stored = changes.get_record(ctx.session, ctx.staff.principal, layer, code)
            if _shape_text(layer, shape) != _shape_text(layer, stored["geometry"]):
                fields["geometry"] = shapely.geometry.mapping(shape)
        report = changes.update_record(
            ctx.session,
            ctx.staff.principal,
            layer,
            code,
            fields,
            if_match=etag(code, version),
            reason=reason.strip() or None,
        )
    except PreconditionFailed:
        ctx.session.rollback()
        return _conflict(ctx, layer, code, version, sent | typed, reason)
    except (InvalidInput, Forbidden) as exc:
        errors = _refused_place(exc, refused(ctx.session, exc, raise_on=()))
        record = _editable(ctx, layer, code)
        values = (
            {f: record.get(f) or "" for f in EDITED[layer]}
            | _shape_text(layer, record["geometry"])
            | sent
            | typed
            | {"reason": reason}
        )
        return _edit_page(ctx, layer, record, values=values, errors=errors, status=FORM_ERROR)
    title = f"修改{changes.LAYERS[layer]} {code}"
    return _outcome(ctx.request, ctx.session, title, _feature_url(layer, code) + "/history", report)


def _conflict(
    ctx: Any, layer: str, code: str, opened: int, sent: dict[str, str], reason: str
) -> HTMLResponse:
    """Saved by someone else since the form was opened: both sides, re-apply on request."""
    theirs = _editable(ctx, layer, code)
    base = history.state_at(ctx.session, ctx.staff.principal, layer, code, opened) or theirs
    base_geometry = base.get("geom", base.get("geometry"))
    mine = [f for f in sent if f in EDITED[layer] and sent[f] != (base.get(f) or "")]
    shape = {f: sent[f] for f in SHAPE[layer] if f in sent}
    typed = None
    if len(shape) == len(SHAPE[layer]):
        typed = shapely.geometry.mapping(_typed_shape(layer, shape))
        if _shape_text(layer, typed) != _shape_text(layer, base_geometry):
            mine += SHAPE[layer]
        else:
            typed = None
    rows = [
        {
            "name": f,
            "label": listing.FIELD_LABELS.get(f, f),
            "unit": None,
            "base": history.shown(layer, f, base.get(f)),
            "theirs": history.shown(layer, f, theirs.get(f)),
            "they_changed": base.get(f) != theirs.get(f),
            "mine": history.shown(layer, f, sent[f]) if f in mine else None,
        }
        for f in EDITED[layer]
    ]
    rows.append(
        {
            "name": "geometry",
            "label": SHAPE_LABELS[layer],
            "unit": None,
            "base": _shape_shown(layer, base_geometry),
            "theirs": _shape_shown(layer, theirs["geometry"]),
            "they_changed": _shape_text(layer, base_geometry)
            != _shape_text(layer, theirs["geometry"]),
            "mine": None if typed is None else _shape_shown(layer, typed),
        }
    )
    url = _feature_url(layer, code)
    return conflict_page(
        ctx.request,
        what=changes.LAYERS[layer],
        title=f"{changes.LAYERS[layer]} {code}",
        url=url,
        opened=opened,
        saved=history.last_change(ctx.session, layer, code) | {"version": theirs["version"]},
        rows=rows,
        mine=mine,
        sent=sent,
        reason=reason,
        crumbs=[("参考图层", f"{URL}?layer={layer}"), (code, url + "/history")],
    )


@router.post(URL + "/{layer}/{code}/delete", response_class=HTMLResponse)
def feature_delete(
    ctx: BureauCtx, layer: str, code: str, version: Version, reason: Text = ""
) -> HTMLResponse:
    """Delete the feature as the form showed it (its history stays; restorable)."""
    try:
        report = changes.delete_record(
            ctx.session,
            ctx.staff.principal,
            layer,
            code,
            reason.strip() or None,
            if_match=etag(code, version),
        )
    except PreconditionFailed as exc:
        ctx.session.rollback()
        return _edit_page(
            ctx, layer, _editable(ctx, layer, code), stale=exc.message, status=exc.status
        )
    title = f"删除{changes.LAYERS[layer]} {code}"
    return _outcome(ctx.request, ctx.session, title, _feature_url(layer, code) + "/history", report)
