"""How landmatch writes a number for people: one way, for the match's explanations
(``match.readable``), policy formulas (``match.policy_values``) and comparisons, the import
reports, the command line and the pages (the Jinja globals ``num``, ``mu`` and ``ha``). A leaf
module (it imports nothing of landmatch), so that whatever writes a figure — ``landmatch.geo``
too — can import it.

Areas (docs/domain.md §0): 亩 to 0.01, 公顷 to 0.0001, with thousands separators.

>>> mu(45761.8), mu(7.5), mu(80.004), ha(3.05085)
('45,761.8', '7.5', '80', '3.0509')
>>> mu(12.5, fixed=True), ha(1, fixed=True), mu(None)
('12.50', '1.0000', '—')
"""

from __future__ import annotations

MU_DIGITS = 2  # 亩 to 0.01
HA_DIGITS = 4  # 公顷 to 0.0001


def num(x: float | None, nd: int = 1, *, fixed: bool = False) -> str:
    """1,234.5 (thousands separators; ``nd`` decimals, trailing zeros dropped unless
    ``fixed``); — for None."""
    if x is None:
        return "—"
    s = f"{x:,.{nd}f}"
    if not fixed and "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def mu(x: float | None, *, fixed: bool = False) -> str:
    """An area in 亩 as people read it: to 0.01 亩, thousands separators (``fixed``: always two
    decimals, for a column of figures)."""
    return num(x, MU_DIGITS, fixed=fixed)


def ha(x: float | None, *, fixed: bool = False) -> str:
    """An area in 公顷 as people read it: to 0.0001 公顷, thousands separators."""
    return num(x, HA_DIGITS, fixed=fixed)
