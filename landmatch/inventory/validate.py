"""Validation of parcel records, shared by edits and imports, vectorised over a frame.

Input is a frame whose columns are field names (see :mod:`landmatch.inventory.fields`) plus
an array of geometries in a source CRS. Output is typed values for the good rows, the rejected
rows with row, field and reason (Chinese), and warnings. Nothing here writes to the database.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from landmatch import vocab
from landmatch.dates import beijing_today
from landmatch.errors import GeometryError
from landmatch.geo import gcj02
from landmatch.geo.crs import (
    CHINA_BBOX,
    GCJ02,
    HEBEI_BBOX,
    STORAGE_EPSG,
    CrsCode,
    gk_epsg,
    transformer,
)
from landmatch.geo.measure import M2_PER_MU
from landmatch.geo.validate import (
    check_polygonal,
    collection_polygons,
    looks_swapped_latlon,
    normalise_polygons,
    repair,
    to_multipolygon,
    too_many_vertices,
)
from landmatch.inventory import codes, land_use, min_price, quantities
from landmatch.inventory.fields import (
    BY_NAME,
    FIELDS,
    READINESS_BUNDLES,
    UTILITY_DATES,
    Field,
    code_for,
)
from landmatch.numbers import mu
from landmatch.settings import get_settings

AREA_TOLERANCE = 0.01
OUTSIDE_HEBEI = "地块不在河北省范围内"
_TRUE = {"true", "t", "1", "yes", "y", "是", "有", "√", "✓"}
_FALSE = {"false", "f", "0", "no", "n", "否", "无", "×", ""}
_LIST_SPLIT = re.compile(r"[,，、;；|/\s]+")
_CN_DATE = re.compile(r"^(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?$")


@dataclass(frozen=True)
class County:
    code: str
    name: str
    city: str  # the city code it belongs to (辛集, 定州: their own)
    geom: BaseGeometry


@dataclass
class Regions:
    """Hebei, its cities (plus the province-managed county-level cities) and counties, in
    EPSG:4490."""

    province: BaseGeometry
    cities: dict[str, BaseGeometry]
    tolerance_deg: float = 0.0005  # ≈ 50 m: the stored boundaries are simplified (DP 30 m)
    _province_buffered: BaseGeometry | None = None
    counties: tuple[County, ...] = ()

    def __post_init__(self) -> None:
        self._province_buffered = self.province.buffer(self.tolerance_deg)
        shapely.prepare(self._province_buffered)
        for g in self.cities.values():
            shapely.prepare(g)
        self.county_by_code = {k.code: k for k in self.counties}
        self.counties_by_name: dict[str, list[County]] = {}
        for k in self.counties:
            for name in {k.name, _short_county(k.name)}:
                self.counties_by_name.setdefault(name, []).append(k)

    def county_of(self, points: np.ndarray) -> np.ndarray:
        """The county (or None) containing each point."""
        out = np.full(len(points), None, dtype=object)
        if not self.counties or not len(points):
            return out
        tree = shapely.STRtree([k.geom for k in self.counties])
        at, which = tree.query(points, predicate="within")
        out[at] = [self.counties[w] for w in which]
        return out

    def inside_province(self, geoms: np.ndarray) -> np.ndarray:
        return shapely.contains(self._province_buffered, geoms)

    def city_of(self, points: np.ndarray) -> np.ndarray:
        """City code containing each point ('' outside); county-level cities take precedence."""
        out = np.full(len(points), "", dtype=object)
        x, y = shapely.get_x(points), shapely.get_y(points)
        # Regional cities first, then the province-managed ones overwrite inside them.
        for code in sorted(self.cities, key=lambda c: c.endswith("00"), reverse=True):
            hit = shapely.contains_xy(self.cities[code], x, y)
            out[hit] = code
        return out


@dataclass
class Checked:
    """Outcome of :func:`check_frame`."""

    values: pd.DataFrame  # typed values of accepted rows, columns = provided fields
    geoms: np.ndarray  # MultiPolygons (EPSG:4490) of accepted rows; None where not provided
    rows: np.ndarray  # source row labels of accepted rows
    problems: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    flattened: int = 0  # geometries whose Z/M coordinates were dropped
    # (field, message) → rows: defaults applied, old codes read (see _Collector.decide).
    decisions: dict[tuple[str, str], list[Any]] = field(default_factory=dict)


class _Collector:
    def __init__(self, rows: np.ndarray, codes: np.ndarray) -> None:
        self.rows, self.codes = rows, codes
        self.problems: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.flattened = 0
        self.bad = np.zeros(len(rows), dtype=bool)
        self.bad_fields: dict[str, set[int]] = {}
        # What the validation decided for rows (a default applied, an old code read): one
        # entry per (field, message), with the rows it applies to.
        self.decisions: dict[tuple[str, str], list[Any]] = {}

    def _item(self, i: int, fld: str, text: str, key: str) -> dict[str, Any]:
        code = self.codes[i]
        return {
            "row": _jsonable(self.rows[i]),
            "code": None if _missing(code) else str(code),
            "field": fld,
            key: text,
        }

    def reject(self, mask: np.ndarray | Iterable[int | np.integer], fld: str, reason: Any) -> None:
        idx = np.flatnonzero(mask) if isinstance(mask, np.ndarray) and mask.dtype == bool else mask
        for i in idx:
            text = reason(i) if callable(reason) else reason
            self.problems.append(self._item(int(i), fld, text, "reason"))
            self.bad[i] = True
            self.bad_fields.setdefault(fld, set()).add(int(i))

    def rejected(self, fld: str) -> np.ndarray:
        """Rows already rejected for ``fld`` (so a second reason is not piled on)."""
        out = np.zeros(len(self.rows), dtype=bool)
        out[list(self.bad_fields.get(fld, ()))] = True
        return out

    def warn(self, i: int, fld: str, message: str) -> None:
        self.warnings.append(self._item(i, fld, message, "message"))

    def decide(self, mask: np.ndarray | Iterable[int], fld: str, message: str) -> None:
        """Record a decision taken for the rows of ``mask`` (a boolean mask or positions),
        reported once with its rows."""
        if isinstance(mask, np.ndarray) and mask.dtype == bool:
            idx = np.flatnonzero(mask)
        else:
            idx = np.fromiter(mask, dtype=np.int64)
        if len(idx):
            rows = self.decisions.setdefault((fld, message), [])
            rows.extend(_jsonable(r) for r in self.rows[idx])


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    return v


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def _as_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _xy(x: float, y: float) -> str:
    """A corner as quoted in a message: degrees to 4 places, absurd values short."""
    return ", ".join(f"{v:.4f}" if abs(v) < 1e7 else f"{v:.3g}" for v in (x, y))


def _shown(v: Any, limit: int = 40) -> str:
    """A received value as quoted back in a message: short, whatever it is."""
    text = str(v)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _distinct(s: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(codes, uniques) of a column, for coercing each distinct value once: ``codes`` indexes
    ``uniques`` per row, -1 where the cell is missing (None, NaN, blank text). ``None`` when
    the column holds unhashable cells (lists from GeoJSON)."""
    arr = s.to_numpy(dtype=object)
    try:
        codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    except TypeError:
        return None
    uniques = np.asarray(uniques, dtype=object)
    blank = np.fromiter((_missing(u) for u in uniques), dtype=bool, count=len(uniques))
    missing = codes < 0
    if blank.any():
        missing |= blank[np.where(missing, 0, codes)]
    return np.where(missing, -1, codes), uniques


