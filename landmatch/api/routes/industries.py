"""``/api/industries``: the GB/T 4754-2017 table for the industry picker, and what the engine
derives from a code given at any level (``landmatch.industry_codes``). Public reference data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from landmatch import industry_codes, vocab
from landmatch.api.schemas.industries import IndustryDetail, IndustryPage
from landmatch.match.requirements import Requirement
from landmatch.match.rules import allowed_land_uses

router = APIRouter(prefix="/api/industries", tags=["industries"])

POLLUTION_NAMES = {1: "一类", 2: "二类", 3: "三类"}
KIND_NAMES = {"logistics": "物流仓储", "research": "研发"}


@router.get(
    "",
    summary="Search GB/T 4754-2017 codes by code or name (the industry picker)",
    response_model=IndustryPage,
)
def search(
    q: Annotated[str, Query(min_length=1, max_length=50, description="代码或名称，如 C367、汽车")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    found = industry_codes.search(q, limit)
    return {"items": [i.as_dict() for i in found], "count": len(found)}


@router.get(
    "/{code}",
    summary="One code at any level, with what matching derives from it",
    response_model=IndustryDetail,
)
def show(
    code: Annotated[str, Path(max_length=10, description="C、36、367、3670 或 C3670")],
) -> dict[str, Any]:
    ind = industry_codes.get(code)
    pc = industry_codes.pollution_class(ind.code)
    kind = industry_codes.kind(ind.code)
    main, compat = allowed_land_uses(Requirement(industry=ind.code))
    children = [i for i in industry_codes.all_codes() if i.parent == ind.code]
    return {
        **ind.as_dict(),
        "lineage": [i.as_dict() for i in ind.lineage()],
        "children": [{"code": i.code, "name": i.name} for i in children],
        "pollution_class": pc,
        "pollution_label": (
            POLLUTION_NAMES[pc] + ("物流仓储" if kind == "logistics" else "工业")
            if pc in POLLUTION_NAMES
            else "未定（按一类对待）"
        ),
        "kind": kind,
        "kind_label": KIND_NAMES.get(kind or ""),
        "land_uses": [{"code": c, "name": vocab.LAND_USE.get(c, c)} for c in main],
        "compatible_uses": [{"code": c, "name": vocab.LAND_USE.get(c, c)} for c in compat],
    }
