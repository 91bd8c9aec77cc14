"""The schema ``landmatch`` as typed SQLAlchemy tables.

Geometry is stored as MULTIPOLYGON/POINT in EPSG:4490 (CGCS2000) with a Web Mercator copy for
tiles; areas are in m², computed on the ellipsoid. Both are stored generated columns
(``MERCATOR``, ``ELLIPSOIDAL_AREA``; migration 0014_generated_geometry). Every enumeration is
constrained in the database.

The migrations create the schema; this module declares the same tables, columns, indexes and
constraints (``tests/db/test_schema_source.py`` compares it with a migrated database, and every
vocabulary of ``vocab.py`` with the CHECK that holds it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, CHAR, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.naming import conv

from landmatch import vocab

SCHEMA = "landmatch"
# The derived geometry columns' expressions (as in migration 0014_generated_geometry).
MERCATOR = "ST_Transform(geom, 3857)"
ELLIPSOIDAL_AREA = "ST_Area(geom::geography, true)"


def _in(column: str, values: object) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)  # type: ignore[attr-defined]
    return f"{column} IN ({quoted})"


def _subset(column: str, values: object) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)  # type: ignore[attr-defined]
    return f"{column} <@ ARRAY[{quoted}]::text[]"


class Base(DeclarativeBase):
    metadata = MetaData(
        schema=SCHEMA,
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        },
    )


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


MultiPolygon4490 = Geometry("MULTIPOLYGON", srid=4490, spatial_index=False)
MultiPolygon3857 = Geometry("MULTIPOLYGON", srid=3857, spatial_index=False)
Point4490 = Geometry("POINT", srid=4490, spatial_index=False)
Point3857 = Geometry("POINT", srid=3857, spatial_index=False)
# The offline basemap's water (GSHHG, WGS 84): lines and polygons in one column.
Geometry4326 = Geometry("GEOMETRY", srid=4326, spatial_index=False)
Geometry3857 = Geometry("GEOMETRY", srid=3857, spatial_index=False)


class _Versioned:
    """A resource with an ETag (landmatch.db.locking): its version, bumped by every write, and
    when it was last written."""

    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    updated_at: Mapped[dt.datetime] = _now()


class _Polygons:
    """A polygon layer's geometry as given (CGCS2000), and what PostgreSQL derives from it: the
    Web Mercator copy the tiles read and the area on the ellipsoid."""

    geom: Mapped[Any] = mapped_column(MultiPolygon4490, nullable=False)
    geom_3857: Mapped[Any] = mapped_column(MultiPolygon3857, Computed(MERCATOR))
    area_m2: Mapped[float | None] = mapped_column(Double, Computed(ELLIPSOIDAL_AREA))


class LandUseCode(Base):
    """用地用海分类 codes (lookup table, FK target of parcel.land_use)."""

    __tablename__ = "land_use_code"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class Industry(Base):
    """GB/T 4754-2017, every level (landmatch.industry_codes), with the derived pollution class."""

    __tablename__ = "industry"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    pollution_class: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (CheckConstraint("pollution_class BETWEEN 1 AND 3", name="pollution"),)


class AdminDivision(_Polygons, Base):
    __tablename__ = "admin_division"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(String(6))
    province_managed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    source: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(_in("level", vocab.ADMIN_LEVELS), name="level"),
        CheckConstraint("code ~ '^[0-9]{6}$'", name="code"),
        Index("ix_admin_division_geom", "geom", postgresql_using="gist"),
        Index("ix_admin_division_geom_3857", "geom_3857", postgresql_using="gist"),
    )


class BasemapWater(Base):
    """The offline basemap's water: sea, coastline, lakes and rivers of Hebei and around it,
    extracted from GSHHG at set-up (``landmatch basemap build``; ``landmatch.basemap``). Not
    project data: replaced whole by each build, drawn under everything as the ``water`` tiles."""

    __tablename__ = "basemap_water"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(SmallInteger)  # WDBII river class / GSHHG shore level
    min_zoom: Mapped[int] = mapped_column(SmallInteger)
    source: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry4326, nullable=False)
    geom_3857: Mapped[Any] = mapped_column(Geometry3857, Computed(MERCATOR))
    __table_args__ = (
        CheckConstraint(_in("kind", vocab.BASEMAP_WATER_KINDS), name="kind"),
        Index("ix_basemap_water_geom_3857", "geom_3857", postgresql_using="gist"),
        {
            "comment": "offline basemap water from GSHHG (landmatch basemap build); "
            "replaced whole by each build"
        },
    )


class DevZone(_Polygons, _Versioned, Base):
    """开发区: a development zone with its leading industries and regional assessments."""

    __tablename__ = "dev_zone"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(Text)
    city_code: Mapped[str] = mapped_column(ForeignKey("admin_division.code"))
    level: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(Text)
    leading_industries: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(Text)
    approximate: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        CheckConstraint(_in("level", vocab.ZONE_LEVELS), name="level"),
        CheckConstraint(_in("kind", vocab.ZONE_KINDS), name="kind"),
        Index("ix_dev_zone_geom", "geom", postgresql_using="gist"),
        Index("ix_dev_zone_geom_3857", "geom_3857", postgresql_using="gist"),
    )


class ZoneAssessment(Base):
    """A completed regional assessment (区域评估) of a zone, with its validity."""

    __tablename__ = "zone_assessment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("dev_zone.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    approved_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    doc_no: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("valid_until IS NULL OR valid_until >= approved_on", name="validity"),
        Index("ix_zone_assessment_zone", "zone_id"),
    )


class Parcel(_Versioned, Base):
    """地块. Every write is versioned in parcel_version by triggers (migration 0010_write_path).

    The ASCII code columns compare byte-wise (``COLLATE "C"``, migration 0011_parcel_keys).
    """

    __tablename__ = "parcel"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(64, collation="C"), unique=True)
    name: Mapped[str] = mapped_column(Text)
    city_code: Mapped[str] = mapped_column(String(6, collation="C"))
    county_code: Mapped[str | None] = mapped_column(String(6))
    # The zone the parcel is in and the share of its area inside it (landmatch.db.membership;
    # derived, migration 0022_zone_membership).
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("dev_zone.id", ondelete="SET NULL"))
    zone_share: Mapped[float | None] = mapped_column(Numeric(5, 4))
    address: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12, collation="C"))
    visibility: Mapped[str] = mapped_column(String(10), server_default=text("'internal'"))
    # Land use (用地用海分类) and compatible uses.
    land_use: Mapped[str] = mapped_column(String(8, collation="C"))
    compatible_uses: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )
    # Planning conditions.
    far_min: Mapped[float | None] = mapped_column(Numeric(6, 2))
    far_max: Mapped[float | None] = mapped_column(Numeric(6, 2))
    density_max: Mapped[float | None] = mapped_column(Numeric(5, 2))  # 建筑密度, %
    building_coeff_min: Mapped[float | None] = mapped_column(Numeric(5, 2))  # 建筑系数, %
    green_ratio_max: Mapped[float | None] = mapped_column(Numeric(5, 2))  # 绿地率, %
    height_max_m: Mapped[float | None] = mapped_column(Numeric(6, 1))
    # 标准地 indicators (thresholds the project must reach).
    is_standard_land: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    invest_intensity_min: Mapped[float | None] = mapped_column(Numeric(10, 2))  # 万元/亩
    tax_per_mu_min: Mapped[float | None] = mapped_column(Numeric(10, 2))  # 万元/亩·年
    energy_per_value_max: Mapped[float | None] = mapped_column(Numeric(10, 4))  # 吨标煤/万元
    emission_value_min: Mapped[float | None] = mapped_column(Numeric(10, 2))  # 万元/吨
    # Supply and price.
    supply_modes: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )
    lease_years: Mapped[int | None] = mapped_column(Integer)
    ref_price_wan_per_mu: Mapped[float | None] = mapped_column(Numeric(10, 2))  # public
    price_public: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    reserve_price_wan_per_mu: Mapped[float | None] = mapped_column(Numeric(10, 2))  # internal
    # Utilities: capacity at the boundary and the date it was confirmed (NULL = unknown).
    power_kva: Mapped[float | None] = mapped_column(Double)
    power_as_of: Mapped[dt.date | None] = mapped_column(Date)
    water_m3d: Mapped[float | None] = mapped_column(Double)
    water_as_of: Mapped[dt.date | None] = mapped_column(Date)
    sewage_m3d: Mapped[float | None] = mapped_column(Double)
    sewage_as_of: Mapped[dt.date | None] = mapped_column(Date)
    gas_m3d: Mapped[float | None] = mapped_column(Double)
    gas_as_of: Mapped[dt.date | None] = mapped_column(Date)
    heat_mw: Mapped[float | None] = mapped_column(Double)
    heat_as_of: Mapped[dt.date | None] = mapped_column(Date)
    telecom_5g: Mapped[bool | None] = mapped_column(Boolean)
    fibre: Mapped[bool | None] = mapped_column(Boolean)
    telecom_as_of: Mapped[dt.date | None] = mapped_column(Date)
    readiness: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    checklist: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    # Approval, contract and development (批—供—用).
    approval_doc_no: Mapped[str | None] = mapped_column(Text)
    approval_batch: Mapped[str | None] = mapped_column(Text)
    approval_date: Mapped[dt.date | None] = mapped_column(Date)
    supply_date: Mapped[dt.date | None] = mapped_column(Date)
    contract_no: Mapped[str | None] = mapped_column(Text)
    contract_date: Mapped[dt.date | None] = mapped_column(Date)
    holder: Mapped[str | None] = mapped_column(Text)
    land_price_wan: Mapped[float | None] = mapped_column(Numeric(14, 2))
    agreed_start_date: Mapped[dt.date | None] = mapped_column(Date)
    # The agreed start date is a deadline extended by a disposal decision (Order 53 Art. 12 (1),
    # 延长动工开发期限): idle as soon as it passes unstarted (migration 0041_idle_rules).
    start_extended: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    agreed_completion_date: Mapped[dt.date | None] = mapped_column(Date)
    actual_start_date: Mapped[dt.date | None] = mapped_column(Date)
    stopped_since: Mapped[dt.date | None] = mapped_column(Date)
    total_investment_wan: Mapped[float | None] = mapped_column(Numeric(14, 2))
    invested_wan: Mapped[float | None] = mapped_column(Numeric(14, 2))
    developed_ratio: Mapped[float | None] = mapped_column(Numeric(5, 4))
    invest_ratio: Mapped[float | None] = mapped_column(Numeric(5, 4))
    gov_caused: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    gov_cause: Mapped[str | None] = mapped_column(Text)
    # Contacts and notes are internal.
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    brochure_url: Mapped[str | None] = mapped_column(Text)
    # Geometry and measures.
    declared_area_m2: Mapped[float | None] = mapped_column(Double)
    area_m2: Mapped[float] = mapped_column(Double, Computed(ELLIPSOIDAL_AREA))
    geom: Mapped[Any] = mapped_column(MultiPolygon4490, nullable=False)
    geom_3857: Mapped[Any] = mapped_column(MultiPolygon3857, Computed(MERCATOR))
    # Bookkeeping.
    data_updated_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = _now()
    updated_by: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    import_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint(_in("status", vocab.PARCEL_STATUS), name="status"),
        CheckConstraint(_in("city_code", vocab.CITIES), name="city_code"),
        CheckConstraint(_in("land_use", vocab.PARCEL_LAND_USE), name="land_use"),
        CheckConstraint(
            f"land_use <> '{vocab.LAND_USE_PENDING}' OR visibility = 'internal'", name="pending_use"
        ),
        CheckConstraint(_in("visibility", vocab.VISIBILITY), name="visibility"),
        CheckConstraint(_subset("supply_modes", vocab.SUPPLY_MODES), name="supply_modes"),
        CheckConstraint(_subset("readiness", vocab.READINESS), name="readiness"),
        CheckConstraint(_subset("checklist", vocab.READY_CHECKLIST), name="checklist"),
        CheckConstraint(vocab.CODE_CHECK_SQL, name="code"),
        CheckConstraint("area_m2 > 0", name="area"),
        CheckConstraint(
            "zone_share IS NULL OR (zone_share > 0 AND zone_share <= 1 AND zone_id IS NOT NULL)",
            name="zone_share",
        ),
        CheckConstraint("far_min IS NULL OR far_max IS NULL OR far_min <= far_max", name="far"),
        CheckConstraint(
            "contract_date IS NULL OR agreed_start_date IS NULL "
            "OR agreed_start_date >= contract_date",
            name="start_after_contract",
        ),
        CheckConstraint(
            "developed_ratio IS NULL OR developed_ratio BETWEEN 0 AND 1", name="developed_ratio"
        ),
        CheckConstraint(
            "invest_ratio IS NULL OR invest_ratio BETWEEN 0 AND 1", name="invest_ratio"
        ),
        Index("ix_parcel_geom", "geom", postgresql_using="gist"),
        Index("ix_parcel_city_status", "city_code", "status"),
        Index("ix_parcel_zone", "zone_id"),
        # The workbench list (migration 0020_parcel_list).
        Index(
            "ix_parcel_list",
            "city_code",
            "code",
            postgresql_where=text("deleted_at IS NULL"),
            postgresql_include=[
                "id",
                "status",
                "visibility",
                "land_use",
                "county_code",
                "zone_id",
                "area_m2",
                "data_updated_on",
                "updated_at",
                "name",
            ],
        ),
        # The monitoring summary (migration 0033_monitoring_index).
        Index(
            "ix_parcel_monitoring",
            "status",
            "city_code",
            postgresql_where=text("deleted_at IS NULL"),
            postgresql_include=[
                "county_code",
                "zone_id",
                "area_m2",
                "approval_date",
                "supply_date",
                "land_price_wan",
                "contract_date",
                "agreed_start_date",
                "actual_start_date",
                "stopped_since",
                "developed_ratio",
                "invest_ratio",
                "gov_caused",
                "land_use",
                "far_min",
                "invested_wan",
                "tax_per_mu_min",
                "total_investment_wan",  # migration 0041_idle_rules
                "start_extended",  # 〃
            ],
        ),
        Index(
            "ix_parcel_deleted",
            "city_code",
            "code",
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
        # The map's search by any part of a code (migration 0026_search), and by the bigrams of
        # a name or address (0038_search_bigrams).
        Index(
            "ix_parcel_code_trgm",
            "code",
            postgresql_using="gin",
            postgresql_ops={"code": "gin_trgm_ops"},
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_parcel_name_bigrams",
            text("landmatch.name_bigrams(name, address)"),
            postgresql_using="gin",
        ),
    )


class ParcelVersion(Base):
    """Every version of a parcel: who, when, why, what changed, and its state (the whole row).

    The current version's state is the ``parcel`` row itself, so its ``row`` and ``geom`` are
    NULL until the next write supersedes it (migration 0010_write_path); read states through
    the view ``parcel_version_full``, which fills them in.
    """

    __tablename__ = "parcel_version"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    parcel_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(10))
    row: Mapped[dict[str, Any] | None] = mapped_column(  # lz4 (0009_seed_speed)
        JSONB,
        comment="the state at this version (all columns but the geometries); NULL while it is "
        "the current state, which lives in parcel",
    )
    # Its own type instance: geoalchemy2 copies a column's nullability onto its type.
    geom: Mapped[Any | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4490, spatial_index=False, nullable=True)
    )
    changed: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    actor: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        CheckConstraint(_in("op", ("insert", "update", "delete", "restore")), name="op"),
        Index("ix_parcel_version_parcel", "parcel_id", "version"),
        Index("ix_parcel_version_import", "import_id"),
        Index("ix_parcel_version_edits", "id", postgresql_where=text("import_id IS NULL")),
    )


class ImportBatch(Base):
    __tablename__ = "import_batch"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    filename: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'committed'"))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        CheckConstraint(_in("status", ("committed", "rolled_back", "seed")), name="status"),
    )


# The parcel's utility and supply columns a match compares with a requirement: copied into
# parcel_fact (landmatch.db.facts.COPIED) and carried in its match indexes.
FACT_SUPPLY = (
    "power_kva",
    "water_m3d",
    "gas_m3d",
    "heat_mw",
    "telecom_5g",
    "fibre",
    "supply_modes",
    "readiness",
)

# The parcel's control indicators a match checks a plan against (容积率, 建筑系数, 绿地率),
# copied into parcel_fact, then its bounding box (``bbox_f8``: xmin, ymin, xmax, ymax, for a
# drawn search area): carried in the match indexes as one float8 array, ``match_f8``, in the
# order of MATCH_F8 (PostgreSQL allows 32 index columns; migration 0045_fact_control).
FACT_CONTROL = ("far_min", "far_max", "building_coeff_min", "green_ratio_max")
FACT_BBOX = ("bbox_xmin", "bbox_ymin", "bbox_xmax", "bbox_ymax")
MATCH_F8 = (*FACT_CONTROL, *FACT_BBOX)

# What a match reads from parcel_fact besides the index key (migration 0003_perfmatch).
_FACT_INCLUDE = (
    "parcel_id",
    "code",
    "visibility",
    "city_code",
    "eff_zone_id",
    "compatible_uses",
    "price_public",
    "price_f8",
    "invest_f8",
    "tax_f8",
    "energy_f8",
    *FACT_SUPPLY,
    "data_updated_on",
    "dist_port_km",
    "dist_airport_km",
    "dist_rail_freight_km",
    "dist_highway_interchange_km",
    "dist_logistics_hub_km",
    "dist_substation_km",
    "excluded",
    "penalised",
    "match_f8",
)
_FACT_INDEXES = (
    ("ix_parcel_fact_match", ("status", "land_use", "area_m2"), "deleted_at IS NULL"),
    (
        "ix_parcel_fact_match_city",
        ("status", "city_code", "land_use", "area_m2"),
        "deleted_at IS NULL",
    ),
    (
        "ix_parcel_fact_match_zone",
        ("eff_zone_id", "status", "land_use", "area_m2"),
        "deleted_at IS NULL AND eff_zone_id IS NOT NULL",
    ),
)


class ParcelFact(Base):
    """Prepared per-parcel facts kept current by the layers and parcel write paths, so a match
    reads numbers instead of recomputing geometry."""

    __tablename__ = "parcel_fact"
    parcel_id: Mapped[int] = mapped_column(
        ForeignKey("parcel.id", ondelete="CASCADE"), primary_key=True
    )
    zone_id: Mapped[int | None] = mapped_column(Integer)
    dist_port_km: Mapped[float | None] = mapped_column(Double)
    dist_airport_km: Mapped[float | None] = mapped_column(Double)
    dist_rail_freight_km: Mapped[float | None] = mapped_column(Double)
    dist_highway_interchange_km: Mapped[float | None] = mapped_column(Double)
    dist_logistics_hub_km: Mapped[float | None] = mapped_column(Double)
    dist_cold_chain_km: Mapped[float | None] = mapped_column(Double)
    dist_bonded_zone_km: Mapped[float | None] = mapped_column(Double)
    dist_substation_km: Mapped[float | None] = mapped_column(Double)
    excluded: Mapped[bool | None] = mapped_column(Boolean)  # NULL = not checked
    constraint_hits: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    penalised: Mapped[bool | None] = mapped_column(Boolean)  # hits a 'penalises' constraint
    computed_at: Mapped[dt.datetime] = _now()
    # Copies of the parcel columns a match reads, kept in step by the fact_sync trigger
    # (migration 0002_match), so that ranking is one index-only scan of this table.
    code: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(12))
    visibility: Mapped[str | None] = mapped_column(String(10))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    city_code: Mapped[str | None] = mapped_column(String(6))
    parcel_zone_id: Mapped[int | None] = mapped_column(Integer)
    land_use: Mapped[str | None] = mapped_column(String(8))
    compatible_uses: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    area_m2: Mapped[float | None] = mapped_column(Double)
    price_public: Mapped[bool | None] = mapped_column(Boolean)
    ref_price_wan_per_mu: Mapped[float | None] = mapped_column(Numeric(10, 2))
    invest_intensity_min: Mapped[float | None] = mapped_column(Numeric(10, 2))
    tax_per_mu_min: Mapped[float | None] = mapped_column(Numeric(10, 2))
    energy_per_value_max: Mapped[float | None] = mapped_column(Numeric(10, 4))
    power_kva: Mapped[float | None] = mapped_column(Double)
    water_m3d: Mapped[float | None] = mapped_column(Double)
    gas_m3d: Mapped[float | None] = mapped_column(Double)
    heat_mw: Mapped[float | None] = mapped_column(Double)
    telecom_5g: Mapped[bool | None] = mapped_column(Boolean)
    fibre: Mapped[bool | None] = mapped_column(Boolean)
    supply_modes: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    readiness: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    data_updated_on: Mapped[dt.date | None] = mapped_column(Date)
    far_min: Mapped[float | None] = mapped_column(Numeric(6, 2))
    far_max: Mapped[float | None] = mapped_column(Numeric(6, 2))
    building_coeff_min: Mapped[float | None] = mapped_column(Numeric(5, 2))
    green_ratio_max: Mapped[float | None] = mapped_column(Numeric(5, 2))
    bbox_f8: Mapped[list[float] | None] = mapped_column(ARRAY(Double))
    # Derived by PostgreSQL (migration 0003_perfmatch): the zone a match uses, and the numeric
    # figures as float8 so that ranking does not convert numeric on every row.
    eff_zone_id: Mapped[int | None] = mapped_column(
        Integer, Computed("COALESCE(parcel_zone_id, zone_id)", persisted=True)
    )
    price_f8: Mapped[float | None] = mapped_column(
        Double, Computed("ref_price_wan_per_mu::float8", persisted=True)
    )
    invest_f8: Mapped[float | None] = mapped_column(
        Double, Computed("invest_intensity_min::float8", persisted=True)
    )
    tax_f8: Mapped[float | None] = mapped_column(
        Double, Computed("tax_per_mu_min::float8", persisted=True)
    )
    energy_f8: Mapped[float | None] = mapped_column(
        Double, Computed("energy_per_value_max::float8", persisted=True)
    )
    match_f8: Mapped[list[float | None] | None] = mapped_column(
        ARRAY(Double),
        Computed(
            f"ARRAY[{', '.join(f'{c}::float8' for c in FACT_CONTROL)}] || bbox_f8", persisted=True
        ),
    )
    __table_args__ = tuple(
        Index(
            name,
            *key,
            postgresql_where=text(where),
            postgresql_include=[c for c in _FACT_INCLUDE if c not in key],
        )
        for name, key, where in _FACT_INDEXES
    )


class Policy(_Versioned, Base):
    """A land or preferential policy (政策)."""

    __tablename__ = "policy"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(Text)
    doc_no: Mapped[str | None] = mapped_column(Text)
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    scope_level: Mapped[str] = mapped_column(String(10))
    scope_code: Mapped[str] = mapped_column(String(40))
    industries: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    statuses: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    land_uses: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    benefit_kind: Mapped[str] = mapped_column(String(24))
    benefit_rate: Mapped[float | None] = mapped_column(Numeric(8, 4))
    benefit_cap_wan: Mapped[float | None] = mapped_column(Numeric(12, 2))
    benefit_amount_wan: Mapped[float | None] = mapped_column(Numeric(12, 2))
    benefit_basis: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    summary: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(10), server_default=text("'public'"))
    created_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        CheckConstraint(_in("scope_level", vocab.POLICY_SCOPES), name="scope_level"),
        CheckConstraint(_in("benefit_kind", vocab.BENEFIT_KINDS), name="benefit_kind"),
        CheckConstraint(_in("visibility", vocab.VISIBILITY), name="visibility"),
        CheckConstraint(
            "valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from",
            name="validity",
        ),
    )


class Facility(_Versioned, Base):
    __tablename__ = "facility"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(24))
    city_code: Mapped[str | None] = mapped_column(String(6))  # NULL = province-wide
    approximate: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    confidence: Mapped[str | None] = mapped_column(String(4))
    source: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Point4490, nullable=False)
    geom_3857: Mapped[Any] = mapped_column(Point3857, Computed(MERCATOR))
    __table_args__ = (
        CheckConstraint(_in("kind", vocab.FACILITY_KINDS), name="kind"),
        CheckConstraint(f"city_code IS NULL OR {_in('city_code', vocab.CITIES)}", name="city_code"),
        Index("ix_facility_geom", "geom", postgresql_using="gist"),
        Index("ix_facility_geom_3857", "geom_3857", postgresql_using="gist"),
        Index("ix_facility_kind", "kind"),
        # Nearest facility of one kind by <-> (btree_gist; migration 0002_match).
        Index("ix_facility_kind_geom", "kind", "geom", postgresql_using="gist"),
    )


class ConstraintArea(_Polygons, _Versioned, Base):
    __tablename__ = "constraint_area"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(12))
    # The city that keeps it; NULL = province-wide (migration 0016_layer_city).
    city_code: Mapped[str | None] = mapped_column(String(6))
    source: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(_in("kind", vocab.CONSTRAINT_KINDS), name="kind"),
        CheckConstraint(_in("severity", vocab.CONSTRAINT_SEVERITY), name="severity"),
        CheckConstraint(f"city_code IS NULL OR {_in('city_code', vocab.CITIES)}", name="city_code"),
        Index("ix_constraint_area_geom", "geom", postgresql_using="gist"),
        Index("ix_constraint_area_geom_3857", "geom_3857", postgresql_using="gist"),
    )


class ConstraintCoverage(Base):
    """A constraint kind whose stored areas are declared complete for a city (migration
    0012_constraint_coverage): where it is, a parcel outside every area of the kind is "clear";
    elsewhere it is "not checked" (``landmatch.db.constraints``)."""

    __tablename__ = "constraint_coverage"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    city_code: Mapped[str] = mapped_column(String(6))
    source: Mapped[str] = mapped_column(Text)
    as_of: Mapped[dt.date] = mapped_column(Date)
    declared_by: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        CheckConstraint(_in("kind", vocab.CONSTRAINT_KINDS), name="kind"),
        CheckConstraint(_in("city_code", vocab.CITIES), name="city_code"),
        CheckConstraint("btrim(source) <> ''", name="source"),
        UniqueConstraint("kind", "city_code"),
        Index("ix_constraint_coverage_city_code", "city_code"),
        {
            "comment": "constraint kinds whose stored areas are declared complete for a city "
            "(see landmatch.db.constraints)"
        },
    )


class LayerVersion(Base):
    """History of reference layers (zones, policies, facilities, constraints)."""

    __tablename__ = "layer_version"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer: Mapped[str] = mapped_column(String(24))
    record_id: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(10))
    row: Mapped[dict[str, Any]] = mapped_column(JSONB)
    actor: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = _now()
    __table_args__ = (Index("ix_layer_version_record", "layer", "record_id"),)


class LayerAlert(Base):
    """A reference-layer change that touches ready parcels, raised for one city's bureau."""

    __tablename__ = "layer_alert"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer: Mapped[str] = mapped_column(String(24))
    record_code: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(10))
    city_code: Mapped[str] = mapped_column(String(6))
    parcel_ids: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), server_default=text("'{}'::bigint[]")
    )
    parcel_codes: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )
    ready_count: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(_in("op", ("insert", "update", "delete")), name="op"),
        Index("ix_layer_alert_city", "city_code", "created_at"),
    )


