"""All configuration, read once from the environment (prefix ``LANDMATCH_``).

Every variable is listed with its default in ``.env.example``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from landmatch.errors import ConfigError

DEFAULT_SECRET = "change-me-in-production"


class Settings(BaseSettings):
    """Runtime settings. ``mode=production`` refuses the default secret."""

    model_config = SettingsConfigDict(env_prefix="LANDMATCH_", env_file=".env", extra="ignore")

    mode: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+psycopg://root@127.0.0.1:5432/landmatch"
    secret_key: str = DEFAULT_SECRET
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_base_url: str = "http://127.0.0.1:8000"
    # Upload and import limits.
    max_upload_mb: int = Field(200, ge=1, le=10_000)
    max_import_rows: int = Field(200_000, ge=1)
    # An import writing up to this many parcels settles their derived data (spatial facts, map
    # cells) in its own transaction; a larger one right after its commit (landmatch.db.derived).
    import_settle_inline_max: int = Field(5_000, ge=0)
    # How often each server worker settles derived data left queued (by a crash, say); 0 = never.
    settle_poll_seconds: float = Field(5, ge=0, le=3600)
    # Listing limits.
    default_page_size: int = Field(100, ge=1, le=10_000)
    max_page_size: int = Field(1000, ge=1, le=100_000)
    # Data older than this many days is flagged as stale (utilities, prices).
    stale_after_days: int = Field(365, ge=1)
    # Idle-land fee rate (Order 53 Art. 14: 20 %), kept configurable (domain-rules §1.2).
    idle_fee_rate: float = Field(0.20, ge=0, le=1)
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

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, v: str) -> str:
        if not v.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("must be a PostgreSQL URL, e.g. postgresql+psycopg://user@host/db")
        if v.startswith("postgres://"):
            v = "postgresql://" + v[len("postgres://") :]
        if v.startswith("postgresql://"):
            v = "postgresql+psycopg://" + v[len("postgresql://") :]
        return v

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
