"""How the match writes a number for people: one way, for the explanations (``readable``), the
policy formulas (``policy_values``) and the comparison (``compare``). A leaf module, so that
the valuation does not import the presentation that reads it."""

from __future__ import annotations


def num(x: float | None, nd: int = 1) -> str:
    """1,234.5 (thousands separators; trailing zeros dropped)."""
    if x is None:
        return "—"
    s = f"{x:,.{nd}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s
