"""``/workbench/cases``: disposal cases (处置案件) in the browser, on the API's own service
(``landmatch.monitoring.cases``): the idle-land list to open a case from, opening a case (also
from the parcel page), each step recorded with its date and document number, deadlines and
what is overdue, and the decision that closes the case (recovery makes the parcel ready stock,
as the service does), or, at any step, the closure without a disposal the day allows
(``cases.closures_allowed``: 已动工，结案, 不构成闲置，撤销), posted to the decision route.

Every write carries the CSRF token and the case's version (a hidden field, sent to the service
as ``If-Match``); a step recorded meanwhile by someone else opens the conflict screen (who and
when, the case as it is now beside what was sent; reload, or re-apply on the new version).

Who: admins (every city, or one city chosen), bureaus (their city; the province's bureau every
city). Zone committees and promoters are refused (the service writes for admins and bureaus
only, and idle-land cases are internal).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from landmatch import vocab
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    PageContext,
    Staff,
    context_with,
    redirect,
    render,
)
from landmatch.dates import beijing_today
from landmatch.db.locking import etag
from landmatch.errors import Conflict, InvalidInput, PreconditionFailed
from landmatch.geo.measure import M2_PER_MU
from landmatch.inventory import listing
from landmatch.monitoring import cases, scan
from landmatch.monitoring.rules import default_rule
from landmatch.monitoring.scope import city_scope
from landmatch.monitoring.terms import (
    CASE_STATUS,
    CLOSURES,
    DECISIONS,
    IDLE_STAGES,
    RECOVERING_DECISIONS,
    STEP_KINDS,
    UNSUPPLIED_DECISIONS,
)
from landmatch.paging import Page

router = APIRouter(include_in_schema=False)
URL = "/workbench/cases"
PAGE_SIZE = 50
# The stages a case is opened from, most urgent first (the idle list's tabs).
LIST_STAGES = ("recoverable", "idle_fee", "gov_caused", "at_risk", "unknown")
# Who keeps the cases: the admin and the city bureaux.
KeeperCtx = Annotated[PageContext, Depends(context_with("admin", "bureau"))]
CityQuery = Annotated[str | None, Query(max_length=6)]


def _city(staff: Staff, city: str | None) -> str | None:
    """The city a page shows: the monitoring reads' one rule (a city bureau its own, asking for
    another is refused; anyone else its choice, None: every city)."""
    return city_scope(staff.principal, city or None)


def _cities(staff: Staff) -> list[tuple[str, str]]:
    return listing.offered_cities(staff.principal)


def _date(raw: Any, field: str, errors: dict[str, str]) -> dt.date | None:
    value = str(raw or "").strip()
    if not value:
        errors[field] = "请填写日期"
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors[field] = "日期格式应为 YYYY-MM-DD"
        return None


def _text(raw: Any, limit: int) -> str | None:
    value = str(raw or "").strip()
    return value[:limit] or None


def _version(raw: Any) -> int:
    try:
        return int(str(raw))
    except ValueError:
        raise InvalidInput("表单缺少版本号；请重新打开案件页") from None


# ---- lists -----------------------------------------------------------------------------------


@router.get(URL, response_class=HTMLResponse)
def case_list(
    ctx: KeeperCtx,
    status: Annotated[str | None, Query(max_length=8)] = "open",
    overdue: Annotated[str | None, Query(max_length=1)] = None,
    city: CityQuery = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    scope = _city(ctx.staff, city)
    status = status if status in CASE_STATUS else None
    today = beijing_today()
    overdue_on = today if overdue == "1" else None
    by = ctx.staff.principal
    total = cases.count_cases(ctx.session, by, city=scope, status=status, overdue_on=overdue_on)
    items = cases.list_cases(
        ctx.session,
        by,
        city=scope,
        status=status,
        limit=PAGE_SIZE,
        offset=offset,
        overdue_on=overdue_on,
    )
    for c in items:
        due = c.get("next_due")
        c["days_overdue"] = (today - dt.date.fromisoformat(due)).days if due else 0
        c["city_name"] = vocab.label(vocab.CITIES, c["city_code"])
    alerts = cases.overdue(ctx.session, by, today, scope)
    return render(
        ctx.request,
        "workbench/cases/list.html",
        page=Page(items, total, offset, PAGE_SIZE),
        case_status=status or "",
        overdue=overdue == "1",
        overdue_count=len(alerts),
        city=scope if listing.own_city(ctx.staff.principal) is None else None,
        cities=_cities(ctx.staff),
        statuses=list(CASE_STATUS.items()),
        today=today,
    )


@contextmanager
def _scan_session(request: Request, session: Any, scope: str | None) -> Iterator[Any]:
    """One city's idle-land scan runs within the request's statement limit; every city's (the
    province) on the job session's, as the dashboard's summary does."""
    if scope:
        yield session
        return
    with request.app.state.job_sessions() as job:
        yield job


@router.get(URL + "/idle", response_class=HTMLResponse)
def idle_list(
    ctx: KeeperCtx,
    stage: Annotated[str | None, Query(max_length=12)] = None,
    city: CityQuery = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    """The monitoring list of idle land (Order 53 stages, ``scan.idle_report``) to open cases
    from: one stage at a time, paged."""
    scope = _city(ctx.staff, city)
    if stage and stage not in LIST_STAGES:
        raise InvalidInput(f"未知的闲置阶段 {stage}")
    rule = default_rule(ctx.settings.idle_fee_rate)
    today = beijing_today()
    with _scan_session(ctx.request, ctx.session, scope) as scan_session:
        if not stage:  # the most urgent stage that has parcels
            counts = scan.idle_report(
                scan_session, ctx.staff.principal, today, rule, city=scope, limit=0
            )
            found = {s["stage"]: s["count"] for s in counts["stages"]}
            stage = next((s for s in LIST_STAGES if found[s]), LIST_STAGES[0])
        report = scan.idle_report(
            scan_session,
            ctx.staff.principal,
            today,
            rule,
            city=scope,
            stage=stage,
            limit=PAGE_SIZE,
            offset=offset,
        )
    by_stage = {s["stage"]: s for s in report["stages"]}
    items = report["items"]
    open_cases = cases.open_case_of(ctx.session, [r["id"] for r in items])
    return render(
        ctx.request,
        "workbench/cases/idle.html",
        stage=stage,
        stages=[by_stage[s] for s in LIST_STAGES],
        page=Page(items, by_stage[stage]["count"], offset, PAGE_SIZE),
        open_cases=open_cases,
        city=scope if listing.own_city(ctx.staff.principal) is None else None,
        cities=_cities(ctx.staff),
        today=today,
    )


# ---- opening a case --------------------------------------------------------------------------


def _new_form(
    request: Request,
    parcel: dict[str, Any],
    *,
    opened_on: str,
    note: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "workbench/cases/new.html",
        status=status,
        parcel=parcel,
        status_label=vocab.label(vocab.PARCEL_STATUS, parcel["status"]),
        city_name=vocab.label(vocab.CITIES, parcel["city_code"]),
        area_mu=parcel["area_m2"] / M2_PER_MU,
        opened_on=opened_on,
        note=note,
        errors=errors or {},
    )


@router.get(URL + "/new", response_class=HTMLResponse)
def new_case(
    ctx: KeeperCtx, parcel: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    """The form opening a case on ``parcel``; without one, a form asking for the parcel code
    (an unsupplied parcel is opened from here or from its page: the idle list shows idle land)."""
    if not parcel or not parcel.strip():
        return render(ctx.request, "workbench/cases/pick.html")
    p = cases.parcel_of(ctx.session, parcel.strip())
    cases.require_scope(ctx.staff.principal, p["city_code"])
    busy = cases.open_case_of(ctx.session, [p["id"]]).get(p["id"])
    if busy:
        return redirect(
            ctx.request,
            f"{URL}/{busy}",
            flash=("info", f"地块 {parcel} 已有办理中的处置案件 {busy}"),
        )
    return _new_form(ctx.request, p, opened_on=beijing_today().isoformat())


@router.post(URL)
async def open_case(ctx: KeeperCtx) -> Response:
    form = await ctx.request.form()
    code = _text(form.get("parcel_code"), 64) or ""
    p = cases.parcel_of(ctx.session, code)
    cases.require_scope(ctx.staff.principal, p["city_code"])
    errors: dict[str, str] = {}
    raw_date = str(form.get("opened_on") or beijing_today().isoformat())
    opened_on = _date(raw_date, "opened_on", errors)
    note = _text(form.get("note"), 2000)
    if not errors:
        assert opened_on is not None
        try:
            out = cases.open_case(
                ctx.session,
                ctx.staff.principal,
                code,
                opened_on=opened_on,
                fee_rate=ctx.settings.idle_fee_rate,
                note=note,
            )
            ctx.session.commit()
            return redirect(
                ctx.request,
                f"{URL}/{out['id']}",
                flash=("success", f"已立案：处置案件 {out['id']}"),
            )
        except (InvalidInput, Conflict) as exc:
            ctx.session.rollback()
            named = isinstance(exc.detail, dict) and exc.detail.get("field") == "opened_on"
            errors["opened_on" if named else ""] = exc.message
    return _new_form(
        ctx.request, p, opened_on=raw_date, note=note or "", errors=errors, status=FORM_ERROR
    )


# ---- one case: steps, deadlines, decision ----------------------------------------------------


def _case_view(ctx: PageContext, case_id: int) -> dict[str, Any]:
    c = cases.get_case(ctx.session, ctx.staff.principal, case_id)
    cases.require_scope(ctx.staff.principal, c["city_code"])  # the page is for who keeps the case
    today = beijing_today()
    pending = [s for s in c["steps"] if not s["done_on"]]
    for s in c["steps"]:
        due = dt.date.fromisoformat(s["due_on"])
        s["current"] = bool(pending) and s["id"] == pending[0]["id"]
        late = c["status"] == "open" and not s["done_on"] and today > due
        s["days_overdue"] = (today - due).days if late else 0
    c["next"] = pending[0] if pending and c["status"] == "open" else None
    c["city_name"] = vocab.label(vocab.CITIES, c["city_code"])
    c["status_label"] = CASE_STATUS[c["status"]]
    c["stage_label"] = IDLE_STAGES.get(c["stage_at_open"] or "")
    c["closed_without_disposal"] = c["decision"] in CLOSURES
    c["area_mu"] = float(c["area_m2"]) / M2_PER_MU
    c["etag"] = etag(case_id, c["version"])
    return c


def _case_page(
    ctx: PageContext,
    case_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The case's page; with ``errors``, the form sent back (``values``) beside them. An idle
    case offers the decisions its parcel's stage allows today (the service refuses any other,
    on the decision's own date)."""
    c = _case_view(ctx, case_id)
    stage, decisions = None, dict(UNSUPPLIED_DECISIONS)
    closures: dict[str, str | None] = {}
    today = beijing_today()
    if c["kind"] == "idle" and c["status"] == "open":
        by, rate = ctx.staff.principal, ctx.settings.idle_fee_rate
        stage, decisions = cases.decisions_allowed(ctx.session, by, case_id, today, rate)
        closures = cases.closures_allowed(ctx.session, by, case_id, today, rate)
    values = values or {}
    return render(
        ctx.request,
        "workbench/cases/case.html",
        status=FORM_ERROR if errors else 200,
        c=c,
        today=today,
        decisions=list(decisions.items()),
        # The closures without a disposal allowed today, and why the others are not.
        closures=[(k, CLOSURES[k]) for k, why in closures.items() if why is None],
        closures_refused=[(CLOSURES[k], why) for k, why in closures.items() if why],
        # Which form the errors and values sent back belong to.
        closing=values.get("decision") in CLOSURES,
        decision_step=next((s for s in c["steps"] if s["kind"] == "decision"), None),
        stage_today=IDLE_STAGES.get(stage or ""),
        recovering=sorted(RECOVERING_DECISIONS),
        land_uses=list(vocab.PARCEL_LAND_USE.items()),
        errors=errors or {},
        values=values,
    )


