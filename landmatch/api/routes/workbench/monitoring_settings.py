"""``/workbench/cases/rules`` and ``/workbench/cases/targets``: the monitoring settings in the
browser, on the API's own services — a city's idle-land thresholds (闲置认定阈值, 130000: the
province's default) and a city's annual disposal targets (年度处置目标, one per kind).

Each form carries the CSRF token and the version of the setting it shows (a hidden field, sent
to the service as ``If-Match``; 0 while the setting is not made yet). A setting saved meanwhile
by someone else saves nothing of the form: the page shows the setting as it is now (with its new
version) and says so.

Who: admins and the province's bureau (every city and the province's default), a city's bureau
(its own city). Zone committees and promoters are refused, as by the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from landmatch import vocab
from landmatch.api.routes.workbench.common import (
    FORM_ERROR,
    PageContext,
    Staff,
    context_with,
    form_errors,
    redirect,
    render,
)
from landmatch.api.schemas.monitoring import RuleIn, TargetIn
from landmatch.dates import beijing_today
from landmatch.db.locking import etag
from landmatch.errors import Forbidden, InvalidInput, PreconditionFailed, validation_reason
from landmatch.geo.measure import m2_to_ha, m2_to_mu, mu_to_m2
from landmatch.inventory import listing
from landmatch.monitoring import rules, targets
from landmatch.monitoring.terms import CASE_KINDS

router = APIRouter(include_in_schema=False)
RULES_URL = "/workbench/cases/rules"
TARGETS_URL = "/workbench/cases/targets"
KeeperCtx = Annotated[PageContext, Depends(context_with("admin", "bureau"))]
#: The version a setting's form was opened at (0: the setting was not made yet).
SettingVersion = Annotated[int, Form(ge=0)]

# The rule set's fields, in the form's order, with their labels and what they hold.
RULE_LABELS: dict[str, tuple[str, str]] = {
    "idle_after_months": (
        "闲置认定（月）",
        "超过约定动工日期满该月数未动工，认定为闲置（满一年为 12）",
    ),
    "recover_after_months": ("无偿收回（月）", "满该月数未动工，可无偿收回（满两年为 24）"),
    "at_risk_window_months": ("临近闲置预警（月）", "距闲置认定不足该月数时预警"),
    "stall_min_months": ("中止开发（月）", "已动工但中止开发满该月数"),
    "developed_ratio_min": ("开发面积比例下限", "0 到 1，如 0.3333 即三分之一"),
    "invest_ratio_min": ("投资比例下限", "0 到 1，如 0.25 即百分之二十五"),
    "start_fallback_months": ("无约定动工日期时的起算（月）", "自合同生效起的月数"),
    "fee_rate": ("闲置费率", "占出让金的比例，0 到 0.2"),
}
STALLED_CHOICES = [("", "不改"), ("true", "适用"), ("false", "不适用")]
RULE_CHANGED = "该城市的闲置认定阈值已被他人修改，未保存。下面是现在的设置，请核对后再保存"
TARGET_CHANGED = "该处置目标已被他人修改，未保存。下面是现在的目标，请核对后再保存"


def _may_choose(staff: Staff) -> bool:
    return listing.own_city(staff.principal) is None


def _page_city(
    staff: Staff, city: str | None, default: str, known: tuple[str, ...], refused: str
) -> str:
    """The city (or the province's code) a settings page shows: a city's bureau its own
    city's (another is refused: ``refused`` with the city's name), anyone else the one asked
    for, ``default`` without one; one outside ``known`` is refused."""
    own = listing.own_city(staff.principal)
    if own is not None:
        if city not in (None, "", own):
            raise Forbidden(
                f"无权{refused.format(rules.city_label(city))}：本账号的城市范围为"
                f"{vocab.label(vocab.CITIES, own)}"
            )
        return own
    city = city or default
    if city not in known:
        raise InvalidInput(vocab.unknown_city(city))
    return city


def _rule_city(staff: Staff, city: str | None) -> str:
    """A rule set: the province's default without a city."""
    known = (vocab.PROVINCE_CODE, *vocab.CITIES)
    return _page_city(staff, city, vocab.PROVINCE_CODE, known, "修改{}的闲置认定阈值")


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{float(value):g}" if not isinstance(value, int) else str(value)