def _per_value(s: pd.Series, fn: Any) -> tuple[np.ndarray, np.ndarray]:
    """``fn`` applied to each distinct present value of ``s``, spread back over the rows:
    (values as an object array with None where missing, the missing mask)."""
    d = _distinct(s)
    if d is None:
        vals = np.array([None if _missing(v) else fn(v) for v in s], dtype=object)
        return vals, np.array([_missing(v) for v in s], dtype=bool)
    codes, uniques = d
    out_u = np.empty(len(uniques) + 1, dtype=object)
    out_u[:-1] = [fn(u) for u in uniques]
    out_u[-1] = None
    return out_u[codes], codes < 0  # codes == -1 reads the trailing None


def _blank(series: pd.Series) -> np.ndarray:
    s = series
    mask = s.isna().to_numpy().copy()
    if s.dtype == object:
        mask |= s.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    return mask


# --------------------------------------------------------------------------- attributes


# What text fields refuse: a structure where a value belongs, or a NUL character (PostgreSQL
# text cannot hold one).
_NOT_TEXT = "\x00"


def _text_value(v: Any) -> str | None:
    if isinstance(v, dict | list | tuple | set | np.ndarray):
        return _NOT_TEXT  # marked, rejected below
    return _as_text(v)


def _string_column(s: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray] | None:
    """A column of text cells only (and missing ones), stripped column-wise: (the values as a
    string Series, as an object array with None where blank or missing, the blank-or-missing
    mask). ``None`` for any other column (numbers, structures), which is coerced value by
    value. Strips what ``str.strip`` strips."""
    if pd.api.types.infer_dtype(s, skipna=True) != "string":
        return None
    t = s.astype("string").str.strip()
    blank = (t.isna() | (t == "")).to_numpy(dtype=bool)
    out = t.to_numpy(dtype=object, na_value=None)
    out[blank] = None
    return t, out, blank


def _text_cells(s: pd.Series) -> np.ndarray:
    """Each cell as stripped text (None where missing or blank), as an object array."""
    col = _string_column(s)
    return _per_value(s, _as_text)[0] if col is None else col[1]


def _coerce_text(s: pd.Series, f: Field, c: _Collector) -> pd.Series:
    col = _string_column(s)
    if col is not None:  # the usual case, column-wise
        t, out, blank = col
        structured = np.zeros(len(s), dtype=bool)
        nul = ~blank & t.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool)
        lengths = t.str.len().fillna(0).to_numpy(dtype=np.int64)
    else:
        out, blank = _per_value(s, _text_value)
        structured = np.fromiter((v == _NOT_TEXT for v in out), dtype=bool, count=len(out))
        nul = ~structured & np.fromiter(
            (v is not None and "\x00" in v for v in out), dtype=bool, count=len(out)
        )
        lengths = np.fromiter((len(v) if v is not None else 0 for v in out), dtype=np.int64)
    c.reject(structured, f.name, f"{f.label}应为文本，收到的是列表或对象")
    c.reject(nul, f.name, f"{f.label}含有空字符（NUL），请删除后重试")
    too_long = ~blank & ~structured & (lengths > f.max_len)
    c.reject(too_long, f.name, f"{f.label}过长（最多 {f.max_len} 个字符）")
    out[structured | nul] = None
    return pd.Series(out, index=s.index, dtype=object)


def _number(v: Any, f: Field, unit: str | None) -> tuple[float, str | None, bool]:
    """A cell as a number of ``f``'s unit: (value or NaN, why it is refused, whether it was a
    word that means "no value", such as 面议). ``unit`` is the unit the header names."""
    if isinstance(v, bool | np.bool_ | dict | list | tuple):
        return math.nan, None, False  # 是/否 or a structure is not a number
    if isinstance(v, int | float | np.number):
        factor = quantities.unit_factor(unit, f.dimension) if unit and f.dimension else None
        return float(v) * (factor or 1.0), None, False
    value, why = quantities.read(str(v), f.dimension, default_unit=unit, direction=f.direction)
    if why is not None:
        return math.nan, why, False
    if value is None:
        return math.nan, None, True
    return value, None, False


def _coerce_num(s: pd.Series, f: Field, c: _Collector, unit: str | None = None) -> pd.Series:
    factor = quantities.unit_factor(unit, f.dimension) if unit and f.dimension else None
    if s.dtype.kind in "fiu":
        arr = s.to_numpy(dtype=float) * (factor or 1.0)
        blank = np.isnan(arr)
    else:
        parsed, blank = _per_value(s, lambda v: _number(v, f, unit))
        got = [(math.nan, None, False) if p is None else p for p in parsed]
        arr = np.fromiter((g[0] for g in got), dtype=float, count=len(got))
        why = np.array([g[1] for g in got], dtype=object)
        words = np.fromiter((g[2] for g in got), dtype=bool, count=len(got))
        for word in pd.unique(s.to_numpy(dtype=object)[words]):
            c.decide(
                words & (s.to_numpy(dtype=object) == word),
                f.name,
                f"“{_shown(word)}”不是数值，按未填写处理",
            )
        blank = blank | words
        reasons = ~blank & ~pd.isna(why)
        c.reject(reasons, f.name, lambda i: f"{f.label}：{why[i]}")
        blank = blank | reasons
    bad = ~blank & ~np.isfinite(arr)
    c.reject(bad, f.name, lambda i: f"{f.label}应为数字，收到“{_shown(s.iloc[i])}”")
    ok = ~blank & ~bad
    if f.lo is not None:
        low = ok & (arr < f.lo)
        c.reject(low, f.name, lambda i: f"{f.label}={arr[i]:g} 低于允许的最小值 {f.lo:g}")
    if f.hi is not None:
        high = ok & (arr > f.hi)
        c.reject(high, f.name, lambda i: f"{f.label}={arr[i]:g} 超过允许的最大值 {f.hi:g}")
    if f.kind == "int":
        frac = ok & np.isfinite(arr) & (np.mod(np.nan_to_num(arr), 1) != 0)
        c.reject(frac, f.name, f"{f.label}应为整数")
        return pd.Series(
            [None if not o else int(v) for o, v in zip(ok, arr, strict=True)],
            index=s.index,
            dtype=object,
        )
    return pd.Series(np.where(ok, arr, np.nan), index=s.index)


