"""A match run as ``POST /api/match`` returns it and ``GET /api/match/{id}`` replays it: a GeoJSON
FeatureCollection of ranked parcels (or assemblies of adjacent parcels) with the reasons."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from landmatch.api.schemas.common import Contract, Geometry
from landmatch.api.schemas.parcels import parcel_fields
from landmatch.confidential import CONFIDENTIAL_FIELDS
from landmatch.match.requirements import Requirement


class Criterion(Contract):
    criterion: str
    label: str
    raw: dict[str, Any] | None = Field(None, description="what the score was computed from")
    score: float = Field(description="0–1")
    weight: float = Field(description="its share of the total (weights sum to 1)")
    contribution: float = Field(description="points it adds to the total (0–100)")


class MatchPolicy(Contract):
    code: str
    title: str
    benefit_kind: str | None = Field(description="its label, e.g. 地价优惠")
    value_wan: float | None
    value_note: str | None
    formula: str | None
    missing: str | None = Field(description="what the requirement lacks for a value")


class UtilityCheck(Contract):
    utility: str
    label: str
    need: float | None = None
    capacity: float | None = None
    unit: str | None = None
    state: Literal["met", "short", "unknown"]
    state_label: str


class IndicatorCheck(Contract):
    """A 标准地 / control indicator checked at the site, with the figures a person can check."""

    indicator: str
    label: str
    required: str = Field(description="the parcel's (or the default) requirement, in words")
    planned: float | None = Field(description="the project's figure in ``unit``")
    unit: str
    how: str = Field(description="how the project's figure was got, in words")
    state: Literal["met", "short", "unconfirmed"]
    state_label: str


class TimeParts(Contract):
    status: int
    assessments_missing: list[str]
    assessment_days: int
    utilities_missing: list[str]
    utility_days: int
    levelling_days: int


class TimeToStart(Contract):
    days: int = Field(description="estimated days to the start of works")
    parts: TimeParts
    note: str


class ConstraintHit(Contract):
    """A constraint area the parcel touches: the public learn its kind, staff its name too."""

    kind: str | None
    severity: str | None
    kind_label: str | None = None
    severity_label: str | None = None
    code: str | None = None
    name: str | None = None


class MatchParcelExtras(Contract):
    rank: int
    kind: Literal["parcel"]
    members: list[str] = Field(description="the parcel's code (an assembly lists several)")
    score: float = Field(description="0–100")
    breakdown: list[Criterion]
    policies: list[MatchPolicy]
    policy_value_wan: float
    time_to_start: TimeToStart
    utility_checks: list[UtilityCheck]
    indicator_checks: list[IndicatorCheck] = Field(
        default_factory=list, description="标准地 and control indicators checked (older runs: none)"
    )
    warnings: list[str]
    coming_available: bool = Field(description="not ready yet (included on request)")
    status_label: str | None
    zone_label: str | None
    distances_km: dict[str, float | None]
    constraint_hits: list[ConstraintHit] | None
    current_status: dict[str, str] | None = Field(
        None,
        description="staff replaying a run: members whose status changed since (code → status "
        "now, deleted once deleted)",
    )


# A run serves everyone it is shared with: it never carries the confidential fields.
MatchParcelProperties = create_model(  # type: ignore[call-overload]
    "MatchParcelProperties",
    __base__=MatchParcelExtras,
    __doc__="A ranked parcel: its fields (never the confidential ones) and why it ranks there.",
    **parcel_fields(exclude=CONFIDENTIAL_FIELDS),
)


class MatchAssemblyProperties(Contract):
    """Adjacent parcels that together meet the area the project needs."""

    rank: int
    kind: Literal["assembly"]
    name: str = Field(description="组合地块")
    members: list[str] = Field(description="the parcels' codes")
    score: float
    area_mu: float
    status: str
    city_code: str
    total_price_wan: float | None
    coming_available: bool
    breakdown: list[Criterion]
    warnings: list[str]
    current_status: dict[str, str] | None = Field(
        None,
        description="staff replaying a run: members whose status changed since (code → status "
        "now, deleted once deleted)",
    )


class MatchParcelFeature(Contract):
    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: MatchParcelProperties  # type: ignore[valid-type]


class MatchAssemblyFeature(Contract):
    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: MatchAssemblyProperties


class FailedRule(Contract):
    rule: str
    label: str
    count: int = Field(description="parcels in scope failing it (estimated when sampled)")
    statuses: list[str | None] | None = None


class NearMiss(Contract):
    code: str
    rule: str
    label: str
    gap: float
    change: str = Field(description="the change to the requirement that would admit it (中文)")
    relax: dict[str, Any] | None = Field(description="that change, as a requirement patch")
    area_mu: float


class Sample(Contract):
    rows: int
    pages_percent: float


class WhyNot(Contract):
    considered: int
    passed: int
    estimated: bool
    sample: Sample | None
    failed: list[FailedRule]
    near_misses: list[NearMiss]


class Timing(Contract):
    candidate_query: float
    why_not: float
    total: float


class MatchResult(Contract):
    type: Literal["FeatureCollection"]
    match_id: str
    created_at: dt.datetime
    as_of: dt.date
    public: bool = Field(description="ranked as the public sees the inventory")
    data_version: int
    requirement: Requirement
    weights: dict[str, float]
    features: list[MatchParcelFeature | MatchAssemblyFeature]
    numberReturned: int = Field(description="ranked parcels (assemblies not counted)")
    assemblies: int
    withdrawn: int = Field(
        0,
        description="the public replaying a run: ranked parcels no longer public ready land, "
        "left out with their assemblies",
    )
    why_not: WhyNot
    policy_texts: dict[str, str | None] = Field(description="each cited policy's summary, once")
    warnings: list[str]
    timing_ms: Timing


class RequirementSchema(BaseModel):
    """The JSON Schema (2020-12) of :class:`Requirement`, as pydantic writes it: ``properties``
    and ``$defs`` are JSON Schema of their own (other keywords may appear, so extra keys are
    allowed here)."""

    model_config = ConfigDict(extra="allow")

    title: str
    type: Literal["object"]
    properties: dict[str, dict[str, Any]]
    required: list[str] = []