#: The rule fields that are shares of a whole (0 to 1): shown in force with their percentage.
RATIO_FIELDS = ("developed_ratio_min", "invest_ratio_min", "fee_rate")


def _in_force(field: str, value: Any) -> str:
    """A rule's value in force as the form says it: a share with its percentage beside it
    (0.333333（33.33%）), not the bare fraction."""
    shown = _shown(value)
    if field in RATIO_FIELDS and value is not None:
        shown += f"（{float(value) * 100:.4g}%）"
    return shown


def _rules_page(
    ctx: PageContext,
    city: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    opened: int | None = None,
) -> HTMLResponse:
    """The city's rule-set form: its own values (or ``values`` sent back with ``errors``) and
    what is in force; ``opened``: the version the refused form was opened at."""
    current = rules.city_rules(ctx.session, ctx.staff.principal, city, ctx.settings.idle_fee_rate)
    own = current["own"] or {}
    cities = [(vocab.PROVINCE_CODE, "全省默认")] + list(vocab.CITIES.items())
    return render(
        ctx.request,
        "workbench/cases/rules.html",
        status=FORM_ERROR if errors else 200,
        city=city,
        city_name=current["city_name"],
        cities=cities if _may_choose(ctx.staff) else [],
        version=current["version"] if opened is None else opened,
        labels=RULE_LABELS,
        stalled_choices=STALLED_CHOICES,
        values=values or {k: _shown(own.get(k)) for k in rules.RULE_FIELDS},
        effective={k: _in_force(k, v) for k, v in current["effective"].items()},
        own=current["own"],
        errors=errors or {},
    )


@router.get(RULES_URL, response_class=HTMLResponse)
def rules_page(
    ctx: KeeperCtx, city: Annotated[str | None, Query(max_length=6)] = None
) -> HTMLResponse:
    return _rules_page(ctx, _rule_city(ctx.staff, city))


def _rule_form(
    idle_after_months: Annotated[str, Form(max_length=20)] = "",
    recover_after_months: Annotated[str, Form(max_length=20)] = "",
    at_risk_window_months: Annotated[str, Form(max_length=20)] = "",
    stall_min_months: Annotated[str, Form(max_length=20)] = "",
    developed_ratio_min: Annotated[str, Form(max_length=20)] = "",
    invest_ratio_min: Annotated[str, Form(max_length=20)] = "",
    start_fallback_months: Annotated[str, Form(max_length=20)] = "",
    fee_rate: Annotated[str, Form(max_length=20)] = "",
    stalled_clause: Annotated[str, Form(max_length=5)] = "",
) -> dict[str, str]:
    """The rule set's fields as sent (an empty one: not changed)."""
    return {k: v.strip() for k, v in locals().items()}


def _validated(model: type[Any], raw: dict[str, Any], rename: dict[str, str] | None = None) -> Any:
    """``raw`` through the API's own input model; its errors as ``InvalidInput`` by form
    field (``rename``: the form's name of a model field)."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        detail = [
            {
                "field": (rename or {}).get(str(e["loc"][0]), str(e["loc"][0])),
                "reason": validation_reason(e),
            }
            for e in exc.errors()
        ]
        raise InvalidInput("请检查标出的字段", detail=detail) from None


@router.post(RULES_URL + "/{city}")
def save_rules(
    ctx: KeeperCtx,
    city: str,
    version: SettingVersion,
    form: Annotated[dict[str, str], Depends(_rule_form)],
) -> Response:
    city = _rule_city(ctx.staff, city)
    try:
        body = _validated(RuleIn, {k: v for k, v in form.items() if v})
        rules.edit_rule(
            ctx.session,
            ctx.staff.principal,
            city,
            body.model_dump(exclude_none=True),
            if_match=etag(city, version),
        )
    except PreconditionFailed:
        # Saved by someone else since this form was opened: nothing of it is saved, the page
        # shows the rule set as it is now (with its new version).
        ctx.session.rollback()
        return _rules_page(ctx, city, errors={"": RULE_CHANGED})
    except InvalidInput as exc:
        ctx.session.rollback()
        return _rules_page(ctx, city, values=form, errors=form_errors(exc), opened=version)
    ctx.session.commit()
    name = rules.city_label(city)
    return redirect(
        ctx.request, f"{RULES_URL}?city={city}", flash=("success", f"{name}的闲置认定阈值已保存")
    )


# ---- targets --------------------------------------------------------------------------------


def _target_city(staff: Staff, city: str | None) -> str:
    """A city's targets: the first city without one."""
    known = tuple(vocab.CITIES)
    return _page_city(staff, city, known[0], known, "设定{}的处置目标")


