"""地块推介书: a printable page (inline CSS and an SVG map extract, so it needs no network and
prints the same everywhere) and its PDF, printed by the system's headless Chromium from a
temporary file (the app never calls itself over HTTP)."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from landmatch.auth import PUBLIC
from landmatch.dates import beijing_today
from landmatch.db import locator
from landmatch.db.cards import extract_shapes
from landmatch.errors import ServiceUnavailable
from landmatch.inventory.cards import parcel_card
from landmatch.maps.card import policy_summary
from landmatch.maps.elements import render

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-pdf-header-footer",
)
SVG_SIZE = 520


def _rings(geom: dict[str, Any]) -> list[list[list[float]]]:
    t = geom.get("type")
    c: Any = geom.get("coordinates")
    if t == "Polygon":
        return list(c)
    if t == "MultiPolygon":
        return [r for poly in c for r in poly]
    if t == "LineString":
        return [c]
    if t == "MultiLineString":
        return list(c)
    if t == "GeometryCollection":
        return [r for g in geom.get("geometries", []) for r in _rings(g)]
    return []


def svg_extract(shapes: dict[str, Any], size: int = SVG_SIZE) -> dict[str, Any]:
    """SVG paths of the parcel, neighbours and zone boundary in a local equirectangular frame
    (display only; every measure shown comes from the database's ellipsoidal area), plus the
    length of a round-number scale bar."""
    x0, y0, x1, y1 = shapes["bbox"]
    k = math.cos(math.radians((y0 + y1) / 2))
    width_m = (x1 - x0) * k * 111_320
    sx = size / ((x1 - x0) * k)
    sy = size / (y1 - y0)
    s = min(sx, sy)

    def path(geom: dict[str, Any] | None, close: bool = True) -> str:
        if not geom:
            return ""
        parts = []
        for ring in _rings(geom):
            pts = [f"{(x - x0) * k * s:.1f},{(y1 - y) * s:.1f}" for x, y, *_ in ring]
            if pts:
                parts.append("M" + " L".join(pts) + (" Z" if close else ""))
        return " ".join(parts)

    bar = 10 ** math.floor(math.log10(width_m / 4)) if width_m > 0 else 100
    for mult in (5, 2, 1):
        if bar * mult <= width_m / 3:
            bar *= mult
            break
    return {
        "size": size,
        "parcel": path(shapes["parcel"]),
        "neighbours": [path(g) for g in shapes["neighbours"]],
        "zone": path(shapes["zone"], close=False),
        "bar_m": bar,
        "bar_px": bar / width_m * size if width_m else 0,
    }


# The location map (区位图): a glyph per facility kind, as printed (no icon font: the PDF is
# printed from a file with no network and no script).
FACILITY_GLYPHS = {"port": "港", "airport": "机", "rail_freight": "铁", "highway_interchange": "高"}
LOCATION_W, LOCATION_H = 600, 460
_MIN_HALF_M = 4_000  # the location map shows at least 8 km across
# Facilities further than this set no extent: they are drawn at the map's edge, in their
# direction, so that one distant port does not turn the map into the whole province.
FAR_KM = 90
_LABEL_PX = 15  # label font size in the SVG's units


def _k(lat: float) -> float:
    return math.cos(math.radians(lat))


def location_box(
    point: tuple[float, float],
    facilities: list[dict[str, Any]],
    *,
    width: int = LOCATION_W,
    height: int = LOCATION_H,
) -> tuple[float, float, float, float]:
    """The location map's box (lon/lat): the parcel and the facilities within :data:`FAR_KM`,
    with a margin, at least 8 km across, widened to the map's proportions (a local
    equirectangular frame)."""
    near = [f for f in facilities if f.get("lon") is not None and (f.get("km") or 0) <= FAR_KM]
    lons = [point[0]] + [f["lon"] for f in near]
    lats = [point[1]] + [f["lat"] for f in near]
    cx, cy = (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2
    k = _k(cy)
    half_w = max((max(lons) - min(lons)) / 2 * k * 111_320 * 1.18, _MIN_HALF_M)
    half_h = max((max(lats) - min(lats)) / 2 * 111_320 * 1.18, _MIN_HALF_M)
    # Room for the labels beside the facilities' glyphs, then the map's proportions.
    half_w, half_h = half_w + 2_000, half_h + 1_000
    if half_w / half_h < width / height:
        half_w = half_h * width / height
    else:
        half_h = half_w * height / width
    dx, dy = half_w / (k * 111_320), half_h / 111_320
    return (cx - dx, cy - dy, cx + dx, cy + dy)


def _scale_bar(width_m: float, size_px: float) -> tuple[float, float]:
    bar = 10 ** math.floor(math.log10(width_m / 4)) if width_m > 0 else 100
    for mult in (5, 2, 1):
        if bar * mult <= width_m / 3:
            bar *= mult
            break
    return bar, (bar / width_m * size_px if width_m else 0)


def _text_width(label: str, size: float) -> float:
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in label)


class _Spots:
    """Rectangles already taken on the map (markers, labels): a label goes where it overlaps
    none of them and stays inside the map."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.taken: list[tuple[float, float, float, float]] = []

    def free(self, r: tuple[float, float, float, float]) -> bool:
        """Take ``r`` if it is inside the map and overlaps nothing taken."""
        inside = r[0] >= 2 and r[2] <= self.width - 2 and r[1] >= 2 and r[3] <= self.height - 2
        if inside and not any(
            r[0] < t[2] and t[0] < r[2] and r[1] < t[3] and t[1] < r[3] for t in self.taken
        ):
            self.taken.append(r)
            return True
        return False

    def label(self, x: float, y: float, text: str, size: float = _LABEL_PX) -> bool:
        """A label centred on x with its baseline at y."""
        w = _text_width(text, size)
        return self.free((x - w / 2, y - size, x + w / 2, y + 3))

    def first_free(self, spots: list[tuple[Any, ...]]) -> tuple[Any, ...]:
        """The first spot whose rectangle (its last item) is free; the first of all when none
        is (the label may then overlap)."""
        return next((sp for sp in spots if self.free(sp[-1])), spots[0])


