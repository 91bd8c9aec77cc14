"""The collections the OGC API serves: one declarative spec per layer.

A spec names the table, its alias, the integer feature id, the geometry, and the properties
each kind of caller may see, each as a whitelisted SQL expression. Filters (CQL2, equality
parameters, sortby) only ever reference these expressions, so no identifier from a request
reaches SQL. Property types are read from the typed tables, so they cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import ARRAY, Boolean, Date, DateTime, Double, Integer, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from landmatch import vocab
from landmatch.confidential import CONFIDENTIAL_FIELDS, PUBLISHED_PRICE_SQL
from landmatch.db import tables
from landmatch.db.parcels import INTERNAL_COLUMNS, PUBLIC_COLUMNS, PUBLIC_WHERE
from landmatch.errors import NotFound, Unauthorized
from landmatch.geo.measure import M2_PER_MU
from landmatch.policies.library import PUBLIC_COLUMNS as POLICY_PUBLIC_COLUMNS
from landmatch.publication import published


@dataclass(frozen=True)
class Prop:
    """One property: its output name, SQL expression, SQL type and JSON Schema."""

    name: str
    sql: str
    type_: TypeEngine[Any]
    queryable: bool = True
    enum: tuple[str, ...] | None = None
    title: str | None = None

    @property
    def schema(self) -> dict[str, Any]:
        return json_schema(self.type_, self.enum, self.title)


def json_schema(
    t: TypeEngine[Any], enum: tuple[str, ...] | None = None, title: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any]
    if isinstance(t, ARRAY):
        out = {"type": "array", "items": {"type": "string"}}
    elif isinstance(t, JSONB):
        out = {"type": "object"}
    elif isinstance(t, Boolean):
        out = {"type": "boolean"}
    elif isinstance(t, Integer):
        out = {"type": "integer"}
    elif isinstance(t, Numeric | Double):
        out = {"type": "number"}
    elif isinstance(t, DateTime):
        out = {"type": "string", "format": "date-time"}
    elif isinstance(t, Date):
        out = {"type": "string", "format": "date"}
    else:
        out = {"type": "string"}
    if enum:
        out["enum"] = list(enum)
    if title:
        out["title"] = title
    return out


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    table: str
    alias: str
    id_sql: str  # integer feature id
    public_props: tuple[Prop, ...]
    internal_props: tuple[Prop, ...] = ()
    geometry: str | None = None  # e.g. "MULTIPOLYGON"
    public_where: str = "TRUE"
    internal_where: str = "TRUE"
    joins: str = ""  # only used when serialising; filters never need them
    datetime: tuple[str, str] | None = None  # (start, end) expressions; equal for instants
    state: str = ""  # data_state counter bumped by writes to this table
    id_where: str = ""  # predicate matching :fid; defaults to id_sql = :fid
    fid_text: bool = False  # :fid is passed as a 6-digit text code
    key_sql: str = ""  # primary-key expression used for joins and ordering; default id_sql
    code_sql: str = ""  # a unique text code that also addresses a feature (items/{code})

    def props(self, public: bool) -> tuple[Prop, ...]:
        return self.public_props if public else self.public_props + self.internal_props

    def where(self, public: bool) -> str:
        return self.public_where if public else self.internal_where

    def prop_map(self, public: bool) -> dict[str, Prop]:
        return {p.name: p for p in self.props(public)}

    def queryables(self, public: bool) -> dict[str, Prop]:
        return {
            p.name: p
            for p in self.props(public)
            if p.queryable and not isinstance(p.type_, ARRAY | JSONB)
        }

    @cached_property
    def geom_sql(self) -> str:
        return f"{self.alias}.geom"

    @property
    def from_sql(self) -> str:
        return f"landmatch.{self.table} {self.alias}"

    @property
    def key(self) -> str:
        return self.key_sql or self.id_sql

    @property
    def fid_predicate(self) -> str:
        return self.id_where or f"{self.id_sql} = :fid"


def _props(
    table: Any,
    alias: str,
    names: tuple[str, ...],
    *,
    titles: dict[str, str] | None = None,
    enums: dict[str, tuple[str, ...]] | None = None,
    override: dict[str, str] | None = None,
) -> tuple[Prop, ...]:
    cols = table.__table__.columns
    out = []
    for n in names:
        sql = (override or {}).get(n, f"{alias}.{n}")
        out.append(
            Prop(n, sql, cols[n].type, enum=(enums or {}).get(n), title=(titles or {}).get(n))
        )
    return tuple(out)


def _layer(
    id: str,
    title: str,
    description: str,
    table: Any,
    alias: str,
    columns: tuple[str, ...],
    *,
    enums: dict[str, tuple[str, ...]],
    titles: dict[str, str],
    internal: tuple[str, ...] = (),
    geometry: str = "MULTIPOLYGON",
) -> Collection:
    """A reference layer: integer ``id`` and unique ``code``, these columns public (the
    ``internal`` ones for staff), dated by its ``updated_at``, its state counter its table's."""
    name = table.__tablename__
    return Collection(
        id=id,
        title=title,
        description=description,
        table=name,
        alias=alias,
        id_sql=f"{alias}.id",
        code_sql=f"{alias}.code",
        public_props=_props(table, alias, columns, enums=enums, titles=titles),
        internal_props=_props(table, alias, internal),
        geometry=geometry,
        datetime=(f"{alias}.updated_at", f"{alias}.updated_at"),
        state=name,
    )


