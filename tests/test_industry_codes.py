"""GB/T 4754-2017 as package data (landmatch.industry_codes): the table's shape, codes at any
level, the picker's search and what the engine derives from the most specific level."""

from __future__ import annotations

from collections import Counter

import pytest

from landmatch import industry_codes as ic
from landmatch.errors import UnprocessableInput
from landmatch.match.requirements import Requirement
from landmatch.match.rules import allowed_land_uses
from landmatch.match.scores import ZoneInfo, zone_fit


def test_table_counts_per_level() -> None:
    counts = Counter(i.level for i in ic.all_codes())
    # 20 门类, 97 大类, 473 中类 as the standard states; 1,381 小类 (see the module docstring).
    assert counts == {1: 20, 2: 97, 3: 473, 4: 1381}
    assert [i.code for i in ic.all_codes() if i.level == 1] == list("ABCDEFGHIJKLMNOPQRST")


def test_table_is_a_tree_with_consistent_codes() -> None:
    rows = {i.code: i for i in ic.all_codes()}
    for i in rows.values():
        if i.level == 1:
            assert i.parent is None
            continue
        assert i.parent is not None
        parent = rows[i.parent]  # every parent exists
        assert parent.level == i.level - 1
        if i.level > 2:
            assert i.code.startswith(parent.code) and len(i.code) == i.level
        assert i.name and i.name == i.name.strip()
    # Every 中类 has at least one 小类; a 中类 with one 小类 ending in 0 shares its name.
    kids = Counter(i.parent for i in rows.values() if i.level == 4)
    for g in (i for i in rows.values() if i.level == 3):
        assert kids[g.code] >= 1, g.code
        if kids[g.code] == 1 and g.code + "0" in rows:
            assert rows[g.code + "0"].name == g.name
    # Divisions run 01–97 with 门类 ranges as the standard: C is 13–43, T is 97.
    assert [
        d for d, s in ((i.code, i.parent) for i in rows.values() if i.level == 2) if s == "C"
    ] == [str(n) for n in range(13, 44)]


@pytest.mark.parametrize(
    ("raw", "code", "level"),
    [
        ("C", "C", 1),
        ("36", "36", 2),
        ("C36", "36", 2),
        ("367", "367", 3),
        ("3670", "3670", 4),
        ("C3670", "3670", 4),
        ("c 3670", "3670", 4),
        ("0111", "0111", 4),
        ("A0111", "0111", 4),
    ],
)
def test_any_level_with_or_without_letter(raw: str, code: str, level: int) -> None:
    assert ic.normalize(raw) == code
    assert ic.get(raw).level == level


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("A3670", "门类字母不对"),
        ("3699", "没有行业代码"),
        ("99", "没有行业代码"),
        ("Z", "格式不对"),
        ("36701", "格式不对"),
        ("", "格式不对"),
    ],
)
def test_bad_codes_are_refused_in_chinese(raw: str, reason: str) -> None:
    with pytest.raises(UnprocessableInput, match=reason):
        ic.normalize(raw)


def test_names_and_paths() -> None:
    c = ic.get("C3670")
    assert c.name == "汽车零部件及配件制造" and c.full_code == "C3670"
    assert [i.full_code for i in c.lineage()] == ["C", "C36", "C367", "C3670"]
    assert ic.get("3612").name == "新能源车整车制造"
    assert ic.get("6520").name == "集成电路设计"
    assert ic.get("1311").name == "稻谷加工"


def test_search_by_code_and_name() -> None:
    assert [i.code for i in ic.search("C3670")][0] == "3670"
    assert [i.code for i in ic.search("367")][:2] == ["367", "3670"]
    assert {"367", "3670"} <= {i.code for i in ic.search("汽车零部件")}
    # name prefix ranks before a name containing the query
    found = [i.code for i in ic.search("汽车", 50)]
    assert found.index("36") < found.index("5172")
    assert ic.search("不存在的行业") == []


def test_derived_from_the_most_specific_level() -> None:
    # A class listed on its own (electroplating) overrides its division's default.
    assert ic.pollution_class("33") == 2 and ic.pollution_class("3360") == 3
    assert ic.pollution_class("3843") == 3 and ic.pollution_class("3841") == 2
    assert ic.pollution_class("C3670") == 2
    assert ic.pollution_class("C") is None  # a 门类 says nothing
    assert ic.kind("5920") == "logistics" and ic.kind("7340") == "research"
    assert ic.kind("3670") is None
    # Land uses follow: electroplating only on 三类 industrial land, 3670 on 二/三类.
    assert allowed_land_uses(Requirement(industry="3360"))[0] == ["100103"]
    assert allowed_land_uses(Requirement(industry="C3670"))[0] == ["100102", "100103"]
    assert allowed_land_uses(Requirement(industry="5920"))[0][0].startswith("1101")


def test_requirement_accepts_any_level_and_stores_the_canonical_code() -> None:
    assert Requirement(industry="C3670").industry == "3670"
    assert Requirement(industry="c").industry == "C"
    with pytest.raises(ValueError, match="门类字母不对"):
        Requirement(industry="A3670")


def test_zone_fit_and_policy_industries_by_level() -> None:
    zone = ZoneInfo(1, "Z", "区", "130100", "provincial", ["36"], {})
    assert zone_fit(zone, "3670") == 1.0  # within the leading division
    assert zone_fit(zone, "C") == 0.5  # manufacturing, not known to be 36
    assert zone_fit(zone, "6513") == 0.3  # services in a manufacturing zone
    assert ic.related("3670", "36") and ic.related("3670", "C")
    assert not ic.related("36", "3670")  # a policy for 3670 is not known to apply to 36