def _edge_point(
    px: float, py: float, fx: float, fy: float, width: int, height: int
) -> tuple[float, float]:
    """Where the line from the parcel (px, py) towards (fx, fy) leaves the map (16 px in)."""
    ts = [
        (b - a) / d
        for a, d, lo, hi in ((px, fx - px, 16, width - 16), (py, fy - py, 16, height - 16))
        if d
        for b in (lo, hi)
        if (b - a) / d > 0
    ]
    t = min(ts)
    return round(px + (fx - px) * t, 1), round(py + (fy - py) * t, 1)


def _facility_marks(
    facilities: list[dict[str, Any]],
    xy: Callable[[float, float], tuple[float, float]],
    parcel: tuple[float, float],
    spots: _Spots,
) -> list[dict[str, Any]]:
    """Each facility's glyph (at the map's edge, in its direction, when beyond it)."""
    px, py = parcel
    drawn = []
    for f in facilities:
        if f.get("lon") is None:
            continue
        fx, fy = xy(f["lon"], f["lat"])
        edge = not (16 <= fx <= spots.width - 16 and 16 <= fy <= spots.height - 16)
        if edge:
            fx, fy = _edge_point(px, py, fx, fy, spots.width, spots.height)
        spots.taken.append((fx - 12, fy - 12, fx + 12, fy + 12))
        glyph = FACILITY_GLYPHS.get(f["kind"], "·")
        drawn.append(f | {"x": fx, "y": fy, "edge": edge, "glyph": glyph})
    return drawn


def _facility_labels(drawn: list[dict[str, Any]], spots: _Spots) -> None:
    """Name and distance right of each glyph, else left, below or above."""
    for f in drawn:
        label = f"{f['name']} {f['km']:,.1f} 公里" if f["km"] is not None else f["name"]
        f["label"] = ("→ " if f["edge"] else "") + label
        w = _text_width(f["label"], 13)
        x, y = f["x"], f["y"]
        spot = spots.first_free(
            [
                ("start", x + 15, y + 5, (x + 14, y - 10, x + 16 + w, y + 8)),
                ("end", x - 15, y + 5, (x - 16 - w, y - 10, x - 14, y + 8)),
                ("middle", x, y + 28, (x - w / 2, y + 14, x + w / 2, y + 32)),
                ("middle", x, y - 17, (x - w / 2, y - 31, x + w / 2, y - 13)),
            ]
        )
        f["anchor"], f["lx"], f["ly"] = spot[0], spot[1], spot[2]


