"""What an incoming project needs: the ``Requirement`` model and the weight presets.

The model's JSON Schema is published at ``/api/match/schema``. Areas are asked in 亩, money in
万元, energy in tonnes of standard coal (tce).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from landmatch import industry_codes, vocab
from landmatch.errors import LandMatchError

Criterion = Literal["area_fit", "distance", "zone_fit", "readiness", "price", "policy", "freshness"]
CRITERIA: tuple[str, ...] = (
    "area_fit",
    "distance",
    "zone_fit",
    "readiness",
    "price",
    "policy",
    "freshness",
)
CRITERION_LABELS: dict[str, str] = {
    "area_fit": "面积匹配",
    "distance": "设施距离",
    "zone_fit": "园区产业契合",
    "readiness": "开工条件",
    "price": "地价",
    "policy": "政策红利",
    "freshness": "数据时效",
}

FacilityKind = Literal[
    "port",
    "airport",
    "rail_freight",
    "highway_interchange",
    "logistics_hub",
    "cold_chain",
    "bonded_zone",
    "substation",
]
SupplyMode = Literal["auction", "long_lease", "lease_then_transfer", "flexible_term"]
ZoneLevel = Literal["national", "provincial"]
Status = Literal["ready", "unsupplied", "idle"]
Preset = Literal["general_manufacturing", "logistics", "chemicals", "high_tech"]

PRESET_LABELS: dict[str, str] = {
    "general_manufacturing": "一般制造业",
    "logistics": "物流仓储",
    "chemicals": "化工",
    "high_tech": "高新技术/研发",
}

# Positive amounts: from a millionth up (a denormal such as 5e-324 is no amount and overflows in
# PostgreSQL's arithmetic).
Positive = Annotated[float, Field(ge=1e-6, le=1e9)]
#: The most vertices of a search area (``location.polygon``), drawn on a map: what the body
#: caps below hold with room to spare, so a requirement the model takes is never too large to
#: send back (the workbench's form, an API client's PATCH of what it read).
POLYGON_MAX_VERTICES = 1_500
#: The largest request body a requirement may come in (``POST /api/match``, which anyone may
#: call): its fields, a polygon of ``POLYGON_MAX_VERTICES``, and room to spare.
MAX_BODY = 64 * 1024

# Database integer keys (PostgreSQL integer).
Key = Annotated[int, Field(ge=1, le=2_147_483_647)]


class Weights(BaseModel):
    """Relative weights of the criteria (any non-negative numbers; they are normalised)."""

    model_config = ConfigDict(extra="forbid")

    area_fit: float = Field(1.0, ge=0, le=100)
    distance: float = Field(1.0, ge=0, le=100)
    zone_fit: float = Field(1.0, ge=0, le=100)
    readiness: float = Field(1.0, ge=0, le=100)
    price: float = Field(1.0, ge=0, le=100)
    policy: float = Field(1.0, ge=0, le=100)
    freshness: float = Field(0.5, ge=0, le=100)

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if sum(self.as_dict().values()) <= 0:
            raise ValueError("权重不能全部为 0")
        return self

    def as_dict(self) -> dict[str, float]:
        return {c: float(getattr(self, c)) for c in CRITERIA}


class Proximity(BaseModel):
    """Distance to the nearest facility of a kind: hard (a rule) or soft (a score)."""

    model_config = ConfigDict(extra="forbid")

    kind: FacilityKind
    max_km: float = Field(ge=0.001, le=2000, description="最大距离（公里，至少 0.001 即 1 米）")
    hard: bool = Field(False, description="true：超出即排除；false：只影响评分")


def _weights(*values: float) -> Weights:
    """Weights given in ``CRITERIA`` order."""
    return Weights.model_validate(dict(zip(CRITERIA, values, strict=True)))


# Per preset: the weights (area_fit, distance, zone_fit, readiness, price, policy, freshness)
# and the default facility interest (kind, max km), used for the distance score when the
# request names none.
PRESETS: dict[str, tuple[Weights, tuple[tuple[str, float], ...]]] = {
    "general_manufacturing": (
        _weights(1.0, 0.8, 1.0, 1.2, 1.0, 0.8, 0.4),
        (("highway_interchange", 15.0), ("rail_freight", 60.0)),
    ),
    "logistics": (
        _weights(0.8, 2.0, 0.6, 0.8, 1.0, 0.5, 0.4),
        (
            ("highway_interchange", 10.0),
            ("logistics_hub", 50.0),
            ("port", 150.0),
            ("rail_freight", 50.0),
        ),
    ),
    "chemicals": (
        _weights(1.0, 0.8, 1.5, 1.5, 0.7, 0.6, 0.5),
        (("port", 120.0), ("rail_freight", 60.0), ("highway_interchange", 20.0)),
    ),
    "high_tech": (
        _weights(0.8, 0.8, 1.5, 1.0, 0.6, 1.2, 0.4),
        (("airport", 80.0), ("highway_interchange", 15.0)),
    ),
}


class Utilities(BaseModel):
    model_config = ConfigDict(extra="forbid")

    power_kva: float | None = Field(None, ge=0, le=1e7, description="用电负荷 kVA")
    water_m3d: float | None = Field(None, ge=0, le=1e7, description="用水 m³/日")
    gas_m3d: float | None = Field(None, ge=0, le=1e8, description="用气 m³/日")
    heat_mw: float | None = Field(None, ge=0, le=1e5, description="用热 MW")
    need_5g: bool = Field(False, description="需要 5G 覆盖")
    need_fibre: bool = Field(False, description="需要光纤接入")


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_wan_per_mu: float | None = Field(None, ge=1e-6, le=1e5, description="地价上限 万元/亩")
    max_total_wan: float | None = Field(None, ge=1e-6, le=1e8, description="土地总价上限 万元")


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cities: list[str] = Field(
        default_factory=list, max_length=len(vocab.CITIES), description="城市代码"
    )
    zones: list[str] = Field(default_factory=list, max_length=200, description="开发区编码")
    zone_levels: list[ZoneLevel] = Field(
        default_factory=list, max_length=len(get_args(ZoneLevel)), description="开发区级别"
    )
    in_zone_only: bool = Field(False, description="只要开发区内地块")
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="minLon,minLat,maxLon,maxLat（CGCS2000）"
    )
    polygon: dict[str, Any] | None = Field(
        None, description="GeoJSON Polygon/MultiPolygon（CGCS2000 经纬度）"
    )

    @field_validator("cities")
    @classmethod
    def _cities(cls, v: list[str]) -> list[str]:
        vocab.refuse_unknown(v, vocab.CITIES, "城市代码")
        return sorted(set(v))

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, v: tuple[float, float, float, float] | None) -> Any:
        if v is None:
            return v
        x0, y0, x1, y1 = v
        if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
            raise ValueError("bbox 范围无效：应为 minLon,minLat,maxLon,maxLat 且最小值小于最大值")
        return v

    @field_validator("polygon")
    @classmethod
    def _polygon(cls, v: dict[str, Any] | None) -> Any:
        if v is None:
            return v
        import shapely
        import shapely.geometry

        if v.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError("polygon 应为 GeoJSON Polygon 或 MultiPolygon")
        try:
            g = shapely.geometry.shape(v)
        except Exception as exc:  # noqa: BLE001 - any parse failure is the caller's input
            raise ValueError(f"polygon 无法解析：{exc}") from None
        if g.is_empty or not g.is_valid:
            raise ValueError("polygon 无效（为空或自相交）")
        n = shapely.get_num_coordinates(g)
        if n > POLYGON_MAX_VERTICES:
            raise ValueError(
                f"选址范围最多 {POLYGON_MAX_VERTICES:,} 个顶点（收到 {n:,} 个），请简化后再提交"
            )
        minx, miny, maxx, maxy = g.bounds
        if not (minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90):
            raise ValueError("polygon 坐标应为经纬度（CGCS2000）")
        return v

    @property
    def active(self) -> bool:
        return bool(
            self.cities
            or self.zones
            or self.zone_levels
            or self.in_zone_only
            or self.bbox
            or self.polygon
        )


# A requirement's code lists checked against a vocabulary: field → (codes, what messages call it).
_CODE_LISTS: dict[str, tuple[dict[str, str], str]] = {
    "enterprise_types": (vocab.ENTERPRISE_TYPES, "企业资质"),
    "land_uses": (vocab.LAND_USE, "用地代码"),
}


class Requirement(BaseModel):
    """An incoming project's needs, as a promotion team enters them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"title": "项目用地需求"})

    name: str | None = Field(None, max_length=200, description="项目名称")
    industry: str | None = Field(
        None,
        description="行业代码（GB/T 4754-2017，任一层级，可带门类字母：C、36、367、3670、C3670）",
    )
    pollution_class: int | None = Field(
        None, ge=1, le=3, description="污染类别 1/2/3（一/二/三类工业）；默认取行业默认值"
    )
    land_uses: list[str] = Field(
        default_factory=list,
        max_length=len(vocab.LAND_USE),
        description="直接指定可接受的用地代码（用地用海分类）；优先于行业",
    )
    area_mu_min: float | None = Field(None, ge=0, le=1e6, description="面积下限（亩）")
    area_mu_max: float | None = Field(None, ge=1e-6, le=1e6, description="面积上限（亩）")
    investment_wan: float | None = Field(None, ge=1e-6, le=1e9, description="总投资（万元）")
    # The 标准地 投资强度 is fixed-asset investment (buildings, equipment and the land price)
    # ÷ site area (docs/domain.md §8): a subset of the total investment.
    fixed_asset_investment_wan: float | None = Field(
        None,
        ge=1e-6,
        le=1e9,
        description="固定资产投资（万元，含建筑物、设备和地价）；用于核验标准地投资强度",
    )
    annual_tax_wan: float | None = Field(None, ge=0, le=1e8, description="预计年税收（万元）")
    # The project's planned control indicators (工业项目建设用地控制指标, docs/domain.md §8),
    # checked against the parcel's published ones, else the defaults of landmatch.match.control.
    planned_far: float | None = Field(None, gt=0, le=20, description="规划容积率")
    planned_building_coeff_pct: float | None = Field(
        None, ge=0, le=100, description="规划建筑系数（%）"
    )
    planned_green_ratio_pct: float | None = Field(None, ge=0, le=100, description="规划绿地率（%）")
    planned_admin_ratio_pct: float | None = Field(
        None, ge=0, le=100, description="行政办公及生活服务设施用地比例（%）"
    )
    energy_tce: float | None = Field(None, ge=0, le=1e9, description="年综合能耗（吨标煤）")
    value_added_wan: float | None = Field(None, ge=1e-6, le=1e9, description="预计年增加值（万元）")
    coal_tce: float | None = Field(
        None, ge=0, le=1e9, description="年综合能耗中的用煤（吨标煤）；用能指标无偿配置不含用煤"
    )
    factory_rent_wan: float | None = Field(
        None, ge=0, le=1e7, description="拟租用标准厂房的年租金（万元）"
    )
    # Inputs the plan's measures are valued from (all optional; landmatch.match.policy_values).
    equipment_investment_wan: float | None = Field(
        None, ge=0, le=1e9, description="设备投资（万元）"
    )
    rd_increase_wan: float | None = Field(None, ge=0, le=1e8, description="研发投入增量（万元）")
    strategic_emerging: bool | None = Field(None, description="是否战略性新兴产业")
    container_toll_wan: float | None = Field(
        None, ge=0, le=1e7, description="国际标准集装箱车辆年通行费（万元）"
    )
    oversize_toll_wan: float | None = Field(
        None, ge=0, le=1e7, description="大件运输（7 轴及以上）车辆年通行费（万元）"
    )
    enterprise_types: list[str] = Field(
        default_factory=list,
        max_length=len(vocab.ENTERPRISE_TYPES),
        description="企业资质（高新技术企业、科技型企业…）",
    )
    utilities: Utilities = Field(default_factory=Utilities)
    require_known_utilities: bool = Field(
        False, description="true：容量未知的地块视为不满足（默认只标注“未知”）"
    )
    budget: Budget = Field(default_factory=Budget)
    supply_modes: list[SupplyMode] = Field(
        default_factory=list, max_length=len(get_args(SupplyMode)), description="可接受的供地方式"
    )
    location: Location = Field(default_factory=Location)
    proximity: list[Proximity] = Field(default_factory=list, max_length=8)
    include_coming: bool = Field(False, description="同时匹配批而未供、闲置土地（标为“即将可供”）")
    preset: Preset = Field("general_manufacturing", description="权重预设")
    weights: Weights | None = Field(None, description="自定义权重（覆盖预设）")
    top: int = Field(20, ge=1, le=200, description="返回前 N 名")
    assemblies: bool = Field(True, description="单宗面积不足时考虑相邻地块组合")
    project_id: Key | None = Field(None, description="所属项目（其预留地块不被排除）")

    @field_validator("industry")
    @classmethod
    def _industry(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return industry_codes.normalize(v)
        except LandMatchError as e:
            raise ValueError(e.message) from None

    @field_validator("enterprise_types", "land_uses", "supply_modes")
    @classmethod
    def _code_lists(cls, v: list[str], info: ValidationInfo) -> list[str]:
        """Known codes only (supply modes are typed already), each once, sorted."""
        known = _CODE_LISTS.get(info.field_name or "")
        if known:
            vocab.refuse_unknown(v, *known)
        return sorted(set(v))

    @model_validator(mode="after")
    def _consistent(self) -> Requirement:
        if (
            self.area_mu_min is not None
            and self.area_mu_max is not None
            and self.area_mu_min > self.area_mu_max
        ):
            raise ValueError("面积下限不能大于面积上限")
        if (
            self.fixed_asset_investment_wan is not None
            and self.investment_wan is not None
            and self.fixed_asset_investment_wan > self.investment_wan
        ):
            raise ValueError("固定资产投资不能大于总投资")
        kinds = [p.kind for p in self.proximity]
        if len(kinds) != len(set(kinds)):
            raise ValueError("同一类设施的距离要求只能填写一次")
        return self

    # Derived views -------------------------------------------------------------------------

    @property
    def statuses(self) -> list[str]:
        return ["ready", "unsupplied", "idle"] if self.include_coming else ["ready"]

    @property
    def investment_basis(self) -> tuple[str, float] | None:
        """(field, 万元) the 标准地 投资强度 is tested with: the fixed-asset investment, else the
        total investment — an upper bound of it, so a parcel passing on it is unconfirmed (a
        parcel failing on it fails on any fixed-asset figure). None when neither is given."""
        if self.fixed_asset_investment_wan is not None:
            return "fixed_asset_investment_wan", self.fixed_asset_investment_wan
        if self.investment_wan is not None:
            return "investment_wan", self.investment_wan
        return None

    @property
    def effective_pollution(self) -> int | None:
        if self.pollution_class is not None:
            return self.pollution_class
        return industry_codes.pollution_class(self.industry)

    @property
    def effective_weights(self) -> dict[str, float]:
        return (self.weights or PRESETS[self.preset][0]).as_dict()

    @property
    def distance_interest(self) -> list[tuple[str, float]]:
        """(kind, max km) pairs the distance score looks at."""
        if self.proximity:
            return [(p.kind, p.max_km) for p in self.proximity]
        return list(PRESETS[self.preset][1])
