"""The national 工业用地出让最低价标准 (国土资发〔2006〕307号, docs/domain.md §10) [GK]: 15 grades
of county, each a floor in 元/m² the price of industrial land (用途 1001xx) should not be
below. Which grade each county has is data the provincial department publishes: a setting
(``LANDMATCH_INDUSTRIAL_PRICE_GRADES``, county or city code → grade); without one, nothing is
checked. Priority industries may be priced at no less than 70 % of the floor (国土资发〔2009〕56
号 [GK]), so a price below it is a warning to check, never a refusal.

Both prices are held to the floor: the 出让底价 (万元/亩) and the 成交价 (a total in 万元, over
the parcel's area in 亩) — a sale may not close below the minimum either. Whether the floor
applies depends on the use: a parcel whose use is not known (待定, or none) cannot be checked,
and :func:`price_floor_warnings` says so rather than passing it silently.

>>> floor_wan_per_mu(1), floor_wan_per_mu(15)
(56.0, 4.0)
"""

from __future__ import annotations

from landmatch import vocab
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


def is_industrial(land_use: str | None) -> bool:
    """Whether the floor applies to land of this use (工业用地, 1001xx)."""
    return str(land_use or "").startswith("1001")


def _floor_text(grade: int) -> str:
    floor = floor_wan_per_mu(grade)
    return (
        f"全国工业用地出让最低价标准（第 {grade} 等 {GRADE_FLOORS_YUAN_M2[grade - 1]} 元/平方米，"
        f"合 {num(floor, 2)} 万元/亩）；优先发展产业可按不低于 {num(PRIORITY_SHARE * 100, 0)}%"
        f"（{num(PRIORITY_SHARE * floor, 2)} 万元/亩）确定，请核实"
    )


def below_floor(
    land_use: str | None, county_code: str | None, city_code: str | None, price: float | None
) -> str | None:
    """Why an industrial parcel's 出让底价 (万元/亩) is below the minimum price, or None."""
    if price is None or not is_industrial(land_use):
        return None
    grade = grade_of(county_code, city_code)
    if grade is None or float(price) >= floor_wan_per_mu(grade):
        return None
    return f"出让底价 {num(float(price), 2)} 万元/亩低于{_floor_text(grade)}"


def sale_below_floor(
    land_use: str | None,
    county_code: str | None,
    city_code: str | None,
    price_wan: float | None,
    area_m2: float | None,
) -> str | None:
    """Why an industrial parcel's 成交价 (a total, 万元) over its area is below the minimum
    price, or None (also when the area is unknown: :func:`price_floor_warnings` says so)."""
    if price_wan is None or not is_industrial(land_use) or not area_m2 or area_m2 <= 0:
        return None
    grade = grade_of(county_code, city_code)
    if grade is None:
        return None
    per_mu = float(price_wan) / (float(area_m2) / M2_PER_MU)
    if round(per_mu, 2) >= floor_wan_per_mu(grade):
        return None
    return (
        f"成交价 {num(float(price_wan), 2)} 万元（合 {num(per_mu, 2)} 万元/亩）低于"
        f"{_floor_text(grade)}"
    )


#: The fields the rule reads, and the field each warning is attached to.
RESERVE, SALE = "reserve_price_wan_per_mu", "land_price_wan"
LABELS = {RESERVE: "出让底价", SALE: "成交价"}


def price_floor_warnings(
    land_use: str | None,
    county_code: str | None,
    city_code: str | None,
    reserve_price: float | None,
    sale_price_wan: float | None,
    area_m2: float | None,
) -> list[tuple[str, str]]:
    """(field, message) for each of a parcel's prices the minimum price rule finds below the
    floor, or cannot check: the one definition for edits, the API and imports
    (``landmatch.inventory.validate``). Nothing without a price or without a configured grade
    for the parcel's county or city; nothing for land of a use other than industry."""
    given = [f for f, v in ((RESERVE, reserve_price), (SALE, sale_price_wan)) if v is not None]
    if not given:
        return []
    grade = grade_of(county_code, city_code)
    if grade is None:
        return []
    if land_use is None or land_use == vocab.LAND_USE_PENDING:
        prices = "和".join(LABELS[f] for f in given)
        state = "用途待定" if land_use else "未填写用途"
        return [
            (
                given[0],
                f"{state}，无法核验{prices}是否低于全国工业用地出让最低价标准"
                f"（本地为第 {grade} 等，合 {num(floor_wan_per_mu(grade), 2)} 万元/亩，"
                "适用于工业用地）：请补充用途",
            )
        ]
    out: list[tuple[str, str]] = []
    reason = below_floor(land_use, county_code, city_code, reserve_price)
    if reason is not None:
        out.append((RESERVE, reason))
    if sale_price_wan is not None and is_industrial(land_use):
        if not area_m2 or area_m2 <= 0:
            out.append((SALE, "地块面积未知，无法按亩核验成交价是否低于全国工业用地出让最低价标准"))
        else:
            reason = sale_below_floor(land_use, county_code, city_code, sale_price_wan, area_m2)
            if reason is not None:
                out.append((SALE, reason))
    return out
