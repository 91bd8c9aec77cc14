"""Per-city idle-land thresholds (table ``monitoring_rule``): city row, else the province row
(130000), else the built-in defaults with the fee rate from settings. Periods are in calendar
months (12 = 满一年, 24 = 满两年; see :mod:`landmatch.dates`), never in days."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db.engine import audited
from landmatch.db.locking import check_version, require_if_match
from landmatch.errors import Forbidden, InvalidInput
from landmatch.monitoring.idle import FEE_RATE_MAX, IdleRule

RULE_FIELDS = tuple(f.name for f in fields(IdleRule))


def default_rule(fee_rate: float) -> IdleRule:
    return IdleRule(fee_rate=fee_rate)


def sql_defaults(rule: IdleRule) -> dict[str, Any]:
    """Bound parameters of ``monitoring_idle.sql`` for the built-in defaults."""
    return {
        "d_idle": rule.idle_after_months,
        "d_recover": rule.recover_after_months,
        "d_window": rule.at_risk_window_months,
        "d_stall": rule.stall_min_months,
        "d_dev": rule.developed_ratio_min,
        "d_inv": rule.invest_ratio_min,
        "d_fallback": rule.start_fallback_months,
        "d_fee": rule.fee_rate,
        "d_stalled": rule.stalled_clause,
    }


def rule_for_city(session: Session, city_code: str | None, fee_rate: float) -> IdleRule:
    base = asdict(default_rule(fee_rate))
    codes = [vocab.PROVINCE_CODE] + ([city_code] if city_code else [])
    rows = (
        session.execute(
            text("SELECT * FROM landmatch.monitoring_rule WHERE city_code = ANY(:c)"), {"c": codes}
        )
        .mappings()
        .all()
    )
    by_code = {r["city_code"]: r for r in rows}
    for code in codes:  # province first, the city overrides it
        r = by_code.get(code)
        if r is None:
            continue
        for k in RULE_FIELDS:
            if r.get(k) is not None:
                base[k] = float(r[k]) if k.endswith(("_min", "rate")) else r[k]
    return IdleRule(**base)


def list_rules(session: Session) -> list[dict[str, Any]]:
    rows = (
        session.execute(text("SELECT * FROM landmatch.monitoring_rule ORDER BY city_code"))
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


STAFF = ("admin", "bureau", "zone", "promoter")


def rules_for(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Every city's thresholds, for any staff member."""
    principal.require(*STAFF)
    return list_rules(session)


def city_label(city_code: str) -> str:
    return (
        "全省默认" if city_code == vocab.PROVINCE_CODE else vocab.CITIES.get(city_code, city_code)
    )


def _check_city(city_code: str) -> None:
    if city_code != vocab.PROVINCE_CODE and city_code not in vocab.CITIES:
        raise InvalidInput(vocab.unknown_city(city_code))


def city_rules(
    session: Session, principal: Principal, city_code: str, fee_rate: float
) -> dict[str, Any]:
    """One city's own thresholds as set (None: none set) with their version (0 while none is
    set, the version a first setting names), and those in force there, for any staff member."""
    principal.require(*STAFF)
    _check_city(city_code)
    row = (
        session.execute(
            text("SELECT * FROM landmatch.monitoring_rule WHERE city_code = :c"), {"c": city_code}
        )
        .mappings()
        .first()
    )
    return {
        "city_code": city_code,
        "city_name": city_label(city_code),
        "version": row["version"] if row else 0,
        "own": dict(row) if row else None,
        "effective": asdict(rule_for_city(session, city_code, fee_rate)),
    }


def edit_rule(
    session: Session,
    principal: Principal,
    city_code: str,
    values: dict[str, Any],
    *,
    if_match: str | None,
) -> int:
    """Set a city's thresholds as ``principal``: the admin and the province's bureau any, a
    city bureau its own city's, against the version ``if_match``
    names. Returns the new version."""
    principal.require("admin", "bureau")
    # A city's bureau its own city only; the province's bureau (130000) acts for every city
    # and the province default (``Principal.can_edit_city``).
    if not principal.can_edit_city(city_code):
        raise Forbidden("无权修改该城市的闲置认定阈值")
    return set_rule(session, city_code, values, principal.actor, if_match=if_match)


