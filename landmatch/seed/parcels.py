"""Deterministic synthetic parcels on real Hebei geography.

Parcels are laid on a ~200 m grid: each takes a free k×k block of cells (k = 1..3) and sits
inside it with a margin, so no two parcels overlap by construction. Every parcel is then
tested with GEOS to lie within one county (hence one city); zone membership is the same exact
test against the polygons of the zones of that city. Attribute values follow the parcel's status so that dates are
coherent: idle land really is more than a year past its agreed start date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from landmatch.geo.measure import M2_PER_MU
from landmatch.geo.validate import normalise_polygons
from landmatch.inventory.land_use import lease_ceiling
from landmatch.seed.profiles import CITY_PROFILES, CONTACT_SURNAMES, ROAD_NAMES

CELL_LAT = 0.0018  # ≈ 200 m
CELL_LON = 0.00225  # ≈ 200 m at 36.5°N, 175 m at 42.5°N
M_PER_DEG_LAT = 110_950.0
MARGIN_M = 12.0

STATUS_P = {"ready": 0.45, "unsupplied": 0.18, "idle": 0.10, "supplied": 0.27}
LAND_USE_P = {
    "100101": 0.24,
    "100102": 0.38,
    "100103": 0.10,
    "110101": 0.12,
    "110102": 0.05,
    "110103": 0.02,
    "0802": 0.05,
    "0901": 0.02,
    "1303": 0.02,
}


@dataclass
class County:
    code: str
    name: str
    city_code: str
    geom: BaseGeometry


@dataclass
class Zone:
    id: int
    geom: BaseGeometry
    level: str
    leading_industries: list[str]
    city_code: str | None = None


def _cluster_table(counties: list[County], zones: list[Zone], n: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    city_n: dict[str, int] = {}
    for c in counties:
        city_n[c.city_code] = city_n.get(c.city_code, 0) + 1
    lon, lat, sigma, weight = [], [], [], []
    for c in counties:
        p = c.geom.representative_point()
        w = CITY_PROFILES.get(c.city_code, CITY_PROFILES["130100"]).weight / city_n[c.city_code]
        n_c = n * 0.55 * w / sum(pr.weight for pr in CITY_PROFILES.values())
        s = max(3.0, np.sqrt(2.5 * n_c * 0.08 / np.pi) / 2)
        lon.append(p.x)
        lat.append(p.y)
        sigma.append(s)
        weight.append(w)
    wc = np.array(weight)
    wc = 0.55 * wc / wc.sum()
    zl, za, zs, zw = [], [], [], []
    for z in zones:
        p = z.geom.representative_point()
        area_km2 = shapely.area(z.geom) * (M_PER_DEG_LAT / 1000) ** 2 * np.cos(np.radians(p.y))
        zl.append(p.x)
        za.append(p.y)
        zs.append(np.sqrt(area_km2) / 2.2)
        zw.append(area_km2 * (1.5 if z.level == "national" else 1.0))
    wz = np.array(zw) if zw else np.zeros(0)
    if wz.size:
        wz = 0.45 * wz / wz.sum()
    else:
        wc = wc / wc.sum()
    return (np.array(lon + zl), np.array(lat + za), np.array(sigma + zs), np.concatenate([wc, wz]))


def place_parcels(
    n: int,
    counties: list[County],
    zones: list[Zone],
    rng: np.random.Generator,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Return ``n`` non-overlapping parcels with geometry, county, city and zone."""
    bounds = shapely.total_bounds([c.geom for c in counties])
    minx, miny = bounds[0], bounds[1]
    ni = int(np.ceil((bounds[3] - miny) / CELL_LAT)) + 4
    nj = int(np.ceil((bounds[2] - minx) / CELL_LON)) + 4
    occ = np.zeros((ni, nj), dtype=bool)
    clon, clat, csig, cw = _cluster_table(counties, zones, n, rng)
    county_tree = shapely.STRtree([c.geom for c in counties])
    zone_tree = shapely.STRtree([z.geom for z in zones]) if zones else None

    geoms: list[np.ndarray] = []
    county_idx: list[np.ndarray] = []
    zone_idx: list[np.ndarray] = []
    got = 0
    rounds = 0
    while got < n:
        rounds += 1
        if rounds > 400:
            raise RuntimeError(f"could only place {got} of {n} parcels")
        m = int((n - got) * 1.5) + 64
        ci = rng.choice(len(cw), size=m, p=cw)
        r = np.abs(rng.normal(0, 1, m)) * csig[ci] * 1000  # metres
        ang = rng.uniform(0, 2 * np.pi, m)
        lat = clat[ci] + r * np.sin(ang) / M_PER_DEG_LAT
        lon = clon[ci] + r * np.cos(ang) / (M_PER_DEG_LAT * np.cos(np.radians(lat)))
        # Areas: log-normal long tail, 5..500 亩.
        area_mu = np.clip(np.exp(rng.normal(np.log(38), 0.95, m)), 5.6, 500)
        area = area_mu * M2_PER_MU
        aspect = np.exp(rng.normal(0, 0.3, m))
        i0 = ((lat - miny) / CELL_LAT).astype(np.int64)
        j0 = ((lon - minx) / CELL_LON).astype(np.int64)
        cell_w = CELL_LON * M_PER_DEG_LAT * np.cos(np.radians(miny + (i0 + 0.5) * CELL_LAT))
        cell_h = CELL_LAT * M_PER_DEG_LAT
        side = np.sqrt(area)
        w = side * np.sqrt(aspect)
        h = side / np.sqrt(aspect)
        k = np.maximum(np.ceil((w + 2 * MARGIN_M) / cell_w), np.ceil((h + 2 * MARGIN_M) / cell_h))
        k = np.clip(k, 1, 3).astype(np.int64)
        # Shrink what does not fit into a 3×3 block.
        w = np.minimum(w, k * cell_w - 2 * MARGIN_M)
        h = np.minimum(h, k * cell_h - 2 * MARGIN_M)
        ok = (i0 >= 2) & (j0 >= 2) & (i0 < ni - 4) & (j0 < nj - 4)
        accept = np.zeros(m, dtype=bool)
        for t in np.flatnonzero(ok):
            a, b, kk = i0[t], j0[t], k[t]
            block = occ[a : a + kk, b : b + kk]
            if not block.any():
                block[:] = True
                accept[t] = True
        idx = np.flatnonzero(accept)
        if idx.size == 0:
            continue
        # Rectangle inside the block, offset at random within the free margin.
        bw = k[idx] * cell_w[idx]
        bh = k[idx] * cell_h
        x0m = rng.uniform(MARGIN_M, np.maximum(MARGIN_M, bw - w[idx] - MARGIN_M))
        y0m = rng.uniform(MARGIN_M, np.maximum(MARGIN_M, bh - h[idx] - MARGIN_M))
        mlon = cell_w[idx] / CELL_LON  # metres per degree of longitude in that row
        bx = minx + j0[idx] * CELL_LON
        by = miny + i0[idx] * CELL_LAT
        x0 = bx + x0m / mlon
        x1 = x0 + w[idx] / mlon
        y0 = by + y0m / M_PER_DEG_LAT
        y1 = y0 + h[idx] / M_PER_DEG_LAT
        # One parcel in four loses a corner (an irregular pentagon), as real parcels do.
        cut = rng.random(idx.size) < 0.25
        cx = x1 - (x1 - x0) * rng.uniform(0.15, 0.4, idx.size)
        cy = y1 - (y1 - y0) * rng.uniform(0.15, 0.4, idx.size)
        ring = np.stack(
            [
                np.column_stack([x0, y0]),
                np.column_stack([x1, y0]),
                np.column_stack([x1, np.where(cut, cy, y1)]),
                np.column_stack([np.where(cut, cx, x1), y1]),
                np.column_stack([x0, y1]),
                np.column_stack([x0, y0]),
            ],
            axis=1,
        )
        # Uncut rectangles repeat their north-east corner: stored without it (hygiene).
        polys = normalise_polygons(shapely.polygons(np.round(ring, 7)))
        pi, ci_ = county_tree.query(polys, predicate="within")
        inside = np.full(idx.size, -1)
        inside[pi] = ci_
        keep = inside >= 0
        polys = polys[keep]
        cidx = inside[keep]
        if got + polys.size > n:
            polys, cidx = polys[: n - got], cidx[: n - got]
        zidx = np.full(polys.size, -1)
        if zone_tree is not None and polys.size:
            zp, zz = zone_tree.query(polys, predicate="within")
            # Only a zone of the parcel's own city (landmatch.db.membership).
            own = np.array(
                [
                    zones[z].city_code in (None, counties[cidx[q]].city_code)
                    for q, z in zip(zp, zz, strict=True)
                ],
                dtype=bool,
            )
            zidx[zp[own]] = zz[own]
        geoms.append(polys)
        county_idx.append(cidx)
        zone_idx.append(zidx)
        got += polys.size
        if progress:
            progress(int(polys.size))
    geom = np.concatenate(geoms)
    cidx = np.concatenate(county_idx)
    zidx = np.concatenate(zone_idx)
    # Stable order: south to north, west to east, so codes read geographically.
    order = np.lexsort(
        (shapely.get_x(shapely.centroid(geom)), shapely.get_y(shapely.centroid(geom)))
    )
    geom, cidx, zidx = geom[order], cidx[order], zidx[order]
    return pd.DataFrame(
        {
            "geometry": geom,
            "county_code": [counties[i].code for i in cidx],
            "county_name": [counties[i].name for i in cidx],
            "city_code": [counties[i].city_code for i in cidx],
            "zone_id": pd.array([zones[i].id if i >= 0 else None for i in zidx], dtype="Int64"),
            # Placed within the zone: all of the area inside (landmatch.db.membership).
            "zone_share": [1.0 if i >= 0 else None for i in zidx],
            "zone_pos": zidx,
        }
    )


