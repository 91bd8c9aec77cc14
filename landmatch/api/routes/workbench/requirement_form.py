"""The requirement form (项目用地需求): every field of ``Requirement`` with Chinese labels and
units, to and from the flat names an HTML form posts. Validation is the model's own; its
errors come back keyed by the form's field names."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from landmatch import industry_codes, vocab
from landmatch.inventory import quantities
from landmatch.match.readable import num
from landmatch.match.requirements import (
    CRITERIA,
    CRITERION_LABELS,
    PRESET_LABELS,
    PRESETS,
    Requirement,
)

# (form name, label, unit, path in the requirement)
NUMBERS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("area_mu_min", "面积下限", "亩", ("area_mu_min",)),
    ("area_mu_max", "面积上限", "亩", ("area_mu_max",)),
    ("investment_wan", "总投资", "万元", ("investment_wan",)),
    (
        "fixed_asset_investment_wan",
        "固定资产投资（含建筑物、设备和地价）",
        "万元",
        ("fixed_asset_investment_wan",),
    ),
    ("annual_tax_wan", "预计年税收", "万元", ("annual_tax_wan",)),
    ("value_added_wan", "预计年增加值", "万元", ("value_added_wan",)),
    ("planned_far", "规划容积率", "", ("planned_far",)),
    ("planned_building_coeff_pct", "规划建筑系数", "%", ("planned_building_coeff_pct",)),
    ("planned_green_ratio_pct", "规划绿地率", "%", ("planned_green_ratio_pct",)),
    (
        "planned_admin_ratio_pct",
        "行政办公及生活服务设施用地比例",
        "%",
        ("planned_admin_ratio_pct",),
    ),
    ("energy_tce", "年综合能耗", "吨标煤", ("energy_tce",)),
    ("coal_tce", "其中用煤", "吨标煤", ("coal_tce",)),
    ("power_kva", "用电负荷", "kVA", ("utilities", "power_kva")),
    ("water_m3d", "用水", "m³/日", ("utilities", "water_m3d")),
    ("gas_m3d", "用气", "m³/日", ("utilities", "gas_m3d")),
    ("heat_mw", "用热", "MW", ("utilities", "heat_mw")),
    ("max_wan_per_mu", "地价上限", "万元/亩", ("budget", "max_wan_per_mu")),
    ("max_total_wan", "土地总价上限", "万元", ("budget", "max_total_wan")),
    ("equipment_investment_wan", "设备投资", "万元", ("equipment_investment_wan",)),
    ("rd_increase_wan", "研发投入增量", "万元", ("rd_increase_wan",)),
    ("container_toll_wan", "集装箱车辆年通行费", "万元", ("container_toll_wan",)),
    ("oversize_toll_wan", "大件运输车辆年通行费", "万元", ("oversize_toll_wan",)),
    ("factory_rent_wan", "标准厂房年租金", "万元", ("factory_rent_wan",)),
]
FLAGS: list[tuple[str, str, tuple[str, ...]]] = [
    ("need_5g", "需要 5G 覆盖", ("utilities", "need_5g")),
    ("need_fibre", "需要光纤接入", ("utilities", "need_fibre")),
    ("require_known_utilities", "容量未知的地块视为不满足", ("require_known_utilities",)),
    ("in_zone_only", "只要开发区内地块", ("location", "in_zone_only")),
    ("include_coming", "同时匹配批而未供、闲置土地（即将可供）", ("include_coming",)),
    ("assemblies", "单宗面积不足时考虑相邻地块组合", ("assemblies",)),
    ("strategic_emerging", "属于战略性新兴产业", ("strategic_emerging",)),
]
FIELD_OF: dict[tuple[str, ...], str] = {path: name for name, _, _, path in NUMBERS}
FIELD_OF.update({path: name for name, _, path in FLAGS})
FIELD_OF[("location", "polygon")] = "area_polygon"


def context(req: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the form template needs: choices and the current values (flat)."""
    req = req or {}
    v: dict[str, Any] = {}
    shown: dict[str, str] = {}
    for name, _, _, path in NUMBERS:
        cur: Any = req
        for k in path:
            cur = (cur or {}).get(k)
        v[name] = "" if cur is None else (f"{cur:g}" if isinstance(cur, float) else cur)
        if isinstance(cur, int | float):
            shown[name] = num(float(cur), 2)
    for name, _, path in FLAGS:
        cur = req
        for k in path:
            cur = (cur or {}).get(k)
        v[name] = bool(cur) if cur is not None else name == "assemblies"
    loc = req.get("location") or {}
    prox = {p["kind"]: p for p in req.get("proximity") or []}
    preset = req.get("preset") or "general_manufacturing"
    weights = req.get("weights") or PRESETS[preset][0].as_dict()
    ind = req.get("industry")
    known = None if not ind or industry_codes.unknown([ind]) else industry_codes.get(ind)
    return {
        "numbers": NUMBERS,
        "flags": FLAGS,
        "v": v,
        "shown": shown,
        "name": req.get("name") or "",
        "industry": known.full_code if known else (ind or ""),
        "industry_path": known.as_dict()["path"] if known else "",
        "pollution_class": req.get("pollution_class") or "",
        "cities": vocab.CITIES,
        "sel_cities": set(loc.get("cities") or []),
        "zones": ", ".join(loc.get("zones") or []),
        # The drawn area (GeoJSON text); what was typed comes back as it was.
        "area_polygon": loc.get("polygon_text")
        or (json.dumps(loc["polygon"], ensure_ascii=False) if loc.get("polygon") else ""),
        "zone_levels": vocab.ZONE_LEVELS,
        "sel_levels": set(loc.get("zone_levels") or []),
        "facilities": vocab.FACILITY_KINDS,
        "prox": prox,
        "supply_modes": vocab.SUPPLY_MODES,
        "enterprise_types": vocab.ENTERPRISE_TYPES,
        "sel_types": set(req.get("enterprise_types") or []),
        "sel_modes": set(req.get("supply_modes") or []),
        "presets": PRESET_LABELS,
        "preset": preset,
        "preset_weights": {k: w.as_dict() for k, (w, _) in PRESETS.items()},
        "criteria": [(c, CRITERION_LABELS[c]) for c in CRITERIA],
        "weights": weights,
        "custom_weights": req.get("weights") is not None,
        "top": req.get("top") or 20,
    }


