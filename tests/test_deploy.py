"""deploy/ (issue #20 item 5): the compose file's structure (Docker is not run here), and the
nginx configuration run for real in front of two app servers."""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import re
import runpy
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import Engine, text

from landmatch.settings import Settings
from tests.conftest import _free_port
from tests.serving import served

ROOT = Path(__file__).resolve().parents[1]
SCALE = {"primary", "replica", "app1", "app2", "nginx"}


def _render_module() -> SimpleNamespace:
    """deploy/render_nginx.py (not a package: loaded by path)."""
    return SimpleNamespace(**runpy.run_path(str(ROOT / "deploy/render_nginx.py")))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_the_default_stays_one_database_and_one_app(compose: dict[str, Any]) -> None:
    default = {n for n, s in compose["services"].items() if not s.get("profiles")}
    assert default == {"db", "app"}
    scale = {n for n, s in compose["services"].items() if "scale" in s.get("profiles", [])}
    assert scale == SCALE


def test_the_scale_profile_hangs_together(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in SCALE:
        for dep in services[name].get("depends_on", {}):
            assert dep in SCALE, (name, dep)  # never a service the profile does not start
        for volume in services[name].get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), volume
            else:
                assert source in compose["volumes"], volume
    fields = {f"LANDMATCH_{f.upper()}" for f in Settings.model_fields}
    for app in ("app1", "app2"):
        env = services[app]["environment"]
        assert set(env) - {"LANDMATCH_DEMO_PARCELS"} <= fields, set(env) - fields
        assert "@primary:" in env["LANDMATCH_DATABASE_URL"]
        assert "@replica:" in env["LANDMATCH_READ_DATABASE_URL"]
        # The app believes X-Forwarded-* from nginx, and from nobody else.
        nginx_ip = services["nginx"]["networks"]["scale"]["ipv4_address"]
        assert env["LANDMATCH_TRUSTED_PROXIES"] == nginx_ip
        subnet = compose["networks"]["scale"]["ipam"]["config"][0]["subnet"]
        assert ipaddress.ip_address(nginx_ip) in ipaddress.ip_network(subnet)
    assert services["app2"]["depends_on"] == {"app1": {"condition": "service_healthy"}}
    assert "primary" in services["replica"]["depends_on"]
    assert "pg_basebackup" in (ROOT / "deploy/postgres/standby.sh").read_text()
    # nginx renders the same template with envsubst, limited to the template's variables.
    render = _render_module()
    template = render.TEMPLATE.read_text()
    nginx = services["nginx"]
    listed = set(re.findall(r"\$\$\{([A-Z_]+)\}", nginx["command"][-1]))
    assert listed == render.template_variables(template) == set(render.VARIABLES)
    assert set(nginx["environment"]) == listed
    upstreams = re.findall(r"server (\w+):8000", nginx["environment"]["UPSTREAMS"])
    assert upstreams == ["app1", "app2"]


def _counted(app: Any, counts: list[int]) -> Any:
    """The app, counting the HTTP requests it is given."""

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            counts.append(1)
        await app(scope, receive, send)

    return counting


@pytest.fixture(scope="module")
def proxy(settings: Settings, engine: Engine) -> Iterator[dict[str, Any]]:
    """nginx with deploy/'s configuration in front of two app servers on the test database."""
    from landmatch.api.app import create_app

    render = _render_module()
    run_dir = Path(tempfile.mkdtemp(prefix="lm-nginx-"))
    counts: dict[str, list[int]] = {"a": [], "b": []}
    app_settings = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    stack = contextlib.ExitStack()
    try:
        servers = {}
        for name in counts:
            app = _counted(create_app(app_settings), counts[name])
            servers[name] = stack.enter_context(served(app))
        port = _free_port()
        upstreams = [u.removeprefix("http://") for u in servers.values()]
        stack.enter_context(render.run(run_dir, f"127.0.0.1:{port}", upstreams))
        yield {"url": f"http://127.0.0.1:{port}", "counts": counts, "apps": servers}
    finally:
        stack.close()
        shutil.rmtree(run_dir, ignore_errors=True)


def _public_tile(engine: Engine) -> str:
    from landmatch.db.tiles import tile_at

    with engine.connect() as conn:
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                "FROM landmatch.parcel WHERE status = 'ready' AND visibility = 'public' "
                "AND deleted_at IS NULL ORDER BY code LIMIT 1) s"
            )
        ).one()
    x, y = tile_at(lon, lat, 12)
    return f"/tiles/parcels/12/{x}/{y}.pbf"


