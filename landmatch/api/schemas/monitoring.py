"""``/api/monitoring``: the dashboard's summary (inventory by city and status, idle-land stages
(Order 53), the 批而未供 stock by age, disposal targets, zone KPIs, overdue steps) and each
table behind it — the idle-land scan, 批而未供, transfer routes, targets, disposal cases with
their steps, the idle thresholds."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from landmatch.api.schemas.common import Contract, Timestamp
from landmatch.monitoring.idle import FEE_RATE_MAX


class CityStatusArea(Contract):
    city_code: str
    city_name: str | None
    status: str
    status_label: str | None
    parcels: int
    area_m2: float


class IdleStage(Contract):
    stage: str
    label: str
    count: int
    area_m2: float
    area_mu: float


class UnsuppliedAge(Contract):
    city_code: str
    city_name: str | None
    lt2_m2: float = Field(description="approved less than 2 years ago, not supplied")
    from2to5_m2: float = Field(alias="2to5_m2", description="2 to 5 years")
    gt5_m2: float = Field(description="more than 5 years")
    unsupplied_m2: float
    ready_m2: float


class UnsuppliedBand(Contract):
    band: str
    label: str
    parcels: int
    area_m2: float
    area_mu: float


class TargetProgress(Contract):
    city_code: str
    city_name: str | None
    year: int
    kind: str
    kind_label: str
    target_area_m2: float
    done_area_m2: float
    target_mu: float
    done_mu: float
    cases: int
    progress: float = Field(description="done / target")
    time_elapsed: float = Field(description="share of the target's period gone by")
    deadline: dt.date
    days_left: int
    state: str
    source: str | None
    version: int = Field(description="the target's version (its ETag: etag)")
    etag: str = Field(description="If-Match of a change of this target")


class TargetSetting(Contract):
    """One disposal target as set; the ETag is its version (0: not set yet)."""

    city_code: str
    city_name: str
    year: int
    kind: str
    kind_label: str
    target_area_m2: float | None = Field(description="None: not set yet")
    deadline: dt.date | None
    default_deadline: dt.date = Field(description="30 September of the year")
    source: str | None
    version: int
    updated_at: Timestamp | None


class ZoneKpis(Contract):
    code: str
    name: str
    city_code: str | None
    city_name: str | None
    level: str
    kind: str | None
    parcels: int
    zone_area_m2: float | None
    approved_m2: float | None
    supplied_m2: float | None
    ready_m2: float | None
    idle_m2: float | None
    supply_rate: float | None
    built_up_rate: float | None
    industrial_far: float | None
    invest_intensity_wan_per_mu: float | None
    tax_wan_per_ha: float | None
    supply_rate_pct: float | None = Field(description="percentile among the zones shown")
    built_up_rate_pct: float | None
    industrial_far_pct: float | None
    invest_intensity_wan_per_mu_pct: float | None
    tax_wan_per_ha_pct: float | None
    score: float | None
    rank: int | None


class OverdueStep(Contract):
    case_id: int
    kind: str
    city_code: str
    city_name: str | None
    parcel_code: str
    parcel_name: str | None
    step: str
    step_label: str | None
    due_on: dt.date
    days_overdue: int
    message: str


class MonitoringSummary(Contract):
    as_of: dt.date
    city: str | None = Field(description="the city shown; none: the whole province")
    city_name: str
    computed_at: Timestamp = Field(description="when the inventory figures were computed")
    updating: bool = Field(
        description="the inventory changed since, or the day has none yet: newer figures are "
        "being computed"
    )
    figures_as_of: dt.date = Field(
        description="the day the inventory figures are of: as_of, or an earlier day's while "
        "as_of's are computed"
    )
    statuses: dict[str, str] = Field(description="parcel status → label")
    cities: dict[str, str] = Field(description="city code → name, of the scope")
    area_by_city_status: list[CityStatusArea]
    idle_stages: list[IdleStage]
    idle_fee_total_wan: float
    unsupplied_age: list[UnsuppliedAge]
    unsupplied_bands: list[UnsuppliedBand]
    targets: list[TargetProgress]
    zones: list[ZoneKpis]
    alerts: list[OverdueStep] = Field(description="overdue disposal steps, most overdue first")


class IdleCity(Contract):
    """Parcels per stage of one city, and its idle area (idle_fee, recoverable, gov_caused)."""

    city_code: str
    city_name: str | None
    normal: int
    at_risk: int
    idle_fee: int
    recoverable: int
    gov_caused: int
    unknown: int
    idle_area_m2: float


class IdleParcel(Contract):
    """A supplied or idle parcel with its stage on the day (``monitoring_idle.sql``)."""

    id: int
    code: str
    name: str | None
    city_code: str
    county_code: str | None
    zone_id: int | None
    status: str
    area_m2: float
    area_mu: float
    holder: str | None
    land_price_wan: float | None
    contract_date: dt.date | None
    agreed_start_date: dt.date | None
    start_extended: bool | None = Field(
        description="the agreed start date is a deadline extended by a disposal decision"
    )
    actual_start_date: dt.date | None
    stopped_since: dt.date | None
    developed_ratio: float | None
    invest_ratio: float | None
    invested_wan: float | None
    total_investment_wan: float | None
    gov_caused: bool | None
    gov_cause: str | None
    start_due: dt.date | None
    clause: str | None = Field(description="what started the clock: not started, or stalled")
    days: int | None = Field(description="days since the clock started")
    days_to_idle: int | None
    underlying: str | None = Field(description="the stage before a government cause")
    stage: str
    stage_label: str
    fee_wan: float | None = Field(description="idle-land fee due (万元)")
    flags: list[str]
    flag_labels: list[str]


class IdleReport(Contract):
    as_of: dt.date
    fee_rate_default: float
    scanned: int
    stages: list[IdleStage]
    fee_total_wan: float
    flagged_fallback: int = Field(description="parcels whose start date is the fallback")
    by_city: list[IdleCity]
    numberMatched: int
    numberReturned: int
    items: list[IdleParcel]


class UnsuppliedRow(Contract):
    city_code: str
    county_code: str | None
    status: str
    band: Literal["lt2", "2to5", "gt5"]
    parcels: int
    area_m2: float


class UnsuppliedAgeBands(Contract):
    as_of: dt.date
    bands: list[UnsuppliedBand]
    by_city: list[UnsuppliedAge]
    rows: list[UnsuppliedRow]


class Cohort(Contract):
    from_year: int
    to_year: int


class SupplyRate(Contract):
    city_code: str
    city_name: str | None
    county_code: str | None
    level: Literal["city", "county"]
    five_year_approved_m2: float
    five_year_supplied_m2: float
    five_year_rate: float | None
    last_year_approved_m2: float
    last_year_supplied_m2: float
    last_year_rate: float | None


class SupplyRates(Contract):
    as_of: dt.date
    cohorts: dict[str, Cohort] = Field(description="five_year and last_year: approval years")
    rows: list[SupplyRate]


class Batch(Contract):
    """An approval batch: approved minus supplied geometry."""

    id: int
    code: str
    name: str | None
    doc_no: str | None
    approval_date: dt.date
    city_code: str
    county_code: str | None
    approved_m2: float
    supplied_m2: float
    unsupplied_m2: float
    unsupplied_mu: float
    parcels: int
    band: Literal["lt2", "2to5", "gt5"]
    supply_rate: float | None


class Batches(Contract):
    as_of: dt.date
    rows: list[Batch]
    approved_m2: float
    unsupplied_m2: float


class Unsupplied(Contract):
    as_of: dt.date
    age: UnsuppliedAgeBands
    supply_rates: SupplyRates
    batches: Batches


class TransferRow(Contract):
    code: str
    name: str | None
    city_code: str
    city_name: str | None
    county_code: str | None
    status: str
    holder: str | None
    area_m2: float
    total_investment_wan: float | None
    invested_wan: float | None
    ratio: float | None
    route: Literal["transferable_now", "notice_registration", "unknown"]
    route_label: str


class TransferRoutes(Contract):
    threshold: float = Field(description="the investment share that makes land transferable")
    counts: dict[str, int] = Field(description="route → parcels")
    rows: list[TransferRow]


class ZoneRanking(Contract):
    as_of: dt.date
    kpis: dict[str, str] = Field(description="KPI → label")
    zones: list[ZoneKpis]


class Targets(Contract):
    as_of: dt.date
    year: int
    targets: list[TargetProgress]


class Alerts(Contract):
    as_of: dt.date
    count: int
    items: list[OverdueStep]


class _CaseRecord(Contract):
    """A disposal case's own row (``disposal_case``) with its labels and parcel code."""

    id: int
    parcel_id: int
    parcel_code: str
    kind: str
    kind_label: str
    status: Literal["open", "closed"]
    city_code: str
    area_m2: float
    stage_at_open: str | None
    opened_on: dt.date
    decision: str | None
    decision_label: str | None
    decided_on: dt.date | None
    closed_on: dt.date | None
    fee_wan: float | None
    new_start_date: dt.date | None
    note: str | None
    opened_by: str | None
    version: int
    created_at: Timestamp
    updated_at: Timestamp


