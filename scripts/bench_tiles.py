"""Benchmark landmatch vector tiles against tipg on the 1,000,000-parcel database.

    PYTHONPATH=. .venv/bin/python scripts/bench_tiles.py [--source lm_1m] [--db lm_tiles_1m]

``lm_1m`` is read-only: the script copies it once (``createdb -T``) into ``--db`` and migrates the
copy (the cell aggregates of migration 0002_tiles), then serves that copy with
- landmatch, uncached (``LANDMATCH_TILE_CACHE_MB=0``): live tiles;
- landmatch, cached: a cold pass (empty cache) then warm passes;
- tipg (installed from the package index into its own venv, ``--tipg-venv``), same table
  ``landmatch.parcel``, same properties.
Each server runs ``--workers`` uvicorn workers. A small keep-alive HTTP/1.1 client measures p50,
p95, bytes per tile and tiles/s at concurrency 1 and 4 on a fixed tile list: the densest tiles of
z12–z16 and of z6–z11.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PROPS = "code,name,status,land_use,city_code,is_standard_land,visibility,area_m2,zone_id"


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, text=True, capture_output=True)


def prepare_db(source: str, db: str, pg: str) -> str:
    server = make_url(pg)
    conn_args = ["-h", server.host or HOST, "-p", str(server.port or 5432)]
    conn_args += ["-U", server.username] if server.username else []
    url = server.set(drivername="postgresql+psycopg", database=db).render_as_string(
        hide_password=False
    )
    have = sh(
        "psql", *conn_args, "-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{db}'", "postgres"
    ).stdout.strip()
    if not have:
        print(f"copying {source} → {db} (createdb -T) …", flush=True)
        sh("createdb", *conn_args, "-T", source, db)
    from landmatch.db.engine import upgrade

    upgrade(url)
    return url


def staff_token(url: str) -> str:
    """A promoter token in the bench copy, so our tiles carry all statuses like tipg's."""
    from sqlalchemy.orm import Session

    from landmatch.accounts.users import add_user

    eng = create_engine(url)
    with Session(eng) as s:
        s.execute(text("DELETE FROM landmatch.app_user WHERE name = 'bench-tiles'"))
        token = add_user(s, "bench-tiles", "promoter")
        s.commit()
    eng.dispose()
    return token


