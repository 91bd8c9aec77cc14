"""A stored match run in words: each site's explanation as rows with units, the comparison with
#1, the why-not funnel, the near misses and the time to start. Only presentation: every figure
comes from the engine's own response (``breakdown``, ``why_not``, ``time_to_start`` …); no
rule is evaluated here."""

from __future__ import annotations

from typing import Any

from landmatch import industry_codes, vocab
from landmatch.match.scores import ASSESSMENT_DAYS, UTILITY_DAYS
from landmatch.numbers import mu, num

SCOPE_RULES = ("status", "location")
UTILITY_NAMES = {
    "power": "供电",
    "water": "供水",
    "sewage": "排水",
    "road": "道路",
    "gas": "供气",
    "heat": "供热",
}
AS_OF = {"power": "power_as_of", "water": "water_as_of", "gas": "gas_as_of"}


def requirement_line(req: dict[str, Any]) -> str:
    """What a run looked for, in a line people read: 行业 · 面积范围 · 总投资 (those given);
    "" for a request that named none of them."""
    parts = []
    if req.get("industry"):
        parts.append(industry_codes.name(req["industry"]) or str(req["industry"]))
    lo, hi = req.get("area_mu_min"), req.get("area_mu_max")
    if lo is not None and hi is not None:
        parts.append(f"{mu(lo)}–{mu(hi)} 亩")
    elif lo is not None or hi is not None:
        parts.append(f"≥{mu(lo)} 亩" if lo is not None else f"≤{mu(hi)} 亩")
    if req.get("investment_wan"):
        parts.append(f"总投资 {num(req['investment_wan'])} 万元")
    return " · ".join(parts)


def _area_words(raw: dict[str, Any]) -> str:
    """面积 against the requested range, every area as people read one (landmatch.numbers.mu:
    0.01 亩): 面积 80.3 亩，在 10–80.4 亩 范围内."""
    a = raw.get("area_mu")
    lo, hi = (raw.get("range_mu") or [None, None]) + [None] * (2 - len(raw.get("range_mu") or []))
    base = f"面积 {mu(a)} 亩"
    if lo is None and hi is None:
        return base
    rng = f"{mu(lo or 0)}–{mu(hi)} 亩" if hi is not None else f"≥{mu(lo)} 亩"
    if lo is not None and a is not None and a < lo:
        return f"{base}，比下限 {mu(lo)} 亩少 {_difference(lo - a)} 亩"
    if hi is not None and a is not None and a > hi:
        return f"{base}，比上限 {mu(hi)} 亩多 {_difference(a - hi)} 亩"
    return f"{base}，在 {rng} 范围内"


def _difference(d: float) -> str:
    """A positive difference of areas: below 0.005 亩 it would read 0."""
    return mu(d) if round(d, 2) > 0 else "不足 0.01"


def _utility_words(props: dict[str, Any]) -> list[str]:
    out = []
    for c in props.get("utility_checks") or []:
        if "need" in c:
            cap = c.get("capacity")
            as_of = props.get(AS_OF.get(c["utility"], ""))
            when = f"（{str(as_of)[:7]} 核实）" if as_of else ""
            have = f"{num(cap, 0)} {c['unit']}" if cap is not None else "容量未知"
            out.append(
                f"{c['label']} {have}{when}，需 {num(c['need'], 0)} {c['unit']}，{c['state_label']}"
            )
        else:
            out.append(f"{c['label']}{c['state_label']}")
    return out


def criterion_words(b: dict[str, Any], props: dict[str, Any]) -> str:
    """One breakdown entry's raw figures in words with units."""
    raw = b.get("raw") or {}
    c = b["criterion"]
    if c == "area_fit":
        return _area_words(raw) if raw else f"面积 {mu(props.get('area_mu'))} 亩"
    if c == "distance":
        parts = [
            f"距{vocab.FACILITY_KINDS.get(k, k)} "
            + (f"{num(v)} 公里" if v is not None else "无数据")
            for k, v in raw.items()
        ]
        return "；".join(parts) or "未要求设施距离"
    if c == "zone_fit":
        if not raw.get("zone"):
            return "不在开发区内"
        lead = "、".join(
            industry_codes.get(x).display
            for x in raw.get("leading_industries") or []
            if not industry_codes.unknown([x])
        )
        ind = raw.get("industry")
        mine = f"；本项目 {industry_codes.get(ind).display}" if ind else ""
        return f"位于{raw['zone']}" + (f"，主导产业 {lead}" if lead else "") + mine
    if c == "readiness":
        words = [
            f"七通一平 {raw.get('readiness', 0)}/{raw.get('of', 8)} 项",
            f"有效区域评估 {raw.get('assessments_valid', 0)} 项",
        ]
        return "；".join(words + _utility_words(props))
    if c == "price":
        p = raw.get("wan_per_mu")
        if p is None:
            return "地价未公开或未知"
        total = p * (props.get("area_mu") or 0)
        return f"参考地价 {num(p)} 万元/亩，总价约 {num(total, 0)} 万元"
    if c == "policy":
        return (
            f"适用政策 {raw.get('policies', 0)} 条，可估算价值 {num(raw.get('value_wan'), 2)} 万元"
        )
    if c == "freshness":
        d = raw.get("data_updated_on")
        return f"数据更新于 {d}" if d else "数据更新日期未知"
    return ""