@router.get(URL + "/{case_id}", response_class=HTMLResponse)
def case_page(ctx: KeeperCtx, case_id: int) -> Response:
    return _case_page(ctx, case_id)


def _conflict(ctx: PageContext, case_id: int, base: int, sent: dict[str, Any]) -> HTMLResponse:
    """Someone recorded a step (or the decision) after the page was opened: who and when, the
    steps as they are now, what this form sent; reload, or re-apply on the new version."""
    now = _case_view(ctx, case_id)
    done = [s for s in now["steps"] if s["done_on"]]
    last = max(done, key=lambda s: s["updated_at"]) if done else None
    kind = sent.get("kind") or "decision"
    still_next = now["next"] is not None and now["next"]["kind"] == kind
    if sent.get("decision") in CLOSURES:  # a closure is taken at any step of an open case
        still_next = now["next"] is not None
    label = STEP_KINDS.get(kind, kind)
    if kind == "decision" and sent.get("decision") in DECISIONS:
        label += "：" + DECISIONS[sent["decision"]]
    return render(
        ctx.request,
        "workbench/cases/conflict.html",
        status=FORM_ERROR,
        c=now,
        base=base,
        last=last,
        last_at=dt.datetime.fromisoformat(last["updated_at"]) if last else None,
        sent=sent,
        sent_label=label,
        still_next=still_next,
        action=f"{URL}/{case_id}/" + ("decision" if kind == "decision" else "steps"),
        hidden=[(k, v) for k, v in sent.items() if v not in (None, "")],
    )


