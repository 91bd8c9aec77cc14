"""``landmatch match project.json`` prints a Chinese table or JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

from landmatch.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LANDMATCH_DATABASE_URL": settings.database_url,
        "COLUMNS": "200",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "landmatch.cli", "match", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_table_and_json(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    req = tmp_path / "p.json"
    req.write_text(
        json.dumps(
            {"name": "测试项目", "industry": "36", "area_mu_min": 20, "area_mu_max": 150},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    r = _run(settings, str(req), "--top", "3")
    assert r.returncode == 0, r.stderr
    assert "选址匹配结果：测试项目" in r.stdout and "排名" in r.stdout and "未入选原因" in r.stdout
    j = _run(settings, str(req), "--top", "2", "--format", "json")
    assert j.returncode == 0, j.stderr
    body = json.loads(j.stdout)
    assert body["numberReturned"] == 2 and body["features"][0]["properties"]["rank"] == 1


def test_bad_file_is_a_clear_error(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"area_mu_min": 50, "area_mu_max": 10}', encoding="utf-8")
    r = _run(settings, str(bad))
    assert r.returncode == 2 and "面积下限不能大于面积上限" in r.stderr
    r = _run(settings, str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "找不到文件" in r.stderr