def explanation(props: dict[str, Any]) -> list[dict[str, Any]]:
    """The site's score as rows: criterion, words, score %, weight %, points (the engine's
    contribution: 100·weight·score, the points adding up to the total of 100)."""
    return [
        {
            "criterion": b["criterion"],
            "label": b["label"],
            "words": criterion_words(b, props),
            "score_pct": round(100 * b["score"], 1),
            "weight_pct": round(100 * b["weight"], 1),
            "points": round(b["contribution"], 1),
        }
        for b in props.get("breakdown") or []
    ]


def compare_with_first(props: dict[str, Any], first: dict[str, Any]) -> list[dict[str, Any]]:
    """Where this site loses and gains points against #1, largest difference first."""
    mine = {b["criterion"]: b for b in props.get("breakdown") or []}
    rows = []
    for b1 in first.get("breakdown") or []:
        b = mine.get(b1["criterion"])
        if b is None:
            continue
        delta = round(b["contribution"] - b1["contribution"], 1)
        rows.append(
            {
                "label": b1["label"],
                "delta": delta,
                "verdict": "持平" if abs(delta) < 0.05 else ("多得" if delta > 0 else "少得"),
                "this": criterion_words(b, props),
                "first": criterion_words(b1, first),
            }
        )
    rows.sort(key=lambda r: r["delta"])
    total = round((props.get("score") or 0) - (first.get("score") or 0), 1)
    return [*rows, {"label": "合计", "delta": total, "verdict": "", "this": "", "first": ""}]


def funnel(why_not: dict[str, Any] | None) -> dict[str, Any]:
    """The why-not as a funnel: what the scope removed first, then the parcels in scope
    failing each rule, largest first (a parcel may fail several rules)."""
    wn = why_not or {}
    failed = wn.get("failed") or []
    scope = [f for f in failed if f["rule"] in SCOPE_RULES]
    rules = sorted((f for f in failed if f["rule"] not in SCOPE_RULES), key=lambda f: -f["count"])
    scope_rows = []
    for f in scope:
        label = f["label"]
        if f["rule"] == "status" and f.get("statuses"):
            label = f"非{'、'.join(f['statuses'])}"
        scope_rows.append({"label": label, "count": f["count"]})
    considered = wn.get("considered") or 0
    return {
        "total": considered + sum(r["count"] for r in scope_rows),
        "scope": scope_rows,
        "considered": considered,
        "rules": [
            {
                "label": f["label"],
                "count": f["count"],
                "pct": round(100 * f["count"] / considered, 1) if considered else 0,
            }
            for f in rules
        ],
        "passed": wn.get("passed") or 0,
        "estimated": bool(wn.get("estimated")),
    }


def start_rows(tts: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Time to start broken down: status, missing assessments, utilities, levelling (days)."""
    if not tts:
        return []
    p = tts.get("parts") or {}
    rows = [{"label": "供地手续（按地块状态）", "days": p.get("status", 0), "detail": ""}]
    missing = p.get("assessments_missing") or []
    rows.append(
        {
            "label": "区域评估",
            "days": p.get("assessment_days", 0),
            "detail": "、".join(
                f"{vocab.ASSESSMENTS.get(k, k)} {ASSESSMENT_DAYS.get(k, 0)} 天" for k in missing
            )
            or "均已覆盖",
        }
    )
    umiss = p.get("utilities_missing") or []
    rows.append(
        {
            "label": "配套接入",
            "days": p.get("utility_days", 0),
            "detail": "、".join(
                f"{UTILITY_NAMES.get(k, k)} {UTILITY_DAYS.get(k, 30)} 天" for k in umiss
            )
            or "已具备",
        }
    )
    rows.append(
        {
            "label": "场地平整",
            "days": p.get("levelling_days", 0),
            "detail": "已平整" if not p.get("levelling_days") else "未平整",
        }
    )
    return rows


def relaxed(requirement: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The requirement with a near miss's relaxation (the engine's ``relax`` patch: nested
    fields, and a proximity entry by kind) applied."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in requirement.items()}
    for k, v in patch.items():
        if k == "proximity":
            prox = [dict(p) for p in out.get("proximity") or []]
            for p in prox:
                if p["kind"] == v["kind"]:
                    p["max_km"] = v["max_km"]
            out["proximity"] = prox
        elif isinstance(v, dict):
            out[k] = {**(out.get(k) or {}), **v}
        else:
            out[k] = v
    return out


def score(x: float | None) -> str:
    """A score as every page writes it: one decimal, ``72.4`` (the points add up to 100)."""
    return "—" if x is None else f"{x:.1f}"


def results_view(run: dict[str, Any]) -> dict[str, Any]:
    """A stored run as the results pages show it — the staff workbench's and the public match
    map's: each ranked site's explanation in words, "compared with #1", its time to start;
    the assemblies; the why-not funnel and the near misses."""
    feats = [f["properties"] for f in run["features"]]
    parcels = sorted((p for p in feats if p["kind"] == "parcel"), key=lambda p: p["rank"])
    assemblies = [p for p in feats if p["kind"] == "assembly"]
    first = parcels[0] if parcels else None
    sites = []
    for p in parcels:
        sites.append(
            {
                "p": p,
                "rows": explanation(p),
                "compare": compare_with_first(p, first) if first and p is not first else [],
                "start": start_rows(p.get("time_to_start")),
                "score_pct": round(p.get("score") or 0, 1),
            }
        )
    return {
        "sites": sites,
        "assemblies": [
            {"p": a, "rows": explanation(a), "score_pct": round(a["score"], 1)} for a in assemblies
        ],
        "funnel": funnel(run.get("why_not")),
        "near": (run.get("why_not") or {}).get("near_misses") or [],
        "num": num,
        "mu": mu,
        "score": score,
    }
