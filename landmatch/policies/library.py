"""Policy library: create, edit, delete, search, and the policies that apply to a place
(:func:`applicable_to_site`, by the one rule of :mod:`landmatch.policies.applicability`)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.dates import beijing_today
from landmatch.db.engine import audited
from landmatch.db.like import contains_pattern
from landmatch.db.locking import check_version, lock_row, read_row, require_if_match
from landmatch.errors import Conflict, Forbidden
from landmatch.policies.applicability import (
    ANY_INDUSTRY,
    IN_FORCE_SQL,
    Policy,
    Site,
    applicable,
    from_row,
    in_force,
)
from landmatch.policies.schema import (
    PolicyFields,
    PolicyIn,
    check_references,
    validation_problem,
)

#: Predicate on ``landmatch.policy p`` with bind parameter ``:as_of``: in force that day.
ACTIVE_SQL = IN_FORCE_SQL

COLUMNS = (
    "code",
    "title",
    "issuer",
    "doc_no",
    "issued_on",
    "valid_from",
    "valid_until",
    "scope_level",
    "scope_code",
    "industries",
    "statuses",
    "land_uses",
    "benefit_kind",
    "benefit_rate",
    "benefit_cap_wan",
    "benefit_amount_wan",
    "benefit_basis",
    "conditions",
    "summary",
    "source",
    "visibility",
)
PUBLIC_COLUMNS = tuple(c for c in COLUMNS if c != "visibility")


def _out(row: Any, as_of: dt.date, public: bool) -> dict[str, Any]:
    d = dict(row)
    for k in ("benefit_rate", "benefit_cap_wan", "benefit_amount_wan"):
        if d.get(k) is not None:
            d[k] = float(d[k])
    d["active"] = in_force(d["valid_from"], d["valid_until"], as_of)
    d["benefit_label"] = vocab.label(vocab.BENEFIT_KINDS, d["benefit_kind"])
    d["scope_label"] = vocab.label(vocab.POLICY_SCOPES, d["scope_level"])
    if public:
        d.pop("visibility", None)
        d.pop("id", None)
        d.pop("version", None)
    return d


def _scope_city(session: Session, level: str, code: str) -> str | None:
    if level == "city":
        return code
    if level == "county":
        return session.execute(
            text("SELECT parent_code FROM landmatch.admin_division WHERE code = :c"), {"c": code}
        ).scalar()
    if level == "zone":
        return session.execute(
            text("SELECT city_code FROM landmatch.dev_zone WHERE code = :c"), {"c": code}
        ).scalar()
    return None


def name_scopes(session: Session, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each policy with ``scope_place``: where it applies, by name (全省, 石家庄市, 裕华区, the
    zone's name), for pages that showed the bare code (市 130100); the code's own text where
    it names nothing known."""
    codes = {p["scope_code"] for p in items if p["scope_level"] in ("county", "zone")}
    names: dict[tuple[str, str], str] = {}
    if codes:
        for level, code, name in session.execute(
            text(
                "SELECT 'county', code, name FROM landmatch.admin_division "
                "WHERE level = 'county' AND code = ANY(:c) "
                "UNION ALL SELECT 'zone', code, name FROM landmatch.dev_zone WHERE code = ANY(:c)"
            ),
            {"c": list(codes)},
        ):
            names[(level, code)] = name
    for p in items:
        level, code = p["scope_level"], p["scope_code"]
        if level == "province":
            p["scope_place"] = vocab.POLICY_SCOPES["province"]
        elif level == "city":
            p["scope_place"] = vocab.CITIES.get(code, code)
        else:
            p["scope_place"] = names.get((level, code), code)
    return items


def can_edit_policy(session: Session, principal: Principal, level: str, code: str) -> bool:
    """Bureaus keep policies of their scope; a zone committee its zone's; admin all."""
    if principal.role == "admin":
        return True
    if principal.role == "zone":
        if level != "zone":
            return False
        zid = session.execute(
            text("SELECT id FROM landmatch.dev_zone WHERE code = :c"), {"c": code}
        ).scalar()
        return zid is not None and principal.can_edit_zone(zid)
    if principal.role == "bureau":
        if level == "province":
            return principal.city_code in (None, vocab.PROVINCE_CODE)
        city = _scope_city(session, level, code)
        return city is not None and principal.can_edit_city(city)
    return False


