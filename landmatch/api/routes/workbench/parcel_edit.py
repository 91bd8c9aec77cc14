"""``/workbench/parcels/{code}/…``: the edit form (validated by the edit service, the API's own
code, with each message beside its field; the version travels with the form and a save made
in between opens the conflict screen), delete, the history and restore.

Who: admins, bureaus (their city) and zone committees (their zone) edit; promoters read the
history; everyone else is refused (403 page) or sent to sign in.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response

from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    EditorCtx,
    PageContext,
    StaffCtx,
    Version,
    conflict_page,
    redirect,
    refused,
    render,
    saved_flash,
)
from landmatch.basemap.store import water_loaded
from landmatch.confidential import CONFIDENTIAL_FIELDS, may_read
from landmatch.dates import beijing_minute
from landmatch.db.locking import etag
from landmatch.errors import Forbidden, InvalidInput, PreconditionFailed, UnprocessableInput
from landmatch.geo.measure import M2_PER_MU
from landmatch.inventory import edits, quantities, sheet, wizard
from landmatch.inventory.fields import BY_NAME
from landmatch.maps.workbench import bounds_of, parcel_map

router = APIRouter(include_in_schema=False)
URL = "/workbench/parcels/{code}"
Reason = Annotated[str, Form(max_length=500)]


def _editable_state(ctx: PageContext, code: str) -> dict[str, Any]:
    """The parcel's current version, refused unless the caller may edit it."""
    state = edits.version_state(ctx.session, code, None, ctx.staff.principal)
    if state["deleted"]:
        raise InvalidInput(f"地块 {code} 已删除；请先在“历史”页恢复")
    sheet.require_view(ctx.staff.principal, state["city_code"], state["zone_id"])
    if not sheet.may_edit(ctx.session, ctx.staff.principal, state["city_code"], state["zone_id"]):
        raise Forbidden("无权编辑该地块：超出本账号的城市或开发区范围")
    return state


def _form(
    ctx: PageContext,
    code: str,
    state: dict[str, Any],
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    reason: str = "",
    status: int = 200,
) -> HTMLResponse:
    row = state["row"]
    shown = {n: sheet.form_value(n, row.get(n)) for n in sheet.EDITABLE}
    shown |= {n: row.get(n) for n in sheet.READ_ONLY}
    shown |= values or {}
    return render(
        ctx.request,
        "workbench/parcels/edit.html",
        status=status,
        code=code,
        name=row.get("name"),
        version=state["version"],
        groups=sheet.form_groups(
            shown,
            errors or {},
            sheet.counties_of(ctx.session, row["city_code"]),
            hidden=() if may_read(ctx.staff.principal, row["city_code"]) else CONFIDENTIAL_FIELDS,
            code_names=sheet.code_names(ctx.session, row["city_code"], row.get("zone_code")),
        ),
        errors=errors or {},
        reason=reason,
    )


@router.get(URL + "/edit", response_class=HTMLResponse)
def edit_form(ctx: EditorCtx, code: str) -> HTMLResponse:
    return _form(ctx, code, _editable_state(ctx, code))


@router.post(URL + "/edit")
async def save(ctx: EditorCtx, code: str) -> Response:
    form = await ctx.request.form()
    raw = {k: [str(v) for v in form.getlist(k)] for k in form}
    try:
        base_version = int(raw.get("version", [""])[0])
    except ValueError:
        raise InvalidInput("表单缺少版本号；请重新打开编辑页") from None
    reason = (raw.get("reason", [""])[0] or "").strip()[:500]
    sent = sheet.submitted(raw)
    current = _editable_state(ctx, code)
    base = (
        current
        if base_version == current["version"]
        else edits.version_state(ctx.session, code, base_version, ctx.staff.principal)
    )
    props = sheet.changed_props(sent, base["row"])
    if not props:
        return redirect(ctx.request, f"/workbench/parcels/{code}", flash=("info", "没有修改"))
    body = {**props, "reason": reason or "在工作台修改"}
    try:
        feature, _ = edits.update_parcel(
            ctx.session, code, body, etag(code, base_version), ctx.staff.principal
        )
        ctx.session.commit()
    except PreconditionFailed:
        ctx.session.rollback()
        return _conflict(ctx, code, base, sent, props, reason)
    except UnprocessableInput as exc:
        errors = sheet.in_form_units(refused(ctx.session, exc), sent)
        values = {n: v for n, v in sent.items()}
        return _form(
            ctx,
            code,
            base | {"version": base_version},
            values=values,
            errors=errors,
            reason=reason,
            status=FORM_ERROR,
        )
    return redirect(
        ctx.request, f"/workbench/parcels/{code}", flash=saved_flash(feature["warnings"], "已保存")
    )


def _conflict(
    ctx: PageContext,
    code: str,
    base: dict[str, Any],
    sent: dict[str, Any],
    mine: dict[str, Any],
    reason: str,
) -> HTMLResponse:
    """Someone saved after the form was opened: who and when, each field either side changed
    (theirs as saved, mine as sent) side by side; reload, or re-apply my changes on top."""
    theirs = edits.version_state(ctx.session, code, None, ctx.staff.principal)
    rows = []
    names = [n for n in sheet.EDITABLE if n in mine or theirs["row"].get(n) != base["row"].get(n)]
    for n in names:
        label, unit = sheet.split_label(n)
        rows.append(
            {
                "name": n,
                "label": label,
                "unit": unit,
                "base": sheet.display(n, base["row"].get(n)),
                "theirs": sheet.display(n, theirs["row"].get(n)),
                "mine": sheet.display(n, _typed(n, sent[n])) if n in mine else None,
                "they_changed": theirs["row"].get(n) != base["row"].get(n),
            }
        )
    return conflict_page(
        ctx.request,
        what="地块",
        title=code,
        url=f"/workbench/parcels/{quote(code)}",
        opened=base["version"],
        saved=theirs,
        rows=rows,
        mine=mine,
        sent=sent,
        reason=reason,
        form_names={sheet.AREA_FIELD: sheet.AREA_FORM},
        parcel_code=code,
    )