def _parse_date(v: Any) -> dt.date | None | str:
    if _missing(v):
        return None
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    text = _as_text(v)
    m = _CN_DATE.match(text)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return "bad"
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return "bad"


def _coerce_date(s: pd.Series, f: Field, c: _Collector) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = np.array([None if pd.isna(v) else v.date() for v in s], dtype=object)
    else:
        out, _blank_rows = _per_value(s, _parse_date)
        bad = np.fromiter((isinstance(v, str) for v in out), dtype=bool, count=len(out))
        c.reject(
            bad,
            f.name,
            lambda i: f"{f.label}不是有效日期（应为 YYYY-MM-DD），收到“{_shown(s.iloc[i])}”",
        )
        out[bad] = None
    far = np.fromiter(
        (isinstance(v, dt.date) and not (1900 <= v.year <= 2100) for v in out),
        dtype=bool,
        count=len(out),
    )
    c.reject(far, f.name, f"{f.label}年份超出 1900–2100")
    return pd.Series(out, index=s.index, dtype=object)


def _bool_value(v: Any) -> Any:
    if isinstance(v, bool | np.bool_):
        return bool(v)
    t = _as_text(v).lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    return "bad"


def _coerce_bool(s: pd.Series, f: Field, c: _Collector) -> pd.Series:
    out, _blank_rows = _per_value(s, _bool_value)
    bad = np.fromiter((isinstance(v, str) for v in out), dtype=bool, count=len(out))
    c.reject(bad, f.name, lambda i: f"{f.label}应为 是/否，收到“{_shown(s.iloc[i])}”")
    out[bad] = None
    return pd.Series(out, index=s.index, dtype=object)


def _coerce_code(s: pd.Series, f: Field, c: _Collector) -> pd.Series:
    out, blank = _per_value(s, lambda v: code_for(f, _as_text(v)))
    bad = ~blank & np.fromiter((v is None for v in out), dtype=bool, count=len(out))
    allowed = "、".join(f"{k}（{lab}）" for k, lab in list(f.vocab.items())[:8])  # type: ignore[union-attr]

    def reason(i: int) -> str:
        given = _as_text(s.iloc[i]).strip()
        if f.name == "city_code" and given in codes.NOT_CITIES:
            return f"{f.label}“{given}”：{codes.NOT_CITIES[given]}"
        return f"{f.label}取值“{_shown(s.iloc[i])}”无法识别；可选：{allowed}"

    c.reject(bad, f.name, reason)
    return pd.Series(out, index=s.index, dtype=object)


def _coerce_land_use(s: pd.Series, f: Field, c: _Collector) -> pd.Series:
    """用途: a 用地用海 code or name, or an old code (GB/T 21010, GB 50137) read through
    :mod:`landmatch.inventory.land_use`, which says how (a decision) or why not (refused)."""
    out, blank = _per_value(s, lambda v: land_use.read(_as_text(v)))
    codes = np.array([None if v is None else v[0] for v in out], dtype=object)
    notes = np.array([None if v is None else v[1] for v in out], dtype=object)
    bad = ~blank & pd.isna(codes)
    allowed = "、".join(f"{k}（{lab}）" for k, lab in list(vocab.LAND_USE.items())[:8])
    c.reject(
        bad,
        f.name,
        lambda i: notes[i] or f"{f.label}取值“{_shown(s.iloc[i])}”无法识别；可选：{allowed}",
    )
    read = ~bad & ~pd.isna(notes)
    for note in pd.unique(notes[read]):
        c.decide(read & (notes == note), f.name, str(note))
    return pd.Series(codes, index=s.index, dtype=object)


def _split_list(v: Any, f: Field) -> list[str]:
    if isinstance(v, list | tuple | np.ndarray):
        return [str(x).strip() for x in v if str(x).strip()]
    text = _as_text(v).strip("{}[]")
    if f.name == "readiness":  # 七通一平 … stand for their items
        for bundle, items in READINESS_BUNDLES.items():
            text = text.replace(bundle, "," + ",".join(items) + ",")
    # Labels may contain separators (“已收储，权属清晰”): swap whole labels for codes first.
    for code, label in sorted((f.vocab or {}).items(), key=lambda kv: -len(kv[1])):
        if label in text:
            text = text.replace(label, f",{code},")
    return [p.strip().strip("\"'") for p in _LIST_SPLIT.split(text) if p.strip().strip("\"'")]


def _compatible_use(part: str, f: Field) -> tuple[str | None, str | None]:
    """One of a parcel's compatible uses, read as 用途 is (:func:`land_use.read`: a level-2
    name or code such as 物流仓储用地 or 1101 as its default sub-class, an old code through the
    crosswalk), with the note saying how; 待定 is no use."""
    code, note = land_use.read(part, f.label)
    if code == vocab.LAND_USE_PENDING:
        return None, None
    return code, note


def _coerce_list(s: pd.Series, f: Field, c: _Collector) -> pd.Series:
    def parse(v: Any) -> tuple[list[str] | None, list[str], list[str]]:
        """(codes or None when any is refused, the reasons for refusing, notes on how
        values were read)."""
        codes: list[str] = []
        unknown: list[str] = []
        why: list[str] = []
        notes: list[str] = []
        if isinstance(v, dict):
            return (
                None,
                [f"{f.label}含无法识别的取值：（应为列表或以逗号分隔的文本，收到的是对象）"],
                [],
            )
        for part in _split_list(v, f):
            if f.name == "compatible_uses":
                code, note = _compatible_use(part, f)
            else:
                code, note = code_for(f, part), None
            if code:
                codes.append(code)
                if note:
                    notes.append(note)
            elif note:
                why.append(note)  # an old code that is not one-to-one: why
            else:
                unknown.append(part)
        if unknown:
            why.append(f"{f.label}含无法识别的取值：{'、'.join(unknown)}")
        return (None if why else sorted(set(codes), key=codes.index)), why, notes

    def present(v: Any) -> bool:
        return isinstance(v, list | tuple | np.ndarray | dict) or not _missing(v)

    nothing: tuple[None, list[str], list[str]] = (None, [], [])
    d = _distinct(s)
    if d is None:  # lists in the cells (GeoJSON arrays): one at a time
        parsed = [parse(v) if present(v) else nothing for v in s]
    else:
        codes, uniques = d
        per_u = [parse(u) for u in uniques] + [nothing]
        parsed = [per_u[k] for k in codes]
    values: list[Any] = []
    for i, (codes_i, why, notes) in enumerate(parsed):
        if why:
            c.reject([i], f.name, "；".join(why))
        else:
            for note in notes:
                c.decide([i], f.name, note)
        values.append(None if codes_i is None else list(codes_i))
    if f.name == "readiness":
        _bundles_read(s, values, c)
    return pd.Series(values, index=s.index, dtype=object)