def set_rule(
    session: Session,
    city_code: str,
    values: dict[str, Any],
    actor: str,
    *,
    if_match: str | None,
) -> int:
    """Insert or change a city's thresholds (unknown keys are refused; those not given keep
    their values) against the version ``if_match`` names (``landmatch.db.locking``: 428
    without it, 412 when someone changed the city's rule set since; a city without its own is
    version 0; ``ANY`` for the CLI and the seed), checked under the row's lock. Returns the
    new version."""
    bad = [k for k in values if k not in RULE_FIELDS]
    if bad:
        raise InvalidInput(f"未知阈值字段：{', '.join(bad)}；可选：{', '.join(RULE_FIELDS)}")
    _check_city(city_code)
    merged = {k: v for k, v in values.items() if v is not None}
    fee_rate = merged.get("fee_rate")
    if fee_rate is not None and not 0 <= fee_rate <= FEE_RATE_MAX:
        raise InvalidInput(
            f"闲置费率 fee_rate 应在 0 到 {FEE_RATE_MAX:.0%} 之间"
            f"（《城市房地产管理法》第二十六条：不超过出让金的百分之二十），收到 {fee_rate}",
            detail={"field": "fee_rate"},
        )
    require_if_match(if_match, "修改闲置认定阈值")
    params = {"city_code": city_code, **merged, "updated_by": actor}
    with audited(session, actor, f"闲置认定阈值 {city_label(city_code)}"):
        while True:
            stored = (
                session.execute(
                    text(
                        "SELECT version, idle_after_months, recover_after_months "
                        "FROM landmatch.monitoring_rule WHERE city_code = :city_code FOR UPDATE"
                    ),
                    params,
                )
                .mappings()
                .first()
            )
            check_version(
                if_match, city_code, stored["version"] if stored else 0, what="闲置认定阈值"
            )
            _check_order({**(dict(stored) if stored else {}), **merged})
            version = _write(session, merged, params, update=stored is not None)
            if version is not None:
                return version


def _check_order(row: dict[str, Any]) -> None:
    """The rule set as it will be stored (the stored row with the new values over it, the
    columns' defaults where neither): free recovery comes after idleness."""
    default = default_rule(0.0)
    idle, recover = row.get("idle_after_months"), row.get("recover_after_months")
    idle = default.idle_after_months if idle is None else idle
    recover = default.recover_after_months if recover is None else recover
    if recover <= idle:
        raise InvalidInput(
            f"无偿收回月数（{recover}）必须大于闲置月数（{idle}）"
            "（recover_after_months > idle_after_months）",
            detail={"field": "recover_after_months"},
        )


def _write(
    session: Session, merged: dict[str, Any], params: dict[str, Any], *, update: bool
) -> int | None:
    """Change the locked row (``update``) or insert the city's first; the new version, or
    None when another first setting committed meanwhile (the caller checks against it)."""
    if update:
        sets = "".join(f"{k} = :{k}, " for k in [*merged, "updated_by"])
        return int(
            session.execute(
                text(
                    f"UPDATE landmatch.monitoring_rule SET {sets}version = version + 1, "
                    "updated_at = now() WHERE city_code = :city_code RETURNING version"
                ),
                params,
            ).scalar_one()
        )
    # None yet: of two first settings, the second finds the first's row (the key waits
    # for it to commit) and is checked against it.
    cols = ["city_code", *merged, "updated_by"]
    created = session.execute(
        text(
            f"INSERT INTO landmatch.monitoring_rule ({', '.join(cols)}) "
            f"VALUES ({', '.join(':' + c for c in cols)}) "
            "ON CONFLICT (city_code) DO NOTHING RETURNING version"
        ),
        params,
    ).scalar()
    if created is not None:
        return int(created)
    return None