class AppUser(_Versioned, Base):
    """An account; its version covers its role and scope (an admin's edit names it)."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(12))
    city_code: Mapped[str | None] = mapped_column(ForeignKey("admin_division.code"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("dev_zone.id"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    team: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(Text)  # argon2id (accounts.passwords)
    must_change_password: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        CheckConstraint(_in("role", vocab.ROLES), name="role"),
        CheckConstraint("role <> 'zone' OR zone_id IS NOT NULL", name="zone_scope"),
    )


class ApiToken(Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = _now()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    name: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(Text)


class UserSession(Base):
    """A workbench sign-in: the cookie's value is stored only as its SHA-256."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(CHAR(64))
    csrf_token: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()
    last_seen_at: Mapped[dt.datetime] = _now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("token_hash", name=conv("user_session_token_hash_key")),
        Index("ix_user_session_user", "user_id"),
    )


class AuditLog(Base):
    """Security events: sign-ins, sign-outs, failures, password, user and token changes."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = _now()
    event: Mapped[str] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    __table_args__ = (
        Index("ix_audit_log_at", text("at DESC"), text("id DESC")),
        Index("ix_audit_log_event_at", "event", text("at DESC")),
        Index(
            "ix_audit_log_fail_address",
            "address",
            "at",
            postgresql_where=text("event = 'login_failed'"),
        ),
        Index(
            "ix_audit_log_fail_subject",
            "subject",
            "at",
            postgresql_where=text("event = 'login_failed'"),
        ),
    )


class Project(_Versioned, Base):
    __tablename__ = "project"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    industry_code: Mapped[str | None] = mapped_column(ForeignKey("industry.code"))
    requirement: Mapped[dict[str, Any]] = mapped_column(JSONB)
    pipeline_status: Mapped[str] = mapped_column(String(12), server_default=text("'new'"))
    investor: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    # The promotion team the project belongs to (migration 0021_owned_projects).
    owner_team: Mapped[str | None] = mapped_column(Text, index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    next_step_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = _now()
    # A deleted project is kept, left out of every read, until restored (0046_project_restore).
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(_in("pipeline_status", vocab.PROJECT_PIPELINE), name="pipeline"),
    )


class Proposal(Base):
    """A 选址建议书: chosen sites of a project's run behind a signed, expiring link (migration 0025)."""

    __tablename__ = "proposal"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    match_id: Mapped[str] = mapped_column(String(36))
    parcel_codes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    title: Mapped[str] = mapped_column(Text)
    owner_team: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_proposal_project", "project_id"),)


