"""The 标准地 indicators a match checks at a ranked site (docs/domain.md §8): what each was
tested with, in words a person can check, and what stays unconfirmed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.match.engine import run_match
from landmatch.match.readable import relaxed
from landmatch.match.requirements import Requirement
from tests.match.conftest import DLAT, DLON
from tests.match.helpers import TODAY

PROMOTER = Principal(name="t-indicators", role="promoter")


def _around(session: Session, pid: int) -> dict[str, Any]:
    """A location that holds the parcel ``pid`` alone among the test's parcels."""
    x0, y0, x1, y1 = session.execute(
        text(
            "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
            "FROM landmatch.parcel WHERE id = :id"
        ),
        {"id": pid},
    ).one()
    return {"bbox": [x0 - DLON / 4, y0 - DLAT / 4, x1 + DLON / 4, y1 + DLAT / 4]}


def _match(session: Session, pid: int, **req: Any) -> dict[str, Any]:
    body = {
        "land_uses": ["100102"],
        "location": _around(session, pid),
        "assemblies": False,
        **req,
    }
    return run_match(session, Requirement.model_validate(body), PROMOTER, store=False, today=TODAY)


def _site(result: dict[str, Any], code: str) -> dict[str, Any]:
    return next(f["properties"] for f in result["features"] if f["properties"]["code"] == code)


def _code(session: Session, pid: int) -> str:
    return str(
        session.execute(
            text("SELECT code FROM landmatch.parcel WHERE id = :id"), {"id": pid}
        ).scalar_one()
    )


def test_total_investment_alone_leaves_the_intensity_unconfirmed(
    session: Session, make_parcel: Callable[..., int]
) -> None:
    """Without a fixed-asset figure the floor (300 万元/亩 × ≈15 亩 ≈ 4,500 万元) is tested with
    the total investment, an upper bound: the site passes but is marked 未确认, and says so."""
    pid = make_parcel(invest_intensity_min=300)
    code = _code(session, pid)
    res = _match(session, pid, investment_wan=6000)
    site = _site(res, code)
    (check,) = [c for c in site["indicator_checks"] if c["indicator"] == "invest_intensity"]
    assert check["state"] == "unconfirmed" and check["state_label"] == "未确认"
    assert check["required"] == "≥ 300 万元/亩"
    assert check["how"].startswith("总投资 6,000 万元 ÷ ")
    assert "总投资是固定资产投资的上限" in check["how"]
    assert any("投资强度按总投资核验" in w and "未确认" in w for w in site["warnings"])
    assert any("未填写固定资产投资" in w for w in res["warnings"])


def test_fixed_asset_investment_is_what_the_floor_tests(
    session: Session, make_parcel: Callable[..., int]
) -> None:
    pid = make_parcel(invest_intensity_min=300)
    code = _code(session, pid)
    met = _match(session, pid, investment_wan=8000, fixed_asset_investment_wan=5000)
    site = _site(met, code)
    (check,) = site["indicator_checks"]
    assert check["state"] == "met" and check["how"].startswith("固定资产投资 5,000 万元 ÷ ")
    assert not any("投资强度" in w for w in site["warnings"] + met["warnings"])

    # A total that would pass, a fixed-asset investment that does not: the parcel is out,
    # counted, and its near miss asks for more fixed-asset investment within the total.
    short = _match(session, pid, investment_wan=6000, fixed_asset_investment_wan=4400)
    assert not short["features"]
    failed = {f["rule"]: f["count"] for f in short["why_not"]["failed"]}
    assert failed["invest_intensity"] == 1
    (near,) = [n for n in short["why_not"]["near_misses"] if n["code"] == code]
    assert near["change"].startswith("固定资产投资 +")
    fixed = near["relax"]["fixed_asset_investment_wan"]
    assert 4400 < fixed <= 6000 and "investment_wan" not in near["relax"]
    again = Requirement.model_validate(relaxed(short["requirement"], near["relax"]))
    assert run_match(session, again, PROMOTER, store=False, today=TODAY)["features"]


def test_a_relaxed_fixed_asset_investment_raises_the_total_with_it(
    session: Session, make_parcel: Callable[..., int]
) -> None:
    pid = make_parcel(invest_intensity_min=300)
    code = _code(session, pid)
    res = _match(session, pid, investment_wan=4400, fixed_asset_investment_wan=4400)
    (near,) = [n for n in res["why_not"]["near_misses"] if n["code"] == code]
    r = near["relax"]
    assert r["fixed_asset_investment_wan"] == r["investment_wan"] > 4400
    Requirement.model_validate(relaxed(res["requirement"], r))


def test_fixed_asset_investment_within_the_total() -> None:
    with pytest.raises(ValidationError, match="固定资产投资不能大于总投资"):
        Requirement(investment_wan=1000, fixed_asset_investment_wan=1200)
    Requirement(fixed_asset_investment_wan=1200)
