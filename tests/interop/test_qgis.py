"""Headless QGIS 3.22 (Debian's python3-qgis, installed by scripts/lib.sh) loads the parcels
collection as staff with HTTP Basic and as the public, and renders the vector tiles."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from tests.interop.conftest import Counted, matched

SCRIPT = Path(__file__).with_name("qgis_check.py")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
QGIS_PYTHON = "/usr/bin/python3"  # the system Python that python3-qgis installs into


def _run_qgis(url: str, user: str, password: str) -> dict:  # type: ignore[type-arg]
    ARTIFACTS.mkdir(exist_ok=True)
    runtime = tempfile.mkdtemp(prefix="lm-qgis-run-")  # Qt wants it private (0700)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": runtime}
    env.pop("PYTHONPATH", None)
    out = subprocess.run(
        [QGIS_PYTHON, str(SCRIPT), url, user, password, str(ARTIFACTS)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("QGIS-RESULT ")]
    assert out.returncode == 0 and lines, out.stdout[-2000:] + out.stderr[-3000:]
    got = json.loads(lines[-1].split(" ", 1)[1])
    assert "error" not in got, got["error"]
    return got  # type: ignore[no-any-return]


def test_qgis_loads_parcels_as_staff_and_public_and_renders_tiles(
    counted: Counted, staff: tuple[str, str]
) -> None:
    user, password = staff
    public_n = matched(counted.url)
    staff_n = matched(counted.url, (user, password))
    assert 0 < public_n < staff_n
    mark = counted.mark()
    got = _run_qgis(counted.url, user, password)
    asked = counted.since(mark)
    assert got["qgis"].startswith("3.")
    assert got["staff"]["valid"] and got["public"]["valid"]
    assert got["staff"]["count"] == got["staff"]["iterated"] == staff_n
    assert got["public"]["count"] == got["public"]["iterated"] == public_n
    assert "visibility" in got["staff"]["fields"] and "visibility" not in got["public"]["fields"]
    assert got["tiles_valid"]
    for extent in ("province", "city"):
        render = got[f"render_{extent}"]
        assert not render["errors"], render
        assert render["drawn_pixels"] > 100, f"the {extent} rendering is blank: {render['png']}"
    items = [r for r in asked if r[1].endswith("/items")]
    tiles = [r for r in asked if "/tiles/WebMercatorQuad/" in r[1]]
    print(
        f"QGIS {got['qgis']}: {len(asked)} requests ({len(items)} item pages for "
        f"{staff_n} staff + {public_n} public parcels, {len(tiles)} tiles)"
    )
    # pages of the server's maximum (1000), not the whole collection one small page at a time
    assert len(items) <= 2 * (2 + -(-staff_n // 1000) + -(-public_n // 1000))