class ProposalOpen(Base):
    """Each opening of a proposal's public link."""

    __tablename__ = "proposal_open"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[str] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = _now()
    user_agent: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_proposal_open_proposal", "proposal_id", "at"),)


class ProjectEvent(Base):
    """A project's history: stage changes, notes, next steps (migration 0024)."""

    __tablename__ = "project_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = _now()
    actor: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(12))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    body: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(
            "kind IN ('stage', 'note', 'next_step')",
            name=conv("ck_project_event_ck_project_event_kind"),  # as 0024 named it
        ),
        Index("ix_project_event_project", "project_id", "at"),
    )


class MatchRun(Base):
    __tablename__ = "match_run"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="SET NULL"))
    request: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Runs store ``body``, the response bytes exactly as returned (migration 0003_perfmatch),
    # zlib-compressed when ``compressed`` (0034_match_run_storage, landmatch.match.runs);
    # older runs have ``response`` only.
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    compressed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    returned: Mapped[int | None] = mapped_column(Integer)  # how many sites the run returned
    actor: Mapped[str | None] = mapped_column(Text)
    owner_team: Mapped[str | None] = mapped_column(Text)  # runs made for a project
    public: Mapped[bool] = mapped_column(Boolean)
    data_version: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        Index("ix_match_run_project", "project_id"),
        Index("ix_match_run_expiry", "created_at", postgresql_where=text("project_id IS NULL")),
        CheckConstraint("response IS NOT NULL OR body IS NOT NULL", name="stored"),
    )