def _typed(name: str, value: Any) -> Any:
    """A sent form value as the display helper takes it (the area is sent in 亩)."""
    if name == sheet.AREA_FIELD and isinstance(value, str) and value.strip():
        mu, problem = quantities.read(value, None)
        return value if mu is None or problem else mu * M2_PER_MU
    if BY_NAME[name].kind == "bool" and isinstance(value, str):
        return {"true": True, "false": False}.get(value, value or None)
    return value or None


@router.post(URL + "/delete")
def delete(ctx: EditorCtx, code: str, version: Version = 0, reason: Reason = "") -> Response:
    _editable_state(ctx, code)
    try:
        _, ended = edits.delete_parcel(
            ctx.session, code, etag(code, version), ctx.staff.principal, reason.strip() or None
        )
        ctx.session.commit()
    except PreconditionFailed as exc:
        return redirect(ctx.request, f"/workbench/parcels/{code}", flash=("danger", exc.message))
    return redirect(
        ctx.request,
        f"/workbench/parcels/{code}/history",
        flash=saved_flash(ended, f"地块 {code} 已删除；可在本页恢复"),
    )


@router.get(URL + "/history", response_class=HTMLResponse)
def history(ctx: StaffCtx, code: str) -> HTMLResponse:
    state = edits.version_state(ctx.session, code, None, ctx.staff.principal)
    sheet.require_view(ctx.staff.principal, state["city_code"], state["zone_id"])
    timeline = edits.history(ctx.session, code, ctx.staff.principal)
    jobs = wizard.jobs_of_imports(
        ctx.session.connection(),
        ctx.staff.principal,
        {v["import_id"] for v in timeline["versions"] if v["import_id"]},
    )
    for v in timeline["versions"]:
        v["at_dt"] = dt.datetime.fromisoformat(v["at"])
        v["import_job"] = jobs.get(v["import_id"])
        for c in v["changes"]:
            if c["field"] in BY_NAME:
                c["old_text"] = sheet.display(c["field"], c["old"])
                c["new_text"] = sheet.display(c["field"], c["new"])
                c["unit"] = sheet.split_label(c["field"])[1]
                c["label"] = sheet.split_label(c["field"])[0]
    geometries = edits.geometry_versions(ctx.session, code, ctx.staff.principal)
    config: dict[str, Any] | None = None
    parts = None
    if state["geometry"] is not None:
        parts = parcel_map(
            ctx.settings, bounds_of(state["geometry"]), water=water_loaded(ctx.session)
        )
        config = {"map": parts.name, "geometries": geometries}
        if not geometries:
            config["parcel"] = {"type": "Feature", "geometry": state["geometry"], "properties": {}}
    return render(
        ctx.request,
        "workbench/parcels/history.html",
        code=code,
        state=state,
        timeline=timeline,
        current_etag=etag(code, state["current_version"]),
        can_edit=sheet.may_edit(
            ctx.session, ctx.staff.principal, state["city_code"], state["zone_id"]
        ),
        map=parts,
        map_config=config,
    )


@router.post(URL + "/restore")
def restore(
    ctx: EditorCtx,
    code: str,
    current: Annotated[int, Form(ge=1)] = 0,
    version: Annotated[int | None, Form(ge=1)] = None,
    reason: Reason = "",
) -> Response:
    """Bring back version ``version`` (or undelete, without it) against the version the page
    showed (``current``); a change made meanwhile is refused with who made it, a version
    today's validation refuses with why (on the history page); one that would change a
    confidential field the caller may not write answers the 403 page naming them."""
    if not reason.strip():
        return redirect(
            ctx.request, f"/workbench/parcels/{code}/history", flash=("danger", "恢复须填写原因")
        )
    try:
        feature, _ = edits.restore_parcel(
            ctx.session, code, version, etag(code, current), ctx.staff.principal, reason.strip()
        )
        ctx.session.commit()
    except PreconditionFailed:
        ctx.session.rollback()
        now = edits.version_state(ctx.session, code, None, ctx.staff.principal)
        return redirect(
            ctx.request,
            f"/workbench/parcels/{code}/history",
            flash=(
                "warning",
                f"未恢复：{now['actor'] or '他人'}于 {beijing_minute(now['at'])} 保存了版本 "
                f"{now['version']}；请查看最新历史后再决定是否恢复",
            ),
        )
    except UnprocessableInput as exc:  # the version's state fails today's validation
        ctx.session.rollback()
        return redirect(
            ctx.request, f"/workbench/parcels/{code}/history", flash=("danger", exc.message)
        )
    done = f"已恢复到版本 {version}" if version else "已恢复删除的地块"
    return redirect(
        ctx.request, f"/workbench/parcels/{code}", flash=saved_flash(feature["warnings"], done)
    )
