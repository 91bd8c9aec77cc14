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

from landmatch.errors import ServiceUnavailable
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


def brochure_html(
    card: dict[str, Any],
    shapes: dict[str, Any],
    *,
    today: dt.date | None = None,
    pdf_url: str | None = None,
) -> str:
    return render(
        "brochure.html",
        c=card,
        p=card["parcel"],
        svg=svg_extract(shapes),
        today=(today or dt.date.today()).isoformat(),
        pdf_url=pdf_url,
    )


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
