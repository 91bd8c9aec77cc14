"""Areas as people read them (docs/domain.md §0): 亩 to 0.01 and 公顷 to 0.0001, with
thousands separators, written by one helper (``landmatch.numbers``) wherever an area is shown."""

from __future__ import annotations

import doctest

from landmatch import numbers
from landmatch.geo.measure import M2_PER_MU
from landmatch.numbers import ha, mu


def test_the_helper() -> None:
    assert doctest.testmod(numbers).failed == 0
    assert (mu(45761.8), mu(1234.567), mu(80.0), mu(0.004)) == ("45,761.8", "1,234.57", "80", "0")
    assert (mu(45761.8, fixed=True), ha(12.345678), ha(2, fixed=True)) == (
        "45,761.80",
        "12.3457",
        "2.0000",
    )


def test_match_explanation_keeps_the_range_as_asked() -> None:
    from landmatch.match.readable import _area_words

    inside = {"area_mu": 80.3, "range_mu": [10, 80.4]}
    assert _area_words(inside) == "面积 80.3 亩，在 10–80.4 亩 范围内"
    below = {"area_mu": 49.4, "range_mu": [49.6, None]}
    assert _area_words(below) == "面积 49.4 亩，比下限 49.6 亩少 0.2 亩"
    above = {"area_mu": 1250.25, "range_mu": [None, 1200.5]}
    assert _area_words(above) == "面积 1,250.25 亩，比上限 1,200.5 亩多 49.75 亩"


def test_project_board_size() -> None:
    from landmatch.match.pipeline import _size

    assert _size({"area_mu_min": 7.5, "area_mu_max": 12.5}) == "7.5–12.5 亩"
    assert _size({"area_mu_min": 1500}) == "≥1,500 亩"


def test_proposal_and_comparison_give_hectares_to_four_places() -> None:
    from landmatch.match.compare import rows
    from landmatch.match.proposals import public_rows

    m2 = 12_345.6789
    labels = {"land_use": "二类工业用地", "supply_modes": [], "readiness": []}
    card = {"parcel": {"area_m2": m2, "code": "X"}, "labels": labels}
    [area] = [values for label, values in public_rows([card]) if label == "面积"]
    assert area == [f"{mu(m2 / M2_PER_MU)} 亩（1.2346 公顷）"]
    site = {
        "rank": 1,
        "code": "X",
        "area_mu": 18.52,
        "area_ha": 1.2346,
        "time_to_start": {"days": 90},
    }
    [area] = [values for label, values in rows({}, [site]) if label == "面积"]
    assert area == ["18.52 亩（1.2346 公顷）"]


def test_near_miss_change_says_the_relaxation() -> None:
    from landmatch.match.requirements import Requirement
    from landmatch.match.rules import Params, _area

    r = _area(Requirement(area_mu_min=10, area_mu_max=80.4), Params(), False)
    assert r.change is not None and r.relax is not None
    assert r.change(0.203, {}) == "面积上限提高至 80.61 亩（放宽 0.21 亩）"
    assert r.relax(0.203, {}) == {"area_mu_max": 80.61}
    # A lower bound is lowered, never "-0.94": the new bound and by how much, as people say it.
    assert r.change(-0.9412, {}) == "面积下限降至 9.05 亩（放宽 0.95 亩）"
    assert r.relax(-0.9412, {}) == {"area_mu_min": 9.05}
    big = _area(Requirement(area_mu_min=1500), Params(), False)
    assert big.change is not None and big.change(-150.4, {}) == (
        "面积下限降至 1,349.6 亩（放宽 150.4 亩）"
    )