class Reservation(Base):
    __tablename__ = "reservation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    reserved_by: Mapped[str | None] = mapped_column(Text)
    owner_team: Mapped[str | None] = mapped_column(Text)
    until: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index(
            "uq_reservation_active_parcel",
            "parcel_id",
            unique=True,
            postgresql_where=text("released_at IS NULL"),
        ),
        Index("ix_reservation_project", "project_id", postgresql_where=text("released_at IS NULL")),
    )


class DataState(Base):
    """Named counters bumped by every write (the tile cache keys on them)."""

    __tablename__ = "data_state"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class _CellKey:
    """A cell of the zoom-(z+4) tile grid at zoom ``z``, and the parcels' status and view."""

    z: Mapped[int] = mapped_column(SmallInteger, primary_key=True, sort_order=-1)
    cx: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-1)
    cy: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-1)
    status: Mapped[str] = mapped_column(String(12), primary_key=True, sort_order=-1)
    public: Mapped[bool] = mapped_column(Boolean, primary_key=True, sort_order=-1)


class _CellSums:
    """What a cell counts: its parcels, their area, and the sums of their bounding-box centres'
    Web Mercator coordinates (the cell's point is drawn at their mean)."""

    n: Mapped[int] = mapped_column(Integer, sort_order=1)
    area_m2: Mapped[float] = mapped_column(Double, sort_order=1)
    sx: Mapped[float] = mapped_column(Double, sort_order=1)
    sy: Mapped[float] = mapped_column(Double, sort_order=1)


