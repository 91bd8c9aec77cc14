"""All configuration, read once from the environment (prefix ``LANDMATCH_``).

Every variable is listed with its default in ``.env.example``.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from landmatch.errors import ConfigError
from landmatch.monitoring.idle import FEE_RATE_MAX

DEFAULT_SECRET = "change-me-in-production"
#: A parcel is in a development zone when at least this share of its area lies inside it.
DEFAULT_ZONE_MIN_SHARE = 0.5


#: uvicorn's options for every server of the app (``landmatch serve``, the tests, the scripts).
#: Not uvicorn's ``X-Forwarded-*`` handling, which by default believes any process on the
#: same machine (127.0.0.1) before the app sees the request: the client's address and the
#: scheme stay the connection's, and ``landmatch.api.security`` alone decides which proxies
#: to believe (``LANDMATCH_TRUSTED_PROXIES``).
SERVER_OPTIONS: dict[str, Any] = {"proxy_headers": False, "forwarded_allow_ips": ""}


def _items(value: str) -> list[str]:
    """The entries of a comma-separated setting (``a, b,,c``: a, b, c)."""
    return [p.strip() for p in value.split(",") if p.strip()]


class Settings(BaseSettings):
    """Runtime settings. ``mode=production`` refuses the default secret."""

    model_config = SettingsConfigDict(env_prefix="LANDMATCH_", env_file=".env", extra="ignore")

    mode: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+psycopg://root@127.0.0.1:5432/landmatch"
    # A PostgreSQL streaming replica of database_url (empty: everything reads the primary).
    # Public reads (tiles, OGC items, public listings, the public map's data, public matches)
    # go to it once it has replayed the data version the request needs (landmatch.api.reads);
    # signed-in callers and every write use the primary.
    read_database_url: str = ""
    # Each worker re-reads the replica's data versions at most this often (0: on every
    # routed request): a public reader sees a write within this bound after the replica
    # has replayed it.
    replica_poll_ms: int = Field(200, ge=0, le=60_000)
    # A replica whose replay lags the primary by more than this many seconds serves nobody
    # until it has caught up (the public then reads the primary); 0: no cap.
    replica_max_lag_s: float = Field(30.0, ge=0, le=86_400)
    secret_key: str = DEFAULT_SECRET
    # The grade (等别 1–15) of the national 工业用地出让最低价标准 (landmatch.inventory.min_price)
    # of each county or city code, as JSON ({"130102": 7, "130100": 8}); the county's grade,
    # else its city's. Empty: no grade known, no minimum-price check [GK: take the grades from
    # the provincial department].
    industrial_price_grades: dict[str, int] = Field(default_factory=dict)
    # 工业项目建设用地控制指标 where domain-rules.md marks the national value uncertain
    # (landmatch.match.control): a project's planned figure beyond the hard value fails on a
    # parcel that publishes none; between it and the advisory one it passes, marked 未确认.
    control_building_coeff_hard_min_pct: float = Field(30, ge=0, le=100)  # 2008 edition [V]
    control_building_coeff_min_pct: float = Field(40, ge=0, le=100)  # 2023 edition [GK?]
    control_green_ratio_hard_max_pct: float = Field(20, ge=0, le=100)  # 2008 edition [V]
    control_green_ratio_max_pct: float = Field(15, ge=0, le=100)  # 2023 edition [GK?]
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # Where the public reaches the app (scheme://host[:port][/path]): absolute links (the OGC
    # API, listings' pages) are built from it, never from a client's Host header. Empty: from
    # the request (its Host, and HTTPS as a trusted proxy says), for a server that has none yet.
    public_base_url: str = ""
    # Upload and import limits.
    max_upload_mb: int = Field(200, ge=1, le=10_000)
    max_import_rows: int = Field(200_000, ge=1)
    # What the zips of an upload (Shapefile zip, xlsx) may unpack to, in MB (zip-bomb guard).
    max_unpacked_mb: int = Field(2048, ge=1, le=100_000)
    # Vertices one parcel (or zone, constraint area) may have: more is refused with the row named.
    max_parcel_vertices: int = Field(20_000, ge=100, le=10_000_000)
    # An import writing up to this many parcels settles their derived data (spatial facts, map
    # cells) in its own transaction; a larger one right after its commit (landmatch.db.derived).
    import_settle_inline_max: int = Field(5_000, ge=0)
    # The workbench's import wizard runs a dry run or an import of files up to this size (KB)
    # within the request; larger ones as a background job with a progress bar (0 = always).
    import_inline_max_kb: int = Field(256, ge=0, le=10_000_000)
    # How often each server worker settles derived data left queued (by a crash, say); 0 = never.
    settle_poll_seconds: float = Field(5, ge=0, le=3600)
    # Heavy requests (parcel exports, brochure PDFs) running at once per server worker; more get
    # 429 with Retry-After (seconds) so the map stays responsive while they run.
    max_concurrent_exports: int = Field(2, ge=1, le=64)
    max_concurrent_pdfs: int = Field(2, ge=1, le=64)
    busy_retry_after_seconds: int = Field(10, ge=1, le=3600)
    # Brochure PDFs kept per worker (by parcel and data version), in MB; 0 disables the cache.
    brochure_cache_mb: int = Field(64, ge=0, le=4096)
    # ``landmatch serve --workers N``: the supervisor replaces a worker that does not answer its
    # health check (a ping its own thread answers) within this many seconds. Uvicorn's default of
    # 5 s killed a worker whose interpreter was held longer, e.g. by a garbage collection of a
    # multi-gigabyte heap during an in-memory export (issue #20 item 3).
    worker_healthcheck_seconds: int = Field(30, ge=1, le=3600)
    # Database time limits for requests, in seconds: opening a connection (libpq counts whole
    # seconds, at least 2), waiting for a pooled one, one statement. A request that reaches one
    # answers 503; a frozen or unreachable server cannot hold a request longer than about
    # connect + statement + 2 s. /healthz answers within 2 s whatever the database does.
    db_connect_timeout: float = Field(3, ge=1, le=60)
    db_pool_timeout: float = Field(3, ge=0.1, le=300)
    db_statement_timeout: float = Field(5, ge=0.1, le=3600)
    # Long jobs (imports, exports, settling derived data, the seed, every CLI command): one
    # statement may take this long (0 = no limit).
    db_job_statement_timeout: float = Field(1800, ge=0, le=86_400)
    # Listing limits.
    default_page_size: int = Field(100, ge=1, le=10_000)
    max_page_size: int = Field(1000, ge=1, le=100_000)
    # A parcel reserved for a project from the match results is held this many days; the home
    # page reminds the team of holds ending within the reminder window.
    reservation_days: int = Field(90, ge=1, le=3650)
    reservation_reminder_days: int = Field(14, ge=0, le=365)
    # Stored match runs older than this many days are deleted (hourly, by each server worker)
    # unless made for a project or named by an inquiry; 0 keeps every run (landmatch.match.runs).
    match_run_retention_days: int = Field(180, ge=0, le=36_500)
    # Seconds after start before a server worker computes the day's dashboard figures (the
    # province and every city) that no process has kept yet, then again after each midnight, so
    # that the first view of a day answers at once (landmatch.monitoring.summary.warm); 0 = never.
    dashboard_warm_seconds: float = Field(60, ge=0, le=86_400)
    # A proposal's (选址建议书) public link works this many days.
    proposal_days: int = Field(30, ge=1, le=365)
    # 我有意向 inquiries from the public map (landmatch.leads.inquiries): at most this many per
    # client address per hour (429 beyond); a form sent sooner than the minimum seconds after it
    # was opened (a robot) or later than the form's hours is refused.
    inquiry_max_per_hour: int = Field(5, ge=1, le=10_000)
    inquiry_min_seconds: int = Field(3, ge=0, le=600)
    inquiry_form_hours: int = Field(2, ge=1, le=72)
    # Data older than this many days is flagged as stale (utilities, prices).
    stale_after_days: int = Field(365, ge=1)
    # Idle-land fee rate (Order 53 Art. 14: 20 %), kept configurable (docs/domain.md §5) up to
    # the legal cap of 20 % (《城市房地产管理法》 Art. 26).
    idle_fee_rate: float = Field(0.20, ge=0, le=FEE_RATE_MAX)
    # Zone membership: a parcel is in a development zone when at least this share of its area
    # (on the ellipsoid) lies inside it (landmatch.db.membership). After a change, run
    # ``landmatch zones membership`` to recompute the stored memberships.
    zone_min_share: float = Field(DEFAULT_ZONE_MIN_SHARE, gt=0, le=1)
    # Basemap: "none" (administrative boundaries as base, works offline), "osm" or "tianditu".
    basemap: Literal["none", "osm", "tianditu"] = "none"
    tianditu_key: str = ""
    osm_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    # In-process vector-tile cache per worker, in MB (0 disables it).
    tile_cache_mb: int = Field(256, ge=0, le=65_536)
    # Tile workers re-read the data versions at most this often: a committed write reaches tiles
    # (and their ETags) within this bound. 0 reads them on every tile request.
    tile_version_poll_ms: int = Field(200, ge=0, le=60_000)
    # Tile requests remember a bearer token's user this long: revocation reaches tiles within it.
    token_cache_seconds: float = Field(15, ge=0, le=3600)
    # Where the front-end assets installed from npm live (web/node_modules).
    web_assets_dir: str = ""
    # Sign-in: a workbench session ends after this long without a request (idle) and this long
    # after the sign-in whatever happens (absolute).
    session_idle_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    session_absolute_hours: float = Field(12, gt=0, le=30 * 24)
    # Failed sign-ins (form and HTTP Basic) within the window: more than these many per account
    # or per client address are refused with 429 until the oldest counted failure ages out.
    login_failure_window_minutes: int = Field(15, ge=1, le=24 * 60)
    login_max_failures_per_account: int = Field(5, ge=1, le=1000)
    login_max_failures_per_address: int = Field(20, ge=1, le=100_000)
    password_min_length: int = Field(10, ge=8, le=128)
    # Named API tokens made in the workbench: the expiry offered, and the longest allowed.
    token_default_days: int = Field(90, ge=1, le=3650)
    token_max_days: int = Field(365, ge=1, le=3650)
    # Reverse proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For and
    # X-Forwarded-Proto are believed: the client address for throttling and the audit log,
    # and the Secure flag of the session cookie behind an HTTPS proxy.
    trusted_proxies: str = ""
    # Web origins (scheme://host[:port], comma-separated) allowed cross-origin access with
    # credentials (a token or the session cookie) to /api, /ogc and /tiles. Public data is
    # readable from any origin without credentials whatever this says.
    cors_origins: str = ""

    @field_validator("database_url", "read_database_url")
    @classmethod
    def _postgres_only(cls, v: str, info: ValidationInfo) -> str:
        if not v and info.field_name == "read_database_url":
            return v
        if not v.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("must be a PostgreSQL URL, e.g. postgresql+psycopg://user@host/db")
        if v.startswith("postgres://"):
            v = "postgresql://" + v[len("postgres://") :]
        if v.startswith("postgresql://"):
            v = "postgresql+psycopg://" + v[len("postgresql://") :]
        return v

    @field_validator("industrial_price_grades")
    @classmethod
    def _price_grades(cls, v: dict[str, int]) -> dict[str, int]:
        bad = [
            f"{k}={g}"
            for k, g in v.items()
            if not (k.isdigit() and len(k) == 6) or not 1 <= g <= 15
        ]
        if bad:
            raise ValueError(f"区县或城市代码应为 6 位数字、等别为 1–15：{', '.join(bad)}")
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, v: str) -> str:
        for part in _items(v):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"not an address or CIDR range: {part}") from None
        return v

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if v and not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(/[^\s?#]*)?", v):
            raise ValueError(f"not a web address (scheme://host[:port][/path]): {v}")
        return v

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, v: str) -> str:
        for part in _items(v):
            if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?", part):
                raise ValueError(f"not a web origin (scheme://host[:port], no path, no *): {part}")
        return v

    @property
    def cors_origin_set(self) -> frozenset[str]:
        return frozenset(p.lower() for p in _items(self.cors_origins))

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(p, strict=False) for p in _items(self.trusted_proxies))

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.mode == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "LANDMATCH_SECRET_KEY still has its default value; set a secret for production"
            )
        if self.basemap == "tianditu" and not self.tianditu_key:
            raise ValueError("LANDMATCH_BASEMAP=tianditu needs LANDMATCH_TIANDITU_KEY")
        return self


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning validation errors into a ConfigError
    that names each offending variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p]
            name = "LANDMATCH_" + loc[0].upper() if loc else "LANDMATCH_*"
            problems.append(f"{name}: {err['msg']}")
        raise ConfigError("配置错误 / invalid settings:\n  " + "\n  ".join(problems)) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
