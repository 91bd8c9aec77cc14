"""Disposal cases (处置案件) with dated steps and deadlines.

Idle land follows Order 53's procedure (docs/domain.md §5): investigation notice → the holder's
reply (30 days) → determination → public notice → decision. Unsupplied land: a disposal plan,
then a decision (supply, withdraw the approval, adjust). Every write goes through
:func:`landmatch.db.engine.audited`, so cases and steps keep each state in ``layer_version`` and
the parcel keeps its own in ``parcel_version``. Closing a case updates the parcel: recovered land
(recovery, negotiated recovery, swap) becomes ``ready`` stock that matching offers. An idle-land
case may also close without a disposal (``CLOSURES``: the holder started work, or the land was
found not idle), at any step, by :func:`decide` as well.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.dates import add_years, beijing_today
from landmatch.db.engine import audited
from landmatch.db.locking import check_version, lock_row, read_row, require_if_match
from landmatch.db.values import json_value
from landmatch.errors import Conflict, Forbidden, InvalidInput
from landmatch.inventory.fields import PROGRESS_FIELDS
from landmatch.monitoring.idle import IdleAssessment, IdleInputs, assess, fee_due
from landmatch.monitoring.rules import rule_for_city
from landmatch.monitoring.scope import city_scope
from landmatch.monitoring.terms import (
    CASE_KINDS,
    CLOSURES,
    DECISION_RULES,
    DECISIONS,
    IDLE_DECISIONS,
    IDLE_STAGES,
    OPEN_STAGES,
    RECOVERING_DECISIONS,
    STAGE_DECISIONS,
    STEP_KINDS,
    UNSUPPLIED_DECISIONS,
)

# Days each step may take after the previous one. The 30-day reply is Order 53's (a period in
# days, 三十日内, so counted in days); the others are working defaults [GK] to be replaced by
# the local procedure.
STEP_PLAN: dict[str, tuple[tuple[str, int], ...]] = {
    "idle": (
        ("investigation_notice", 15),
        ("holder_reply", 30),
        ("determination", 30),
        ("public_notice", 15),
        ("decision", 60),
    ),
    "unsupplied": (("plan", 60), ("decision", 120)),
}
# An extension of the start deadline is at most one year (Art. 12): a calendar year, up to the
# decision's anniversary (landmatch.dates), not 365 days.
EXTENSION_MAX_YEARS = 1

_PARCEL_SQL = (
    "SELECT id, code, status, city_code, area_m2, contract_date, agreed_start_date, "
    "start_extended, actual_start_date, stopped_since, developed_ratio, invest_ratio, invested_wan, "
    "total_investment_wan, gov_caused, land_price_wan, notes "
    "FROM landmatch.parcel WHERE deleted_at IS NULL AND {where}"
)


def _check_scope(principal: Principal, city_code: str) -> None:
    principal.require("admin", "bureau")
    if not principal.can_edit_city(city_code):
        raise Forbidden(f"无权处置 {vocab.CITIES.get(city_code, city_code)} 的土地")


def idle_stage(
    session: Session, parcel: dict[str, Any], on: dt.date, fee_rate: float
) -> IdleAssessment:
    """The parcel's idle stage on ``on`` under its city's rule: the scan's definition (the
    Python twin of monitoring_idle.sql, :func:`landmatch.monitoring.idle.assess`)."""
    rule = rule_for_city(session, parcel["city_code"], fee_rate)
    return assess(IdleInputs.of(parcel), on, rule)


def _parcel(session: Session, code: str, *, lock: bool = False) -> dict[str, Any]:
    read = lock_row if lock else read_row
    return read(session, _PARCEL_SQL.format(where="code = :c"), {"c": code}, f"未找到地块 {code}")


def _locked_parcel(session: Session, parcel_id: int) -> dict[str, Any] | None:
    """The case's (live) parcel, locked until the end of the transaction, so what a decision
    checks (status, idle stage) is what it writes over. Lock order: the case first
    (:func:`_locked_open`), then its parcel, in every case write; a parcel edit locks the parcel
    alone and never a case, so neither waits for the other in a cycle."""
    row = (
        session.execute(text(_PARCEL_SQL.format(where="id = :i") + " FOR UPDATE"), {"i": parcel_id})
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def _case(session: Session, case_id: int, lock: bool = False) -> dict[str, Any]:
    read = lock_row if lock else read_row
    return read(
        session,
        "SELECT * FROM landmatch.disposal_case WHERE id = :i",
        {"i": case_id},
        f"未找到处置案件 {case_id}",
    )


def _locked_open(
    session: Session, principal: Principal, case_id: int, if_match: str | None, closed: str
) -> dict[str, Any]:
    """The case locked for a write (a step, the decision) against the version ``if_match``
    names (428, 412), and still open (else 409 with the message ``closed``)."""
    require_if_match(if_match, "办理处置案件")
    c = _case(session, case_id, lock=True)
    _check_scope(principal, c["city_code"])
    check_version(if_match, case_id, c["version"], what="处置案件", action="办理")
    if c["status"] != "open":
        raise Conflict(closed)
    return c


def _steps(session: Session, case_id: int) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in session.execute(
            text("SELECT * FROM landmatch.disposal_step WHERE case_id = :i ORDER BY seq"),
            {"i": case_id},
        ).mappings()
    ]


def get_case(session: Session, principal: Principal, case_id: int) -> dict[str, Any]:
    """One case with its steps, for a caller who may read its city's monitoring data
    (:func:`landmatch.monitoring.scope.city_scope`: another city's case is refused to a city
    bureau)."""
    c = _detail(session, case_id)
    city_scope(principal, c["city_code"])
    return c


def _detail(session: Session, case_id: int) -> dict[str, Any]:
    c = {k: json_value(v) for k, v in _case(session, case_id).items()}
    c["parcel_code"] = session.execute(
        text("SELECT code FROM landmatch.parcel WHERE id = :i"), {"i": c["parcel_id"]}
    ).scalar()
    c["kind_label"] = CASE_KINDS[c["kind"]]
    c["decision_label"] = DECISIONS.get(c["decision"] or "")
    c["steps"] = [
        {**{k: json_value(v) for k, v in s.items()}, "label": STEP_KINDS[s["kind"]]}
        for s in _steps(session, case_id)
    ]
    return c


def _not_after_today(day: dt.date, what: str, field: str) -> None:
    """A step of a case (立案, a step, the decision) is recorded as taken, so not after today."""
    if day > beijing_today():
        raise InvalidInput(f"{what}不能晚于今天（{day}）", detail={"field": field})


def open_case(
    session: Session,
    principal: Principal,
    parcel_code: str,
    *,
    opened_on: dt.date,
    fee_rate: float,
    note: str | None = None,
) -> dict[str, Any]:
    """Open the case of an idle or unsupplied parcel and plan its steps. Supplied land is
    opened as idle land when its stage on ``opened_on`` (the scan's) is idle or at risk
    (``OPEN_STAGES``); normal land, and land whose stage cannot be told, is refused. The
    parcel is locked first (a concurrent edit or a second opening waits), so its status and
    stage are checked as they are when the case is written."""
    _not_after_today(opened_on, "立案日期", "opened_on")
    p = _parcel(session, parcel_code, lock=True)
    _check_scope(principal, p["city_code"])
    if p["status"] in ("idle", "supplied"):
        kind = "idle"
    elif p["status"] == "unsupplied":
        kind = "unsupplied"
    else:
        raise InvalidInput(
            f"地块 {parcel_code} 状态为“{vocab.PARCEL_STATUS[p['status']]}”，"
            "只有闲置（或已供应）与批而未供地块可以立案处置"
        )
    stage = None
    if kind == "idle":
        stage = idle_stage(session, p, opened_on, fee_rate).stage
        if stage == "unknown":
            raise InvalidInput(
                f"地块 {parcel_code} 既无约定开工日期也无合同签订日期，无法判定闲置阶段，"
                "不能立案处置；请先补录日期",
                detail={"field": "parcel_code", "stage": stage},
            )
        if stage not in OPEN_STAGES:
            raise InvalidInput(
                f"地块 {parcel_code} 在 {opened_on} 的闲置阶段为“{IDLE_STAGES[stage]}”，"
                "既未构成闲置土地也未临近闲置，不能立案处置",
                detail={"field": "parcel_code", "stage": stage},
            )
    busy = session.execute(
        text("SELECT id FROM landmatch.disposal_case WHERE parcel_id = :p AND status = 'open'"),
        {"p": p["id"]},
    ).scalar()
    if busy:
        raise Conflict(f"地块 {parcel_code} 已有办理中的处置案件 {busy}")
    with audited(session, principal.actor, f"处置立案 {parcel_code}"):
        case_id = session.execute(
            text(
                "INSERT INTO landmatch.disposal_case (parcel_id, kind, city_code, area_m2, "
                "stage_at_open, opened_on, note, opened_by) VALUES (:p, :k, :c, :a, :s, :o, :n, :by) "
                "RETURNING id"
            ),
            {
                "p": p["id"],
                "k": kind,
                "c": p["city_code"],
                "a": p["area_m2"],
                "s": stage,
                "o": opened_on,
                "n": note,
                "by": principal.actor,
            },
        ).scalar_one()
        due = opened_on
        for seq, (step, days) in enumerate(STEP_PLAN[kind], 1):
            due = due + dt.timedelta(days=days)
            session.execute(
                text(
                    "INSERT INTO landmatch.disposal_step (case_id, seq, kind, due_on, actor) "
                    "VALUES (:c, :s, :k, :d, :a)"
                ),
                {"c": case_id, "s": seq, "k": step, "d": due, "a": principal.actor},
            )
    return _detail(session, case_id)


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


def complete_step(
    session: Session,
    principal: Principal,
    case_id: int,
    kind: str,
    *,
    done_on: dt.date,
    doc_no: str | None = None,
    note: str | None = None,
    if_match: str | None,
) -> dict[str, Any]:
    """Record the next step as done and re-plan the deadlines of the steps after it."""
    _not_after_today(done_on, "完成日期", "done_on")
    c = _locked_open(
        session, principal, case_id, if_match, f"案件 {case_id} 已办结，不能再登记步骤"
    )
    if kind == "decision":
        raise InvalidInput("处置决定请通过“作出处置决定”登记（POST .../decision）")
    steps = _steps(session, case_id)
    pending = [s for s in steps if s["done_on"] is None]
    if not pending or pending[0]["kind"] != kind:
        nxt = STEP_KINDS[pending[0]["kind"]] if pending else "无"
        raise Conflict(f"步骤顺序不符：下一步应为“{nxt}”，而不是“{STEP_KINDS.get(kind, kind)}”")
    last_done = max([s["done_on"] for s in steps if s["done_on"]] + [c["opened_on"]])
    if done_on < last_done:
        raise InvalidInput(f"完成日期 {done_on} 早于上一步骤或立案日期 {last_done}")
    plan = dict(STEP_PLAN[c["kind"]])
    with audited(session, principal.actor, f"处置步骤 {STEP_KINDS[kind]}"):
        session.execute(
            text(
                "UPDATE landmatch.disposal_step SET done_on = :d, doc_no = :doc, note = :n, "
                "actor = :a, updated_at = now() WHERE id = :i"
            ),
            {"d": done_on, "doc": doc_no, "n": note, "a": principal.actor, "i": pending[0]["id"]},
        )
        due = done_on
        for s in pending[1:]:
            due = due + dt.timedelta(days=plan[s["kind"]])
            session.execute(
                text(
                    "UPDATE landmatch.disposal_step SET due_on = :d, updated_at = now() WHERE id = :i"
                ),
                {"d": due, "i": s["id"]},
            )
        session.execute(
            text(
                "UPDATE landmatch.disposal_case SET version = version + 1, updated_at = now() "
                "WHERE id = :i"
            ),
            {"i": case_id},
        )
    return _detail(session, case_id)


# Parcel columns a decision may change (the whitelist for the UPDATE below).
_CLEARED_ON_RECOVERY = (
    "holder",
    "contract_no",
    "contract_date",
    "supply_date",
    "land_price_wan",
    *PROGRESS_FIELDS,
    "gov_cause",
)
_WRITABLE = frozenset(_CLEARED_ON_RECOVERY) | {
    "status",
    "visibility",
    "gov_caused",
    "start_extended",
    "notes",
    "data_updated_on",
    "land_use",
}


def _update_parcel(
    session: Session, parcel_id: int, changes: dict[str, Any], note: str | None = None
) -> None:
    """Write ``changes`` to the (locked) parcel, and append ``note`` to its notes in the same
    statement: added to what is stored, never to a copy read earlier."""
    bad = set(changes) - _WRITABLE
    assert not bad, bad  # programming error, never user input
    sets = [f"{k} = :{k}" for k in changes]
    if note is not None:
        sets.append("notes = concat_ws(E'\\n', NULLIF(notes, ''), CAST(:_note AS text))")
    session.execute(
        text(f"UPDATE landmatch.parcel SET {', '.join(sets)} WHERE id = :_id"),
        {**changes, "_note": note, "_id": parcel_id},
    )


def decisions_allowed(
    session: Session, principal: Principal, case_id: int, on: dt.date, fee_rate: float
) -> tuple[str | None, dict[str, str]]:
    """What the case may be decided as on ``on``: for idle land its parcel's stage that day
    (the scan's) and the decisions Order 53 allows in it (``STAGE_DECISIONS``); for
    批而未供 no stage and every decision. In the keeper's scope."""
    c = _case(session, case_id)
    _check_scope(principal, c["city_code"])
    if c["kind"] != "idle":
        return None, dict(UNSUPPLIED_DECISIONS)
    p = (
        session.execute(text(_PARCEL_SQL.format(where="id = :i")), {"i": c["parcel_id"]})
        .mappings()
        .first()
    )
    if p is None or p["status"] not in ("supplied", "idle"):
        return None, {}
    stage = idle_stage(session, dict(p), on, fee_rate).stage
    return stage, {d: IDLE_DECISIONS[d] for d in STAGE_DECISIONS.get(stage, ())}


def _check_idle_decision(
    session: Session, p: Any, decision: str, on: dt.date, fee_rate: float
) -> None:
    """Refuse a decision the parcel's idle stage on ``on`` does not allow (Order 53 Arts. 8,
    12, 14; ``STAGE_DECISIONS``), saying the stage, the rule and what the stage allows."""
    code = p["code"]
    if p["status"] not in ("supplied", "idle"):
        raise Conflict(
            f"地块 {code} 的状态已是“{vocab.PARCEL_STATUS[p['status']]}”，"
            "不再是已供应或闲置土地，不能作出闲置土地处置决定"
        )
    stage = idle_stage(session, dict(p), on, fee_rate).stage
    allowed = STAGE_DECISIONS.get(stage, ())
    if decision in allowed:
        return
    said = f"地块 {code} 在 {on} 的闲置阶段为“{IDLE_STAGES[stage]}”"
    if not allowed:
        why = "无法判定闲置阶段" if stage == "unknown" else "尚未构成闲置土地"
        message = f"{said}，{why}，不能作出处置决定"
    else:
        message = (
            f"{said}，不能作出“{DECISIONS[decision]}”决定：{DECISION_RULES[decision]}；"
            f"该阶段可选：{'、'.join(IDLE_DECISIONS[d] for d in allowed)}"
        )
    raise InvalidInput(
        message, detail={"field": "decision", "stage": stage, "allowed": list(allowed)}
    )


def _closure_refusal(
    session: Session,
    p: Any,
    steps: list[dict[str, Any]],
    closure: str,
    on: dt.date,
    fee_rate: float,
) -> tuple[str | None, str]:
    """Why the case of the parcel ``p`` may not close as ``closure`` on ``on`` (None: it may),
    and the parcel's stage that day (the scan's, :func:`idle_stage`). ``started`` needs the
    land no longer idle nor at risk: its stage is normal (work started and not stalled). The
    investigation must have begun for ``not_idle`` (its notice recorded); its reason is
    checked by :func:`decide`."""
    code = p["code"]
    if p["status"] not in ("supplied", "idle"):
        return (
            f"地块 {code} 的状态已是“{vocab.PARCEL_STATUS[p['status']]}”，"
            "不再是已供应或闲置土地，不能以此方式结案"
        ), "unknown"
    stage = idle_stage(session, dict(p), on, fee_rate).stage
    if closure == "started" and stage != "normal":
        started = p["actual_start_date"] is not None and p["actual_start_date"] <= on
        fact = (
            f"已于 {p['actual_start_date']} 动工但已中止且开发或投资不足"
            if started
            else f"未登记 {on} 前的实际开工日期"
        )
        return (
            f"地块 {code} 在 {on} 的闲置阶段为“{IDLE_STAGES[stage]}”（{fact}），"
            f"不能以“{CLOSURES[closure]}”结案：{DECISION_RULES[closure]}。"
            "请先在地块信息中登记实际开工日期等开发情况；经调查核实不构成闲置的，"
            f"可选“{CLOSURES['not_idle']}”并写明理由"
        ), stage
    if closure == "not_idle" and not any(
        s["kind"] == "investigation_notice" and s["done_on"] is not None for s in steps
    ):
        return (
            f"尚未登记“{STEP_KINDS['investigation_notice']}”，不能以“{CLOSURES[closure]}”"
            f"结案：{DECISION_RULES[closure]}"
        ), stage
    return None, stage


def closures_allowed(
    session: Session, principal: Principal, case_id: int, on: dt.date, fee_rate: float
) -> dict[str, str | None]:
    """How an open idle-land case may close without a disposal on ``on``: each of
    ``CLOSURES`` with None when it may, else why not (what :func:`decide` would refuse). Other
    cases: nothing. In the keeper's scope."""
    c = _case(session, case_id)
    _check_scope(principal, c["city_code"])
    if c["kind"] != "idle" or c["status"] != "open":
        return {}
    p = (
        session.execute(text(_PARCEL_SQL.format(where="id = :i")), {"i": c["parcel_id"]})
        .mappings()
        .first()
    )
    if p is None:
        return {}
    steps = _steps(session, case_id)
    return {k: _closure_refusal(session, p, steps, k, on, fee_rate)[0] for k in CLOSURES}


def _fee(
    session: Session, p: Any, decision: str, fee_wan: float | None, fee_rate: float
) -> float | None:
    """The fee a decision records. A fee decision charges the rule's amount, fee_rate × the
    land price (monitoring.idle.fee_due, what the scan shows); a typed amount may be lower (the
    law caps the fee, "up to 20 %", 城市房地产管理法 Art. 26, and the 决定书 signed is the
    record) but not above it, nor zero or less. Without a land price the typed amount stands
    (it is required). Other decisions carry no fee."""
    if decision != "fee":
        if fee_wan is not None:
            raise InvalidInput(
                "只有“征缴土地闲置费”决定填写闲置费金额 fee_wan", detail={"field": "fee_wan"}
            )
        return None
    price = p["land_price_wan"]
    rule = rule_for_city(session, p["city_code"], fee_rate)
    cap = None if price is None else fee_due(rule, price)
    if fee_wan is None:
        if cap is None:
            raise InvalidInput(
                "地块缺少出让价款，请填写闲置费金额 fee_wan", detail={"field": "fee_wan"}
            )
        return cap
    if fee_wan <= 0:
        raise InvalidInput("闲置费金额应大于 0（万元）", detail={"field": "fee_wan"})
    if cap is not None and round(fee_wan, 2) > cap:
        raise InvalidInput(
            f"闲置费 {fee_wan:,.2f} 万元超过规定的 {cap:,.2f} 万元（出让价款 "
            f"{float(price):,.2f} 万元 × 闲置费率 {rule.fee_rate:.0%}，第十四条）",
            detail={"field": "fee_wan", "max": cap},
        )
    return round(fee_wan, 2)


def decide(
    session: Session,
    principal: Principal,
    case_id: int,
    decision: str,
    *,
    decided_on: dt.date,
    fee_rate: float,
    fee_wan: float | None = None,
    new_start_date: dt.date | None = None,
    new_land_use: str | None = None,
    publish: bool = True,
    doc_no: str | None = None,
    note: str | None = None,
    if_match: str | None,
) -> dict[str, Any]:
    """Record the decision, close the case and update the parcel (versioned, audited). An idle
    case's decision must be one its parcel's stage on ``decided_on`` allows (the scan's stage,
    ``STAGE_DECISIONS``: the fee from the first year and free recovery from the second where
    the holder caused the delay, the Art. 12 options where the government did); a fee at
    most the rule's (:func:`_fee`). A closure without a disposal (``CLOSURES``) is
    :func:`_close`'s, ``note`` its reason."""
    _not_after_today(decided_on, "决定日期", "decided_on")
    c = _locked_open(session, principal, case_id, if_match, f"案件 {case_id} 已办结")
    allowed = {**IDLE_DECISIONS, **CLOSURES} if c["kind"] == "idle" else UNSUPPLIED_DECISIONS
    if decision not in allowed:
        raise InvalidInput(
            f"{CASE_KINDS[c['kind']]}的处置方式只能是：{'、'.join(allowed.values())}",
            detail={"field": "decision", "allowed": list(allowed)},
        )
    if decision in CLOSURES:
        if fee_wan is not None or new_start_date is not None:
            field = "fee_wan" if fee_wan is not None else "new_start_date"
            raise InvalidInput(
                f"“{CLOSURES[decision]}”不填写闲置费金额或新的约定开工日期",
                detail={"field": field},
            )
        return _close(
            session,
            principal,
            c,
            decision,
            closed_on=decided_on,
            fee_rate=fee_rate,
            doc_no=doc_no,
            reason=note,
        )
    steps = _steps(session, case_id)
    pending = [s for s in steps if s["done_on"] is None]
    if [s["kind"] for s in pending] != ["decision"]:
        raise Conflict(
            f"尚有未完成的步骤：{'、'.join(STEP_KINDS[s['kind']] for s in pending[:-1])}"
        )
    last_done = max([s["done_on"] for s in steps if s["done_on"]] + [c["opened_on"]])
    if decided_on < last_done:
        raise InvalidInput(f"决定日期 {decided_on} 早于上一步骤日期 {last_done}")
    p = _locked_parcel(session, c["parcel_id"])  # after the case's lock (see there)
    if p is None:
        raise Conflict("案件对应的地块已被删除")
    if c["kind"] == "idle":
        _check_idle_decision(session, p, decision, decided_on, fee_rate)
    fee_wan = _fee(session, p, decision, fee_wan, fee_rate)
    stamp = f"[{decided_on}] {DECISIONS[decision]}（处置案件 {case_id}）"
    changes: dict[str, Any] = {"data_updated_on": decided_on}
    if decision in RECOVERING_DECISIONS:
        changes.update(dict.fromkeys(_CLEARED_ON_RECOVERY))
        changes.update(
            status="ready",
            visibility="public" if publish else "internal",
            gov_caused=False,
            start_extended=False,
        )
    elif decision in ("extension", "change_use"):
        if new_start_date is None:
            raise InvalidInput(
                "延期或调整用途须给出新的约定开工日期 new_start_date",
                detail={"field": "new_start_date"},
            )
        if decision == "extension" and new_start_date > add_years(decided_on, EXTENSION_MAX_YEARS):
            raise InvalidInput("延长动工开发期限最长不超过一年", detail={"field": "new_start_date"})
        if new_start_date < decided_on:
            raise InvalidInput(
                "新的约定开工日期不能早于决定日期", detail={"field": "new_start_date"}
            )
        # A supplementary agreement sets the new start date (Art. 12 (1), (2)) and the holder
        # answers for it: the government's cause is disposed of, so the land is no longer
        # recorded as government-caused (gov_caused, gov_cause cleared; the case and the
        # parcel's versions keep them). An extension does not restart the clock (Art. 12: "except
        # for the extension, the start clock restarts from the new agreed date"): the new date
        # is the deadline itself (start_extended), idle as soon as it passes unstarted. A change
        # of use restarts it: a full year of grace from the new date.
        changes.update(
            status="supplied",
            agreed_start_date=new_start_date,
            start_extended=decision == "extension",
            stopped_since=None,
            gov_caused=False,
            gov_cause=None,
        )
        if decision == "change_use" and new_land_use:
            if new_land_use not in vocab.LAND_USE:
                raise InvalidInput(
                    f"未知用地分类代码 {new_land_use}", detail={"field": "new_land_use"}
                )
            changes["land_use"] = new_land_use
    elif decision == "supply":
        changes.update(status="supplied", supply_date=decided_on, contract_date=decided_on)
    elif decision in ("withdraw", "adjust"):
        changes.update(status="withdrawn")
    # fee and temporary_use leave the status as it is.
    with audited(session, principal.actor, f"处置决定：{DECISIONS[decision]}（案件 {case_id}）"):
        session.execute(
            text(
                "UPDATE landmatch.disposal_step SET done_on = :d, doc_no = :doc, note = :n, "
                "actor = :a, updated_at = now() WHERE id = :i"
            ),
            {
                "d": decided_on,
                "doc": doc_no,
                "n": note,
                "a": principal.actor,
                "i": pending[0]["id"],
            },
        )
        session.execute(
            text(
                "UPDATE landmatch.disposal_case SET status = 'closed', decision = :dec, "
                "decided_on = :d, closed_on = :d, fee_wan = :fee, new_start_date = :ns, "
                "note = COALESCE(:n, note), version = version + 1, updated_at = now() WHERE id = :i"
            ),
            {
                "dec": decision,
                "d": decided_on,
                "fee": fee_wan,
                "ns": new_start_date,
                "n": note,
                "i": case_id,
            },
        )
        _update_parcel(session, c["parcel_id"], changes, note=stamp)
    return _detail(session, case_id)


def _close(
    session: Session,
    principal: Principal,
    c: dict[str, Any],
    closure: str,
    *,
    closed_on: dt.date,
    fee_rate: float,
    doc_no: str | None,
    reason: str | None,
) -> dict[str, Any]:
    """Close the locked, open idle-land case ``c`` (:func:`decide` checked its kind) without a
    disposal (``CLOSURES``), at any step: ``started`` when the parcel's stage on ``closed_on``
    (the scan's) is normal, ``not_idle`` after the investigation notice with a reason
    (:func:`_closure_refusal`). The decision step records the day, the document, who and why
    (the steps not taken stay undone); the case's and the parcel's versions keep the reason
    (audited). The parcel keeps its data; land recorded as idle (status) is supplied again."""
    case_id = c["id"]
    steps = _steps(session, case_id)
    last_done = max([s["done_on"] for s in steps if s["done_on"]] + [c["opened_on"]])
    if closed_on < last_done:
        raise InvalidInput(
            f"结案日期 {closed_on} 早于上一步骤或立案日期 {last_done}",
            detail={"field": "decided_on"},
        )
    p = _locked_parcel(session, c["parcel_id"])  # after the case's lock, as decide()
    if p is None:
        raise Conflict("案件对应的地块已被删除")
    refusal, stage = _closure_refusal(session, p, steps, closure, closed_on, fee_rate)
    if refusal:
        raise InvalidInput(refusal, detail={"field": "decision", "stage": stage})
    reason = (reason or "").strip() or None
    if closure == "not_idle" and reason is None:
        raise InvalidInput("请写明不构成闲置的理由（经调查核实的情况）", detail={"field": "note"})
    if closure == "started":
        begun = p["actual_start_date"]
        started = (
            f"实际开工日期 {begun}"
            if begun is not None and begun <= closed_on
            else f"闲置阶段为“{IDLE_STAGES[stage]}”"
        )
        why = f"{started}；{reason}" if reason else started
    else:
        why = str(reason)
    label = CLOSURES[closure]
    stamp = f"[{closed_on}] {label}（处置案件 {case_id}）：{why}"
    changes: dict[str, Any] = {"data_updated_on": closed_on}
    if p["status"] == "idle":
        changes["status"] = "supplied"
    step = next(s for s in steps if s["kind"] == "decision")
    with audited(session, principal.actor, f"处置结案：{label}（案件 {case_id}）：{why}"):
        session.execute(
            text(
                "UPDATE landmatch.disposal_step SET done_on = :d, doc_no = :doc, note = :n, "
                "actor = :a, updated_at = now() WHERE id = :i"
            ),
            {"d": closed_on, "doc": doc_no, "n": why, "a": principal.actor, "i": step["id"]},
        )
        session.execute(
            text(
                "UPDATE landmatch.disposal_case SET status = 'closed', decision = :dec, "
                "decided_on = :d, closed_on = :d, fee_wan = NULL, new_start_date = NULL, "
                "version = version + 1, updated_at = now() WHERE id = :i"
            ),
            {"dec": closure, "d": closed_on, "i": case_id},
        )
        _update_parcel(session, c["parcel_id"], changes, note=stamp)
    return _detail(session, case_id)


_LIST_WHERE = (
    "WHERE (CAST(:city AS text) IS NULL OR c.city_code = CAST(:city AS text)) "
    "AND (CAST(:status AS text) IS NULL OR c.status = CAST(:status AS text)) "
    "AND (CAST(:overdue_on AS date) IS NULL OR (c.status = 'open' AND EXISTS ("
    " SELECT 1 FROM landmatch.disposal_step o WHERE o.case_id = c.id AND o.done_on IS NULL "
    " AND o.due_on < CAST(:overdue_on AS date) AND o.seq = (SELECT min(m.seq) FROM "
    " landmatch.disposal_step m WHERE m.case_id = c.id AND m.done_on IS NULL))))"
)


def list_cases(
    session: Session,
    principal: Principal,
    *,
    city: str | None = None,
    status: str | None = None,
    limit: int = 500,
    offset: int = 0,
    overdue_on: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Cases by id, with each one's next step and its deadline; ``overdue_on``: only open
    cases whose next step was due before that day (what :func:`overdue` alerts on); in the
    caller's scope."""
    city = city_scope(principal, city)
    rows = session.execute(
        text(
            "SELECT c.*, p.code AS parcel_code, p.name AS parcel_name, "
            "(SELECT s.kind FROM landmatch.disposal_step s WHERE s.case_id = c.id "
            " AND s.done_on IS NULL ORDER BY s.seq LIMIT 1) AS next_step, "
            "(SELECT s.due_on FROM landmatch.disposal_step s WHERE s.case_id = c.id "
            " AND s.done_on IS NULL ORDER BY s.seq LIMIT 1) AS next_due "
            "FROM landmatch.disposal_case c JOIN landmatch.parcel p ON p.id = c.parcel_id "
            f"{_LIST_WHERE} ORDER BY c.id LIMIT :limit OFFSET :offset"
        ),
        {
            "city": city,
            "status": status,
            "limit": limit,
            "offset": offset,
            "overdue_on": overdue_on,
        },
    ).mappings()
    out = []
    for r in rows:
        d = {k: json_value(v) for k, v in r.items()}
        d["kind_label"] = CASE_KINDS[d["kind"]]
        d["decision_label"] = DECISIONS.get(d["decision"] or "")
        d["next_step_label"] = STEP_KINDS.get(d["next_step"] or "")
        out.append(d)
    return out


def count_cases(
    session: Session,
    principal: Principal,
    *,
    city: str | None = None,
    status: str | None = None,
    overdue_on: dt.date | None = None,
) -> int:
    """How many cases :func:`list_cases` selects with the same filters."""
    city = city_scope(principal, city)
    return int(
        session.execute(
            text(f"SELECT count(*) FROM landmatch.disposal_case c {_LIST_WHERE}"),
            {"city": city, "status": status, "overdue_on": overdue_on},
        ).scalar_one()
    )


def require_scope(principal: Principal, city_code: str) -> None:
    """Admins, and bureaus within their city (the province's bureau: every city), keep the
    cases of ``city_code``; anyone else is refused."""
    _check_scope(principal, city_code)


def parcel_of(session: Session, parcel_code: str) -> dict[str, Any]:
    """The live parcel a case would be opened on (404 when there is none)."""
    return _parcel(session, parcel_code)


def open_case_of(session: Session, parcel_ids: list[int]) -> dict[int, int]:
    """The open case of each of these parcels that has one: ``{parcel_id: case_id}``."""
    rows = session.execute(
        text(
            "SELECT parcel_id, id FROM landmatch.disposal_case WHERE status = 'open' "
            "AND parcel_id = ANY(:p)"
        ),
        {"p": parcel_ids},
    )
    return {int(r[0]): int(r[1]) for r in rows}


def list_steps(
    session: Session, principal: Principal, *, city: str | None = None
) -> list[dict[str, Any]]:
    city = city_scope(principal, city)
    rows = session.execute(
        text(
            "SELECT s.*, c.city_code, p.code AS parcel_code FROM landmatch.disposal_step s "
            "JOIN landmatch.disposal_case c ON c.id = s.case_id "
            "JOIN landmatch.parcel p ON p.id = c.parcel_id "
            "WHERE (CAST(:city AS text) IS NULL OR c.city_code = CAST(:city AS text)) "
            "ORDER BY s.case_id, s.seq"
        ),
        {"city": city},
    ).mappings()
    return [
        {**{k: json_value(v) for k, v in r.items()}, "label": STEP_KINDS[r["kind"]]} for r in rows
    ]


def overdue(
    session: Session, principal: Principal, as_of: dt.date, city: str | None = None
) -> list[dict[str, Any]]:
    """Alerts: the current (first undone) step of each open case when its deadline has passed,
    in the caller's scope."""
    city = city_scope(principal, city)
    rows = session.execute(
        text(
            "SELECT DISTINCT ON (c.id) c.id AS case_id, c.kind, c.city_code, p.code AS parcel_code, "
            "p.name AS parcel_name, s.kind AS step, s.due_on, :as_of - s.due_on AS days_overdue "
            "FROM landmatch.disposal_case c JOIN landmatch.disposal_step s ON s.case_id = c.id "
            "JOIN landmatch.parcel p ON p.id = c.parcel_id "
            "WHERE c.status = 'open' AND s.done_on IS NULL "
            "AND (CAST(:city AS text) IS NULL OR c.city_code = CAST(:city AS text)) "
            "ORDER BY c.id, s.seq"
        ),
        {"as_of": as_of, "city": city},
    ).mappings()
    out = []
    for r in rows:
        if r["days_overdue"] <= 0:
            continue
        d = {k: json_value(v) for k, v in r.items()}
        d["step_label"] = STEP_KINDS[r["step"]]
        d["city_name"] = vocab.CITIES.get(r["city_code"])
        d["message"] = (
            f"{d['city_name']} 地块 {r['parcel_code']}：“{d['step_label']}”已逾期 "
            f"{r['days_overdue']} 天（期限 {r['due_on']}）"
        )
        out.append(d)
    return sorted(out, key=lambda d: -d["days_overdue"])
