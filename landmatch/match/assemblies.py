"""Assemblies: when no single parcel meets the area, up to 3 adjacent parcels taken together.

Members are at most 30 m apart (on the ellipsoid), in the same city, each of a compatible use
(they pass every rule but the area and total-budget ones, which are checked on the whole) and of
the same availability (status). An assembly is scored as one unit: area fit on the combined
area, the other criteria as area-weighted means of its members.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.db.geometry import geojson_sql
from landmatch.match.requirements import CRITERIA, Requirement
from landmatch.match.scores import area_range, combine

MAX_GAP_M = 30.0
MAX_MEMBERS = 3
MAX_PIECES = 5000


def area_fit(area_mu: float, lo: float | None, hi: float | None) -> float:
    """The same curve as ``scores.area_fit_sql``: 1 at mid-range, 0.7 at the edges, decaying
    outside."""
    rng = area_range(lo, hi)
    if rng is None:
        return 1.0
    lo, hi, mid, half = rng
    if lo <= area_mu <= hi:
        return 1 - 0.3 * abs(area_mu - mid) / half
    return 0.7 * math.exp(max(-50.0, -3 * min(abs(area_mu - lo), abs(area_mu - hi)) / half))


def find_assemblies(
    session: Session, req: Requirement, *, pieces_sql: str, params: dict[str, Any], price_col: str
) -> list[dict[str, Any]]:
    """Ranked assemblies. ``pieces_sql`` selects the eligible pieces with columns id, code,
    city_code, status, amu, price and s_<criterion> for each criterion."""
    pieces = {
        r["id"]: r
        for r in (
            dict(m)
            for m in session.execute(text(f"{pieces_sql} LIMIT {MAX_PIECES}"), params).mappings()
        )
    }
    if len(pieces) < 2:
        return []
    ids = sorted(pieces)
    pairs = session.execute(
        text(
            "SELECT a.id, b.id FROM landmatch.parcel a JOIN landmatch.parcel b "
            "ON b.geom && ST_Expand(a.geom, 0.0005) AND b.id > a.id "
            "AND ST_DWithin(a.geom::geography, b.geom::geography, :gap) "
            "WHERE a.id = ANY(:ids) AND b.id = ANY(:ids) AND a.city_code = b.city_code "
            "AND a.status = b.status"
        ),
        {"ids": ids, "gap": MAX_GAP_M},
    ).all()
    adj: dict[int, set[int]] = {}
    for a, b in pairs:
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    groups: set[tuple[int, ...]] = set()
    for a in adj:
        for b in adj[a]:
            groups.add(tuple(sorted((a, b))))
            for c in adj[a] | adj[b]:
                if c not in (a, b):
                    groups.add(tuple(sorted((a, b, c))))
    lo, hi = req.area_mu_min, req.area_mu_max
    weights = req.effective_weights
    out = []
    for g in groups:
        members = [pieces[i] for i in g]
        total_mu = sum(m["amu"] for m in members)
        if (lo is not None and total_mu < lo) or (hi is not None and total_mu > hi):
            continue
        prices = [m["price"] for m in members]
        total_price = (
            None
            if any(p is None for p in prices)
            else sum(p * m["amu"] for p, m in zip(prices, members, strict=True))
        )
        if (
            req.budget.max_total_wan is not None
            and total_price is not None
            and total_price > req.budget.max_total_wan
        ):
            continue
        scores = {c: sum(m[f"s_{c}"] * m["amu"] for m in members) / total_mu for c in CRITERIA}
        scores["area_fit"] = area_fit(total_mu, lo, hi)
        total, contrib = combine(scores, weights)
        out.append(
            {
                "members": [m["code"] for m in members],
                "member_ids": list(g),
                "area_mu": round(total_mu, 2),
                "status": members[0]["status"],
                "city_code": members[0]["city_code"],
                "total_price_wan": None if total_price is None else round(total_price, 1),
                "scores": scores,
                "contributions": contrib,
                "score": total,
            }
        )
    out.sort(key=lambda a: (-round(a["score"], 6), a["members"]))
    # An assembly per parcel: a parcel already used by a better assembly is not offered twice.
    used: set[int] = set()
    chosen = []
    for a in out:
        if used.isdisjoint(a["member_ids"]):
            chosen.append(a)
            used.update(a["member_ids"])
        if len(chosen) >= req.top:
            break
    return chosen


def assembly_geometry(session: Session, ids: list[int]) -> dict[str, Any]:
    import json

    g = session.execute(
        text(
            f"SELECT {geojson_sql('ST_Multi(ST_Union(geom))', 7)} FROM landmatch.parcel "
            "WHERE id = ANY(:ids)"
        ),
        {"ids": ids},
    ).scalar_one()
    return json.loads(g)