class CaseListed(_CaseRecord):
    """A disposal case as listed: with its next step and that step's deadline."""

    parcel_name: str | None
    next_step: str | None
    next_step_label: str | None
    next_due: dt.date | None


class CaseList(Contract):
    count: int
    items: list[CaseListed]


class Step(Contract):
    id: int
    case_id: int
    seq: int
    kind: str
    label: str
    due_on: dt.date
    done_on: dt.date | None
    doc_no: str | None
    note: str | None
    actor: str | None
    updated_at: Timestamp


class Case(_CaseRecord):
    """One disposal case with its steps (the ETag is its version)."""

    steps: list[Step]


class IdleThresholds(Contract):
    """Idle-land thresholds (calendar months, ratios, the fee rate)."""

    idle_after_months: int
    recover_after_months: int
    at_risk_window_months: int
    stall_min_months: int
    developed_ratio_min: float
    invest_ratio_min: float
    start_fallback_months: int
    fee_rate: float | None
    stalled_clause: bool


class CityThresholds(IdleThresholds):
    city_code: str = Field(description="130000: the province's default")
    note: str | None
    updated_by: str | None
    updated_at: Timestamp
    version: int = Field(description="the version of the city's rule set (its ETag)")


class CityRules(Contract):
    rules: list[CityThresholds] = Field(description="the cities' own thresholds")