class ParcelCell(_CellKey, _CellSums, Base):
    """Parcels counted per zoom (6..11) into cells of the zoom-(z+4) tile grid, split by the tile
    filter dimensions. Kept exact by statement triggers on ``parcel`` (migration 0002_tiles);
    low-zoom vector tiles read it instead of a million polygons."""

    __tablename__ = "parcel_cell"
    city_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    in_zone: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    land_use: Mapped[str] = mapped_column(String(8), primary_key=True)
    area_class: Mapped[int] = mapped_column(SmallInteger, primary_key=True)


class ParcelDirty(Base):
    """Parcels whose spatial facts are to be (re)computed: inserted or moved, not yet settled
    (``landmatch.db.derived``)."""

    __tablename__ = "parcel_dirty"
    parcel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    queued_at: Mapped[dt.datetime] = _now()


class ParcelCellDelta(Base):
    """Cell contributions written under ``landmatch.defer_derived`` (a large import), applied
    to ``parcel_cell`` by ``landmatch.db.derived.drain`` after the commit. No key: a queue."""

    __tablename__ = "parcel_cell_delta"
    __mapper_args__ = {"primary_key": ["sign", "status", "city_code", "x", "y"]}
    sign: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(12))
    public: Mapped[bool] = mapped_column(Boolean)
    city_code: Mapped[str] = mapped_column(String(6))
    in_zone: Mapped[bool] = mapped_column(Boolean)
    land_use: Mapped[str] = mapped_column(String(8))
    area_class: Mapped[int] = mapped_column(SmallInteger)
    area_m2: Mapped[float] = mapped_column(Double)
    x: Mapped[float] = mapped_column(Double)
    y: Mapped[float] = mapped_column(Double)


