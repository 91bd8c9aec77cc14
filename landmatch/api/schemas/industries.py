"""``/api/industries``: GB/T 4754-2017 codes and what the match derives from one."""

from __future__ import annotations

from pydantic import Field

from landmatch.api.schemas.common import Contract


class IndustryCode(Contract):
    code: str = Field(description="C, 36, 367 or 3670")
    full_code: str = Field(description="with its section letter: C3670")
    level: int
    level_name: str
    name: str
    path: str = Field(description="门类 › 大类 › 中类 › 小类")


class IndustryPage(Contract):
    items: list[IndustryCode]
    count: int


class CodeName(Contract):
    code: str
    name: str


class IndustryDetail(IndustryCode):
    lineage: list[IndustryCode] = Field(description="from the section down to this code")
    children: list[CodeName]
    pollution_class: int | None = Field(description="1–3, or null (treated as 1)")
    pollution_label: str
    kind: str | None = Field(description="logistics, research, or null")
    kind_label: str | None
    land_uses: list[CodeName] = Field(description="land uses a project of it may use")
    compatible_uses: list[CodeName]
