"""Policy records as validated models. Database-dependent checks (industry codes, land uses,
scope) live in :func:`check_references`; everything else is checked by the model."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.db.lookups import scope_exists, unknown_industries, unknown_land_uses
from landmatch.errors import UnprocessableInput, validation_reason

#: The largest request body of a policy (``POST``/``PATCH /api/policies``): its texts (some
#: 6,000 characters) and conditions.
MAX_BODY = 64 * 1024
CODE_PATTERN = f"^{vocab.CODE_PATTERN}$"


class PolicyConditions(BaseModel):
    """What a beneficiary must satisfy. Unknown keys are refused so typos cannot silently
    widen a policy."""

    model_config = ConfigDict(extra="forbid")

    min_investment_wan: float | None = Field(None, ge=0, description="最低投资额（万元）")
    enterprise_types: list[str] = Field(default_factory=list, description="企业类型（任一）")
    rd_intensity_min: float | None = Field(
        None, ge=0, le=1, description="研发投入强度下限（研发经费/营业收入，0–1）"
    )
    zone_levels: list[str] = Field(default_factory=list, description="适用开发区级别")
    max_energy_per_value: float | Literal["below_local_average"] | None = Field(
        None, description="单位增加值能耗上限（吨标煤/万元），或“低于当地平均”"
    )
    requires: str | None = Field(None, max_length=500, description="其他前提（文字）")

    @field_validator("enterprise_types")
    @classmethod
    def _types(cls, v: list[str]) -> list[str]:
        out = []
        labels = {label: code for code, label in vocab.ENTERPRISE_TYPES.items()}
        for t in v:
            code = t if t in vocab.ENTERPRISE_TYPES else labels.get(t)
            if code is None:
                raise ValueError(f"未知企业类型 {t}；可选 {', '.join(vocab.ENTERPRISE_TYPES)}")
            out.append(code)
        return out

    @field_validator("zone_levels")
    @classmethod
    def _levels(cls, v: list[str]) -> list[str]:
        vocab.refuse_unknown(v, vocab.ZONE_LEVELS, "开发区级别", ", ")
        return v


class PolicyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    issuer: str = Field(min_length=1, max_length=200)
    doc_no: str | None = Field(None, max_length=200)
    issued_on: dt.date | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    scope_level: str = "province"
    scope_code: str = vocab.PROVINCE_CODE
    industries: list[str] = Field(default_factory=list, description="GB/T 4754 前缀，空=不限")
    statuses: list[str] = Field(default_factory=list, description="地块状态，空=不限")
    land_uses: list[str] = Field(default_factory=list, description="用地用海分类，空=不限")
    benefit_kind: str
    benefit_rate: float | None = Field(None, ge=0, le=10)
    benefit_cap_wan: float | None = Field(None, ge=0)
    benefit_amount_wan: float | None = Field(None, ge=0)
    benefit_basis: str | None = Field(None, max_length=100)
    conditions: PolicyConditions = Field(default_factory=PolicyConditions)
    summary: str = Field(min_length=1, max_length=4000)
    source: str | None = Field(None, max_length=1000)
    visibility: str = "public"

    @field_validator("scope_level")
    @classmethod
    def _scope(cls, v: str) -> str:
        if v not in vocab.POLICY_SCOPES:
            raise ValueError(f"取值应为 {', '.join(vocab.POLICY_SCOPES)}")
        return v

    @field_validator("benefit_kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v in vocab.BENEFIT_KINDS:
            return v
        for code, label in vocab.BENEFIT_KINDS.items():
            if v == label:
                return code
        raise ValueError(f"取值应为 {', '.join(vocab.BENEFIT_KINDS)}")

    @field_validator("statuses")
    @classmethod
    def _statuses(cls, v: list[str]) -> list[str]:
        vocab.refuse_unknown(v, vocab.PARCEL_STATUS, "地块状态", ", ")
        return v

    @field_validator("visibility")
    @classmethod
    def _visibility(cls, v: str) -> str:
        if v not in vocab.VISIBILITY:
            raise ValueError("取值应为 public 或 internal")
        return v

    @field_validator("valid_until")
    @classmethod
    def _validity(cls, v: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("valid_from")
        if v is not None and start is not None and v < start:
            raise ValueError(f"有效期截止日期 {v} 早于开始日期 {start}")
        return v


class PolicyIn(PolicyFields):
    code: str = Field(pattern=CODE_PATTERN)


def _field_of(loc: tuple[Any, ...], msg: str) -> str:
    if loc:
        return ".".join(str(p) for p in loc)
    m = re.match(r"^(?:Value error, )?(\w+)：", msg)
    return m.group(1) if m else ""


def validation_problem(exc: Any, row: int | None = None) -> UnprocessableInput:
    """A pydantic ValidationError as a 422 naming each field (and the row, for imports)."""
    errors = []
    for e in exc.errors():
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        field = _field_of(tuple(e.get("loc", ())), msg)
        item: dict[str, Any] = {"field": field, "reason": validation_reason(e)}
        if row is not None:
            item["row"] = row
        errors.append(item)
    where = f"第 {row} 行：" if row is not None else ""
    fields = "、".join(e["field"] for e in errors if e["field"])
    return UnprocessableInput(f"{where}政策数据校验未通过：{fields}", detail=errors)


def check_references(session: Session, p: PolicyFields, row: int | None = None) -> None:
    """Industry codes, land uses and scope must exist in the database."""
    errors: list[dict[str, Any]] = []
    bad = unknown_industries(session, p.industries)
    if bad:
        errors.append(
            {
                "field": "industries",
                "reason": f"未知国民经济行业代码（GB/T 4754）：{', '.join(bad)}",
            }
        )
    bad = unknown_land_uses(session, p.land_uses)
    if bad:
        errors.append({"field": "land_uses", "reason": f"未知用地用海分类代码：{', '.join(bad)}"})
    if not scope_exists(session, p.scope_level, p.scope_code):
        errors.append(
            {
                "field": "scope_code",
                "reason": f"适用范围不存在：{vocab.label(vocab.POLICY_SCOPES, p.scope_level)} "
                f"{p.scope_code}",
            }
        )
    if errors:
        if row is not None:
            for e in errors:
                e["row"] = row
        where = f"第 {row} 行：" if row is not None else ""
        raise UnprocessableInput(
            where + "；".join(f"{e['field']}：{e['reason']}" for e in errors), detail=errors
        )
