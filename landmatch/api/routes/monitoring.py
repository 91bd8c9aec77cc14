"""``/api/monitoring``: idle land, 批而未供, transfer routes, disposal cases, targets, zone KPIs.

Reading needs a staff token (any role); writing cases, targets and rules needs admin or a
bureau within its city. Nothing here is ever public (architecture: idle-land cases are internal).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from landmatch.api.deps import JobSessionDep, PrincipalDep, SessionDep, SettingsDep
from landmatch.api.etags import tagged
from landmatch.api.media import XLSX, files
from landmatch.api.schemas.monitoring import (
    Alerts,
    Case,
    CaseList,
    CityRules,
    CityRuleSet,
    ExportJob,
    IdleReport,
    MonitoringSummary,
    RuleIn,
    Rules,
    TargetIn,
    Targets,
    TargetSetting,
    TransferRoutes,
    Unsupplied,
    ZoneRanking,
)
from landmatch.dates import beijing_today
from landmatch.db.locking import etag
from landmatch.monitoring import (
    cases,
    export,
    export_jobs,
    rules,
    scan,
    summary,
    targets,
    transfer,
    unsupplied,
    zones,
)
from landmatch.monitoring.rules import default_rule
from landmatch.monitoring.terms import DECISIONS, IDLE_STAGES, STEP_KINDS

router = APIRouter(prefix="/api/monitoring", tags=["monitoring"])

AsOf = Annotated[dt.date | None, Query(description="统计日期 YYYY-MM-DD（默认今天）")]
City = Annotated[str | None, Query(pattern=r"^\d{6}$", description="城市代码")]
IfMatch = Annotated[str | None, Header(description="The case's ETag (from GET)")]
SettingIfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The setting's ETag (from its GET; a setting not yet made is version 0)",
    ),
]


def _day(as_of: dt.date | None) -> dt.date:
    return as_of or beijing_today()


def summary_session(request: Request, session: SessionDep, city: City = None) -> Iterator[Session]:
    """One city's summary (or idle-land scan) runs within the request's statement limit; the
    whole province's (every parcel scanned) on the job session's, as exports do."""
    if city:
        yield session
        return
    with request.app.state.job_sessions() as job:
        yield job


ScanSessionDep = Annotated[Session, Depends(summary_session)]


@router.get(
    "/idle", summary="Idle-land stages of the inventory (Order 53)", response_model=IdleReport
)
def idle(
    session: ScanSessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    as_of: AsOf = None,
    city: City = None,
    stage: Annotated[Literal[tuple(IDLE_STAGES)] | None, Query()] = None,  # type: ignore[valid-type]
    limit: Annotated[int, Query(ge=0, le=100_000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    report = scan.idle_report(
        session,
        principal,
        _day(as_of),
        default_rule(settings.idle_fee_rate),
        city=city,
        stage=stage,
        limit=limit,
        offset=offset,
    )
    # Sent as built, as the summary (up to 100 000 rows; the model documents it and
    # tests/api/test_contracts_accounts_monitoring.py holds it to it).
    return JSONResponse(report)


@router.get(
    "/unsupplied",
    summary="批而未供: age bands, supply rates, spatial measure per batch",
    response_model=Unsupplied,
)
def unsupplied_stock(
    session: SessionDep, principal: PrincipalDep, as_of: AsOf = None, city: City = None
) -> dict[str, Any]:
    day = _day(as_of)
    return {
        "as_of": day.isoformat(),
        "age": unsupplied.age_bands(session, principal, day, city),
        "supply_rates": unsupplied.supply_rates(session, principal, day, city),
        "batches": unsupplied.batches(session, principal, day, city),
    }


@router.get(
    "/transfer",
    summary="Transfer route of each supplied parcel (25 % investment test)",
    response_model=TransferRoutes,
)
def transfer_route(
    session: SessionDep, principal: PrincipalDep, city: City = None
) -> dict[str, Any]:
    return transfer.transfer_routes(session, principal, city)


@router.get("/zones", summary="Development-zone KPIs, ranked", response_model=ZoneRanking)
def zone_kpis(
    session: SessionDep, principal: PrincipalDep, as_of: AsOf = None, city: City = None
) -> dict[str, Any]:
    return zones.zone_kpis(session, principal, _day(as_of), city)


@router.get(
    "/targets",
    summary="Annual disposal targets per city with progress",
    response_model=Targets,
)
def target_progress(
    session: SessionDep,
    principal: PrincipalDep,
    as_of: AsOf = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    city: City = None,
) -> dict[str, Any]:
    return targets.progress(session, principal, _day(as_of), year, city)


@router.get(
    "/targets/{city_code}/{year}/{kind}",
    summary="One disposal target as set, with its ETag (version 0: not set yet)",
    response_model=TargetSetting,
)
def get_target(
    city_code: str,
    year: Annotated[int, Path(ge=2000, le=2100)],
    kind: Literal["idle", "unsupplied"],
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
) -> dict[str, Any]:
    out = targets.get_target(session, principal, city_code, year, kind)
    response.headers["ETag"] = etag(targets.target_key(city_code, year, kind), out["version"])
    return out


@router.put(
    "/targets",
    summary="Set a city's annual disposal target (deadline: 30 Sept); needs If-Match",
    response_model=Targets,
)
def put_target(
    body: TargetIn,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    if_match: SettingIfMatch = None,
) -> dict[str, Any]:
    version = targets.set_target(session, principal, **body.model_dump(), if_match=if_match)
    session.commit()
    key = targets.target_key(body.city_code, body.year, body.kind)
    response.headers["ETag"] = etag(key, version)
    return targets.progress(session, principal, beijing_today(), body.year, body.city_code)


@router.get("/alerts", summary="Overdue steps of open disposal cases", response_model=Alerts)
def alerts(
    session: SessionDep, principal: PrincipalDep, as_of: AsOf = None, city: City = None
) -> dict[str, Any]:
    items = cases.overdue(session, principal, _day(as_of), city)
    return {"as_of": _day(as_of).isoformat(), "count": len(items), "items": items}


@router.get("/cases", summary="Disposal cases", response_model=CaseList)
def list_cases(
    session: SessionDep,
    principal: PrincipalDep,
    city: City = None,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 500,
) -> dict[str, Any]:
    items = cases.list_cases(session, principal, city=city, status=status, limit=limit)
    return {"count": len(items), "items": items}


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parcel_code: str = Field(min_length=3, max_length=64)
    opened_on: dt.date | None = None
    note: str | None = Field(None, max_length=2000)


@router.post(
    "/cases", status_code=201, summary="Open a disposal case for a parcel", response_model=Case
)
def open_case(
    body: CaseIn,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    response: Response,
) -> dict[str, Any]:
    out = cases.open_case(
        session,
        principal,
        body.parcel_code,
        opened_on=body.opened_on or beijing_today(),
        fee_rate=settings.idle_fee_rate,
        note=body.note,
    )
    session.commit()
    return tagged(response, out["id"], out)


@router.get("/cases/{case_id}", summary="One disposal case with its steps", response_model=Case)
def get_case(
    case_id: int, session: SessionDep, principal: PrincipalDep, response: Response
) -> dict[str, Any]:
    return tagged(response, case_id, cases.get_case(session, principal, case_id))


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal[tuple(k for k in STEP_KINDS if k != "decision")]  # type: ignore[valid-type]
    done_on: dt.date
    doc_no: str | None = Field(None, max_length=200)
    note: str | None = Field(None, max_length=2000)


@router.post(
    "/cases/{case_id}/steps",
    summary="Record the next step as done; needs If-Match",
    response_model=Case,
)
def complete_step(
    case_id: int,
    body: StepIn,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    out = cases.complete_step(
        session,
        principal,
        case_id,
        body.kind,
        done_on=body.done_on,
        doc_no=body.doc_no,
        note=body.note,
        if_match=if_match,
    )
    session.commit()
    return tagged(response, case_id, out)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The vocabulary (landmatch.monitoring.terms), checked against the case's kind by the service.
    # started / not_idle close an idle-land case without a disposal, at any step.
    decision: Literal[tuple(DECISIONS)]  # type: ignore[valid-type]
    decided_on: dt.date
    fee_wan: float | None = Field(None, ge=0, le=1e9)
    new_start_date: dt.date | None = None
    new_land_use: str | None = Field(None, max_length=8)
    publish: bool = Field(True, description="收回后作为熟地公开（公开地图与公开匹配可见）")
    doc_no: str | None = Field(None, max_length=200)
    note: str | None = Field(
        None, max_length=2000, description="备注；“不构成闲置，撤销”（not_idle）时为必填的理由"
    )


@router.post(
    "/cases/{case_id}/decision",
    summary="Decide (or close without a disposal: started, not_idle), close the case, update "
    "the parcel; needs If-Match",
    response_model=Case,
)
def decide(
    case_id: int,
    body: DecisionIn,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    d = body.model_dump()
    decision = d.pop("decision")
    out = cases.decide(
        session,
        principal,
        case_id,
        decision,
        fee_rate=settings.idle_fee_rate,
        if_match=if_match,
        **d,
    )
    session.commit()
    return tagged(response, case_id, out)


@router.get("/rules", summary="Idle-land thresholds per city", response_model=Rules)
def get_rules(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    return {
        "rules": rules.rules_for(session, principal),
        "defaults": default_rule(settings.idle_fee_rate).__dict__,
    }


@router.get(
    "/rules/{city_code}",
    summary="One city's own idle-land thresholds and those in force, with the ETag of its "
    "rule set (version 0: none of its own yet)",
    response_model=CityRuleSet,
)
def get_city_rules(
    city_code: str,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    response: Response,
) -> dict[str, Any]:
    out = rules.city_rules(session, principal, city_code, settings.idle_fee_rate)
    response.headers["ETag"] = etag(city_code, out["version"])
    return out


@router.put(
    "/rules/{city_code}",
    summary="Set a city's idle-land thresholds (130000 = province); needs If-Match",
    response_model=CityRules,
)
def put_rule(
    city_code: str,
    body: RuleIn,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    if_match: SettingIfMatch = None,
) -> dict[str, Any]:
    version = rules.edit_rule(
        session, principal, city_code, body.model_dump(exclude_none=True), if_match=if_match
    )
    session.commit()
    response.headers["ETag"] = etag(city_code, version)
    return {"rules": rules.list_rules(session)}


@router.get(
    "/summary",
    summary="Everything the dashboard draws, for one city or the province",
    response_model=MonitoringSummary,
)
def dashboard_summary(
    request: Request,
    session: ScanSessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    as_of: AsOf = None,
    city: City = None,
) -> JSONResponse:
    """A city bureau sees its own city (asking for another is refused); everyone else the city
    asked for, or the whole province without ``city``. When the inventory changed since the
    figures were computed, the latest are sent (``updating``) while new ones are computed."""
    rule = default_rule(settings.idle_fee_rate)
    figures = request.app.state.figures
    data = summary.dashboard_data(session, principal, _day(as_of), rule, city, figures)
    session.commit()  # the figures computed here are kept for the other workers
    # Sent as built (the model documents it; tests/api/test_contracts.py holds it to it).
    return JSONResponse(data)


@router.get(
    "/export.xlsx",
    summary="Excel workbook of every monitoring table",
    response_class=Response,
    responses=files(XLSX),
)
def export_xlsx(
    session: JobSessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    as_of: AsOf = None,
    city: City = None,
) -> Response:
    day = _day(as_of)
    # Written to a temporary file (the idle sheet streams from the database into it) and
    # sent from there: a province's workbook is never held in memory.
    fd, path = tempfile.mkstemp(prefix=export.temp_prefix("monitoring"), suffix=".xlsx")
    os.close(fd)
    try:
        rule = default_rule(settings.idle_fee_rate)
        city = export.write_workbook(session, principal, day, rule, city, path)
    except BaseException:
        os.unlink(path)
        raise
    name = export.filename(city, day)
    return FileResponse(
        path, media_type=XLSX, filename=name, background=BackgroundTask(os.unlink, path)
    )


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: dt.date | None = Field(None, description="统计日期（默认今天）")
    city: str | None = Field(None, pattern=r"^\d{6}$", description="城市代码（默认全省）")


@router.post(
    "/exports",
    status_code=202,
    response_model=ExportJob,
    summary="Start the Excel workbook as a background job (progress at its status_url)",
)
def start_export(
    body: ExportIn,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    conn = session.connection()
    job_id = export_jobs.start(conn, principal, _day(body.as_of), body.city)
    job = export_jobs.job_for(conn, principal, job_id)
    session.commit()
    request.app.state.exporter.submit(job_id, principal, default_rule(settings.idle_fee_rate))
    response.headers["Location"] = f"/api/monitoring/exports/{job_id}"
    return export_jobs.view(job)


@router.get("/exports/{job_id}", response_model=ExportJob, summary="An export job's progress")
def export_status(job_id: int, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    return export_jobs.view(export_jobs.job_for(session.connection(), principal, job_id))


@router.get(
    "/exports/{job_id}/file",
    summary="A finished export job's workbook",
    response_class=Response,
    responses=files(XLSX),
)
def export_file(
    job_id: int, request: Request, session: SessionDep, principal: PrincipalDep
) -> StreamingResponse:
    job = export_jobs.job_for(session.connection(), principal, job_id)
    chunks = export_jobs.file_chunks(request.app.state.job_engine, job)
    return StreamingResponse(
        chunks,
        media_type=XLSX,
        headers={
            "Content-Length": str(job["size"]),
            "Content-Disposition": f'attachment; filename="{job["filename"]}"',
        },
    )