def _bundles_read(s: pd.Series, values: list[Any], c: _Collector) -> None:
    """Say how 五通一平, 七通一平 … were read (each bundle once, with its rows)."""
    texts = [v if isinstance(v, str) else "" for v in s]
    for bundle, items in READINESS_BUNDLES.items():
        rows = [i for i, t in enumerate(texts) if bundle in t and values[i] is not None]
        if rows:
            shown = "、".join(vocab.READINESS[k] for k in items)
            extra = "（有线电视、雨水等不单列）" if bundle == "九通一平" else ""
            c.decide(rows, "readiness", f"“{bundle}”记为：{shown}{extra}")


_COERCE = {
    "text": _coerce_text,
    "int": _coerce_num,
    "num": _coerce_num,
    "date": _coerce_date,
    "bool": _coerce_bool,
    "code": _coerce_code,
    "list": _coerce_list,
}

# (earlier, later, message): the later date may not precede the earlier one.
DATE_ORDER = (
    ("approval_date", "supply_date", "供地日期早于批准日期"),
    ("contract_date", "agreed_start_date", "约定开工日期早于合同签订日期"),
    ("agreed_start_date", "agreed_completion_date", "约定竣工日期早于约定开工日期"),
    ("contract_date", "actual_start_date", "实际开工日期早于合同签订日期"),
    ("actual_start_date", "stopped_since", "停工日期早于实际开工日期"),
)
NOT_FUTURE = (
    *UTILITY_DATES,
    "data_updated_on",
    "approval_date",
    "contract_date",
    "actual_start_date",
    "stopped_since",
)


def _coherence(values: pd.DataFrame, c: _Collector, today: dt.date) -> None:
    cols = values.columns
    for early, late, msg in DATE_ORDER:
        if early in cols and late in cols:
            a, b = values[early].to_numpy(), values[late].to_numpy()
            bad = np.array(
                [
                    isinstance(x, dt.date) and isinstance(y, dt.date) and y < x
                    for x, y in zip(a, b, strict=True)
                ],
                dtype=bool,
            )
            c.reject(bad, late, lambda i, a=a, b=b, msg=msg: f"{msg}（{b[i]} < {a[i]}）")
    for name in NOT_FUTURE:
        if name in cols:
            v = values[name].to_numpy()
            bad = np.array([isinstance(x, dt.date) and x > today for x in v], dtype=bool)
            c.reject(bad, name, f"{BY_NAME[name].label}晚于今天")
    pairs = (
        ("far_min", "far_max", "容积率下限大于上限"),
        ("invested_wan", "total_investment_wan", "已投资超过总投资"),
    )
    for lo, hi, msg in pairs:
        if lo in cols and hi in cols:
            a = pd.to_numeric(values[lo], errors="coerce").to_numpy(dtype=float)
            b = pd.to_numeric(values[hi], errors="coerce").to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                bad = np.isfinite(a) & np.isfinite(b) & (a > b)
            c.reject(bad, lo, msg)


#: The fields of the rule between a parcel's use and its transfer term (:func:`_lease_terms`).
LEASE_RULE_FIELDS = ("land_use", "lease_years")


def _lease_terms(
    values: pd.DataFrame, c: _Collector, stored: dict[str, dict[str, Any]] | None
) -> None:
    """出让年限 no longer than the maximum term of the parcel's use (``land_use.LEASE_CEILINGS``,
    docs/domain.md §10). A parcel's use or term the input leaves out is its stored one
    (``stored``: code → stored values), so changing either is checked against the other; the
    problem is the given field's (出让年限 when both are given)."""
    cols = values.columns
    if "lease_years" not in cols and "land_use" not in cols:
        return
    n = len(values)
    stored = stored or {}
    kept = [stored.get(str(k), {}) if not _missing(k) else {} for k in c.codes]

    def column(name: str) -> np.ndarray:
        if name in cols:
            out = values[name].to_numpy(dtype=object, copy=True)
        else:
            out = np.full(n, None, dtype=object)
        if name not in cols or name == "land_use":  # a blank 用途 keeps the stored one
            for i in np.flatnonzero(pd.isna(out)):
                out[i] = kept[i].get(name)
        return out

    uses, years = column("land_use"), column("lease_years")
    at = "lease_years" if "lease_years" in cols else "land_use"
    checked = ~c.rejected("lease_years") & ~c.rejected("land_use")
    for i in np.flatnonzero(checked & ~pd.isna(years) & ~pd.isna(uses)):
        reason = land_use.over_ceiling(str(uses[i]), int(years[i]))
        if reason is not None:
            c.reject([i], at, reason)


#: The stored fields the minimum price rule reads where an import row leaves them out (its use,
#: county and city, and its area for the 成交价): :func:`_minimum_price`.
PRICE_RULE_FIELDS = ("land_use", "county_code", "city_code", "area_m2")


