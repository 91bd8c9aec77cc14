"""Checks of codes against the lookup tables (industries, land uses, scopes), and the
versions a cached brochure depends on."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch import industry_codes, vocab


def brochure_version(db: Session | Connection, code: str) -> tuple[str, int, int] | None:
    """What a parcel's brochure depends on: the parcel's version and the data version (every
    write bumps it: neighbours, zone, policies). None for no such parcel."""
    row = db.execute(
        text(
            "SELECT p.version, (SELECT version FROM landmatch.data_state WHERE name = 'all') "
            "FROM landmatch.parcel p WHERE p.code = :c AND p.deleted_at IS NULL"
        ),
        {"c": code},
    ).first()
    return None if row is None else (code, int(row[0]), int(row[1] or 0))


def unknown_industries(db: Session | Connection, codes: Iterable[str]) -> list[str]:
    """Codes that are not GB/T 4754-2017 大类, 中类 or 小类 (``landmatch.industry_codes``; the
    session is kept for the callers' signature)."""
    wanted = list(dict.fromkeys(codes))
    return [
        c
        for c in wanted
        if not (isinstance(c, str) and c.isdigit() and 2 <= len(c) <= 4)
        or industry_codes.unknown([c])
    ]


def unknown_land_uses(db: Session | Connection, codes: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return []
    known = set(
        db.execute(
            text("SELECT code FROM landmatch.land_use_code WHERE code = ANY(:c)"), {"c": wanted}
        ).scalars()
    )
    return [c for c in wanted if c not in known]


def scope_exists(db: Session | Connection, level: str, code: str) -> bool:
    """Does a policy scope (province / city / county / zone) name something that exists?"""
    if level == "province":
        return code == vocab.PROVINCE_CODE
    if level == "zone":
        return (
            db.execute(
                text("SELECT 1 FROM landmatch.dev_zone WHERE code = :c"), {"c": code}
            ).first()
            is not None
        )
    if level == "city" and code in vocab.CITIES:
        return True
    if level in ("city", "county"):
        return (
            db.execute(
                text("SELECT 1 FROM landmatch.admin_division WHERE code = :c AND level = :l"),
                {"c": code, "l": level},
            ).first()
            is not None
        )
    return False