def _chinese(e: Any) -> str:
    """A pydantic error in Chinese (the model's own messages already are)."""
    ctx = e.get("ctx") or {}
    kind = e.get("type", "")
    if kind in ("greater_than_equal", "greater_than"):
        return f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"不能大于 {ctx.get('le', ctx.get('lt'))}"
    if kind == "literal_error":
        return "不是可选的值"
    if kind in ("too_long", "too_short"):
        return "个数或长度超出范围"
    if kind in ("float_parsing", "int_parsing", "float_type", "int_type"):
        return "应为数字"
    return str(e.get("msg", "")).removeprefix("Value error, ")


def _num(raw: str | None) -> float | None:
    """A typed number: full-width digits and points as an input method types them (１．２),
    thousands separators (50,000 or 50，000) as the imports read them
    (``quantities.normalise``); ValueError for anything else."""
    text = quantities.normalise(raw or "")
    if not text:
        return None
    return float(text)


def _numbers(form: dict[str, Any], req: dict[str, Any], errors: dict[str, str]) -> None:
    """The numeric fields and the flags, each put at its path in ``req``."""

    def put(path: tuple[str, ...], value: Any) -> None:
        cur = req
        for k in path[:-1]:
            cur = cur.setdefault(k, {})
        cur[path[-1]] = value

    for name, label, _, path in NUMBERS:
        try:
            x = _num(form.get(name))
        except ValueError:
            errors[name] = f"{label}应为数字"
            continue
        if x is not None:
            put(path, x)
    for name, _, path in FLAGS:
        put(path, form.get(name) == "on")


