"""Reads the map pages need besides tiles: search, the place summary, facility points, cities."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.db.like import contains_pattern, escape_like
from landmatch.db.parcels import PUBLIC_WHERE
from landmatch.db.tiles import data_versions
from landmatch.errors import InvalidInput
from landmatch.geo.measure import M2_PER_MU
from landmatch.viewer import Viewer

_BOX = "ST_XMin(g)::float8, ST_YMin(g)::float8, ST_XMax(g)::float8, ST_YMax(g)::float8"
# The bigrams of a parcel's name and address: the expression of the search's GIN index
# (migration 0038_search_bigrams), written the same way so the planner uses it.
NAME_BIGRAMS = "landmatch.name_bigrams(p.name, p.address)"


def has_trigram_run(q: str) -> bool:
    """Whether ``q`` has three letters or digits in a row, from which pg_trgm always extracts a
    trigram for ``ILIKE '%…%'`` (from a text without, it may extract none, and its index then
    matches every code). Other numbers (①, ², ½) are not pg_trgm's word characters."""
    run = 0
    for ch in q:
        run = run + 1 if ch.isalnum() and unicodedata.category(ch) != "No" else 0
        if run == 3:
            return True
    return False


# The short names people use for development zones (石家庄高新区, 正定经开区, 曹妃甸综保区): a zone
# is found by its full name, by its name with these shortenings applied, or by its kind.
ZONE_SHORT_NAMES: tuple[tuple[str, str], ...] = (
    ("高新技术产业开发区", "高新区"),
    ("经济技术开发区", "经开区"),
    ("经济开发区", "经开区"),
    ("综合保税区", "综保区"),
)


def _short_name_sql(column: str) -> str:
    """The zone's short name: 河北正定经济开发区 → 正定经开区, 石家庄高新技术产业开发区 → 石家庄高新区."""
    out = f"regexp_replace({column}, '^河北(.{{2}})', '\\1')"
    for long, short in ZONE_SHORT_NAMES:
        out = f"replace({out}, '{long}', '{short}')"
    return out


def search(session: Session, q: str, principal: Viewer, limit: int = 10) -> list[dict[str, Any]]:
    """Places first — cities, development zones (also by short name or kind: 高新区, 经开区),
    counties, facilities — then parcels by code, name or address (``_parcel_kinds``).

    Within each kind of place an exact name comes first, then a name that starts with the
    text, then the rest. Each hit says what it is (``kind_label``) and carries a bbox
    (CGCS2000 lon/lat) to zoom to. Public callers find public parcels only. At most ``limit``
    places and ``limit`` parcels.
    """
    q = q.strip()
    if not q:
        raise InvalidInput("请输入地块编号、名称或地名")
    if len(q) > 60:
        raise InvalidInput("搜索词过长（最多 60 个字符）")
    like = contains_pattern(q)
    prefix = escape_like(q) + "%"
    where = PUBLIC_WHERE if principal.is_public else "p.deleted_at IS NULL"
    short = _short_name_sql("z.name")

    def rank(name: str) -> str:
        return f"(CASE WHEN {name} = :q THEN 0 WHEN {name} ILIKE :prefix THEN 1 ELSE 2 END)"

    # (kind order, rank) orders the places; parcels follow. Each branch is bounded by :n.
    sql = f"""
      SELECT * FROM (
        (SELECT CASE a.level WHEN 'county' THEN 2 ELSE 0 END AS k, {rank("a.name")} AS r,
                'admin' AS kind, a.level AS sub, a.code, a.name AS label, {_BOX}
           FROM landmatch.admin_division a, LATERAL (SELECT a.geom AS g) x
          WHERE a.level <> 'province' AND a.name ILIKE :like
          ORDER BY 1, 2, a.code LIMIT :n)
        UNION ALL
        (SELECT 1, LEAST({rank("z.name")}, {rank(short)}, CASE WHEN z.kind = :q THEN 1 END),
                'zone', z.level || '|' || z.kind, z.code, z.name, {_BOX}
           FROM landmatch.dev_zone z, LATERAL (SELECT z.geom AS g) x
          WHERE z.name ILIKE :like OR {short} ILIKE :like OR z.kind = :q
          ORDER BY 2, (z.level = 'national') DESC, z.name LIMIT :n)
        UNION ALL
        (SELECT 3, {rank("f.name")}, 'facility', f.kind, f.code, f.name, {_BOX}
           FROM landmatch.facility f, LATERAL (SELECT f.geom AS g) x
          WHERE f.name ILIKE :like ORDER BY 2, f.name LIMIT :n)
      ) places ORDER BY k, r, label LIMIT :n
    """
    params = {"q": q, "like": like, "prefix": prefix, "n": limit}
    places = session.execute(text(sql), params).all()
    parcels = _parcel_hits(session, params, where)
    out = []
    for row in [r[1:] for r in places] + parcels:
        _rank, kind, sub, code, label, x0, y0, x1, y1 = row
        out.append(
            {
                "kind": kind,
                "kind_label": _kind_label(kind, sub),
                "code": code,
                "label": label,
                "bbox": [round(x0, 6), round(y0, 6), round(x1, 6), round(y1, 6)],
            }
        )
    return out