class ParcelCellTotal(_CellKey, _CellSums, Base):
    """``parcel_cell`` rolled up by status and public only (unfiltered low-zoom tiles)."""

    __tablename__ = "parcel_cell_total"


# --- Monitoring (migration 0007_monitoring) -------------------------------------------------


# Each threshold's own CHECK (named as PostgreSQL names a column's check), besides the order of
# the idle and recovery months and the optional fee rate.
_MONITORING_RULE_BOUNDS = {
    "idle_after_months": "> 0",
    "at_risk_window_months": ">= 0",
    "stall_min_months": "> 0",
    "developed_ratio_min": "BETWEEN 0 AND 1",
    "invest_ratio_min": "BETWEEN 0 AND 1",
    "start_fallback_months": ">= 0",
}


class MonitoringRule(_Versioned, Base):
    """Idle-land thresholds of one city (or 130000 for the province default); its version
    covers the whole rule set, which a user edits as one (migration 0042_monitoring_version)."""

    __tablename__ = "monitoring_rule"
    city_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    # Calendar months (12 = 满一年), migration 0015_calendar_months.
    idle_after_months: Mapped[int] = mapped_column(Integer, server_default=text("12"))
    recover_after_months: Mapped[int] = mapped_column(Integer, server_default=text("24"))
    at_risk_window_months: Mapped[int] = mapped_column(Integer, server_default=text("12"))
    stall_min_months: Mapped[int] = mapped_column(Integer, server_default=text("12"))
    developed_ratio_min: Mapped[float] = mapped_column(Numeric(5, 4), server_default=text("0.3333"))
    invest_ratio_min: Mapped[float] = mapped_column(Numeric(5, 4), server_default=text("0.25"))
    # No agreed start date: the contract date + this many months starts the clock (0: idle one
    # full year after the contract, the 1999 text's rule; migration 0041_idle_rules).
    start_fallback_months: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    fee_rate: Mapped[float | None] = mapped_column(Numeric(5, 4))
    stalled_clause: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    note: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("city_code ~ '^[0-9]{6}$'", name=conv("monitoring_rule_city_code_check")),
        CheckConstraint("recover_after_months > idle_after_months", name="order"),
        *(
            CheckConstraint(f"{column} {bound}", name=conv(f"monitoring_rule_{column}_check"))
            for column, bound in _MONITORING_RULE_BOUNDS.items()
        ),
        CheckConstraint(
            # At most 20 % (《城市房地产管理法》 Art. 26), migration 0041_idle_rules.
            "fee_rate IS NULL OR fee_rate BETWEEN 0 AND 0.2",
            name=conv("monitoring_rule_fee_rate_check"),
        ),
    )