def _location(
    form: dict[str, Any], lists: dict[str, list[str]], errors: dict[str, str]
) -> dict[str, Any]:
    """Cities, zone levels, zones and the drawn area (GeoJSON text; kept as typed when it
    cannot be read)."""
    zones = [z.strip() for z in form.get("zones", "").replace("，", ",").split(",") if z.strip()]
    location: dict[str, Any] = {
        "cities": lists.get("cities", []),
        "zone_levels": lists.get("zone_levels", []),
        "zones": zones,
    }
    area = form.get("area_polygon", "").strip()
    if area:
        try:
            polygon = json.loads(area)
            if not isinstance(polygon, dict):
                raise ValueError
        except ValueError:
            errors["area_polygon"] = "选址范围无法读取：请在地图上重新划定"
            location["polygon_text"] = area
        else:
            location["polygon"] = polygon
    return location


def _proximity(form: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    """Distances to facilities (公里), each hard or scored."""
    prox = []
    for kind, label in vocab.FACILITY_KINDS.items():
        try:
            km = _num(form.get(f"km_{kind}"))
        except ValueError:
            errors[f"km_{kind}"] = f"距{label}应为数字（公里）"
            continue
        if km is not None:
            prox.append({"kind": kind, "max_km": km, "hard": form.get(f"hard_{kind}") == "on"})
    return prox


def _weights(form: dict[str, Any], errors: dict[str, str]) -> dict[str, float]:
    w = {}
    for c in CRITERIA:
        try:
            w[c] = _num(form.get(f"w_{c}")) or 0.0
        except ValueError:
            errors[f"w_{c}"] = f"{CRITERION_LABELS[c]}权重应为数字"
    return w


def _typed(
    form: dict[str, Any], lists: dict[str, list[str]], errors: dict[str, str]
) -> dict[str, Any]:
    """The requirement as typed (not yet validated); unreadable values go to ``errors``."""
    req: dict[str, Any] = {"utilities": {}, "budget": {}, "location": {}}
    if form.get("req_name", "").strip():
        req["name"] = form["req_name"].strip()
    if form.get("industry", "").strip():
        req["industry"] = form["industry"].strip()
    if form.get("pollution_class"):
        # A number, as a saved requirement holds it: the form shown again after an error
        # selects the class chosen (the template compares numbers).
        chosen = form["pollution_class"]
        req["pollution_class"] = int(chosen) if chosen in ("1", "2", "3") else chosen
    _numbers(form, req, errors)
    req["location"].update(_location(form, lists, errors))
    req["supply_modes"] = lists.get("supply_modes", [])
    req["enterprise_types"] = lists.get("enterprise_types", [])
    req["proximity"] = _proximity(form, errors)
    req["preset"] = form.get("preset") or "general_manufacturing"
    if form.get("custom_weights") == "on":
        req["weights"] = _weights(form, errors)
    try:
        req["top"] = int(form.get("top") or 20)
    except ValueError:
        errors["top"] = "返回名次应为整数"
    return req


def _form_field(loc: tuple[str, ...]) -> str:
    """The form field a validation error of the requirement at ``loc`` belongs beside."""
    if loc[:1] == ("proximity",):
        return "proximity"
    if loc[:1] == ("weights",):
        return "weights"
    if loc[:1] == ("location",) and len(loc) > 1:
        return FIELD_OF.get(loc[:2]) or loc[1]
    return FIELD_OF.get(loc) or (loc[-1] if loc else "")


def parse(
    form: dict[str, Any], lists: dict[str, list[str]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(requirement as a dict, errors {form field: reason}). The dict is validated by
    ``Requirement``; on errors it is what was typed, for the form to show again."""
    errors: dict[str, str] = {}
    req = _typed(form, lists, errors)
    if errors:
        return req, errors
    try:
        model = Requirement.model_validate(req)
    except ValidationError as exc:
        for e in exc.errors():
            loc = tuple(str(x) for x in e["loc"] if not isinstance(x, int))
            errors.setdefault(_form_field(loc), _chinese(e))
        return req, errors
    return model.model_dump(mode="json", exclude_none=True), {}
