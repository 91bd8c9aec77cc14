"""``/workbench/policies``: the policy library for admins, bureaus and zone committees (each
keeps the policies of its scope, ``library.can_edit_policy``: a committee its zone's) — list
(search, expired on request), one policy with its history (each save: who, when, why, the fields old → new), a
policy created or edited in a form, and the Excel import through the guarded upload path with
the CLI's report (``landmatch policies import``): the one-line summary, or the row, field and
reason that refused the file (all rows or none).

The form has no rule of its own: its text becomes values by the Excel import's own cell rules
(``excel.cell_value``), and ``library.create_policy`` / ``update_policy`` (the API's) validate,
check the scope and write. The version travels in the form (``If-Match``): a save made in
between opens the conflict screen (who and when, the fields side by side; reload or re-apply).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from landmatch import vocab
from landmatch.api.deps import JobSessionDep
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    EditorCtx,
    PageContext,
    conflict_page,
    form_errors,
    redirect,
    render,
)
from landmatch.db.locking import etag
from landmatch.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LandMatchError,
    PreconditionFailed,
    UnprocessableInput,
)
from landmatch.inventory import listing
from landmatch.inventory.uploads import EXCEL_FILES, receive
from landmatch.paging import Page
from landmatch.policies import excel, library, versions
from landmatch.policies.versions import BELOW_AVERAGE, BELOW_AVERAGE_LABEL, CONDITIONS, display

router = APIRouter(include_in_schema=False)
URL = "/workbench/policies"
PAGE_SIZE = 50


@router.get(URL, response_class=HTMLResponse)
def policy_list(
    ctx: EditorCtx,
    q: Annotated[str | None, Query(max_length=200)] = None,
    expired: Annotated[str | None, Query(max_length=5)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    found = library.search_policies(
        ctx.session,
        ctx.staff.principal,
        q=(q or "").strip() or None,
        include_expired=expired == "1",
        limit=PAGE_SIZE,
        offset=offset,
    )
    page = Page(library.name_scopes(ctx.session, found["items"]), found["total"], offset, PAGE_SIZE)
    return render(
        ctx.request,
        "workbench/policies/list.html",
        page=page,
        filters={"q": q or "", "expired": expired == "1"},
    )


def _import_page(
    ctx: PageContext,
    *,
    result: dict[str, Any] | None = None,
    error: LandMatchError | None = None,
    dry_run: bool = True,
    status: int = 200,
) -> HTMLResponse:
    problems = []
    if error is not None:
        details = error.detail if isinstance(error.detail, list) else []
        problems = [
            {
                "row": d.get("row"),
                "field": excel.field_label(str(d.get("field") or "")),
                "reason": d.get("reason") or error.message,
            }
            for d in details
            if isinstance(d, dict)
        ]
    return render(
        ctx.request,
        "workbench/policies/import.html",
        status=status,
        result=result,
        summary=excel.summary(result) if result else None,
        error=error,
        problems=problems,
        dry_run=dry_run,
        headers=sorted(set(excel.FIELD_LABELS.values())),
        max_mb=ctx.settings.max_upload_mb,
    )


@router.get(URL + "/import", response_class=HTMLResponse)
def import_form(ctx: EditorCtx) -> HTMLResponse:
    return _import_page(ctx)


@router.post(URL + "/import", response_class=HTMLResponse)
async def import_excel(
    ctx: EditorCtx,
    session: JobSessionDep,
    file: Annotated[UploadFile, File()],
    dry_run: Annotated[str, Form(max_length=5)] = "",
) -> HTMLResponse:
    trial = dry_run == "1"
    try:
        up = await receive(
            ctx.request, file, EXCEL_FILES, ctx.settings.max_upload_mb, ctx.settings.max_unpacked_mb
        )
        # Checked and written off the event loop: other requests go on meanwhile.
        result = await run_in_threadpool(
            excel.import_policies, session, ctx.staff.principal, up.data, dry_run=trial
        )
    except InvalidInput as exc:  # a bad file or row; too large, out of scope… get their pages
        session.rollback()
        return _import_page(ctx, error=exc, dry_run=trial, status=FORM_ERROR)
    session.commit()
    return _import_page(ctx, result=result, dry_run=trial)


# ---- one policy: the form (new and edit), the conflict screen, the page with its history -----

# Fields shown as groups of checkboxes (a list of codes); the rest are typed.
CHECKS: dict[str, dict[str, str]] = {
    "statuses": vocab.PARCEL_STATUS,
    "enterprise_types": vocab.ENTERPRISE_TYPES,
    "zone_levels": vocab.ZONE_LEVELS,
}
LISTS = ("industries", "land_uses")
REQUIRED = ("title", "issuer", "summary")
FORM_FIELDS = ("code", *(f for f in versions.FIELDS if f != "code"), "reason")


def _form_text(field: str, value: Any) -> Any:
    """A stored value as the form shows it (and reads back by the same rules)."""
    if field in CHECKS:
        return list(value or [])
    if value is None or value == []:
        return ""
    if field in LISTS:
        return "、".join(value)
    if field == "max_energy_per_value" and value == BELOW_AVERAGE:
        return BELOW_AVERAGE_LABEL
    if field in versions.PERCENT or isinstance(value, float | int):
        return display(field, value).replace(",", "")
    return str(value)  # text, and dates as YYYY-MM-DD


def _sent(form: FormData) -> dict[str, Any]:
    """The fields the form sent, as sent (a group of checkboxes marks itself present)."""
    out: dict[str, Any] = {}
    for f in FORM_FIELDS:
        if f in CHECKS:
            if f + "__present" in form:
                out[f] = [str(v) for v in form.getlist(f) if str(v) in CHECKS[f]]
        elif f in form:
            out[f] = str(form.get(f) or "").strip()[:4000]
    return out


def _typed(sent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The sent text as values, by the Excel import's cell rules; errors by field."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f, raw in sent.items():
        if f == "reason":
            continue
        if f in CHECKS or f in REQUIRED:  # a blank title is the service's to refuse
            values[f] = raw
        elif f == "max_energy_per_value":
            if raw in (BELOW_AVERAGE, BELOW_AVERAGE_LABEL):
                values[f] = BELOW_AVERAGE
            elif raw:
                try:
                    values[f] = float(raw)
                except ValueError:
                    errors[f] = f"应为数字，或填写“{BELOW_AVERAGE_LABEL}”"
            else:
                values[f] = None
        else:
            try:
                value = excel.cell_value(f, raw)
            except UnprocessableInput as exc:
                errors[f] = exc.detail[0]["reason"] if exc.detail else exc.message
                continue
            values[f] = [] if value is None and f in LISTS else value
    return values, errors


def _service_data(values: dict[str, Any], conditions: dict[str, Any]) -> dict[str, Any]:
    """The values as the service takes them: the conditions' keys folded into ``conditions``
    over ``conditions`` (the ones kept), blanks dropped."""
    data = {k: v for k, v in values.items() if k not in CONDITIONS}
    if any(k in values for k in CONDITIONS):
        merged = conditions | {k: v for k, v in values.items() if k in CONDITIONS}
        data["conditions"] = {k: v for k, v in merged.items() if v not in (None, "", [])}
    return data


def _errors(exc: LandMatchError) -> dict[str, str]:
    """A service's refusal by form field (``conditions.x`` is the field ``x``); what names no
    field of the form goes above it."""
    out: dict[str, str] = {}
    for field, reason in form_errors(exc).items():
        name = field.removeprefix("conditions.").split(".")[0]
        key = name if name in FORM_FIELDS else ""
        out[key] = (out[key] + "；" if key in out else "") + reason
    return out


def _form_page(
    ctx: PageContext,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    policy: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        ctx.request,
        "workbench/policies/form.html",
        status=status,
        p=policy,
        v=values,
        errors=errors or {},
        labels=versions.LABELS,
        choices={f: list(opts.items()) for f, opts in CHECKS.items()},
        scopes=list(vocab.POLICY_SCOPES.items()),
        kinds=list(vocab.BENEFIT_KINDS.items()),
        visibilities=list(vocab.VISIBILITY.items()),
        cities=[(vocab.PROVINCE_CODE, "河北省"), *vocab.CITIES.items()],
        below_average=BELOW_AVERAGE_LABEL,
    )


@router.get(URL + "/new", response_class=HTMLResponse)
def new_policy(ctx: EditorCtx) -> HTMLResponse:
    """The form, its scope the caller's own: a committee's zone, a bureau's city, else the
    province."""
    city = listing.own_city(ctx.staff.principal)
    zone = ctx.staff.account.zone_code if ctx.staff.principal.role == "zone" else None
    values: dict[str, Any] = {f: _form_text(f, None) for f in FORM_FIELDS}
    values |= {
        "scope_level": "zone" if zone else "city" if city else "province",
        "scope_code": zone or city or vocab.PROVINCE_CODE,
        "benefit_kind": "subsidy",
        "visibility": "public",
    }
    return _form_page(ctx, values=values)


@router.post(URL + "/new")
async def create_policy(ctx: EditorCtx) -> Response:
    form = await ctx.request.form()
    sent = _sent(form)
    values, errors = _typed(sent)
    if not errors:
        data = _service_data(values, {})
        try:
            library.create_policy(
                ctx.session,
                ctx.staff.principal,
                data,
                reason=sent.get("reason") or "在工作台新增政策",
            )
            ctx.session.commit()
            code = str(values.get("code"))
            return redirect(ctx.request, f"{URL}/{code}", flash=("success", f"已新增政策 {code}"))
        except (InvalidInput, Conflict, Forbidden) as exc:
            ctx.session.rollback()
            errors = _errors(exc)
            if isinstance(exc, Conflict):
                errors = {"code": exc.message}
            elif isinstance(exc, Forbidden):
                errors = {"scope_code": exc.message}
    return _form_page(ctx, values=sent, errors=errors, status=FORM_ERROR)


def _editable(ctx: PageContext, code: str) -> dict[str, Any]:
    p = library.get_policy(ctx.session, ctx.staff.principal, code)
    if not library.can_edit_policy(
        ctx.session, ctx.staff.principal, p["scope_level"], p["scope_code"]
    ):
        raise Forbidden(
            f"无权维护该范围的政策：{vocab.label(vocab.POLICY_SCOPES, p['scope_level'])} "
            f"{p['scope_code']}"
        )
    return p


@router.get(URL + "/{code}/edit", response_class=HTMLResponse)
def edit_policy(ctx: EditorCtx, code: str) -> Response:
    p = _editable(ctx, code)
    flat = versions.flat(p)
    values = {f: _form_text(f, flat.get(f)) for f in FORM_FIELDS if f != "reason"}
    return _form_page(ctx, values=values | {"reason": ""}, policy=p)


@router.post(URL + "/{code}/edit")
async def save_policy(ctx: EditorCtx, code: str) -> Response:
    form = await ctx.request.form()
    try:
        base_version = int(str(form.get("version")))
    except ValueError:
        raise InvalidInput("表单缺少版本号；请重新打开编辑页") from None
    sent = _sent(form)
    sent.pop("code", None)  # the code is not edited
    current = _editable(ctx, code)
    history = library.policy_history(ctx.session, ctx.staff.principal, code)
    base = (
        current if base_version == current["version"] else versions.state_at(history, base_version)
    )
    if base is None:
        raise InvalidInput(f"政策 {code} 没有版本 {base_version}；请重新打开编辑页")
    values, errors = _typed(sent)
    opened = current | {"version": base_version}  # a form sent back keeps its version
    if errors:
        return _form_page(ctx, values=sent, errors=errors, policy=opened, status=FORM_ERROR)
    base_flat = versions.flat(base)
    mine = {f: v for f, v in values.items() if display(f, v) != display(f, base_flat.get(f))}
    if not mine:
        return redirect(ctx.request, f"{URL}/{code}", flash=("info", "没有修改"))
    data = _service_data(mine, dict(current.get("conditions") or {}))
    try:
        library.update_policy(
            ctx.session,
            ctx.staff.principal,
            code,
            data,
            if_match=etag(code, base_version),
            reason=sent.get("reason") or "在工作台修改政策",
        )
        ctx.session.commit()
    except PreconditionFailed:
        ctx.session.rollback()
        return _conflict(ctx, current, history, base, sent, mine)
    except (InvalidInput, Conflict, Forbidden) as exc:
        ctx.session.rollback()
        errors = {"scope_code": exc.message} if isinstance(exc, Forbidden) else _errors(exc)
        shown = {f: _form_text(f, v) for f, v in base_flat.items()} | sent
        return _form_page(ctx, values=shown, errors=errors, policy=opened, status=FORM_ERROR)
    return redirect(ctx.request, f"{URL}/{code}", flash=("success", "已保存"))


def _conflict(
    ctx: PageContext,
    theirs: dict[str, Any],
    history: list[dict[str, Any]],
    base: dict[str, Any],
    sent: dict[str, Any],
    mine: dict[str, Any],
) -> HTMLResponse:
    """Someone saved the policy after the form was opened: who and when, each field either
    side changed (as opened, as saved now, as sent) side by side; reload, or re-apply mine on
    the version saved now."""
    b, t = versions.flat(base), versions.flat(theirs)
    rows = []
    for f in versions.FIELDS:
        they_changed = display(f, t.get(f)) != display(f, b.get(f))
        if f in mine or they_changed:
            rows.append(
                {
                    "name": f,
                    "label": versions.LABELS.get(f, f),
                    "base": display(f, b.get(f)),
                    "theirs": display(f, t.get(f)),
                    "mine": display(f, mine[f]) if f in mine else None,
                    "they_changed": they_changed,
                }
            )
    last = history[-1] if history else {}
    url = f"{URL}/{quote(theirs['code'])}"
    return conflict_page(
        ctx.request,
        what="政策",
        title=f"政策 {theirs['code']}",
        url=url,
        opened=base.get("version"),
        saved={k: last.get(k) for k in ("actor", "at", "reason")} | {"version": theirs["version"]},
        rows=rows,
        mine=mine,
        sent=sent,
        reason=sent.get("reason") or "",
        crumbs=[("政策库", URL), (theirs["code"], url)],
    )


@router.get(URL + "/{code}", response_class=HTMLResponse)
def policy_page(ctx: EditorCtx, code: str) -> HTMLResponse:
    [policy] = library.name_scopes(
        ctx.session, [library.get_policy(ctx.session, ctx.staff.principal, code)]
    )
    history = versions.timeline(library.policy_history(ctx.session, ctx.staff.principal, code))
    return render(
        ctx.request,
        "workbench/policies/policy.html",
        p=policy,
        history=history,
        conditions=[
            (versions.LABELS.get(k, k), display(k, v))
            for k, v in (policy.get("conditions") or {}).items()
        ],
        can_edit=library.can_edit_policy(
            ctx.session, ctx.staff.principal, policy["scope_level"], policy["scope_code"]
        ),
    )
