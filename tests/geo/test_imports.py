"""The geo package must stay free of database and web dependencies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FORBIDDEN = (
    "sqlalchemy",
    "geoalchemy2",
    "psycopg",
    "fastapi",
    "starlette",
    "alembic",
    "landmatch.db",
    "landmatch.api",
)


def test_geo_imports_no_db_or_web_libraries() -> None:
    root = Path(__file__).resolve().parents[2]
    code = (
        "import importlib, json, pkgutil, sys\n"
        "import landmatch.geo as g\n"
        "for m in pkgutil.iter_modules(g.__path__, 'landmatch.geo.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    assert "landmatch.geo.txt" in loaded
    leaked = [m for m in loaded if m.split(".")[0] in FORBIDDEN or m.startswith(FORBIDDEN)]
    assert leaked == []
