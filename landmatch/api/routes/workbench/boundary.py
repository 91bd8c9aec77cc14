"""``/workbench/parcels/{code}/boundary`` and ``/workbench/parcels/new``: a parcel's boundary
edited on a Folium map with GeoMan (vertices dragged, added, removed; snapping to the
neighbouring parcels), typed as coordinates, or replaced from an uploaded file (TXT, GeoJSON,
zipped Shapefile); a preview from the server first (the ellipsoidal area that will be
stored, validation problems, overlaps with neighbours); new parcels drawn or uploaded.

Who: admins, bureaus (their city), zone committees (their zone).
"""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any

import numpy as np
import shapely
from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response

from landmatch import vocab
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    EditorCtx,
    PageContext,
    Version,
    fmt_datetime,
    redirect,
    refused,
    render,
    saved_flash,
)
from landmatch.basemap.store import water_loaded
from landmatch.db.locking import etag
from landmatch.errors import (
    Forbidden,
    GeometryError,
    LandMatchError,
    PreconditionFailed,
    UnprocessableInput,
)
from landmatch.geo.coords import polygon_from_text, same_boundary, text_from_geometry
from landmatch.inventory import edits, sheet
from landmatch.inventory.readers import ReadOptions, read_source
from landmatch.inventory.uploads import PARCEL_FILES, receive
from landmatch.inventory.validate import to_storage_array
from landmatch.maps.workbench import HEBEI, boundary_editor, bounds_of

router = APIRouter(include_in_schema=False)
Coords = Annotated[str, Form(max_length=2_000_000)]
NEW_FIELDS = ("code", "name", "land_use", "status", "visibility")
# A boundary comes from a file that carries geometry (not an attribute table).
BOUNDARY_FILES = PARCEL_FILES - {"xlsx", "csv"}


def _geometry(coords: str) -> Any:
    return polygon_from_text(coords)


def _page(
    ctx: PageContext,
    *,
    code: str | None,
    geometry: dict[str, Any] | None,
    version: int | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
    typed: str | None = None,
) -> HTMLResponse:
    """The boundary page of ``code`` (None: a new parcel). ``typed``: the coordinates text a
    refused form sent, shown as it was typed (even when it could not be read) instead of the
    text of ``geometry``."""
    surroundings: dict[str, Any] = {"neighbours": [], "zones": [], "constraints": []}
    name = None
    if code is not None:
        state = edits.version_state(ctx.session, code, None, ctx.staff.principal)
        sheet.require_view(ctx.staff.principal, state["city_code"], state["zone_id"])
        if not sheet.may_edit(
            ctx.session, ctx.staff.principal, state["city_code"], state["zone_id"]
        ):
            raise Forbidden("无权编辑该地块：超出本账号的城市或开发区范围")
        version = version or state["version"]
        geometry = geometry or state["geometry"]
        surroundings = sheet.surroundings(ctx.session, int(state["row"]["id"]))
        name = state["row"].get("name")
    # A new parcel's map opens on the account's zone or city (it opened at Hebei's centre at
    # the editor's zoom: a grey square far from the committee's zone).
    start = (
        None
        if geometry or code is not None
        else sheet.scope_bounds(ctx.session, ctx.staff.principal)
    )
    bounds = bounds_of(geometry) if geometry else (start or HEBEI)
    if typed is None:
        typed = text_from_geometry(shapely.geometry.shape(geometry)) if geometry else ""
    parts = boundary_editor(
        ctx.settings, bounds, draw=code is None, water=water_loaded(ctx.session)
    )
    config = {
        "map": parts.name,
        "drawn": parts.drawn,
        "editable": True,
        "parcel": {"type": "Feature", "geometry": geometry, "properties": {}} if geometry else None,
        "start": bounds if not geometry else None,
        **surroundings,
    }
    return render(
        ctx.request,
        "workbench/parcels/boundary.html",
        status=status,
        code=code,
        name=name,
        version=version,
        map=parts,
        map_config=config,
        coords=typed,
        values=values or {"status": "unsupplied", "visibility": "internal", "land_use": "100102"},
        errors=errors or {},
        notice=notice,
        land_uses=list(vocab.LAND_USE.items()),
        statuses=list(vocab.PARCEL_STATUS.items()),
        visibilities=list(vocab.VISIBILITY.items()),
        max_mb=ctx.settings.max_upload_mb,
    )


