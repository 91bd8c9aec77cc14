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
    assert near["change"].startswith("固定资产投资提高至 ")
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


def test_control_indicators_explained_with_their_source(
    session: Session, make_parcel: Callable[..., int]
) -> None:
    """Planned control indicators against the parcel's published values, else the national
    defaults; a figure meeting the 2008 value but not the uncertain 2023 one is 未确认."""
    own = make_parcel(building_coeff_min=45, far_min=1.0, far_max=2.0)
    bare = make_parcel()
    planned = {
        "industry": "C3670",
        "planned_far": 1.2,
        "planned_building_coeff_pct": 46,
        "planned_green_ratio_pct": 12,
        "planned_admin_ratio_pct": 6,
    }
    site = _site(_match(session, own, **planned), _code(session, own))
    checks = {c["indicator"]: c for c in site["indicator_checks"]}
    assert checks["building_coeff"]["required"] == "≥ 45%（地块公布）"
    assert checks["far"]["required"] == "≥ 1，≤ 2（地块公布）"
    assert checks["green_ratio"]["required"].startswith("≤ 20%（国家控制指标默认值")
    assert checks["admin_ratio"]["required"] == "≤ 7%（国家控制指标）"
    assert {c["state"] for c in checks.values()} == {"met"}

    site = _site(
        _match(session, bare, **{**planned, "planned_building_coeff_pct": 35}),
        _code(session, bare),
    )
    checks = {c["indicator"]: c for c in site["indicator_checks"]}
    assert checks["far"]["required"] == "≥ 0.7（2008 版控制指标行业默认值）"
    coeff = checks["building_coeff"]
    assert coeff["state"] == "unconfirmed" and "2023 版 ≥ 40% 待核实" in coeff["required"]
    assert any(w.startswith("规划建筑系数 35%：要求 ≥ 30%") for w in site["warnings"])

    capped = make_parcel(far_max=1.1)
    site = _site(_match(session, capped, **{**planned, "planned_far": 1.0}), _code(session, capped))
    (far,) = [c for c in site["indicator_checks"] if c["indicator"] == "far"]
    assert far["required"] == "≥ 0.7（2008 版控制指标行业默认值），≤ 1.1（地块公布）"


def test_control_indicators_counted_and_relaxed(
    session: Session, make_parcel: Callable[..., int]
) -> None:
    pid = make_parcel(green_ratio_max=15)
    code = _code(session, pid)
    res = _match(session, pid, planned_green_ratio_pct=16)
    assert not res["features"]
    failed = {f["rule"]: f for f in res["why_not"]["failed"]}
    assert failed["green_ratio"]["count"] == 1
    assert failed["green_ratio"]["label"] == "绿地率超过控制指标"
    (near,) = [n for n in res["why_not"]["near_misses"] if n["code"] == code]
    assert near["change"] == "规划绿地率降至 15%（减少 1 个百分点）" and near["relax"] == {
        "planned_green_ratio_pct": 15
    }


def test_the_uncertain_defaults_are_settings(
    session: Session, make_parcel: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from landmatch.settings import get_settings
    from tests.match.helpers import verdicts

    pid = make_parcel()
    req = {"planned_building_coeff_pct": 35}
    assert verdicts(session, req, pid)["building_coeff"] is True
    monkeypatch.setenv("LANDMATCH_CONTROL_BUILDING_COEFF_HARD_MIN_PCT", "40")
    get_settings.cache_clear()
    try:
        assert verdicts(session, req, pid)["building_coeff"] is False
    finally:
        monkeypatch.delenv("LANDMATCH_CONTROL_BUILDING_COEFF_HARD_MIN_PCT")
        get_settings.cache_clear()


def test_a_changed_control_indicator_is_what_the_next_match_checks(
    session: Session, make_parcel: Callable[..., int]
) -> None:
    """The match reads the parcel's control indicators from its copy in parcel_fact (kept by
    the parcel triggers, migration 0045): an edit of the published 绿地率上限 counts at once."""
    pid = make_parcel(green_ratio_max=15)
    code = _code(session, pid)
    assert not _match(session, pid, planned_green_ratio_pct=16)["features"]
    session.execute(
        text("UPDATE landmatch.parcel SET green_ratio_max = 18 WHERE id = :id"), {"id": pid}
    )
    (site,) = _match(session, pid, planned_green_ratio_pct=16)["features"]
    assert site["properties"]["code"] == code
    session.execute(
        text("UPDATE landmatch.parcel SET green_ratio_max = NULL WHERE id = :id"), {"id": pid}
    )
    (site,) = _match(session, pid, planned_green_ratio_pct=16)["features"]  # the default, 20 %
    checks = {c["indicator"]: c for c in site["properties"]["indicator_checks"]}
    assert checks["green_ratio"]["required"].startswith("≤ 20%（国家控制指标默认值")
