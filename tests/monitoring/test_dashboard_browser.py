"""The dashboard in real headless Chromium: logs in, draws every chart, no console errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy import Engine

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_dashboard.py"


def test_dashboard_draws_in_chromium(engine: Engine, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("check_dashboard", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    shot = tmp_path / "dashboard.png"
    problems = mod.check("2026-11-01", shot)
    assert problems == []
    assert shot.stat().st_size > 50_000