def _minimum_price(
    values: pd.DataFrame,
    c: _Collector,
    geoms: np.ndarray,
    regions: Regions,
    stored: dict[str, dict[str, Any]] | None,
) -> None:
    """Warnings (never refusals: priority industries may go to 70 %) where an industrial
    parcel's 出让底价 or 成交价 is below the national minimum price of its county's grade, or
    where a price cannot be checked because the use is not known
    (``min_price.price_floor_warnings``, the one rule). The use, county, city and area a row
    leaves out are the stored parcel's (``stored``; an edit checks the merged parcel); a county
    nobody gave is the one the parcel lies in; the area is the boundary's, else the stored one."""
    cols = values.columns
    priced = [f for f in (min_price.RESERVE, min_price.SALE) if f in cols]
    if not priced or not get_settings().industrial_price_grades:
        return  # no grade anywhere, nothing to check: no area or county to work out
    n = len(values)
    stored = stored or {}
    kept = [stored.get(str(k), {}) if not _missing(k) else {} for k in c.codes]

    def column(name: str) -> np.ndarray:
        out = (
            values[name].to_numpy(dtype=object, copy=True)
            if name in cols
            else np.full(n, None, dtype=object)
        )
        for i in np.flatnonzero(pd.isna(out)):
            out[i] = kept[i].get(name)
        return out

    prices = {f: pd.to_numeric(values[f], errors="coerce").to_numpy(dtype=float) for f in priced}
    has_price = np.zeros(n, dtype=bool)
    for f in priced:
        has_price |= np.isfinite(prices[f]) & ~c.rejected(f)
    rows = np.flatnonzero(
        has_price & ~c.rejected("land_use") & ~c.rejected("county_code") & ~c.rejected("city_code")
    )
    if not len(rows):
        return
    uses, counties, cities = column("land_use"), column("county_code"), column("city_code")
    shaped = ~shapely.is_missing(geoms[rows]) & ~c.rejected("geometry")[rows]
    areas = np.full(n, np.nan)
    where = np.full(n, None, dtype=object)
    if shaped.any():
        at = rows[shaped]
        areas[at] = planar_area_m2(geoms[at])
        where[at] = regions.county_of(shapely.point_on_surface(geoms[at]))
    for k in rows:
        i = int(k)
        area = areas[i] if np.isfinite(areas[i]) else kept[i].get("area_m2")
        county = counties[i] or (where[i].code if where[i] is not None else None)

        def price(f: str, i: int = i) -> float | None:
            if f not in prices or not np.isfinite(prices[f][i]) or c.rejected(f)[i]:
                return None
            return float(prices[f][i])

        for fld, message in min_price.price_floor_warnings(
            None if _missing(uses[i]) else str(uses[i]),
            None if _missing(county) else str(county),
            None if _missing(cities[i]) else str(cities[i]),
            price(min_price.RESERVE),
            price(min_price.SALE),
            None if area is None else float(area),
        ):
            c.warn(i, fld, message)


# --------------------------------------------------------------------------- geometry


