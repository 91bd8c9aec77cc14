"""Render deploy/nginx/landmatch.conf.template into a runnable nginx configuration.

    python deploy/render_nginx.py --listen 127.0.0.1:8080 \\
        --upstream 127.0.0.1:8001 --upstream 127.0.0.1:8002 --run-dir /var/lib/landmatch-nginx

then ``nginx -c <run-dir>/nginx.conf -g 'daemon off;'``. docker-compose.yml's ``scale`` profile
renders the same template with envsubst. ``run`` starts nginx on a rendered configuration and
stops it (by its own pid) when the block ends: for scripts/bench_scale.py and the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from string import Template

TEMPLATE = Path(__file__).parent / "nginx" / "landmatch.conf.template"
#: The variables of the template (envsubst is given the same list in docker-compose.yml).
VARIABLES = ("LISTEN", "UPSTREAMS", "RUN_DIR", "MAX_BODY", "TILE_FRESH")


def template_variables(text: str) -> set[str]:
    """The ``${NAME}`` placeholders of a template (nginx's own ``$name`` are not braced)."""
    return set(re.findall(r"\$\{([A-Z_]+)\}", text))


def render(
    listen: str,
    upstreams: list[str],
    run_dir: Path,
    *,
    max_body: str = "200m",
    tile_fresh: str = "1s",
) -> str:
    text = TEMPLATE.read_text()
    values = {
        "LISTEN": listen,
        "UPSTREAMS": " ".join(f"server {u} max_fails=3 fail_timeout=5s;" for u in upstreams),
        "RUN_DIR": str(run_dir),
        "MAX_BODY": max_body,
        "TILE_FRESH": tile_fresh,
    }
    assert template_variables(text) == set(values), "template and renderer disagree"
    return Template(text).safe_substitute(values)


def write(run_dir: Path, listen: str, upstreams: list[str], **options: str) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o755)  # nginx's workers (www-data when started as root) use its cache
    conf = run_dir / "nginx.conf"
    conf.write_text(render(listen, upstreams, run_dir, **options))
    return conf


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        raise RuntimeError("nginx is not installed (scripts/lib.sh ensure_nginx installs it)")
    return found


@contextlib.contextmanager
def run(run_dir: Path, listen: str, upstreams: list[str], **options: str) -> Iterator[Path]:
    """nginx in the foreground on the rendered configuration, stopped at the end of the block."""
    conf = write(run_dir, listen, upstreams, **options)
    binary = nginx_binary()
    subprocess.run([binary, "-t", "-q", "-c", str(conf)], check=True, capture_output=True)
    proc = subprocess.Popen([binary, "-c", str(conf), "-g", "daemon off;"])
    try:
        pid_file = run_dir / "nginx.pid"
        deadline = time.monotonic() + 10
        while not pid_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {(run_dir / 'error.log').read_text()}")
            time.sleep(0.05)
        yield conf
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGQUIT)  # graceful: finish the requests in flight
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--listen", required=True, help="port or address:port")
    ap.add_argument("--upstream", action="append", required=True, help="an app server, host:port")
    ap.add_argument("--run-dir", type=Path, required=True)
    ap.add_argument("--max-body", default="200m")
    ap.add_argument("--tile-fresh", default="1s")
    a = ap.parse_args()
    conf = write(
        a.run_dir.resolve(), a.listen, a.upstream, max_body=a.max_body, tile_fresh=a.tile_fresh
    )
    print(conf)


if __name__ == "__main__":
    main()