def tile_list(url: str, per_zoom: int) -> dict[str, list[tuple[int, int, int]]]:
    """Densest tiles per zoom, from the cell aggregates (cells of zoom c are tiles of c + 4)."""
    eng = create_engine(url)
    dense: list[tuple[int, int, int]] = []
    low: list[tuple[int, int, int]] = []
    with eng.connect() as c:

        def top(cell_z: int, shift: int, k: int) -> list[tuple[int, int]]:
            rows = c.execute(
                text(
                    f"SELECT cx >> {shift} AS x, cy >> {shift} AS y FROM landmatch.parcel_cell_total"
                    " WHERE z = :z GROUP BY 1, 2 ORDER BY sum(n) DESC LIMIT :k"
                ),
                {"z": cell_z, "k": k},
            ).all()
            return [(r.x, r.y) for r in rows]

        for tz in (12, 13, 14, 15):
            dense += [(tz, x, y) for x, y in top(tz - 4, 0, per_zoom)]
        for x, y in top(11, 0, max(1, per_zoom // 4)):  # z16: the children of dense z15 tiles
            dense += [(16, 2 * x + dx, 2 * y + dy) for dx in (0, 1) for dy in (0, 1)]
        for tz in range(6, 12):
            low += [(tz, x, y) for x, y in top(tz, 4, per_zoom)]
    eng.dispose()
    return {"z12-z16": dense, "z6-z11": low}


class Client:
    """A minimal keep-alive HTTP/1.1 GET client (so the client is not the bottleneck)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, int]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{self.extra}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        if "content-length" in hdrs:
            body = await self.reader.readexactly(int(hdrs["content-length"]))
        elif hdrs.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                body += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            body = b""
        return status, len(body)


async def run(
    port: int, paths: list[str], concurrency: int, headers: dict[str, str]
) -> dict[str, float]:
    queue = list(enumerate(paths))
    lat: list[float] = []
    sizes: list[int] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        cl = Client(port, headers)
        while queue:
            _, p = queue.pop()
            t = time.perf_counter()
            status, n = await cl.get(p)
            lat.append(time.perf_counter() - t)
            if status != 200:
                errors += 1
            sizes.append(n)
        if cl.writer:
            cl.writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "n": len(lat),
        "p50": statistics.median(lat) * 1000,
        "p95": lat[min(len(lat) - 1, int(len(lat) * 0.95))] * 1000,
        "max_kb": max(sizes) / 1024,
        "mean_kb": statistics.mean(sizes) / 1024,
        "tps": len(lat) / wall,
        "errors": errors,
    }


def start(cmd: list[str], env: dict[str, str], port: int, probe: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(300):
        try:
            status, _ = asyncio.run(Client(port, {}).get(probe))
            if status < 500:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"server on :{port} did not start: {' '.join(cmd)}")


def install_tipg(venv: Path) -> None:
    if not (venv / "bin" / "python").exists():
        sh(sys.executable, "-m", "venv", str(venv))
    # uvicorn[standard] (uvloop, httptools), as landmatch runs: with plain uvicorn (h11) tipg
    # answered every keep-alive request ~45 ms late (Nagle × delayed ACK), not its own cost.
    sh(str(venv / "bin" / "pip"), "install", "-q", "tipg", "uvicorn[standard]")
    v = sh(str(venv / "bin" / "python"), "-c", "import tipg; print(tipg.__version__)").stdout
    print(f"tipg {v.strip()} in {venv}", flush=True)


def row(name: str, r: dict[str, float]) -> str:
    return (
        f"{name:<34} {r['n']:>5} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['mean_kb']:>8.1f}"
        f" {r['max_kb']:>8.1f} {r['tps']:>8.0f} {int(r['errors']):>4}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="lm_1m")
    ap.add_argument("--db", default="lm_tiles_1m")
    ap.add_argument("--per-zoom", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--warm-passes", type=int, default=5)
    ap.add_argument("--tipg-venv", default="/tmp/tipg-venv")
    ap.add_argument("--pg", default=f"postgresql+psycopg://root@{HOST}:5432", help="server")
    ap.add_argument(
        "--port-base",
        type=int,
        default=8811,
        help="tipg listens on this port, landmatch live on the next, cached on the one after",
    )
    ap.add_argument(
        "--groups", default="z12-z16,z6-z11", help="Which tile groups to measure (comma-separated)."
    )
    ap.add_argument(
        "--runs",
        default="tipg,live,cache",
        help="Which servers to measure (comma-separated: tipg, live, cache).",
    )
    args = ap.parse_args()

    runs = set(args.runs.split(","))
    url = prepare_db(args.source, args.db, args.pg)
    p_tipg, p_live, p_cache = args.port_base, args.port_base + 1, args.port_base + 2
    tiles = {g: t for g, t in tile_list(url, args.per_zoom).items() if g in args.groups.split(",")}
    if "tipg" in runs:
        install_tipg(Path(args.tipg_venv))
    print({k: len(v) for k, v in tiles.items()}, flush=True)

    # Served the documented way (``landmatch serve --workers N``).
    ours = [
        sys.executable,
        "-m",
        "landmatch.cli",
        "serve",
        "--host",
        HOST,
        "--workers",
        str(args.workers),
        "--no-access-log",
    ]
    base_env = {"PYTHONPATH": str(ROOT), "LANDMATCH_DATABASE_URL": url}
    tipg_cmd = [
        str(Path(args.tipg_venv) / "bin" / "uvicorn"),
        "tipg.main:app",
        "--host",
        HOST,
        "--workers",
        str(args.workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    tipg_env = {
        "DATABASE_URL": url.replace("+psycopg", ""),
        "TIPG_DB_SCHEMAS": '["landmatch"]',
        "TIPG_DB_TABLES": '["landmatch.parcel"]',
        "TIPG_MAX_FEATURES_PER_TILE": "10000",
    }

    def ours_path(z: int, x: int, y: int) -> str:
        return f"/tiles/parcels/{z}/{x}/{y}.pbf"

    def tipg_path(z: int, x: int, y: int) -> str:
        return (
            f"/collections/landmatch.parcel/tiles/WebMercatorQuad/{z}/{x}/{y}"
            f"?geom-column=geom&properties={PROPS}"
        )

    head = f"{'run':<34} {'tiles':>5} {'p50 ms':>8} {'p95 ms':>8} {'mean KB':>8} {'max KB':>8} {'tiles/s':>8} {'err':>4}"
    results: list[str] = []
    # Internal (all statuses) tiles, as tipg serves the whole table; identity encoding for both.
    hdr = {"Accept-Encoding": "identity", "Authorization": f"Bearer {staff_token(url)}"}

    def bench(
        label: str,
        port: int,
        path,
        passes: int,  # type: ignore[no-untyped-def]
        concs: tuple[int, ...] = (1, 4),
    ) -> None:
        for group, tl in tiles.items():
            paths = [path(*t) for t in tl]
            for conc in concs:
                r = asyncio.run(run(port, paths * passes, conc, hdr))
                results.append(row(f"{label} {group} c{conc}", r))
                print(results[-1], flush=True)

    print(f"load average before: {os.getloadavg()}", flush=True)
    print(head, flush=True)
    # 1. tipg: first pass (cold) and warm passes.
    if "tipg" in runs:
        p = start(tipg_cmd + ["--port", str(p_tipg)], tipg_env, p_tipg, "/collections")
        try:
            bench("tipg cold", p_tipg, tipg_path, 1)
            bench("tipg warm", p_tipg, tipg_path, args.warm_passes)
        finally:
            p.terminate()
            p.wait()
    # 2. landmatch live (no tile cache).
    if "live" in runs:
        p = start(
            ours + ["--port", str(p_live)],
            base_env | {"LANDMATCH_TILE_CACHE_MB": "0"},
            p_live,
            "/healthz",
        )
        try:
            bench("landmatch live", p_live, ours_path, args.warm_passes)
        finally:
            p.terminate()
            p.wait()
    # 3. landmatch cached: a cold pass per concurrency (a fresh server: empty caches), then
    #    warm passes (after one priming pass, not measured).
    if "cache" in runs:
        for conc in (1, 4):
            p = start(ours + ["--port", str(p_cache)], base_env, p_cache, "/healthz")
            try:
                bench("landmatch cache cold", p_cache, ours_path, 1, (conc,))
            finally:
                p.terminate()
                p.wait()
        p = start(ours + ["--port", str(p_cache)], base_env, p_cache, "/healthz")
        try:
            for tl in tiles.values():
                asyncio.run(run(p_cache, [ours_path(*t) for t in tl] * 2, 4, hdr))
            bench("landmatch cache warm", p_cache, ours_path, args.warm_passes * 4)
        finally:
            p.terminate()
            p.wait()
    print(f"\nload average after: {os.getloadavg()}")
    print(head)
    print("\n".join(results))


if __name__ == "__main__":
    main()