_PARCEL_TITLES = {
    "code": "地块编码",
    "name": "地块名称",
    "city_code": "市级行政区划代码",
    "county_code": "县级行政区划代码",
    "address": "地址",
    "status": "状态",
    "land_use": "用地用海分类",
    "area_m2": "面积（平方米）",
    "far_min": "容积率下限",
    "far_max": "容积率上限",
    "ref_price_wan_per_mu": "参考价（万元/亩）",
    "is_standard_land": "是否标准地",
    "invest_intensity_min": "投资强度下限（万元/亩）",
    "tax_per_mu_min": "亩均税收下限（万元/亩）",
    "power_kva": "供电容量（kVA）",
    "water_m3d": "供水能力（立方米/日）",
    "data_updated_on": "数据更新日期",
}
_PARCEL_PUBLIC = _props(
    tables.Parcel,
    "p",
    PUBLIC_COLUMNS,
    titles=_PARCEL_TITLES,
    enums={"status": tuple(vocab.PARCEL_STATUS)},
    # Hidden prices stay hidden, also to filters: everyone sees and filters the published value.
    override={"ref_price_wan_per_mu": PUBLISHED_PRICE_SQL},
) + tuple(
    # Shown with a parcel but not filterable: its zone and city by name, its area in 亩 and ha.
    Prop(name, sql, type_, queryable=False, title=title)
    for name, sql, type_, title in (
        ("zone_code", "z.code", tables.DevZone.__table__.c.code.type, "开发区编码"),
        ("zone_name", "z.name", tables.DevZone.__table__.c.name.type, "开发区名称"),
        ("city_name", "a.name", tables.AdminDivision.__table__.c.name.type, "城市"),
        ("area_mu", f"round((p.area_m2 / {M2_PER_MU!r})::numeric, 2)", Numeric(), "面积（亩）"),
        ("area_ha", "round((p.area_m2 / 10000)::numeric, 4)", Numeric(), "面积（公顷）"),
    )
)
_PARCEL_INTERNAL = _props(
    tables.Parcel,
    "p",
    # One body serves every staff caller of every city: no confidential field
    # (landmatch.confidential), neither shown nor filterable.
    tuple(c for c in INTERNAL_COLUMNS if c != "id" and c not in CONFIDENTIAL_FIELDS),
    enums={"visibility": tuple(vocab.VISIBILITY)},
)

_UPDATED_ON = "(p.data_updated_on::timestamp AT TIME ZONE 'UTC')"

PARCELS = Collection(
    id="parcels",
    title="地块",
    description="熟地清单地块。未登录时为公开视图（已发布的熟地及公开字段），持令牌时为内部视图。",
    table="parcel",
    alias="p",
    id_sql="p.id",
    code_sql="p.code",
    public_props=_PARCEL_PUBLIC,
    internal_props=_PARCEL_INTERNAL,
    geometry="MULTIPOLYGON",
    public_where=PUBLIC_WHERE,
    internal_where="p.deleted_at IS NULL",
    joins=(
        "LEFT JOIN landmatch.dev_zone z ON z.id = p.zone_id "
        "LEFT JOIN landmatch.admin_division a ON a.code = p.city_code"
    ),
    # The parcel's temporal property is the day its data were last checked (not the row's
    # write time): a date, read as that day's UTC midnight.
    datetime=(_UPDATED_ON, _UPDATED_ON),
    state="parcel",
)