# The parcel hits in order, one kind at a time: the exact code, codes that start with the text,
# codes that hold it, then names or addresses that hold it; each kind by code, asked one after
# the other with ORDER BY code LIMIT (ranking every holder at once read all of them: 130, every
# parcel). The exact code and a code's start come from the code index. A kind that holds the
# text is read first from the first ``CODE_WINDOW`` parcels in code order — a text many parcels
# hold (工业路) is found there, and those are then exactly its first hits —, and otherwise from
# the trigram index of codes or the bigram index of names and addresses (whose estimates are
# poor for a common text of three characters or more: 纬三路 took 169 ms through it).
_CODE_IS = "p.code = :q"
_CODE_STARTS = "p.code ILIKE :prefix AND p.code <> :q"
_CODE_HOLDS = "p.code ILIKE :like AND NOT p.code ILIKE :prefix"
# Names or addresses that hold the text, of parcels not listed already (by the kinds above).
_NAME_HOLDS = "(p.name ILIKE :like OR p.address ILIKE :like) AND NOT p.code ILIKE {listed}"
_NAME_BIGRAMS_HOLD = f"{NAME_BIGRAMS} @> landmatch.bigrams(:q)"
CODE_WINDOW = 500  # at 1M, windows of 1,000 and 2,000 found no more words and cost rare ones 2–6 ms
SEARCH_WORK_MEM = "32MB"  # the bitmaps of a common word stay exact (no recheck of every row)


def _parcel_kinds(q: str) -> list[tuple[str, str | None]]:
    """The kinds of parcel hit asked for ``q``, in order, each with what narrows it: None for a
    code or its start (the code index itself), otherwise a kind that holds the text, with the
    condition an index answers ("" where none does: codes are read in order). Codes are searched
    inside for a text with three letters or digits in a row (``has_trigram_run``): a shorter one
    is noise there, every code holds 13, and no index narrows it. Names and addresses are
    narrowed by their bigrams (migration 0038_search_bigrams) from two characters on."""
    if not has_trigram_run(q):
        names = _NAME_HOLDS.format(listed=":prefix")
        return [
            (_CODE_IS, None),
            (_CODE_STARTS, None),
            (names, _NAME_BIGRAMS_HOLD if len(q) >= 2 else ""),
        ]
    return [
        (_CODE_IS, None),
        (_CODE_STARTS, None),
        (_CODE_HOLDS, ""),
        (_NAME_HOLDS.format(listed=":like"), _NAME_BIGRAMS_HOLD),
    ]


def _parcel_hits(session: Session, params: dict[str, Any], where: str) -> list[Any]:
    session.execute(text(f"SELECT set_config('work_mem', '{SEARCH_WORK_MEM}', true)"))
    hits: list[Any] = []
    for rank, (kind, narrow) in enumerate(_parcel_kinds(params["q"])):
        left = params["n"] - len(hits)
        if left <= 0:
            break
        select = f"SELECT {rank}, 'parcel', NULL, p.code, p.name || '（' || p.code || '）', {_BOX}"
        order = "ORDER BY p.code LIMIT :left"
        args = params | {"left": left}
        rows: Sequence[Any] = []
        if narrow is not None:  # a kind that holds the text: the first parcels by code first
            first = (
                f"(SELECT p.code, p.name, p.address, p.geom FROM landmatch.parcel p "
                f"WHERE {where} ORDER BY p.code LIMIT {CODE_WINDOW}) p"
            )
            rows = session.execute(
                text(f"{select} FROM {first}, LATERAL (SELECT p.geom AS g) x WHERE {kind} {order}"),
                args,
            ).all()
        if len(rows) < left:
            rows = session.execute(
                text(
                    f"{select} FROM landmatch.parcel p, LATERAL (SELECT p.geom AS g) x "
                    f"WHERE {where} {'AND ' + narrow if narrow else ''} AND {kind} {order}"
                ),
                args,
            ).all()
        hits += rows
    return hits


def _kind_label(kind: str, sub: str | None) -> str:
    """What a hit is, in words: 城市, 县（市、区）, 国家级高新区, 港口 …, 地块."""
    if kind == "admin":
        return "城市" if sub == "city" else "县（市、区）"
    if kind == "zone":
        level, _, zone_kind = (sub or "").partition("|")
        return (vocab.label(vocab.ZONE_LEVELS, level) or "") + (zone_kind or "开发区")
    if kind == "facility":
        return vocab.label(vocab.FACILITY_KINDS, sub) or "设施"
    return "地块"


