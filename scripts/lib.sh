# Shared set-up steps for scripts/up and scripts/test. Source it; do not run it.
# Works on a fresh Debian machine as root with Python 3.11.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
PG_BIN="/usr/lib/postgresql/15/bin"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2; return 1; fi
}

ensure_system_packages() {
  # PostGIS for the database, GDAL for ogr2ogr/ogrinfo (import benchmark, OGC client tests),
  # Chromium for the browser tests and brochure PDFs (with a CJK font), Node/npm for the
  # front-end assets, QGIS's Python bindings for the headless QGIS client test, GSHHG's
  # shorelines and rivers for the offline basemap (`landmatch basemap build`).
  local want=(postgresql-15 postgresql-15-postgis-3 postgresql-client-15 gdal-bin chromium fonts-wqy-microhei nodejs npm python3-qgis gmt-gshhg-high)
  local missing=()
  want+=(nginx)  # deploy/'s configuration in front of two app servers (tests/test_deploy.py, bench_scale)
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # nodejs/npm may come from elsewhere than Debian; accept working binaries.
  if command -v node >/dev/null && command -v npm >/dev/null; then
    local m2=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || m2+=("$p"); done
    missing=("${m2[@]+"${m2[@]}"}")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null; then
      # The offline basemap's data is optional: without it the maps draw no water.
      local needed=(); for p in "${missing[@]}"; do [[ "$p" == gmt-gshhg-high ]] || needed+=("$p"); done
      if [ ${#needed[@]} -eq 0 ]; then
        say "gmt-gshhg-high is not installed and there is no apt-get: the offline basemap has no water"
        return 0
      fi
      echo "missing system packages (${missing[*]}) and no apt-get: install them by hand" >&2
      return 1
    fi
    say "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ensure_qgis_desktop() {
  # The QGIS desktop and a virtual X server: only for scripts/qgis_screenshot (README pictures).
  local missing=()
  for p in qgis xvfb xauth; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ensure_venv() {
  local stamp=.venv/.installed
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv"
    "$PY" -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "installing landmatch and its dependencies into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch "$stamp"
  fi
}

ensure_ogctests() {
  # ogctests (an independent OGC API - Features test suite) pins httpx, pytest and pyarrow
  # below the project's own versions, so it gets a virtual environment of its own.
  local want="ogctests==0.1.15"
  if [ ! -f .venv-ogctests/.installed ] || [ "$(cat .venv-ogctests/.installed)" != "$want" ]; then
    say "installing $want into .venv-ogctests"
    "$PY" -m venv .venv-ogctests
    .venv-ogctests/bin/python -m pip install -q "$want"
    echo "$want" > .venv-ogctests/.installed
  fi
}

ensure_web_assets() {
  # Front-end libraries come from the npm registry and are served by the app (no CDN).
  if [ -f web/package.json ]; then
    if [ ! -d web/node_modules ] || [ web/package.json -nt web/node_modules ] || \
       { [ -f web/package-lock.json ] && [ web/package-lock.json -nt web/node_modules ]; }; then
      say "installing front-end assets (npm)"
      if [ -f web/package-lock.json ]; then (cd web && npm ci --no-audit --no-fund --silent);
      else (cd web && npm install --no-audit --no-fund --silent); fi
      touch web/node_modules
    fi
  fi
}

pg_answers() { "$PG_BIN/pg_isready" -q -h "$1" -p "$2" 2>/dev/null || pg_isready -q -h "$1" -p "$2" 2>/dev/null; }

start_private_cluster() {
  # A cluster of our own under ./.data, owned by the postgres system user, on port 5433.
  local data="$ROOT/.data/pg" port="${LANDMATCH_PRIVATE_PG_PORT:-5433}"
  mkdir -p "$ROOT/.data"
  if [ ! -f "$data/PG_VERSION" ]; then
    say "initialising a private PostgreSQL cluster in .data/pg"
    mkdir -p "$data"
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$ROOT/.data"; chmod 755 "$ROOT"; fi
    run_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! pg_answers 127.0.0.1 "$port"; then
    say "starting the private cluster on 127.0.0.1:$port"
    run_pg "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
  fi
  PG_URL_BASE="postgresql+psycopg://postgres@127.0.0.1:$port"
}

run_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; else "$@"; fi; }

# Sets PG_URL_BASE (server URL without a database name) and, when a URL was given, DB_URL.
pick_server() {
  if [ -n "${LANDMATCH_DATABASE_URL:-}" ]; then
    DB_URL="$LANDMATCH_DATABASE_URL"
    PG_URL_BASE="${DB_URL%/*}"
    return
  fi
  if pg_answers 127.0.0.1 5432; then
    PG_URL_BASE="postgresql+psycopg://$(id -un)@127.0.0.1:5432"
    if ! .venv/bin/python -c "import sys,psycopg; psycopg.connect(sys.argv[1]+'/postgres').close()" \
        "${PG_URL_BASE#postgresql+psycopg}" 2>/dev/null \
      && ! .venv/bin/python -c "import sys,psycopg; psycopg.connect(sys.argv[1]+'/postgres').close()" \
        "postgresql${PG_URL_BASE#postgresql+psycopg}" 2>/dev/null; then
      say "the server on 5432 does not accept us; using a private cluster"
      start_private_cluster
    fi
  else
    start_private_cluster
  fi
}

create_database() {
  # create_database NAME: create it on $PG_URL_BASE if missing.
  .venv/bin/python - "$PG_URL_BASE" "$1" <<'PYEOF'
import sys
import psycopg
base, name = sys.argv[1].replace("postgresql+psycopg://", "postgresql://"), sys.argv[2]
with psycopg.connect(base + "/postgres", autocommit=True) as c:
    if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
        c.execute(f'CREATE DATABASE "{name}"')
PYEOF
}

drop_database() {
  .venv/bin/python - "$PG_URL_BASE" "$1" <<'PYEOF' || true
import sys
import psycopg
base, name = sys.argv[1].replace("postgresql+psycopg://", "postgresql://"), sys.argv[2]
with psycopg.connect(base + "/postgres", autocommit=True) as c:
    c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
PYEOF
}

build_basemap() {
  # The offline basemap's water (sea, coast, lakes, rivers) from GSHHG into the database, once.
  # Without the Debian package (no apt) it says why and the maps draw no water.
  .venv/bin/landmatch basemap build --if-empty || say "offline basemap not built (the maps draw no water)"
}