@router.get("/workbench/parcels/new", response_class=HTMLResponse)
def new_parcel(ctx: EditorCtx) -> HTMLResponse:
    return _page(ctx, code=None, geometry=None)


@router.post("/workbench/parcels/new")
async def create(ctx: EditorCtx) -> Response:
    form = await ctx.request.form()
    values = {k: str(form.get(k) or "").strip() for k in (*NEW_FIELDS, "reason", "repair")}
    coords = str(form.get("coords") or "")
    geometry = None
    try:
        geom = _geometry(coords)
        geometry = json.loads(shapely.to_geojson(geom))
        props = {k: values[k] or None for k in NEW_FIELDS}
        body = {
            "type": "Feature",
            "properties": props,
            "geometry": geometry,
            "reason": values["reason"] or "在工作台新建地块",
        }
        feature, _ = edits.create_parcel(
            ctx.session, body, ctx.staff.principal, repair=values["repair"] == "1"
        )
        ctx.session.commit()
    except LandMatchError as exc:
        # Forbidden here is the boundary's place (out of the account's city or zone), not the
        # page: said beside the map, with what was typed.
        errors = refused(ctx.session, exc, raise_on=())
        if isinstance(exc, GeometryError | Forbidden) and "geometry" not in errors:
            errors = {"geometry": _placed(exc)}
        return _page(
            ctx,
            code=None,
            geometry=geometry,
            values=values,
            errors=errors,
            status=FORM_ERROR,
            typed=coords,
        )
    code = values["code"]
    return redirect(
        ctx.request,
        f"/workbench/parcels/{code}/edit",
        flash=saved_flash(feature["warnings"], f"地块 {code} 已创建；请补充其余属性"),
    )


@router.get("/workbench/parcels/{code}/boundary", response_class=HTMLResponse)
def boundary(ctx: EditorCtx, code: str) -> HTMLResponse:
    return _page(ctx, code=code, geometry=None)


def _preview(ctx: PageContext, code: str | None, coords: str) -> JSONResponse:
    try:
        geom = _geometry(coords)
    except GeometryError as exc:
        return JSONResponse({"problems": [{"field": "geometry", "reason": exc.message}]})
    return JSONResponse(edits.preview_boundary(ctx.session, code, geom, ctx.staff.principal))


@router.post("/workbench/parcels/{code}/boundary/preview")
def preview(code: str, ctx: EditorCtx, coords: Coords = "") -> JSONResponse:
    """The server's figures for a boundary before it is saved (JSON for the page's script)."""
    return _preview(ctx, code, coords)


@router.post("/workbench/parcels/new/preview")
def preview_new(ctx: EditorCtx, coords: Coords = "") -> JSONResponse:
    return _preview(ctx, None, coords)