def _require_edit(session: Session, principal: Principal, level: str, code: str) -> None:
    principal.require("admin", "bureau", "zone")
    if not can_edit_policy(session, principal, level, code):
        raise Forbidden(f"无权维护该范围的政策：{vocab.label(vocab.POLICY_SCOPES, level)} {code}")


def _params(p: PolicyFields) -> dict[str, Any]:
    d = p.model_dump(exclude={"code"})
    d["conditions"] = json.dumps(p.conditions.model_dump(exclude_defaults=True), ensure_ascii=False)
    return d


def create_policy(
    session: Session,
    principal: Principal,
    data: dict[str, Any] | PolicyIn,
    row: int | None = None,
    *,
    reason: str | None = None,
) -> dict[str, Any]:
    """A new policy, validated by :class:`PolicyIn` and :func:`check_references`, within the
    caller's scope; ``reason`` goes to its history."""
    try:
        p = data if isinstance(data, PolicyIn) else PolicyIn.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc, row) from None
    check_references(session, p, row)
    _require_edit(session, principal, p.scope_level, p.scope_code)
    if session.execute(
        text("SELECT 1 FROM landmatch.policy WHERE code = :c"), {"c": p.code}
    ).first():
        raise Conflict(f"政策编码 {p.code} 已存在")
    params = _params(p) | {"code": p.code}
    vals = ", ".join(f"CAST(:{c} AS jsonb)" if c == "conditions" else f":{c}" for c in COLUMNS)
    with audited(session, principal.actor, reason or "新增政策"):
        session.execute(
            text(f"INSERT INTO landmatch.policy ({', '.join(COLUMNS)}) VALUES ({vals})"), params
        )
    return get_policy(session, principal, p.code)


_CURRENT_SQL = f"SELECT id, version, {', '.join(COLUMNS)} FROM landmatch.policy WHERE code = :c"


def _current(session: Session, code: str) -> dict[str, Any]:
    return read_row(session, _CURRENT_SQL, {"c": code}, f"未找到政策 {code}")


def _locked(session: Session, code: str, if_match: str | None, action: str) -> dict[str, Any]:
    """The policy locked for a write against the version ``if_match`` names (428, 412)."""
    require_if_match(if_match, f"{action}政策")
    cur = lock_row(session, _CURRENT_SQL, {"c": code}, f"未找到政策 {code}")
    check_version(if_match, code, cur["version"], what="政策", action=action)
    return cur