class ApprovalBatch(_Polygons, Base):
    """批次用地: an approved conversion/expropriation batch with its approved geometry."""

    __tablename__ = "approval_batch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    doc_no: Mapped[str | None] = mapped_column(Text)
    approval_date: Mapped[dt.date] = mapped_column(Date)
    city_code: Mapped[str] = mapped_column(ForeignKey("admin_division.code"))
    county_code: Mapped[str | None] = mapped_column(String(6))
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        UniqueConstraint("code", name=conv("approval_batch_code_key")),
        Index("ix_approval_batch_geom", "geom", postgresql_using="gist"),
        Index("ix_approval_batch_city", "city_code"),
    )


# Disposal vocabularies (their labels: landmatch.monitoring.terms; tests/db/test_schema_source.py
# ties the two).
_CASE_KINDS = ("idle", "unsupplied")
_IDLE_DECISIONS = (
    "fee",
    "recovery",
    "extension",
    "change_use",
    "temporary_use",
    "negotiated_recovery",
    "swap",
)
# An idle-land case closed without a disposal (migration 0043_case_close).
_IDLE_CLOSURES = ("started", "not_idle")
_UNSUPPLIED_DECISIONS = ("supply", "withdraw", "adjust")
_STEP_KINDS = (
    "investigation_notice",
    "holder_reply",
    "determination",
    "public_notice",
    "plan",
    "decision",
)


class DisposalCase(_Versioned, Base):
    """A disposal case (处置案件) of one idle or unsupplied parcel."""

    __tablename__ = "disposal_case"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(8), server_default=text("'open'"))
    city_code: Mapped[str] = mapped_column(String(6))
    area_m2: Mapped[float] = mapped_column(Double)
    stage_at_open: Mapped[str | None] = mapped_column(String(12))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    decision: Mapped[str | None] = mapped_column(String(24))
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    fee_wan: Mapped[float | None] = mapped_column(Numeric(14, 2))
    new_start_date: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        CheckConstraint(_in("kind", _CASE_KINDS), name=conv("disposal_case_kind_check")),
        CheckConstraint(_in("status", ("open", "closed")), name=conv("disposal_case_status_check")),
        CheckConstraint(
            "decision IS NULL OR "
            f"{_in('decision', _IDLE_DECISIONS + _IDLE_CLOSURES + _UNSUPPLIED_DECISIONS)}",
            name=conv("disposal_case_decision_check"),
        ),
        CheckConstraint(
            "status = 'open' OR (decision IS NOT NULL AND closed_on IS NOT NULL)", name="closed"
        ),
        CheckConstraint(
            "decision IS NULL OR "
            f"(kind = 'idle' AND {_in('decision', _IDLE_DECISIONS + _IDLE_CLOSURES)}) OR "
            f"(kind = 'unsupplied' AND {_in('decision', _UNSUPPLIED_DECISIONS)})",
            name="decision_kind",
        ),
        Index(
            "uq_disposal_case_open_parcel",
            "parcel_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_disposal_case_city", "city_code", "status"),
    )


class DisposalStep(Base):
    """A dated step of a disposal case with its deadline."""

    __tablename__ = "disposal_step"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("disposal_case.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    due_on: Mapped[dt.date] = mapped_column(Date)
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    doc_no: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        CheckConstraint(_in("kind", _STEP_KINDS), name=conv("disposal_step_kind_check")),
        UniqueConstraint("case_id", "seq", name=conv("uq_disposal_step_case_seq")),
        Index("ix_disposal_step_open", "due_on", postgresql_where=text("done_on IS NULL")),
    )


class DisposalTarget(_Versioned, Base):
    """Annual disposal target of a city (area), with its deadline; versioned per target
    (city, year, kind), migration 0042_monitoring_version."""

    __tablename__ = "disposal_target"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_code: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    target_area_m2: Mapped[float] = mapped_column(Double)
    deadline: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("city_code ~ '^[0-9]{6}$'", name=conv("disposal_target_city_code_check")),
        CheckConstraint("year BETWEEN 2000 AND 2100", name=conv("disposal_target_year_check")),
        CheckConstraint(_in("kind", _CASE_KINDS), name=conv("disposal_target_kind_check")),
        CheckConstraint("target_area_m2 >= 0", name=conv("disposal_target_target_area_m2_check")),
        UniqueConstraint(
            "city_code", "year", "kind", name=conv("uq_disposal_target_city_year_kind")
        ),
    )


IMPORT_JOB_STATES = (
    "uploaded",
    "checking",
    "checked",
    "committing",
    "committed",
    "rejected",
    "failed",
    "rolled_back",
)


class MonitoringFigures(Base):
    """The dashboard's inventory figures, latest per day, city and idle rule, with the
    inventory state they came from (migration 0037_monitoring_figures)."""

    __tablename__ = "monitoring_figures"
    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    city_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    rule: Mapped[str] = mapped_column(Text, primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)
    computed_at: Mapped[dt.datetime] = _now()


EXPORT_JOB_STATES = ("queued", "running", "done", "failed")
EXPORT_JOB_KINDS = ("monitoring",)