def test_nginx_spreads_caches_and_compresses(proxy: dict[str, Any], engine: Engine) -> None:
    counts = proxy["counts"]
    with httpx.Client(base_url=proxy["url"], timeout=30) as c:
        for _ in range(8):
            assert c.get("/healthz").status_code == 200
        assert len(counts["a"]) >= 2 and len(counts["b"]) >= 2  # both servers answer

        # A public tile is stored once and answered by nginx while fresh; a request with
        # credentials never reads or fills the shared cache.
        tile = _public_tile(engine)
        first = c.get(tile, headers={"Accept-Encoding": "gzip"})
        assert first.status_code == 200 and first.headers["X-Cache-Status"] == "MISS"
        seen = len(counts["a"]) + len(counts["b"])
        again = c.get(tile, headers={"Accept-Encoding": "gzip"})
        assert again.headers["X-Cache-Status"] in {"HIT", "REVALIDATED", "UPDATING"}
        assert again.headers["ETag"] == first.headers["ETag"] and again.content == first.content
        if again.headers["X-Cache-Status"] == "HIT":
            assert len(counts["a"]) + len(counts["b"]) == seen  # the app was not asked
        private = c.get(tile, headers={"Authorization": "Bearer not-a-token"})
        assert private.headers["X-Cache-Status"] == "BYPASS" and private.status_code == 401

        # JSON is gzipped by nginx (the app does not compress it itself).
        direct = httpx.get(
            proxy["apps"]["a"] + "/api/map/places", headers={"Accept-Encoding": "gzip"}
        )
        assert "content-encoding" not in direct.headers
        places = c.get("/api/map/places", headers={"Accept-Encoding": "gzip"})
        assert places.status_code == 200 and places.headers["Content-Encoding"] == "gzip"
        assert places.json() == direct.json()
        assert len(gzip.compress(direct.content)) < len(direct.content)


def test_through_nginx_the_client_is_the_one_nginx_saw(
    proxy: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    """The app trusts nginx (127.0.0.1) alone and uvicorn trusts nobody: a client (here at
    127.0.0.2) that sends its own X-Forwarded-For and -Proto is counted at the address nginx
    saw, and links keep the scheme nginx was reached by."""
    import datetime as dt

    from landmatch.leads import inquiries

    spoof = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=proxy["url"], transport=transport, timeout=30) as c:
        r = c.get("/ogc/", params={"f": "json"}, headers=spoof)
        assert r.status_code == 200, r.text[:300]
        hrefs = [link["href"] for link in r.json()["links"]]
        assert hrefs and all(h.startswith(proxy["url"] + "/ogc") for h in hrefs), hrefs
        with engine.connect() as conn:
            code = conn.execute(
                text(
                    "SELECT code FROM landmatch.parcel WHERE status = 'ready' "
                    "AND visibility = 'public' AND deleted_at IS NULL ORDER BY code LIMIT 1"
                )
            ).scalar_one()
        at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
        token = inquiries.issue_token(settings.secret_key, at)
        nonce = token.split(".")[1]
        body = {
            "token": token,
            "parcel": code,
            "name": "代理测试",
            "phone": "13800000000",
            "message": "经 nginx 提交",
            "consent": True,
        }
        try:
            r = c.post("/api/inquiries", json=body, headers=spoof)
            assert r.status_code == 201, r.text[:300]
            with engine.connect() as conn:
                address = conn.execute(
                    text("SELECT address FROM landmatch.inquiry WHERE nonce = :n"), {"n": nonce}
                ).scalar_one()
            assert address == "127.0.0.2"
        finally:
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM landmatch.inquiry WHERE nonce = :n"), {"n": nonce})


def test_the_image_keeps_beijing_time() -> None:
    """The journeys review: in the UTC container the app's today (date.today(): idle-land
    periods, assessments' validity, overdue steps, a match's date) was a day behind Hebei's
    from 00:00 to 08:00 Beijing time (the zone page said 今天（2026-12-07） at 02:39 on the 8th).
    The image runs in Beijing time, with the zone data to say so."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ENV TZ=Asia/Shanghai$", dockerfile, re.M)
    install = re.search(r"apt-get install[^&]*", dockerfile, re.S)
    assert install and "tzdata" in install.group(0).split()


def test_every_setting_is_in_the_example_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """settings.py and the README promise every LANDMATCH_ variable in .env.example with its
    default; the minimum price grades, the four control-indicator defaults and the dashboard's
    warm-up were missing. Each of those lines, read as the app reads the environment, is the
    default it documents."""
    example = (ROOT / ".env.example").read_text()
    listed = dict(re.findall(r"^LANDMATCH_([A-Z0-9_]+)=(.*)$", example, re.M))
    missing = [f for f in Settings.model_fields if f.upper() not in listed]
    assert missing == [], missing
    added = (
        "industrial_price_grades",
        "control_building_coeff_hard_min_pct",
        "control_building_coeff_min_pct",
        "control_green_ratio_hard_max_pct",
        "control_green_ratio_max_pct",
        "dashboard_warm_seconds",
    )
    for name in added:
        monkeypatch.delenv(f"LANDMATCH_{name.upper()}", raising=False)
    defaults = Settings()
    for name in added:
        monkeypatch.setenv(f"LANDMATCH_{name.upper()}", listed[name.upper()])
    read = Settings()
    for name in added:
        assert getattr(read, name) == getattr(defaults, name), name