def _record(
    ctx: PageContext,
    case_id: int,
    version: int,
    sent: dict[str, Any],
    date_field: str,
    write: Callable[[str], dict[str, Any]],
) -> dict[str, Any] | HTMLResponse:
    """A step's or the decision's write (``write(if_match)``) at the version the form was
    opened at, committed: what it answered. On a refusal the write is rolled back and the page
    to answer with is returned instead: the conflict page when the case has moved on, else the
    form (``sent``) with the refusal beside its field (the one the error names, ``date_field``
    for a date rule)."""
    try:
        out = write(etag(case_id, version))
        ctx.session.commit()
    except PreconditionFailed:
        ctx.session.rollback()
        return _conflict(ctx, case_id, version, {**sent, "kind": sent.get("kind") or "decision"})
    except (InvalidInput, Conflict) as exc:
        ctx.session.rollback()
        field = ""
        if isinstance(exc.detail, dict) and exc.detail.get("field"):
            field = str(exc.detail["field"])
        elif "日期" in exc.message:
            field = date_field
        return _case_page(ctx, case_id, errors={field: exc.message}, values=sent)
    return out


@router.post(URL + "/{case_id}/steps")
async def record_step(ctx: KeeperCtx, case_id: int) -> Response:
    form = await ctx.request.form()
    version = _version(form.get("version"))
    errors: dict[str, str] = {}
    kind = _text(form.get("kind"), 24) or ""
    sent: dict[str, Any] = {
        "kind": kind,
        "done_on": str(form.get("done_on") or ""),
        "doc_no": _text(form.get("doc_no"), 200),
        "note": _text(form.get("note"), 2000),
    }
    done_on = _date(sent["done_on"], "done_on", errors)
    if kind not in STEP_KINDS or kind == "decision":
        errors[""] = "未知的步骤"
    if errors:
        return _case_page(ctx, case_id, errors=errors, values=sent)
    assert done_on is not None
    out = _record(
        ctx,
        case_id,
        version,
        sent,
        "done_on",
        lambda if_match: cases.complete_step(
            ctx.session,
            ctx.staff.principal,
            case_id,
            kind,
            done_on=done_on,
            doc_no=sent["doc_no"],
            note=sent["note"],
            if_match=if_match,
        ),
    )
    if isinstance(out, HTMLResponse):
        return out
    return redirect(
        ctx.request,
        f"{URL}/{case_id}",
        flash=("success", f"已登记：{STEP_KINDS[kind]}（{done_on}）"),
    )