@router.post("/workbench/parcels/{code}/boundary")
def save_boundary(
    ctx: EditorCtx,
    code: str,
    version: Version = 0,
    coords: Coords = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    repair: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    geometry = None

    def again(opened: int = version, **shown: Any) -> HTMLResponse:
        return _page(
            ctx,
            code=code,
            geometry=geometry,
            version=opened,
            status=FORM_ERROR,
            typed=coords,
            values={"reason": reason, "repair": repair},
            **shown,
        )

    try:
        geom = _geometry(coords)
        geometry = json.loads(shapely.to_geojson(geom))
        if _unchanged(ctx, code, geom):
            return redirect(ctx.request, f"/workbench/parcels/{code}", flash=("info", "边界未改变"))
        body = {"geometry": geometry, "reason": reason.strip() or "在工作台修改边界"}
        feature, _ = edits.update_parcel(
            ctx.session,
            code,
            body,
            etag(code, version),
            ctx.staff.principal,
            repair=repair == "1",
        )
        ctx.session.commit()
    except PreconditionFailed:
        ctx.session.rollback()
        now = edits.version_state(ctx.session, code, None, ctx.staff.principal)
        # Who and when, as the attribute form's conflict screen says it; the typed boundary
        # stays, now on the saved version, so that saving again re-applies it there (a form
        # still on the opened version would be refused again, every time).
        return again(
            opened=int(now["version"]),
            notice=f"未保存：您打开的是版本 {version}；此后 {now['actor'] or '他人'} 于 "
            f"{fmt_datetime(now['at'])} 保存了版本 {now['version']}"
            f"（原因：{now['reason'] or '未填写'}）。下方仍是您的边界：再次“保存边界”即在版本 "
            f"{now['version']} 上重新应用；放弃您的修改请重新打开“编辑边界”。",
        )
    except LandMatchError as exc:
        # A boundary out of the account's city or zone (Forbidden) is said beside the map with
        # what was typed; a parcel the account may not edit is refused again by the page.
        errors = refused(ctx.session, exc, raise_on=())
        if isinstance(exc, Forbidden):
            errors = {"geometry": _placed(exc)}
        return again(errors={"geometry": errors.get("geometry") or "；".join(errors.values())})
    return redirect(
        ctx.request,
        f"/workbench/parcels/{code}",
        flash=saved_flash(feature["warnings"], "边界已保存"),
    )


def _unchanged(ctx: PageContext, code: str, geom: Any) -> bool:
    """Is ``geom`` the parcel's current boundary (as the page shows it)? Then a save writes
    nothing. Asked of a parcel the account may edit only (refused as the page is, otherwise)."""
    state = edits.version_state(ctx.session, code, None, ctx.staff.principal)
    sheet.require_view(ctx.staff.principal, state["city_code"], state["zone_id"])
    if not sheet.may_edit(ctx.session, ctx.staff.principal, state["city_code"], state["zone_id"]):
        raise Forbidden("无权编辑该地块：超出本账号的城市或开发区范围")
    current = state["geometry"]
    return (
        not state["deleted"]
        and current is not None
        and same_boundary(geom, shapely.geometry.shape(current))
    )


def _placed(exc: LandMatchError) -> str:
    """A refused boundary's reason; one out of the account's scope says what to do."""
    if isinstance(exc, Forbidden):
        return f"{exc.message}：边界应在本账号的城市或开发区范围内，请修改坐标后再保存"
    return exc.message


async def _uploaded_geometry(
    ctx: PageContext, file: UploadFile, code: str | None
) -> dict[str, Any]:
    """One parcel's boundary (EPSG:4490) from an uploaded file, read through the guarded
    upload path and the import's readers (TXT, GeoJSON, zipped Shapefile…, CRS detected)."""
    up = await receive(
        ctx.request, file, BOUNDARY_FILES, ctx.settings.max_upload_mb, ctx.settings.max_unpacked_mb
    )
    opts = ReadOptions(max_unpacked_bytes=ctx.settings.max_unpacked_mb * 1024 * 1024)
    source = read_source(up.data, up.filename, opts)
    geoms = np.asarray(source.geoms if source.geoms is not None else [], dtype=object)
    keep = np.array([g is not None for g in geoms], dtype=bool)
    if code is not None and keep.sum() > 1:
        # Several parcels: the one whose row carries this code, in any column.
        same = source.frame.astype(str).eq(code).any(axis=1).to_numpy()
        if (same & keep).sum() == 1:
            keep &= same
    if keep.sum() != 1:
        raise GeometryError(
            f"文件中有 {int(keep.sum())} 个地块的边界；替换或新建一宗地块时，文件应只含一个地块"
            + ("（或只有一个地块的编号与本地块相同）" if code else "")
        )
    stored = to_storage_array(geoms[keep], source.crs)
    return json.loads(shapely.to_geojson(stored[0]))


async def _upload(ctx: PageContext, file: UploadFile, code: str | None) -> HTMLResponse:
    """A boundary read from a file into the editor (of ``code``, or of a new parcel: ``None``),
    not saved; the file's problem goes beside the file field."""
    page = partial(_page, ctx, code=code)
    try:
        geometry = await _uploaded_geometry(ctx, file, code)
    except UnprocessableInput as exc:
        return page(geometry=None, errors={"file": exc.message}, status=FORM_ERROR)
    then = "请预览核对面积与重叠后保存" if code else "请填写编号、名称等并保存"
    return page(geometry=geometry, notice=f"已读入文件中的边界（尚未保存）：{then}。")


@router.post("/workbench/parcels/{code}/boundary/upload")
async def upload_boundary(
    ctx: EditorCtx, code: str, file: Annotated[UploadFile, File()]
) -> Response:
    return await _upload(ctx, file, code)


@router.post("/workbench/parcels/new/upload")
async def upload_new(ctx: EditorCtx, file: Annotated[UploadFile, File()]) -> Response:
    return await _upload(ctx, file, None)