ZONES = _layer(
    "zones",
    "开发区",
    "国家级和省级开发区边界、主导产业。",
    tables.DevZone,
    "z",
    ("code", "name", "city_code", "level", "kind", "leading_industries", "approximate")
    + ("source", "area_m2", "updated_at"),
    enums={"level": tuple(vocab.ZONE_LEVELS), "kind": vocab.ZONE_KINDS},
    titles={"code": "开发区编码", "name": "名称", "level": "级别", "kind": "类型"},
    internal=("contact_name", "contact_phone", "version", "created_at"),
)

ADMIN = Collection(
    id="admin_divisions",
    title="行政区划",
    description="河北省、市、县三级行政区划（GB/T 2260）。要素编号即六位行政区划代码。",
    table="admin_division",
    alias="a",
    id_sql="a.code::integer",
    public_props=_props(
        tables.AdminDivision,
        "a",
        (
            "code",
            "name",
            "level",
            "parent_code",
            "province_managed",
            "area_m2",
            "source",
        ),
        enums={"level": tuple(vocab.ADMIN_LEVELS)},
        titles={"code": "行政区划代码", "name": "名称", "level": "级别"},
    ),
    geometry="MULTIPOLYGON",
    state="admin_division",
    id_where="a.code = :fid",
    fid_text=True,
    key_sql="a.code",
)

FACILITIES = _layer(
    "facilities",
    "交通物流设施",
    "港口、机场、铁路货运站、高速互通、物流枢纽、冷链基地、变电站等参照设施。",
    tables.Facility,
    "f",
    ("code", "name", "kind", "city_code", "approximate", "confidence", "source", "updated_at"),
    enums={"kind": tuple(vocab.FACILITY_KINDS)},
    titles={"name": "名称", "kind": "类型"},
    geometry="POINT",
)

CONSTRAINTS = _layer(
    "constraint_areas",
    "管控区",
    "生态保护红线、水源保护区、永久基本农田、蓄滞洪区等管控区。",
    tables.ConstraintArea,
    "c",
    ("code", "name", "kind", "severity", "source", "area_m2", "updated_at"),
    enums={"kind": tuple(vocab.CONSTRAINT_KINDS), "severity": tuple(vocab.CONSTRAINT_SEVERITY)},
    titles={"name": "名称", "kind": "类型", "severity": "管控强度"},
)

POLICIES = Collection(
    id="policies",
    title="政策",
    description="土地与产业优惠政策（无几何的记录）。",
    table="policy",
    alias="po",
    id_sql="po.id",
    public_props=_props(
        tables.Policy,
        "po",
        (*POLICY_PUBLIC_COLUMNS, "updated_at"),
        enums={
            "scope_level": tuple(vocab.POLICY_SCOPES),
            "benefit_kind": tuple(vocab.BENEFIT_KINDS),
        },
        titles={
            "title": "政策名称",
            "issuer": "发布机关",
            "doc_no": "文号",
            "valid_from": "生效日期",
            "valid_until": "失效日期",
        },
    ),
    internal_props=_props(tables.Policy, "po", ("visibility", "version", "created_at")),
    public_where="po.visibility = 'public'",
    datetime=("po.valid_from", "po.valid_until"),
    state="policy",
)

COLLECTIONS: dict[str, Collection] = {
    c.id: c for c in (PARCELS, ZONES, ADMIN, FACILITIES, CONSTRAINTS, POLICIES)
}


def visible(public: bool) -> list[Collection]:
    """The collections a caller gets (landmatch.publication: no constraint areas for
    the public)."""
    return [c for c in COLLECTIONS.values() if not public or published(c.table)]


def get(collection_id: str, public: bool) -> Collection:
    try:
        coll = COLLECTIONS[collection_id]
    except KeyError:
        names = ", ".join(c.id for c in visible(public))
        raise NotFound(f"未找到要素集合 {collection_id}；可用：{names}") from None
    if public and not published(coll.table):
        raise Unauthorized(f"要素集合 {collection_id}（{coll.title}）仅对登录的工作人员开放")
    return coll