class ExportJob(Base):
    """A large export run in the background (migration 0036_export_jobs): its progress, and
    its file in :class:`ExportJobChunk` rows once done."""

    __tablename__ = "export_job"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    city_code: Mapped[str | None] = mapped_column(String(6))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    state: Mapped[str] = mapped_column(Text, server_default=text("'queued'"))
    stage: Mapped[str | None] = mapped_column(Text)
    done: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(_in("state", EXPORT_JOB_STATES), name="state"),
        CheckConstraint(_in("kind", EXPORT_JOB_KINDS), name="kind"),
        Index("ix_export_job_actor", "actor", text("id DESC")),
        Index("ix_export_job_created", "created_at"),
    )


class ExportJobChunk(Base):
    """A piece (at most 8 MB) of a finished export's file, in order of ``seq``."""

    __tablename__ = "export_job_chunk"
    job_id: Mapped[int] = mapped_column(
        ForeignKey("export_job.id", ondelete="CASCADE", name=conv("export_job_chunk_job_id_fkey")),
        primary_key=True,
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportJob(Base):
    """An import made in the workbench's wizard (migration 0027_import_jobs): the file, the
    options and column mapping, its state and progress, the report's summary."""

    __tablename__ = "import_job"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    city_code: Mapped[str | None] = mapped_column(String(6))
    actor: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=text("'uploaded'"))
    filename: Mapped[str] = mapped_column(Text)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    boundary_filename: Mapped[str | None] = mapped_column(Text)
    boundary_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    columns: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    detected: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    stage: Mapped[str | None] = mapped_column(Text)
    done: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batch.id", ondelete="SET NULL", name=conv("import_job_import_id_fkey"))
    )
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(_in("state", IMPORT_JOB_STATES), name="state"),
        Index("ix_import_job_city", "city_code", text("id DESC")),
    )


class LayerUpload(Base):
    """A reference-layer file previewed in the workbench (migration 0047_layer_upload): the
    file and options, the preview (what the import would add, change, delete) and its plan's
    fingerprint, the report once imported (``landmatch.reflayers.staging``)."""

    __tablename__ = "layer_upload"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    preview: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    fingerprint: Mapped[str] = mapped_column(Text)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = _now()
    applied_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_layer_upload_created", "created_at"),)


class ImportJobLine(Base):
    """A line of an import job's report (row, code, action, field, reason)."""

    __tablename__ = "import_job_line"
    job_id: Mapped[int] = mapped_column(
        ForeignKey("import_job.id", ondelete="CASCADE", name=conv("import_job_line_job_id_fkey")),
        primary_key=True,
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    row_no: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_import_job_line_action", "job_id", "action", "seq"),)


# An import job's parcels for its map: no key of their own, so a plain table.
import_job_shape = Table(
    "import_job_shape",
    Base.metadata,
    Column(
        "job_id",
        BigInteger,
        ForeignKey("import_job.id", ondelete="CASCADE", name=conv("import_job_shape_job_id_fkey")),
        nullable=False,
    ),
    Column("row_no", Text, nullable=False),
    Column("code", Text),
    Column("action", Text, nullable=False),
    Column("geom", MultiPolygon4490, nullable=False),
    Index("ix_import_job_shape_job", "job_id"),
)


class ColumnMapping(Base):
    """A city's named mapping from a file's headers to known ones, offered to the next import."""

    __tablename__ = "column_mapping"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_code: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(Text)
    columns: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = _now()
    __table_args__ = (UniqueConstraint("city_code", "name", name=conv("uq_column_mapping_name")),)


class TeamCoverage(Base):
    """Which promotion team covers a city or a development zone (migration 0029_inquiries):
    a 我有意向 inquiry goes to its parcel's zone's team, else its city's."""

    __tablename__ = "team_coverage"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(Text)
    city_code: Mapped[str | None] = mapped_column(
        String(6),
        ForeignKey("admin_division.code", name=conv("team_coverage_city_code_fkey")),
    )
    zone_id: Mapped[int | None] = mapped_column(
        ForeignKey("dev_zone.id", ondelete="CASCADE", name=conv("team_coverage_zone_id_fkey"))
    )
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        CheckConstraint(
            "length(team) >= 1 AND length(team) <= 64", name=conv("team_coverage_team_check")
        ),
        CheckConstraint("(city_code IS NULL) <> (zone_id IS NULL)", name="one_place"),
        Index(
            "uq_team_coverage_city",
            "city_code",
            unique=True,
            postgresql_where=text("city_code IS NOT NULL"),
        ),
        Index(
            "uq_team_coverage_zone",
            "zone_id",
            unique=True,
            postgresql_where=text("zone_id IS NOT NULL"),
        ),
    )


class Inquiry(Base):
    """A 我有意向 inquiry from the public map (migration 0029_inquiries): internal data, routed to
    ``owner_team`` (NULL: admins), handled as a lead (``landmatch.leads``)."""

    __tablename__ = "inquiry"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[dt.datetime] = _now()
    parcel_id: Mapped[int | None] = mapped_column(
        ForeignKey("parcel.id", ondelete="SET NULL", name=conv("inquiry_parcel_id_fkey"))
    )
    parcel_code: Mapped[str] = mapped_column(Text)
    match_id: Mapped[str | None] = mapped_column(String(36))
    city_code: Mapped[str] = mapped_column(String(6))
    zone_id: Mapped[int | None] = mapped_column(
        ForeignKey("dev_zone.id", ondelete="SET NULL", name=conv("inquiry_zone_id_fkey"))
    )
    owner_team: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    consent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    address: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
    nonce: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), server_default=text("'new'"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("project.id", ondelete="SET NULL", name=conv("inquiry_project_id_fkey"))
    )
    handled_by: Mapped[str | None] = mapped_column(Text)
    handled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    handled_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    __table_args__ = (
        CheckConstraint(_in("status", vocab.INQUIRY_STATUS), name="status"),
        CheckConstraint("phone IS NOT NULL OR email IS NOT NULL", name="reachable"),
        UniqueConstraint("nonce", name=conv("inquiry_nonce_key")),
        Index("ix_inquiry_team", "owner_team", "status", text("created_at DESC")),
        Index("ix_inquiry_address", "address", "created_at"),
    )