def _target_values(t: dict[str, Any]) -> dict[str, str]:
    area = t["target_area_m2"]
    return {
        "target_mu": "" if area is None else f"{m2_to_mu(area):.2f}".rstrip("0").rstrip("."),
        "deadline": t["deadline"] or t["default_deadline"],
        "source": t["source"] or "",
    }


def _targets_page(
    ctx: PageContext,
    city: str,
    year: int,
    *,
    kind: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    opened: int | None = None,
) -> HTMLResponse:
    """The city's targets of ``year``, one form per kind; ``kind``: the form sent back with
    ``values`` and ``errors`` (``opened``: the version it was opened at)."""
    kinds = []
    for k in CASE_KINDS:
        t = targets.get_target(ctx.session, ctx.staff.principal, city, year, k)
        area = t["target_area_m2"]
        mine = k == kind
        kinds.append(
            {
                "kind": k,
                "label": t["kind_label"],
                "set": t["version"] > 0,
                "target_mu": None if area is None else m2_to_mu(area),
                "target_ha": None if area is None else m2_to_ha(area),
                "version": opened if mine and opened is not None else t["version"],
                "values": values if mine and values else _target_values(t),
                "errors": errors if mine and errors else {},
                "updated_at": t["updated_at"],
            }
        )
    return render(
        ctx.request,
        "workbench/cases/targets.html",
        status=FORM_ERROR if errors else 200,
        city=city,
        city_name=vocab.CITIES[city],
        year=year,
        cities=list(vocab.CITIES.items()) if _may_choose(ctx.staff) else [],
        kinds=kinds,
    )


YearQuery = Annotated[int | None, Query(ge=2000, le=2100)]


@router.get(TARGETS_URL, response_class=HTMLResponse)
def targets_page(
    ctx: KeeperCtx,
    city: Annotated[str | None, Query(max_length=6)] = None,
    year: YearQuery = None,
) -> HTMLResponse:
    return _targets_page(ctx, _target_city(ctx.staff, city), year or beijing_today().year)


@router.post(TARGETS_URL + "/{city}/{year}/{kind}")
def save_target(
    ctx: KeeperCtx,
    city: str,
    year: Annotated[int, Path(ge=2000, le=2100)],
    kind: str,
    version: SettingVersion,
    target_mu: Annotated[str, Form(max_length=30)] = "",
    deadline: Annotated[str, Form(max_length=20)] = "",
    source: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    city = _target_city(ctx.staff, city)
    if kind not in CASE_KINDS:
        raise InvalidInput(f"目标类型应为 {', '.join(CASE_KINDS)}")
    values = {"target_mu": target_mu.strip(), "deadline": deadline.strip(), "source": source}
    try:
        errors: dict[str, str] = {}
        try:
            area = mu_to_m2(float(values["target_mu"].replace(",", "")))
        except ValueError:
            errors["target_mu"] = "请填写目标面积（亩）" if not values["target_mu"] else "应为数字"
            raise InvalidInput(
                "请检查标出的字段", detail=[{"field": "target_mu", "reason": errors["target_mu"]}]
            ) from None
        raw = {
            "city_code": city,
            "year": year,
            "kind": kind,
            "target_area_m2": area,
            "deadline": values["deadline"] or None,
            "source": source.strip() or None,
        }
        body = _validated(TargetIn, raw, {"target_area_m2": "target_mu"})
        targets.set_target(
            ctx.session,
            ctx.staff.principal,
            **body.model_dump(),
            if_match=etag(targets.target_key(city, year, kind), version),
        )
    except PreconditionFailed:
        ctx.session.rollback()
        return _targets_page(ctx, city, year, kind=kind, errors={"": TARGET_CHANGED})
    except InvalidInput as exc:
        ctx.session.rollback()
        return _targets_page(
            ctx, city, year, kind=kind, values=values, errors=form_errors(exc), opened=version
        )
    ctx.session.commit()
    return redirect(
        ctx.request,
        f"{TARGETS_URL}?city={city}&year={year}",
        flash=("success", f"{vocab.CITIES[city]} {year} 年{CASE_KINDS[kind]}目标已保存"),
    )