class CityRuleSet(Contract):
    """One city's own thresholds and those in force; the ETag is the rule set's version."""

    city_code: str
    city_name: str
    version: int = Field(description="0: the city has no thresholds of its own yet")
    own: CityThresholds | None = Field(description="the city's own thresholds, if any")
    effective: IdleThresholds = Field(
        description="in force: the city's, the province's, the defaults"
    )


class Rules(CityRules):
    defaults: IdleThresholds = Field(description="the built-in defaults")


class ExportJob(Contract):
    id: int
    state: Literal["queued", "running", "done", "failed"]
    state_label: str = Field(description="排队中, 正在导出, 已完成, 失败")
    stage: str | None = Field(description="the sheet being written (中文)")
    done: int = Field(description="rows of the parcel sheets (闲置土地, 转让路径) written")
    total: int = Field(description="rows of the parcel sheets to write")
    percent: int = Field(ge=0, le=100)
    city: str | None = Field(description="the city exported; none: the whole province")
    city_name: str
    as_of: dt.date
    filename: str
    size: int | None = Field(description="the file's bytes, once done")
    error: str | None = Field(description="why it failed (中文)")
    created_at: Timestamp
    status_url: str
    file_url: str | None = Field(description="the workbook, once done")


# ---- the settings' inputs (the API's bodies and the workbench forms' values) ---------------


class TargetIn(Contract):
    city_code: str = Field(pattern=r"^\d{6}$")
    year: int = Field(ge=2000, le=2100)
    kind: Literal["idle", "unsupplied"]
    target_area_m2: float = Field(ge=0, le=1e11)
    deadline: dt.date | None = None
    source: str | None = Field(None, max_length=500)


class RuleIn(Contract):
    # Calendar months (12 = 满一年, 24 = 满两年): periods end on anniversaries, not day counts.
    idle_after_months: int | None = Field(None, ge=1, le=120)
    recover_after_months: int | None = Field(None, ge=2, le=240)
    at_risk_window_months: int | None = Field(None, ge=0, le=120)
    stall_min_months: int | None = Field(None, ge=1, le=120)
    developed_ratio_min: float | None = Field(None, ge=0, le=1)
    invest_ratio_min: float | None = Field(None, ge=0, le=1)
    start_fallback_months: int | None = Field(None, ge=0, le=120)
    fee_rate: float | None = Field(None, ge=0, le=FEE_RATE_MAX)  # 城市房地产管理法 Art. 26
    stalled_clause: bool | None = None