def _dates(base: dt.date, days: np.ndarray) -> list[dt.date | None]:
    return [None if d < -(10**8) else base + dt.timedelta(days=int(d)) for d in days]


NONE_DAY = -(10**9)


def fill_attributes(
    df: pd.DataFrame, zones: list[Zone], rng: np.random.Generator, as_of: dt.date
) -> pd.DataFrame:
    """Add every attribute group of the parcel table, coherent with each parcel's status."""
    n = len(df)
    status = rng.choice(list(STATUS_P), size=n, p=list(STATUS_P.values()))
    in_zone = df["zone_pos"].to_numpy() >= 0
    land_use = rng.choice(list(LAND_USE_P), size=n, p=list(LAND_USE_P.values()))
    prof = [CITY_PROFILES.get(c, CITY_PROFILES["130100"]) for c in df["city_code"]]
    price_base = np.array([p.price_wan_per_mu for p in prof])
    invest_base = np.array([p.invest_intensity for p in prof])
    tax_base = np.array([p.tax_per_mu for p in prof])
    zone_level = np.array([zones[i].level if i >= 0 else "" for i in df["zone_pos"]], dtype=object)
    zone_factor = np.where(zone_level == "national", 1.25, np.where(in_zone, 1.1, 0.9))
    is_industrial = np.char.startswith(land_use.astype(str), "1001")
    is_logistics = np.char.startswith(land_use.astype(str), "1101")

    out = df.copy()
    seq = np.arange(1, n + 1)
    year = as_of.year - rng.integers(0, 4, n)
    out["code"] = [f"{c}-{y}-{s:07d}" for c, y, s in zip(df["city_code"], year, seq, strict=True)]
    roads = rng.choice(ROAD_NAMES, size=n)
    out["name"] = [
        f"{cn}{r}{s % 97 + 1}号地块" for cn, r, s in zip(df["county_name"], roads, seq, strict=True)
    ]
    out["address"] = [
        f"{cn}{r}以{d}"
        for cn, r, d in zip(
            df["county_name"], roads, rng.choice(["东", "西", "南", "北"], size=n), strict=True
        )
    ]
    out["status"] = status
    out["visibility"] = np.where((status == "ready") & (rng.random(n) < 0.9), "public", "internal")
    out["land_use"] = land_use
    compat: list[list[str]] = []
    r_c = rng.random(n)
    for lu, rc in zip(land_use, r_c, strict=True):
        if lu.startswith("1001"):
            compat.append(
                ["110101", "0802"]
                if rc < 0.08
                else ["110101"]
                if rc < 0.25
                else ["0802"]
                if rc < 0.33
                else []
            )
        else:
            compat.append([])
    out["compatible_uses"] = compat
    out["far_min"] = np.where(is_industrial, np.round(rng.choice([0.8, 1.0, 1.2], n), 1), np.nan)
    out["far_max"] = np.round(rng.choice([2.0, 2.5, 3.0], n), 1)
    out["density_max"] = np.where(is_industrial | is_logistics, 60.0, 40.0)
    out["building_coeff_min"] = np.where(is_industrial, 40.0, np.nan)
    out["green_ratio_max"] = np.where(is_industrial, rng.choice([15.0, 20.0], n), 30.0)
    out["height_max_m"] = rng.choice([24.0, 30.0, 40.0, 50.0], n)
    std = (status == "ready") & (is_industrial | is_logistics) & (rng.random(n) < 0.75)
    out["is_standard_land"] = std
    out["invest_intensity_min"] = np.where(
        std, np.round(invest_base * zone_factor * rng.uniform(0.85, 1.2, n) / 10) * 10, np.nan
    )
    out["tax_per_mu_min"] = np.where(
        std, np.round(tax_base * zone_factor * rng.uniform(0.85, 1.2, n)), np.nan
    )
    out["energy_per_value_max"] = np.where(std, np.round(rng.uniform(0.2, 0.6, n), 2), np.nan)
    out["emission_value_min"] = np.where(
        std & (rng.random(n) < 0.5), np.round(rng.uniform(50, 300, n)), np.nan
    )
    modes: list[list[str]] = []
    r_m = rng.random((n, 3))
    for st, rm in zip(status, r_m, strict=True):
        if st in ("ready", "unsupplied"):
            m = ["auction"]
            if rm[0] < 0.40:
                m.append("flexible_term")
            if rm[1] < 0.25:
                m.append("lease_then_transfer")
            if rm[2] < 0.15:
                m.append("long_lease")
            modes.append(m)
        else:
            modes.append(["auction"])
    out["supply_modes"] = modes
    # Within the use's ceiling (商业 40 years, docs/domain.md §10).
    ceiling = {u: lease_ceiling(u).years for u in LAND_USE_P}  # type: ignore[union-attr]
    out["lease_years"] = np.minimum(
        np.where(rng.random(n) < 0.3, 20, 50), [ceiling[u] for u in land_use]
    )
    price = np.round(price_base * zone_factor * rng.uniform(0.75, 1.3, n), 1)
    out["ref_price_wan_per_mu"] = price
    out["price_public"] = rng.random(n) < 0.85
    out["reserve_price_wan_per_mu"] = np.round(price * rng.uniform(0.9, 1.0, n), 1)

    def utility(p_known: float, lo: float, hi: float, round_to: float):  # type: ignore[no-untyped-def]
        known = rng.random(n) < p_known
        val = np.where(known, np.round(rng.uniform(lo, hi, n) / round_to) * round_to, np.nan)
        age = rng.integers(10, 900, n)
        return val, np.where(known, -age, NONE_DAY)

    zone_bonus = np.where(in_zone, 0.15, 0.0)
    power, power_d = utility(0.7, 500, 20000, 50)
    water, water_d = utility(0.65, 100, 5000, 10)
    sewage, sewage_d = utility(0.55, 80, 4000, 10)
    gas, gas_d = utility(0.5, 500, 30000, 100)
    heat, heat_d = utility(0.3, 2, 60, 1)
    out["power_kva"], out["power_as_of"] = power, _dates(as_of, power_d)
    out["water_m3d"], out["water_as_of"] = water, _dates(as_of, water_d)
    out["sewage_m3d"], out["sewage_as_of"] = sewage, _dates(as_of, sewage_d)
    out["gas_m3d"], out["gas_as_of"] = gas, _dates(as_of, gas_d)
    out["heat_mw"], out["heat_as_of"] = heat, _dates(as_of, heat_d)
    tel_known = rng.random(n) < 0.8
    # numpy's stubs reject None in np.where; at runtime it gives an object array.
    out["telecom_5g"] = np.where(tel_known, rng.random(n) < 0.7 + zone_bonus, None)  # type: ignore[call-overload]
    out["fibre"] = np.where(tel_known, rng.random(n) < 0.9, None)  # type: ignore[call-overload]
    out["telecom_as_of"] = _dates(as_of, np.where(tel_known, -rng.integers(10, 700, n), NONE_DAY))
    readiness: list[list[str]] = []
    checklist: list[list[str]] = []
    rr = rng.random((n, 8))
    for st, iz, r8 in zip(status, in_zone, rr, strict=True):
        p = 0.93 if st == "ready" else 0.5
        p += 0.04 if iz else 0.0
        items = [
            k
            for k, r in zip(
                ("road", "power", "water", "sewage", "telecom", "gas", "heat", "levelled"),
                r8,
                strict=True,
            )
            if r < (p if k not in ("gas", "heat") else p - 0.25)
        ]
        readiness.append(items)
        if st == "ready":
            cl = [
                "title_clear",
                "compensation_done",
                "no_dispute",
                "planning_issued",
                "assessments_done",
                "utilities_connected",
                "site_levelled",
            ]
            if r8[0] > 0.92:
                cl.remove("assessments_done")
            if r8[1] > 0.95:
                cl.remove("utilities_connected")
            if "levelled" not in items and "site_levelled" in cl:
                cl.remove("site_levelled")
            checklist.append(cl)
        else:
            checklist.append([])
    out["readiness"] = readiness
    out["checklist"] = checklist

    # Dates and development, by status (days relative to as_of).
    approval = -rng.integers(120, 9 * 365, n)
    out["approval_doc_no"] = [
        f"冀政转征函〔{(as_of + dt.timedelta(days=int(d))).year}〕{int(k)}号"
        for d, k in zip(approval, rng.integers(1, 900, n), strict=True)
    ]
    out["approval_batch"] = [
        f"{cn}{(as_of + dt.timedelta(days=int(d))).year}年度第{int(b)}批次"
        for cn, d, b in zip(df["county_name"], approval, rng.integers(1, 12, n), strict=True)
    ]
    supplied_like = np.isin(status, ["idle", "supplied"])
    contract = np.where(
        status == "idle", -rng.integers(2 * 365, 7 * 365, n), -rng.integers(30, 6 * 365, n)
    )
    contract = np.maximum(contract, approval + 30)
    contract = np.where(supplied_like, contract, NONE_DAY)
    start_due = np.where(supplied_like, contract + rng.integers(90, 365, n), NONE_DAY)
    # Idle land is more than a year past its agreed start; supplied land has started or is
    # still within its first year.
    idle = status == "idle"
    start_due = np.where(idle, np.minimum(start_due, -366 - rng.integers(0, 4 * 365, n)), start_due)
    contract = np.where(idle, np.minimum(contract, start_due - 90), contract)
    sup = status == "supplied"
    started = sup & ((start_due < 0) | (rng.random(n) < 0.3))
    actual = np.where(started, start_due + rng.integers(-60, 200, n), NONE_DAY)
    actual = np.where(started, np.minimum(actual, -1), actual)
    # Some idle land started and then stalled for over a year (Art. 2, clause 2).
    stalled = idle & (rng.random(n) < 0.25)
    stopped = np.where(stalled, -366 - rng.integers(0, 700, n), NONE_DAY)
    actual = np.where(
        stalled, np.minimum(start_due + rng.integers(0, 120, n), stopped - 30), actual
    )
    contract = np.where(stalled, np.minimum(contract, actual - 30), contract)
    # Approval comes before supply (批 → 供).
    approval = np.where(supplied_like, np.minimum(approval, contract - 30), approval)
    out["approval_date"] = _dates(as_of, approval)
    gov = idle & (rng.random(n) < 0.15)
    out["contract_date"] = _dates(as_of, contract)
    out["supply_date"] = _dates(as_of, contract)
    out["contract_no"] = [
        f"{c}-CR-{s:07d}" if sl else None
        for c, s, sl in zip(df["city_code"], seq, supplied_like, strict=True)
    ]
    holders = rng.choice(
        [
            "河北冀联",
            "华北重工",
            "燕赵新材",
            "渤海精细化工",
            "京南智造",
            "太行装备",
            "中冀物流",
            "长城电子",
            "冀衡科技",
            "海港机械",
        ],
        size=n,
    )
    out["holder"] = [
        f"{h}有限公司" if sl else None for h, sl in zip(holders, supplied_like, strict=True)
    ]
    out["agreed_start_date"] = _dates(as_of, start_due)
    out["agreed_completion_date"] = _dates(
        as_of, np.where(supplied_like, start_due + rng.integers(365, 3 * 365, n), NONE_DAY)
    )
    out["actual_start_date"] = _dates(as_of, actual)
    out["stopped_since"] = _dates(as_of, stopped)
    total_inv = np.round(invest_base * rng.uniform(0.9, 1.8, n), -1)  # per 亩; scaled later
    out["_invest_per_mu"] = np.where(supplied_like, total_inv, np.nan)
    inv_ratio = np.where(started, rng.uniform(0.1, 1.0, n), 0.0)
    inv_ratio = np.where(stalled, rng.uniform(0.03, 0.24, n), inv_ratio)
    out["invest_ratio"] = np.where(supplied_like, np.round(inv_ratio, 4), np.nan)
    out["developed_ratio"] = np.where(
        supplied_like,
        np.round(np.where(stalled, rng.uniform(0.02, 0.32, n), inv_ratio * 0.9), 4),
        np.nan,
    )
    out["gov_caused"] = gov
    out["start_extended"] = np.zeros(n, dtype=bool)  # extensions come from disposal decisions
    # numpy's stubs reject None in np.where; at runtime it gives an object array.
    out["gov_cause"] = np.where(  # type: ignore[call-overload]
        gov, rng.choice(["未按约定交付土地", "规划调整", "信访", "文物保护"], n), None
    )
    surnames = rng.choice(list(CONTACT_SURNAMES), size=n)
    out["contact_name"] = [f"{s}工" for s in surnames]
    out["contact_phone"] = [f"1{int(p)}" for p in rng.integers(3000000000, 8999999999, n)]
    out["notes"] = None
    out["data_updated_on"] = _dates(as_of, -rng.integers(0, 600, n))
    return out


def finish_money(df: pd.DataFrame) -> pd.DataFrame:
    """Money that depends on the area: land price and total investment (万元)."""
    area_mu = df["area_m2"].to_numpy() / M2_PER_MU
    supplied = df["contract_date"].notna().to_numpy()
    df["land_price_wan"] = np.where(
        supplied, np.round(area_mu * df["ref_price_wan_per_mu"].to_numpy(), 2), np.nan
    )
    total = np.round(area_mu * df["_invest_per_mu"].to_numpy(), 2)
    df["total_investment_wan"] = np.where(supplied, total, np.nan)
    df["invested_wan"] = np.where(
        supplied, np.round(total * np.nan_to_num(df["invest_ratio"].to_numpy()), 2), np.nan
    )
    return df.drop(columns=["_invest_per_mu"])