@router.post(URL + "/{case_id}/decision")
async def record_decision(ctx: KeeperCtx, case_id: int) -> Response:
    form = await ctx.request.form()
    version = _version(form.get("version"))
    errors: dict[str, str] = {}
    sent: dict[str, Any] = {
        "decision": _text(form.get("decision"), 24) or "",
        "decided_on": str(form.get("decided_on") or ""),
        "fee_wan": _text(form.get("fee_wan"), 20),
        "new_start_date": _text(form.get("new_start_date"), 10),
        "new_land_use": _text(form.get("new_land_use"), 8),
        "publish": "1" if form.get("publish") else "",
        "doc_no": _text(form.get("doc_no"), 200),
        "note": _text(form.get("note"), 2000),
    }
    decided_on = _date(sent["decided_on"], "decided_on", errors)
    fee: float | None = None
    if sent["fee_wan"]:
        try:
            fee = float(sent["fee_wan"].replace(",", ""))
            if not 0 <= fee < 1e9:
                raise ValueError
        except ValueError:
            errors["fee_wan"] = "闲置费应为不小于 0 的数字（万元）"
    new_start = None
    if sent["new_start_date"]:
        new_start = _date(sent["new_start_date"], "new_start_date", errors)
    if not sent["decision"]:
        errors["decision"] = "请选择处置方式"
    if errors:
        return _case_page(ctx, case_id, errors=errors, values=sent)
    assert decided_on is not None
    out = _record(
        ctx,
        case_id,
        version,
        sent,
        "decided_on",
        lambda if_match: cases.decide(
            ctx.session,
            ctx.staff.principal,
            case_id,
            sent["decision"],
            decided_on=decided_on,
            fee_rate=ctx.settings.idle_fee_rate,
            fee_wan=fee,
            new_start_date=new_start,
            new_land_use=sent["new_land_use"],
            publish=bool(sent["publish"]),
            doc_no=sent["doc_no"],
            note=sent["note"],
            if_match=if_match,
        ),
    )
    if isinstance(out, HTMLResponse):
        return out
    done = f"案件 {case_id} 已办结：{out['decision_label']}"
    if sent["decision"] in RECOVERING_DECISIONS:
        done += f"；地块 {out['parcel_code']} 已转为熟地"
    return redirect(ctx.request, f"{URL}/{case_id}", flash=("success", done))