def to_storage_array(geoms: np.ndarray, crs: CrsCode) -> np.ndarray:
    """Transform an array of geometries from ``crs`` (EPSG code or GCJ02) to EPSG:4490."""
    if crs == GCJ02:

        def conv(xy: np.ndarray) -> np.ndarray:
            lon, lat = gcj02.gcj02_to_wgs84(xy[:, 0], xy[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(geoms, conv)
    if crs in (STORAGE_EPSG, 4326):
        return geoms  # PROJ treats 4326 ↔ 4490 as a no-op; so do we
    tr = transformer(int(crs), STORAGE_EPSG)

    def proj(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, proj)


def planar_area_m2(geoms: np.ndarray) -> np.ndarray:
    """Area (m²) in each geometry's 3° Gauss–Krüger zone (< 0.03 % off the ellipsoid in Hebei)."""
    out = np.full(len(geoms), np.nan)
    if not len(geoms):
        return out
    b = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        zones = np.nan_to_num(np.round((b[:, 0] + b[:, 2]) / 6), nan=-1).astype(int)
    for zone in np.unique(zones):
        sel = zones == zone
        if not 25 <= zone <= 45:
            continue
        out[sel] = projected_area_m2(geoms[sel], gk_epsg(int(zone)))
    return out


def projected_area_m2(geoms: np.ndarray, epsg: int) -> np.ndarray:
    """Area of each (multi)polygon of EPSG:4490 projected to ``epsg``: the shoelace sum of
    its rings' projected vertices (exteriors minus holes), all rings in one pass."""
    polys, of_geom = shapely.get_parts(geoms, return_index=True)
    out = np.zeros(len(geoms))
    if not len(polys):
        return out
    rings, of_poly = shapely.get_rings(polys, return_index=True)
    # get_rings lists each polygon's exterior first, then its holes.
    first = np.r_[True, of_poly[1:] != of_poly[:-1]]
    xy, of_ring = shapely.get_coordinates(rings, return_index=True)
    x, y = transformer(STORAGE_EPSG, epsg).transform(xy[:, 0], xy[:, 1])
    starts = np.r_[0, np.flatnonzero(of_ring[1:] != of_ring[:-1]) + 1]
    x = x - np.repeat(x[starts], np.diff(np.r_[starts, len(x)]))  # per-ring origin: precision
    y = y - np.repeat(y[starts], np.diff(np.r_[starts, len(y)]))
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    same = of_ring[:-1] == of_ring[1:]
    ring_area = np.abs(
        np.bincount(of_ring[:-1][same], weights=cross[same], minlength=len(rings)) / 2
    )
    signed = np.where(first, ring_area, -ring_area)
    poly_area = np.bincount(of_poly, weights=signed, minlength=len(polys))
    return np.bincount(of_geom, weights=poly_area, minlength=len(geoms))


def _as_multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Vectorised ``to_multipolygon``: polygons wrapped, multipolygons kept, others per row."""
    out = np.array(geoms, dtype=object)
    if not len(out):
        return out
    tid = shapely.get_type_id(out)
    poly = np.flatnonzero(tid == 3)
    if len(poly):
        out[poly] = shapely.multipolygons(out[poly], indices=np.arange(len(poly)))
    for i in np.flatnonzero((tid != 3) & (tid != 6)):
        out[i] = to_multipolygon(out[i])
    return out


def _check_geometry(
    geoms: np.ndarray, crs: CrsCode, fix: bool, c: _Collector, keep: np.ndarray | None = None
) -> np.ndarray:
    """Check, transform and locate ``geoms``; rows of ``keep`` have none and need none."""
    n = len(geoms)
    out = np.full(n, None, dtype=object)
    missing = shapely.is_missing(geoms)
    c.reject(missing if keep is None else missing & ~keep, "geometry", "缺少几何图形")
    present = ~missing
    # numpy's stubs reject None in np.where; at runtime it gives an object array.
    g = np.where(present, geoms, None)  # type: ignore[call-overload]
    empty = present & shapely.is_empty(g)
    c.reject(empty, "geometry", "几何图形为空")
    ok = present & ~empty
    # Surveyed files often carry heights (Z) or measures (M): parcels are planar, keep x, y.
    extra_dims = ok & (shapely.has_z(g) | shapely.has_m(g))
    if extra_dims.any():
        g[extra_dims] = shapely.force_2d(g[extra_dims])
        c.flattened = int(extra_dims.sum())
    # A GeometryCollection is a boundary only when every member is a polygon; its parts become
    # one MultiPolygon here, so that the checks below see them together (overlapping parts
    # are invalid in a MultiPolygon, not in a collection).
    for i in np.flatnonzero(ok & (shapely.get_type_id(g) == 7)):
        try:
            g[i] = collection_polygons(g[i])
        except GeometryError as exc:
            c.reject([i], "geometry", exc.message)
            ok[i] = False
    type_id = shapely.get_type_id(g)
    polygonal = np.isin(type_id, (3, 6))  # Polygon, MultiPolygon
    wrong = ok & ~polygonal
    c.reject(wrong, "geometry", lambda i: check_polygonal(g[i])[0].message_zh)
    ok &= polygonal
    limit = get_settings().max_parcel_vertices
    counts = shapely.get_num_coordinates(g)
    c.reject(
        ok & (counts > limit),
        "geometry",
        lambda i: too_many_vertices(int(counts[i]), limit).message_zh,  # type: ignore[union-attr]
    )
    ok &= counts <= limit
    coords, index = shapely.get_coordinates(g[ok], return_index=True)
    finite = np.ones(n, dtype=bool)
    if len(coords):
        bad_pts = ~np.isfinite(coords).all(axis=1)
        finite[np.flatnonzero(ok)[np.unique(index[bad_pts])]] = False
    c.reject(ok & ~finite, "geometry", "坐标含 NaN 或无穷值")
    ok &= finite
    invalid = ok & ~shapely.is_valid(g)
    for i in np.flatnonzero(invalid):
        problems = check_polygonal(g[i])
        text = problems[0].message_zh if problems else "几何图形无效"
        if fix and (not problems or problems[0].code == "invalid"):
            try:
                g[i], notes = repair(g[i])
            except Exception as exc:  # GeometryError
                c.reject([i], "geometry", f"{text}；修复失败：{getattr(exc, 'message', exc)}")
                continue
            for note in notes:
                c.warn(int(i), "geometry", note)
        else:
            hint = "" if fix else "（可选择“自动修复”后重试）"
            c.reject([i], "geometry", text + hint)
    # Rows rejected for other fields are still located: every problem of a row is reported.
    ok &= ~c.rejected("geometry")
    stored = to_storage_array(g[ok], crs)
    out[ok] = normalise_polygons(_as_multipolygons(stored))
    idx = np.flatnonzero(ok)
    # Where is it? China, then Hebei (with a hint for swapped axes).
    b = shapely.bounds(stored) if len(stored) else np.zeros((0, 4))
    with np.errstate(invalid="ignore"):
        box_ok = np.asarray(np.isfinite(b).all(axis=1), dtype=bool)
        in_china = (
            box_ok
            & (CHINA_BBOX[0] <= b[:, 0])
            & (b[:, 2] <= CHINA_BBOX[2])
            & (CHINA_BBOX[1] <= b[:, 1])
            & (b[:, 3] <= CHINA_BBOX[3])
        )
        in_hebei = (
            (HEBEI_BBOX[0] <= b[:, 0])
            & (b[:, 2] <= HEBEI_BBOX[2])
            & (HEBEI_BBOX[1] <= b[:, 1])
            & (b[:, 3] <= HEBEI_BBOX[3])
        )
    c.reject(idx[~box_ok], "geometry", "坐标转换失败（坐标超出所选坐标系的有效范围）")
    for k in np.flatnonzero(box_ok & ~in_china):
        hint = "；疑似经纬度颠倒" if looks_swapped_latlon(stored[k]) else "；请检查坐标系"
        c.reject([idx[k]], "geometry", f"坐标超出中国范围（{_xy(b[k, 0], b[k, 1])}）{hint}")
    for k in np.flatnonzero(in_china & ~in_hebei):
        hint = "；疑似经纬度颠倒" if looks_swapped_latlon(stored[k]) else ""
        c.reject([idx[k]], "geometry", f"{OUTSIDE_HEBEI}（{_xy(b[k, 0], b[k, 1])}）{hint}")
    return out


# --------------------------------------------------------------------------- counties


def _short_county(name: str) -> str:
    """藁城区 → 藁城, 正定县 → 正定 (a name as lists often write it)."""
    return name[:-1] if len(name) > 2 and name[-1] in "区县市旗" else name


def _check_counties(
    values: pd.DataFrame, geoms: np.ndarray, located: np.ndarray, regions: Regions, c: _Collector
) -> None:
    """县区: a county code or name (藁城区, 藁城) → the county's code, in the parcel's city.
    A development zone's statistical code (130171) is no county: the parcel's own is named."""
    if not regions.counties:
        return
    given = values["county_code"].to_numpy(dtype=object)
    cities = values["city_code"].to_numpy(dtype=object)
    out = given.copy()
    points = np.full(len(values), None, dtype=object)
    if located.any():
        points[located] = shapely.point_on_surface(geoms[located])
    here = regions.county_of(points[located]) if located.any() else np.zeros(0, dtype=object)
    lies_in = np.full(len(values), None, dtype=object)
    lies_in[located] = here
    for i in np.flatnonzero(~pd.isna(given) & ~c.rejected("county_code")):
        value = str(given[i]).strip()
        county = regions.county_by_code.get(value)
        if county is None and value in codes.ZONE_STAT_CODES:
            k = lies_in[i]
            where = (
                f"地块位于{k.name}（{k.code}），请填写 {k.code}"
                if k
                else "请填写地块所在县区的代码"
            )
            c.reject(
                [i],
                "county_code",
                f"“{value}”是{codes.ZONE_STAT_CODES[value]}的统计代码，不是县区代码；{where}",
            )
            continue
        if county is None:
            named = regions.counties_by_name.get(value, [])
            inside = [k for k in named if k.city == cities[i]] or named
            if len(inside) > 1 and lies_in[i] in inside:
                inside = [lies_in[i]]
            if len(inside) == 1:
                county = inside[0]
                c.decide(
                    [int(i)],
                    "county_code",
                    f"县区“{value}”按名称记为 {county.code}（{county.name}）",
                )
            elif inside:
                c.reject([i], "county_code", f"县区“{value}”有多个同名县区，请填写县区代码")
                continue
            else:
                c.reject([i], "county_code", f"未知县区“{_shown(value)}”（应为县区代码或名称）")
                continue
        if isinstance(cities[i], str) and county.city != cities[i]:
            c.reject(
                [i],
                "county_code",
                f"县区 {county.code}（{county.name}）不属于{vocab.label(vocab.CITIES, cities[i])}",
            )
            continue
        out[i] = county.code
    values["county_code"] = out


def _county_by_location(
    values: pd.DataFrame, geoms: np.ndarray, new: np.ndarray, regions: Regions, c: _Collector
) -> None:
    """A new parcel without a 县区 gets the county its boundary lies in, as its city is got
    from its location (the county reference layer, ``Regions.county_of``), when that county is
    of the parcel's city; a county given is kept."""
    if not regions.counties:
        return
    if "county_code" not in values:
        values["county_code"] = pd.Series([None] * len(values), index=values.index, dtype=object)
    col = values["county_code"].to_numpy(dtype=object, copy=True)
    idx = np.flatnonzero(new & pd.isna(col) & ~c.rejected("county_code"))
    if not len(idx):
        return
    cities = values["city_code"].to_numpy(dtype=object)
    filled = []
    for i, county in zip(idx, regions.county_of(shapely.point_on_surface(geoms[idx])), strict=True):
        if county is not None and county.city == cities[i]:
            col[i] = county.code
            filled.append(int(i))
    values["county_code"] = col
    c.decide(filled, "county_code", "新地块未填县区，已按地块位置记为所在县区")


# --------------------------------------------------------------------------- defaults

#: What a new parcel's blank land use, status and visibility become when the import gives no
#: default: 待定 (stored unpublished), 批而未供, internal.
FALLBACK: dict[str, str] = {
    "land_use": vocab.LAND_USE_PENDING,
    "status": "unsupplied",
    "visibility": "internal",
}
PENDING_NOT_PUBLIC = "用途待定的地块不能公开：请先填写用途，或把公开范围设为内部"


def _defaults(
    values: pd.DataFrame,
    is_new: np.ndarray,
    given: dict[str, str],
    stored_pending: set[str],
    codes: np.ndarray,
    c: _Collector,
) -> None:
    """Fill the blank land use, status and visibility of new parcels (the import's default,
    else :data:`FALLBACK`), each decision recorded; keep 待定 parcels unpublished."""
    n = len(values)
    filled: dict[str, np.ndarray] = {}
    for name, fallback in FALLBACK.items():
        f = BY_NAME[name]
        col = (
            values[name].to_numpy(dtype=object, copy=True)
            if name in values
            else np.full(n, None, dtype=object)
        )
        blank = is_new & pd.isna(col) & ~c.rejected(name)
        filled[name] = blank
        if not blank.any():
            continue
        value = given.get(name) or fallback
        col[blank] = value
        values[name] = col
        shown = vocab.label(vocab.PARCEL_LAND_USE if name == "land_use" else f.vocab or {}, value)
        if name in given:
            c.decide(blank, name, f"未填写{f.label}，按导入时指定的默认值记为“{shown}”")
        elif name == "land_use":
            c.decide(
                blank, name, "未填写用途：记为“待定”，地块保存为不公开（内部）；补充用途后才能公开"
            )
        else:
            c.decide(blank, name, f"未填写{f.label}，按默认记为“{shown}”（导入时可指定默认值）")
    if "visibility" not in values:
        return
    if "land_use" in values:
        pending = values["land_use"].to_numpy(dtype=object) == vocab.LAND_USE_PENDING
    else:
        pending = np.fromiter((v in stored_pending for v in codes), dtype=bool, count=n)
    public = pending & (values["visibility"].to_numpy(dtype=object) == "public")
    by_default = public & filled["visibility"]
    if by_default.any():  # the import's default gives way: 待定 is never public
        values.loc[by_default, "visibility"] = "internal"
        c.decide(by_default, "visibility", "用途待定，不按默认值公开，记为“内部”")
    c.reject(public & ~by_default, "visibility", PENDING_NOT_PUBLIC)


# --------------------------------------------------------------------------- frame


# The order of a row's problems: where it is (geometry, city, county) before what it is.
_FIRST = ("geometry", "city_code", "county_code", "zone_code", "code")
_RANK = {name: k for k, name in enumerate((*_FIRST, *(f.name for f in FIELDS)))}


def order_problems(problems: list[dict[str, Any]], rows: Iterable[Any]) -> list[dict[str, Any]]:
    """``problems`` in a stable order: by row (in file order), then location and geometry
    before attributes (fields in the order of :data:`~landmatch.inventory.fields.FIELDS`),
    then as found. Problems of rows not in ``rows`` (a header, say) come first."""
    position = {str(r): k for k, r in enumerate(rows)}
    keyed = [
        (position.get(str(p["row"]), -1), _RANK.get(p["field"], len(_RANK)), k)
        for k, p in enumerate(problems)
    ]
    return [problems[k] for *_key, k in sorted(keyed)]


def repeated_codes(codes: pd.Series) -> dict[str, Any]:
    """Codes that occur more than once, each with the row label of its first occurrence."""
    norm = pd.Series(_text_cells(codes), index=codes.index, dtype=object)
    twice = norm[norm.duplicated(keep=False) & norm.notna()]
    return {code: label for label, code in twice[~twice.duplicated()].items()}


def flattened_note(n: int) -> str:
    return f"{n} 个地块的坐标含高程（Z）或量测值（M），已去除，只保留平面坐标"


def check_frame(
    frame: pd.DataFrame,
    geoms: np.ndarray | None,
    *,
    crs: CrsCode = STORAGE_EPSG,
    regions: Regions,
    existing: set[str],
    repair_geometry: bool = False,
    default_city: str | None = None,
    declared_area_m2: np.ndarray | None = None,
    today: dt.date | None = None,
    repeated: dict[str, Any] | None = None,
    no_boundary: str = "新地块缺少几何图形",
    defaults: dict[str, str] | None = None,
    stored_pending: set[str] | None = None,
    units: dict[str, str] | None = None,
    keep_missing_geometry: bool = False,
    stored: dict[str, dict[str, Any]] | None = None,
) -> Checked:
    """Validate a frame of parcel records.

    ``frame`` columns are field names; ``geoms`` the geometries in ``crs`` (``None`` when the
    input carries none, e.g. an attribute-only edit); ``existing`` the codes already stored, so
    that new rows must carry the required fields. ``repeated`` (from :func:`repeated_codes`
    over a whole file) lets a slice of the file be checked on its own: codes repeated anywhere
    in the file, with the row of their first occurrence. ``no_boundary`` is the reason given to
    a new parcel without geometry. ``defaults`` (field → code) fill a new parcel's blank land
    use, status and visibility (see :data:`FALLBACK`); ``stored_pending`` are the codes among
    ``existing`` whose stored land use is 待定 (they cannot be made public); ``stored`` (code →
    field → value) the stored land use and lease term of codes among ``existing`` where the
    input leaves one out, for the rule between them (:func:`_lease_terms`).
    """
    today = today or beijing_today()
    n = len(frame)
    rows = frame.index.to_numpy()
    codes = _text_cells(frame["code"]) if "code" in frame else np.full(n, None, dtype=object)
    c = _Collector(rows, codes)
    values = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        f = BY_NAME[name]
        col = frame[name].reset_index(drop=True)
        if name == "land_use":
            values[name] = _coerce_land_use(col, f, c).to_numpy()
        elif f.kind in ("num", "int"):
            values[name] = _coerce_num(col, f, c, (units or {}).get(name)).to_numpy()
        else:
            values[name] = _COERCE[f.kind](col, f, c).to_numpy()

    # Codes: present, well-formed, unique within the input.
    if "code" not in values:
        c.reject(np.ones(n, dtype=bool), "code", "缺少地块编号（地块编号/code 列）")
    else:
        code = values["code"].to_numpy()
        blank = pd.isna(code)
        c.reject(blank, "code", "缺少地块编号")
        matches = pd.Series(code, dtype="string").str.fullmatch(vocab.CODE_PATTERN)
        form = ~blank & ~c.rejected("code") & ~matches.fillna(True).to_numpy(dtype=bool)
        c.reject(
            form, "code", lambda i: f"地块编号“{_shown(code[i])}”格式不正确（{vocab.CODE_RULE}）"
        )
        if repeated is None:
            first_row = repeated_codes(pd.Series(code, index=frame.index))
        else:
            first_row = repeated
        dup = np.fromiter((v in first_row for v in code), dtype=bool, count=n) & ~blank
        c.reject(
            dup,
            "code",
            lambda i: f"地块编号“{code[i]}”在文件中重复（首次出现于第 {first_row[code[i]]} 行）",
        )
    is_new = np.array([v not in existing for v in codes], dtype=bool)
    miss = is_new & (values["name"].isna().to_numpy() if "name" in values else True)
    c.reject(miss & ~c.rejected("name"), "name", "新地块缺少地块名称")
    _defaults(values, is_new, defaults or {}, stored_pending or set(), codes, c)
    if geoms is None:
        c.reject(is_new, "geometry", no_boundary)
        out_geoms = np.full(n, None, dtype=object)
    else:
        geoms = np.asarray(geoms, dtype=object)
        keep = None
        if keep_missing_geometry:  # a stored parcel keeps its boundary; a new one needs one
            keep = shapely.is_missing(geoms)
            c.reject(keep & is_new, "geometry", no_boundary)
        out_geoms = _check_geometry(geoms, crs, repair_geometry, c, keep)

    # City: stated, defaulted, or derived from the location; must match the location.
    if "city_code" not in values:
        values["city_code"] = default_city
    elif default_city:
        stated = values["city_code"].to_numpy()
        mismatch = np.array([v is not None and v != default_city for v in stated], dtype=bool)
        c.reject(
            mismatch,
            "city_code",
            lambda i: f"城市代码 {stated[i]} 与导入时指定的城市 {default_city} 不符",
        )
        values["city_code"] = values["city_code"].fillna(default_city)
    has_geom = ~shapely.is_missing(out_geoms) & ~c.rejected("geometry")
    if has_geom.any():
        gs = out_geoms[has_geom]
        idx = np.flatnonzero(has_geom)
        outside = ~regions.inside_province(gs)
        c.reject(idx[outside], "geometry", f"{OUTSIDE_HEBEI}（越出河北省界）")
        where = regions.city_of(shapely.point_on_surface(gs))
        stated = values["city_code"].to_numpy(dtype=object, copy=True)
        said = stated[idx]
        inside = ~outside
        c.reject(idx[inside & (where == "")], "geometry", "地块不在河北省任何城市范围内")
        found = inside & (where != "")
        unstated = found & pd.isna(said)
        stated[idx[unstated]] = where[unstated]
        # A province-managed city (辛集, 定州) lies inside the city it used to belong to: a
        # parcel there stated as that city is accepted, and recorded as the province-managed
        # city it lies in (its own bureau's scope).
        enclave = found & (
            ((said == "130100") & (where == "130181")) | ((said == "130600") & (where == "130682"))
        )
        for k in np.flatnonzero(enclave):
            stated[idx[k]] = where[k]
            c.warn(
                int(idx[k]),
                "city_code",
                f"地块位于省直管的{vocab.CITIES[where[k]]}，城市代码按位置记为 {where[k]}"
                f"（所填为{vocab.CITIES[said[k]]}）",
            )
        for k in np.flatnonzero(found & ~unstated & (said != where) & ~enclave):
            c.reject(
                [idx[k]],
                "city_code",
                f"地块位于{vocab.CITIES.get(where[k], where[k])}，与所填城市"
                f"{vocab.CITIES.get(said[k], said[k])}不符",
            )
        values["city_code"] = stated
    if "county_code" in values:
        _check_counties(values, out_geoms, has_geom & ~c.rejected("geometry"), regions, c)
    if "county_code" in values or is_new.all():  # a column added would clear stored ones
        located = has_geom & ~c.rejected("geometry") & ~c.rejected("city_code")
        _county_by_location(values, out_geoms, is_new & located, regions, c)
    city_missing = is_new & values["city_code"].isna().to_numpy()
    located = ~c.rejected("geometry") & ~c.rejected("city_code")
    c.reject(city_missing & located, "city_code", "新地块缺少城市代码，且无法由位置确定")

    # Declared area vs computed area (> 1 % → warning).
    declared = declared_area_m2
    if declared is None and "declared_area_m2" in values:
        declared = pd.to_numeric(values["declared_area_m2"], errors="coerce").to_numpy(dtype=float)
    if declared is not None:
        values["declared_area_m2"] = declared
        sel = has_geom & ~c.rejected("geometry") & np.isfinite(declared)
        if sel.any():
            rows_sel = np.flatnonzero(sel)
            computed = planar_area_m2(out_geoms[sel])
            d = declared[sel]
            with np.errstate(invalid="ignore", divide="ignore"):
                off = (
                    np.isfinite(computed)
                    & (computed > 0)
                    & (np.abs(d - computed) / computed > AREA_TOLERANCE)
                )
            for k in np.flatnonzero(off):
                dk, a = d[k], computed[k]
                c.warn(
                    int(rows_sel[k]),
                    "declared_area_m2",
                    f"申报面积 {mu(dk / M2_PER_MU, fixed=True)} 亩与计算面积 "
                    f"{mu(a / M2_PER_MU, fixed=True)} 亩相差 "
                    f"{(dk - a) / a * 100:+.1f}%（超过 1%）",
                )
    _coherence(values, c, today)
    _lease_terms(values, c, stored)
    _minimum_price(values, c, out_geoms, regions, stored)
    keep = ~c.bad
    return Checked(
        values=values[keep].reset_index(drop=True),
        geoms=out_geoms[keep],
        rows=rows[keep],
        problems=order_problems(c.problems, rows),
        decisions=c.decisions,
        warnings=c.warnings,
        flattened=c.flattened,
    )