def facilities(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT code, name, kind, ST_X(geom)::float8 AS lon, ST_Y(geom)::float8 AS lat, "
            "approximate FROM landmatch.facility ORDER BY kind, code"
        )
    )
    return [
        dict(r._mapping) | {"kind_label": vocab.label(vocab.FACILITY_KINDS, r.kind)} for r in rows
    ]


# The place summary changes with the parcels, zones and boundaries: kept per process by
# (view, data versions), so the map's first question costs one small query after a write.
_SUMMARY_CACHE: dict[tuple[bool, tuple[int, ...]], dict[str, Any]] = {}


def place_summary(session: Session, principal: Viewer) -> dict[str, Any]:
    """Ready land (熟地) per city and per development zone — count and 亩 — with a point to
    label each place, and the counties' label points: what the map shows before any parcel.

    Cities are those parcels carry (the eleven and the province-managed 辛集, 定州). The public
    count public ready parcels; staff every ready parcel. Cities are summed from the map's cell
    table (exact, kept by triggers); zones from the parcels themselves.
    """
    public = principal.is_public
    versions = data_versions(session)
    key = (public, tuple(versions[k] for k in ("parcels", "zones", "admin")))
    cached = _SUMMARY_CACHE.get(key)
    if cached is not None:
        return cached
    visible = "c.public" if public else "TRUE"
    cities = session.execute(
        text(
            f"""
            WITH ready AS (
              SELECT c.city_code, sum(c.n)::int AS n, sum(c.area_m2) AS area_m2
                FROM landmatch.parcel_cell c
               WHERE c.z = (SELECT min(z) FROM landmatch.parcel_cell)
                 AND c.status = 'ready' AND {visible}
               GROUP BY c.city_code)
            SELECT a.code, a.name, ST_X(pt)::float8, ST_Y(pt)::float8, {_BOX},
                   coalesce(r.n, 0), coalesce(r.area_m2, 0)::float8
              FROM landmatch.admin_division a
              LEFT JOIN ready r ON r.city_code = a.code,
              LATERAL (SELECT a.geom AS g, ST_PointOnSurface(a.geom) AS pt) x
             WHERE a.code = ANY(:cities) ORDER BY a.code
            """
        ),
        {"cities": list(vocab.CITIES)},
    ).all()
    where = PUBLIC_WHERE if public else "p.deleted_at IS NULL AND p.status = 'ready'"
    zones = session.execute(
        text(
            f"""
            WITH ready AS (
              SELECT p.zone_id, count(*)::int AS n, sum(p.area_m2) AS area_m2
                FROM landmatch.parcel p WHERE {where} AND p.zone_id IS NOT NULL
               GROUP BY p.zone_id)
            SELECT z.code, z.name, {_short_name_sql("z.name")}, z.level, z.kind,
                   ST_X(pt)::float8, ST_Y(pt)::float8, coalesce(r.n, 0),
                   coalesce(r.area_m2, 0)::float8
              FROM landmatch.dev_zone z LEFT JOIN ready r ON r.zone_id = z.id,
              LATERAL (SELECT ST_PointOnSurface(z.geom) AS pt) x
             ORDER BY z.level = 'national' DESC, z.code
            """
        )
    ).all()
    counties = session.execute(
        text(
            "SELECT a.code, a.name, ST_X(pt)::float8, ST_Y(pt)::float8 "
            "FROM landmatch.admin_division a, LATERAL (SELECT ST_PointOnSurface(a.geom) AS pt) x "
            "WHERE a.level = 'county' AND NOT a.code = ANY(:cities) ORDER BY a.code"
        ),
        {"cities": list(vocab.CITIES)},
    ).all()

    def mu(m2: float) -> float:
        return round(m2 / M2_PER_MU, 1)

    out = {
        "cities": [
            {
                "code": code,
                "name": name,
                "lon": round(lon, 5),
                "lat": round(lat, 5),
                "bbox": [round(x0, 5), round(y0, 5), round(x1, 5), round(y1, 5)],
                "parcels": n,
                "area_mu": mu(area),
            }
            for code, name, lon, lat, x0, y0, x1, y1, n, area in cities
        ],
        "zones": [
            {
                "code": code,
                "name": name,
                "short_name": short,
                "level": level,
                "level_label": vocab.label(vocab.ZONE_LEVELS, level),
                "kind": kind,
                "lon": round(lon, 5),
                "lat": round(lat, 5),
                "parcels": n,
                "area_mu": mu(area),
            }
            for code, name, short, level, kind, lon, lat, n, area in zones
        ],
        "counties": [
            {"code": code, "name": name, "lon": round(lon, 5), "lat": round(lat, 5)}
            for code, name, lon, lat in counties
        ],
    }
    if len(_SUMMARY_CACHE) > 8:
        _SUMMARY_CACHE.clear()
    _SUMMARY_CACHE[key] = out
    return out
