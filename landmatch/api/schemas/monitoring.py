"""The land-monitoring dashboard (``/api/monitoring/summary``): inventory by city and status,
idle-land stages (Order 53), the 批而未供 stock by age, disposal targets, zone KPIs, overdue
steps."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from landmatch.api.schemas.common import Contract


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
    computed_at: dt.datetime = Field(description="when the inventory figures were computed")
    updating: bool = Field(
        description="the inventory changed since: newer figures are being computed"
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


class ExportJob(Contract):
    id: int
    state: Literal["queued", "running", "done", "failed"]
    state_label: str = Field(description="排队中, 正在导出, 已完成, 失败")
    stage: str | None = Field(description="the sheet being written (中文)")
    done: int = Field(description="idle-land rows written")
    total: int = Field(description="idle-land rows to write")
    percent: int = Field(ge=0, le=100)
    city: str | None = Field(description="the city exported; none: the whole province")
    city_name: str
    as_of: dt.date
    filename: str
    size: int | None = Field(description="the file's bytes, once done")
    error: str | None = Field(description="why it failed (中文)")
    created_at: dt.datetime
    status_url: str
    file_url: str | None = Field(description="the workbook, once done")
