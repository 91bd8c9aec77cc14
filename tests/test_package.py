"""``pip install .`` yields a working app: the wheel is built from the sources, installed into a
directory of its own, and the app is started from there (not from the checkout)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from landmatch.settings import Settings
from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[1]
# What the build reads: the package (whose web/ and data/layers are links into web/ and layers/).
SOURCES = ("pyproject.toml", "README.md", "landmatch", "layers", "web/static", "web/templates")


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the sources, installed (without dependencies: those of
    this environment serve) into a directory that is put first on the path."""
    tmp = tmp_path_factory.mktemp("package")
    src = tmp / "src"
    for name in SOURCES:
        source, target = ROOT / name, src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(source, target, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, target)
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "-q")
    _run(
        *pip,
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(tmp / "dist"),
        "./src",
        cwd=tmp,
    )
    (wheel,) = (tmp / "dist").glob("landmatch-*.whl")
    _run(
        *pip,
        "install",
        "--no-deps",
        "--no-compile",
        "--target",
        str(tmp / "site"),
        str(wheel),
        cwd=tmp,
    )
    return tmp / "site"


def _files(directory: Path) -> set[str]:
    return {
        str(p.relative_to(directory))
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_the_wheel_holds_the_templates_scripts_layers_and_migrations(site: Path) -> None:
    package = site / "landmatch"
    for installed, source in [
        (package / "web" / "static", ROOT / "web" / "static"),
        (package / "web" / "templates", ROOT / "web" / "templates"),
        (package / "data" / "layers", ROOT / "layers"),
        (package / "db" / "migrations", ROOT / "landmatch" / "db" / "migrations"),
        (package / "db" / "sql", ROOT / "landmatch" / "db" / "sql"),
        (package / "ogc" / "templates", ROOT / "landmatch" / "ogc" / "templates"),
    ]:
        expected = {f for f in _files(source) if not f.endswith(".md")}
        assert _files(installed) == expected, installed
        assert not installed.is_symlink()
    assert not (package / "web" / "node_modules").exists()  # npm packages are not package data


@pytest.fixture(scope="module")
def served(site: Path, settings: Settings, engine: Engine) -> Iterator[tuple[str, dict[str, str]]]:
    """The app of the wheel, served by its own command in a directory that is not the checkout,
    on the migrated test database."""
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "LANDMATCH_DATABASE_URL": settings.database_url,
        "LANDMATCH_MODE": "test",
        "LANDMATCH_WEB_ASSETS_DIR": str(ROOT / "web" / "node_modules"),
    }
    port = _free_port()
    command = ("-m", "landmatch.cli", "serve", "--port", str(port), "--no-access-log")
    server = subprocess.Popen(
        (sys.executable, *command), cwd=site.parent, env=env, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the installed app did not start: {server.stderr.read()[-3000:]}")  # type: ignore[union-attr]
            time.sleep(0.2)
        yield url, env
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_installed_app_serves_pages_scripts_and_npm_packages(
    served: tuple[str, dict[str, str]],
) -> None:
    url, _env = served
    for path, kind in [
        ("/map", "text/html"),
        ("/workbench/login", "text/html"),
        ("/static/app/landmatch.js", "javascript"),
        ("/static/vendor/leaflet/dist/leaflet.js", "javascript"),
        ("/ogc", "json"),
    ]:
        r = httpx.get(url + path, timeout=30, follow_redirects=True)
        assert r.status_code == 200 and kind in r.headers["content-type"], (path, r.status_code)


def test_the_installed_package_reads_its_layers_and_migrations(
    served: tuple[str, dict[str, str]], site: Path
) -> None:
    _url, env = served
    out = _run(
        sys.executable,
        "-c",
        "import landmatch; from landmatch.layers import read_layer; "
        "from landmatch.db.engine import head_revision; from landmatch.db import definitions; "
        "print(landmatch.__file__); print(len(read_layer('facilities'))); print(head_revision()); "
        "print(len(definitions.stored()))",
        cwd=site.parent,
        env=env,
    ).split("\n")
    assert out[0] == str(site / "landmatch" / "__init__.py")
    assert int(out[1]) > 0
    assert (
        out[2]
        == sorted(p.stem for p in (ROOT / "landmatch/db/migrations/versions").glob("0*.py"))[-1]
    )
    assert int(out[3]) > 0
