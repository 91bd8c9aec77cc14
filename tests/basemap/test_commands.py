"""``landmatch basemap build``: what set-up runs (scripts/up, the Docker image)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, text


def _build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landmatch.cli", "basemap", "build", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


def _rows(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM landmatch.basemap_water")).scalar_one())


def test_without_the_package_set_up_goes_on_and_says_why(engine: Engine, tmp_path: Path) -> None:
    before = _rows(engine)
    r = _build("--dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "gmt-gshhg-high" in r.stderr and "no water" in r.stderr
    assert "Traceback" not in r.stderr
    assert _rows(engine) == before


def test_if_empty_leaves_a_built_basemap_alone(engine: Engine) -> None:
    assert _rows(engine) > 0  # built by the session's fixture, as scripts/up does
    r = _build("--if-empty")
    assert r.returncode == 0, r.stderr
    assert "already built" in r.stdout
