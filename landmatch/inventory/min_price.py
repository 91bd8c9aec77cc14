"""The national 工业用地出让最低价标准 (国土资发〔2006〕307号, docs/domain.md §10) [GK]: 15 grades
of county, each a floor in 元/m² a 出让底价 of industrial land (用途 1001xx) should not be
below. Which grade each county has is data the provincial department publishes: a setting
(``LANDMATCH_INDUSTRIAL_PRICE_GRADES``, county or city code → grade); without one, nothing is
checked. Priority industries may be priced at no less than 70 % of the floor (国土资发〔2009〕56
号 [GK]), so a price below it is a warning to check, never a refusal.

>>> floor_wan_per_mu(1), floor_wan_per_mu(15)
(56.0, 4.0)
"""

from __future__ import annotations

from landmatch.geo.measure import M2_PER_MU
from landmatch.numbers import num
from landmatch.settings import get_settings

# 元/m², grade 1 to 15.
GRADE_FLOORS_YUAN_M2: tuple[int, ...] = (
    840,
    720,
    600,
    480,
    384,
    336,
    288,
    252,
    204,
    168,
    144,
    120,
    96,
    84,
    60,
)
PRIORITY_SHARE = 0.7  # priority industries: ≥ 70 % of the floor


def floor_wan_per_mu(grade: int) -> float:
    """The floor of ``grade`` in 万元/亩 (元/m² × 666.67 m² ÷ 10,000)."""
    return round(GRADE_FLOORS_YUAN_M2[grade - 1] * M2_PER_MU / 10_000, 2)


def grade_of(county_code: str | None, city_code: str | None) -> int | None:
    """The grade of the county, else of its city; None when neither is configured."""
    grades = get_settings().industrial_price_grades
    for code in (county_code, city_code):
        if code and code in grades:
            return grades[code]
    return None


def below_floor(
    land_use: str | None, county_code: str | None, city_code: str | None, price: float | None
) -> str | None:
    """Why an industrial parcel's 出让底价 (万元/亩) is below the minimum price, or None."""
    if price is None or not str(land_use or "").startswith("1001"):
        return None
    grade = grade_of(county_code, city_code)
    if grade is None:
        return None
    floor = floor_wan_per_mu(grade)
    if float(price) >= floor:
        return None
    return (
        f"出让底价 {num(float(price), 2)} 万元/亩低于全国工业用地出让最低价标准"
        f"（第 {grade} 等 {GRADE_FLOORS_YUAN_M2[grade - 1]} 元/平方米，合 {num(floor, 2)} 万元/亩）；"
        f"优先发展产业可按不低于 {num(PRIORITY_SHARE * 100, 0)}%（{num(PRIORITY_SHARE * floor, 2)}"
        " 万元/亩）确定，请核实"
    )