def _place_labels(
    places: dict[str, Any],
    xy: Callable[[float, float], tuple[float, float]],
    point: tuple[float, float],
    spots: _Spots,
    *,
    regional: bool,
    county_code: str | None,
    zone_code: str | None,
) -> list[dict[str, Any]]:
    """Names of the places: the parcel's own county first (moved aside rather than left
    out), the cities, then — on a regional map — the other counties and the zones (the
    parcel's own zone always)."""
    labels = []
    order = {"own": 0, "city": 1}
    admin = sorted(
        places.get("admin", []),
        key=lambda a: order.get("own" if a["code"] == county_code else a["level"], 2),
    )
    for a in admin:
        own = a["code"] == county_code
        at = a.get("label_at") or (point if own else None)
        wanted = a["level"] == "city" or (a["level"] == "county" and (regional or own))
        if not at or not wanted:
            continue
        x, y = xy(*at)
        size = 17 if a["level"] == "city" else 14
        shifts = ((0, 0), (0, 22), (0, -22), (50, 0), (-50, 0), (0, 44)) if own else ((0, 0),)
        for dx, dy in shifts:
            if spots.label(x + dx, y + dy, a["name"], size):
                labels.append({"x": x + dx, "y": y + dy, "text": a["name"], "cls": a["level"]})
                break
    for z in places.get("zones", []):
        at = z.get("label_at")
        if at and (regional or z["code"] == zone_code):
            x, y = xy(*at)
            if spots.label(x, y + 16, z["name"], 13):
                labels.append({"x": x, "y": y + 16, "text": z["name"], "cls": "zone"})
    return labels


def location_svg(
    box: tuple[float, float, float, float],
    point: tuple[float, float],
    facilities: list[dict[str, Any]],
    places: dict[str, Any],
    *,
    county_code: str | None = None,
    zone_code: str | None = None,
    width: int = LOCATION_W,
    height: int = LOCATION_H,
) -> dict[str, Any]:
    """The location map as SVG pieces: boundaries by level, zones, the parcel's marker, each
    facility with its glyph, name and distance (a dashed line to the parcel), and the names of
    the places — cities always, counties and zones when the map is regional (under 150 km
    across; the parcel's own county and zone always) — placed without overlapping."""
    x0, y0, x1, y1 = box
    k = _k((y0 + y1) / 2)
    s = width / ((x1 - x0) * k)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return round((lon - x0) * k * s, 1), round((y1 - lat) * s, 1)

    def path(geom: dict[str, Any] | None) -> str:
        parts = []
        for ring in _rings(geom) if geom else []:
            pts = [xy(x, y) for x, y, *_ in ring]
            if len(pts) > 1:
                parts.append("M" + " L".join(f"{a},{b}" for a, b in pts))
        return " ".join(parts)

    width_m = (x1 - x0) * k * 111_320
    spots = _Spots(width, height)
    px, py = xy(*point)
    spots.taken.append((px - 12, py - 12, px + 12, py + 12))
    drawn = _facility_marks(facilities, xy, (px, py), spots)
    # The parcel's own label ("本地块") before the facilities': above, below, right or left.
    pw = _text_width("本地块", 14)
    own = spots.first_free(
        [
            (px, py - 14, (px - pw / 2, py - 29, px + pw / 2, py - 11)),
            (px, py + 27, (px - pw / 2, py + 12, px + pw / 2, py + 30)),
            (px + 14 + pw / 2, py + 5, (px + 13, py - 10, px + 15 + pw, py + 8)),
            (px - 14 - pw / 2, py + 5, (px - 15 - pw, py - 10, px - 13, py + 8)),
        ]
    )
    _facility_labels(drawn, spots)
    by_level: dict[str, list[str]] = {"province": [], "city": [], "county": []}
    for a in places.get("admin", []):
        d = path(a.get("lines"))
        if d:
            by_level.setdefault(a["level"], []).append(d)
    labels = _place_labels(
        places,
        xy,
        point,
        spots,
        regional=width_m < 150_000,
        county_code=county_code,
        zone_code=zone_code,
    )
    bar_m, bar_px = _scale_bar(width_m, width)
    return {
        "width": width,
        "height": height,
        "admin": by_level,
        "zones": [
            {"d": path(z.get("lines")), "level": z["level"]} for z in places.get("zones", [])
        ],
        "parcel": {"x": px, "y": py, "label": {"x": own[0], "y": own[1]}},
        "facilities": drawn,
        "labels": labels,
        "bar_m": bar_m,
        "bar_px": bar_px,
    }