def update_policy(
    session: Session,
    principal: Principal,
    code: str,
    changes: dict[str, Any],
    row: int | None = None,
    *,
    if_match: str | None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Change some fields of a policy (the rest kept) against the version ``if_match`` names;
    the whole result is validated again; ``reason`` goes to its history."""
    cur = _locked(session, code, if_match, "修改")
    _require_edit(session, principal, cur["scope_level"], cur["scope_code"])
    stored = {k: cur[k] for k in COLUMNS if k != "code"}
    for k in ("benefit_rate", "benefit_cap_wan", "benefit_amount_wan"):
        if stored.get(k) is not None:  # numeric columns read as Decimal
            stored[k] = float(stored[k])
    merged = stored | changes  # what was sent is the model's to check
    try:
        p = PolicyFields.model_validate(merged)
    except ValidationError as exc:
        raise validation_problem(exc, row) from None
    check_references(session, p, row)
    _require_edit(session, principal, p.scope_level, p.scope_code)
    sets = ", ".join(
        f"{c} = CAST(:{c} AS jsonb)" if c == "conditions" else f"{c} = :{c}"
        for c in COLUMNS
        if c != "code"
    )
    with audited(session, principal.actor, reason or "修改政策"):
        session.execute(
            text(
                f"UPDATE landmatch.policy SET {sets}, version = version + 1, updated_at = now() "
                "WHERE code = :code"
            ),
            _params(p) | {"code": code},
        )
    return get_policy(session, principal, code)


def delete_policy(
    session: Session, principal: Principal, code: str, *, if_match: str | None
) -> None:
    cur = _locked(session, code, if_match, "删除")
    _require_edit(session, principal, cur["scope_level"], cur["scope_code"])
    with audited(session, principal.actor, "删除政策"):
        session.execute(text("DELETE FROM landmatch.policy WHERE code = :c"), {"c": code})


def get_policy(
    session: Session, principal: Principal, code: str, as_of: dt.date | None = None
) -> dict[str, Any]:
    cols = PUBLIC_COLUMNS if principal.is_public else ("id", "version", *COLUMNS)
    where = "code = :c" + (" AND visibility = 'public'" if principal.is_public else "")
    row = read_row(
        session,
        f"SELECT {', '.join(cols)}, updated_at FROM landmatch.policy WHERE {where}",
        {"c": code},
        f"未找到政策 {code}",
    )
    return _out(row, as_of or beijing_today(), principal.is_public)


def search_policies(
    session: Session,
    principal: Principal,
    *,
    q: str | None = None,
    industry: str | None = None,
    scope_level: str | None = None,
    scope_code: str | None = None,
    benefit_kind: str | None = None,
    as_of: dt.date | None = None,
    include_expired: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Full-text-ish search (title, summary, issuer, document number) with filters. The public
    sees public policies only; expired policies only on request (staff)."""
    day = as_of or beijing_today()
    where = ["true"]
    params: dict[str, Any] = {"as_of": day, "limit": limit, "offset": offset}
    if principal.is_public:
        where.append("p.visibility = 'public'")
        include_expired = False
    if not include_expired:
        where.append(ACTIVE_SQL)
    if q:
        where.append(
            "(p.title ILIKE :q OR p.summary ILIKE :q OR p.issuer ILIKE :q "
            "OR coalesce(p.doc_no, '') ILIKE :q OR p.code ILIKE :q)"
        )
        params["q"] = contains_pattern(q)
    if industry:
        where.append(
            "(cardinality(p.industries) = 0 OR EXISTS (SELECT 1 FROM "
            "unnest(p.industries) i WHERE :ind LIKE i || '%'))"
        )
        params["ind"] = industry
    for column, value in (
        ("scope_level", scope_level),
        ("scope_code", scope_code),
        ("benefit_kind", benefit_kind),
    ):
        if value:
            where.append(f"p.{column} = :{column}")
            params[column] = value
    cols = PUBLIC_COLUMNS if principal.is_public else ("id", "version", *COLUMNS)
    sql_where = " AND ".join(where)
    total = session.execute(
        text(f"SELECT count(*) FROM landmatch.policy p WHERE {sql_where}"), params
    ).scalar_one()
    rows = session.execute(
        text(
            f"SELECT {', '.join('p.' + c for c in cols)}, p.updated_at FROM landmatch.policy p "
            f"WHERE {sql_where} ORDER BY p.scope_level, p.code LIMIT :limit OFFSET :offset"
        ),
        params,
    ).mappings()
    items = [_out(r, day, principal.is_public) for r in rows]
    return {"total": total, "items": items, "as_of": day.isoformat()}


def applicable_to_site(
    session: Session,
    site: Site,
    as_of: dt.date,
    *,
    industry: str | None = ANY_INDUSTRY,
    public: bool = False,
) -> list[tuple[Policy, dict[str, Any]]]:
    """The policies that apply to ``site`` on ``as_of`` (for a project of ``industry``; by
    default none: a card or brochure), as seen by the public or by staff, the most local
    first: each :class:`~applicability.Policy` (what a value estimate reads) beside its row
    with the labels. One rule (:func:`applicability.applies`), the match's."""
    rows = {
        r["code"]: r
        for r in session.execute(
            text(f"SELECT {', '.join(COLUMNS)} FROM landmatch.policy")
        ).mappings()
    }
    hits = applicable(
        (from_row(r) for r in rows.values()), site, as_of, industry=industry, public=public
    )
    return [(p, _out(rows[p.code], as_of, public)) for p in hits]


def policy_history(session: Session, principal: Principal, code: str) -> list[dict[str, Any]]:
    principal.require("admin", "bureau", "zone", "promoter")
    cur = _current(session, code)
    rows = session.execute(
        text(
            "SELECT op, actor, reason, at, row FROM landmatch.layer_version "
            "WHERE layer = 'policy' AND record_id = :i ORDER BY at, id"
        ),
        {"i": cur["id"]},
    ).mappings()
    return [dict(r) for r in rows]
