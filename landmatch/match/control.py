"""工业项目建设用地控制指标 (docs/domain.md §8): the national defaults a project's planned
indicators are checked against where a parcel publishes none of its own — the one place they
are kept.

* 建筑系数 ≥ 30 % (2008 edition, [V]); the 2023 edition's 40 % is [GK?]: below the hard value a
  project fails, between the two it passes marked 未确认. Both are settings
  (``LANDMATCH_CONTROL_BUILDING_COEFF_HARD_MIN_PCT`` / ``…_MIN_PCT``).
* 绿地率 ≤ 20 % (2008, [V]); 15 % suspected for 2023 [GK?]: the same two settings
  (``LANDMATCH_CONTROL_GREEN_RATIO_HARD_MAX_PCT`` / ``…_MAX_PCT``).
* 行政办公及生活服务设施用地比例 ≤ 7 % (2004 and 2008 [V], kept in 2023): a constant.
* 容积率 ≥ the 2008 table's floor for the project's manufacturing division (GB/T 4754-2017
  codes; half of the table [V], the rest [GK]).

The defaults hold on industrial land (用途 1001xx) only; a parcel's own published values hold
wherever they are published."""

from __future__ import annotations

from dataclasses import dataclass

from landmatch.settings import get_settings

ADMIN_RATIO_MAX_PCT = 7.0

# The 2008 minimum FAR by division (GB/T 4754-2017), domain-rules.md §3.3. 29 橡胶和塑料 takes
# the 2002 橡胶 0.8 (塑料 was 1.0), 24 the 文教体育用品 1.0.
FAR_MIN_BY_DIVISION: dict[str, float] = {
    "13": 1.0,
    "14": 1.0,
    "15": 1.0,
    "16": 1.0,
    "17": 0.8,
    "18": 1.0,
    "19": 1.0,
    "20": 0.8,
    "21": 0.8,
    "22": 0.8,
    "23": 0.8,
    "24": 1.0,
    "25": 0.5,
    "26": 0.6,
    "27": 0.7,
    "28": 0.8,
    "29": 0.8,
    "30": 0.7,
    "31": 0.6,
    "32": 0.6,
    "33": 0.7,
    "34": 0.7,
    "35": 0.7,
    "36": 0.7,
    "37": 0.7,
    "38": 0.7,
    "39": 1.0,
    "40": 1.0,
    "41": 1.0,
}


@dataclass(frozen=True, slots=True)
class Band:
    """A default threshold: ``hard`` decides the rule, ``advisory`` (stricter, uncertain)
    marks a passing figure 未确认."""

    hard: float
    advisory: float


def building_coeff_min() -> Band:
    s = get_settings()
    hard = s.control_building_coeff_hard_min_pct
    return Band(hard, max(hard, s.control_building_coeff_min_pct))


def green_ratio_max() -> Band:
    s = get_settings()
    hard = s.control_green_ratio_hard_max_pct
    return Band(hard, min(hard, s.control_green_ratio_max_pct))


def far_min(industry: str | None) -> float | None:
    """The 2008 FAR floor of the project's division; None outside manufacturing or unknown.

    >>> far_min("C3670"), far_min("26"), far_min("59"), far_min(None)
    (0.7, 0.6, None, None)
    """
    if not industry:
        return None
    digits = industry.lstrip("ABCDEFGHIJKLMNOPQRST")
    return FAR_MIN_BY_DIVISION.get(digits[:2])