def brochure_html(
    card: dict[str, Any],
    shapes: dict[str, Any],
    *,
    location: dict[str, Any] | None = None,
    facilities: list[dict[str, Any]] | None = None,
    today: dt.date | None = None,
    pdf_url: str | None = None,
) -> str:
    """The brochure: ``card`` (the public parcel card), ``shapes`` (the site extract),
    ``location`` (:func:`location_svg`) and ``facilities`` (``landmatch.db.locator``)."""
    return render(
        "brochure.html",
        c=card,
        p=card["parcel"],
        svg=svg_extract(shapes),
        loc=location,
        facilities=facilities or [],
        policies=policy_summary(card["policies"]),
        today=(today or beijing_today()).isoformat(),
        pdf_url=pdf_url,
    )


def build(session: Session, code: str, *, stale_after_days: int, pdf_url: str | None = None) -> str:
    """The brochure of a public parcel, read as the public sees it whoever asks (raises
    NotFound for a parcel that is not public ready land)."""
    card = parcel_card(session, code, PUBLIC, stale_after_days=stale_after_days)
    shapes = extract_shapes(session, code, PUBLIC)
    facilities = locator.nearest_facilities(session, code)
    point = locator.parcel_point(session, code)
    box = location_box(point, facilities)
    p = card["parcel"]
    location = location_svg(
        box,
        point,
        facilities,
        locator.places_around(session, box),
        county_code=p.get("county_code"),
        zone_code=(card.get("zone") or {}).get("code"),
    )
    return brochure_html(card, shapes, location=location, facilities=facilities, pdf_url=pdf_url)


def missing_html(code: str) -> str:
    """The page a reader meets for a brochure that does not exist (or is not public)."""
    return render("brochure_missing.html", code=code)


class PdfCache:
    """Printed brochures by (parcel code, parcel version, data version), least recently used
    first out, bounded in bytes: a repeat request starts no Chromium."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: Hashable, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size -= len(old) if old else 0
            self._items[key] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def fetch(self, key: Hashable | None, make: Callable[[], bytes]) -> bytes:
        """The cached PDF, or ``make()``'s (kept for next time). ``key`` None: not cached."""
        found = None if key is None else self.get(key)
        if found is not None:
            return found
        data = make()
        if key is not None:
            self.put(key, data)
        return data


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise ServiceUnavailable("服务器未安装 Chromium，暂不能生成 PDF；请使用网页版推介书打印")


def html_to_pdf(html: str, timeout_s: float = 60) -> bytes:
    """Print self-contained HTML to PDF with headless Chromium (A4, backgrounds on)."""
    exe = chromium_path()
    with tempfile.TemporaryDirectory(prefix="lm-pdf-") as tmp:
        src = Path(tmp) / "brochure.html"
        out = Path(tmp) / "brochure.pdf"
        src.write_text(html, encoding="utf-8")
        cmd = [
            exe,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp}/profile",
            f"--print-to-pdf={out}",
            src.as_uri(),
        ]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout_s)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise ServiceUnavailable("PDF 生成失败，请稍后重试或使用网页版打印") from exc
        if not out.exists() or out.stat().st_size == 0:
            raise ServiceUnavailable("PDF 生成失败，请稍后重试或使用网页版打印")
        return out.read_bytes()
