"""Monitoring vocabularies (codes stored in the database) with their Chinese labels."""

from __future__ import annotations

IDLE_STAGES: dict[str, str] = {
    "normal": "正常",
    "at_risk": "临近闲置",
    "idle_fee": "征缴闲置费",
    "recoverable": "可无偿收回",
    "gov_caused": "政府原因闲置",
    "unknown": "数据不足",
}

IDLE_CLAUSES: dict[str, str] = {
    "not_started": "未动工（第二条第一款）",
    "stalled": "已动工但中止（第二条第二款）",
}

IDLE_FLAGS: dict[str, str] = {
    "start_date_fallback": "无约定开工日期，按合同签订日起满一年推定",
    "no_start_basis": "无约定开工日期且无合同日期，无法判定",
    "start_extended": "开工期限已延长（第十二条第一项），期满未动工即构成闲置",
    "ratios_missing": "缺少开发面积或投资比例，按可能闲置处理",
    "discretionary": "第二条第二款为“可以认定”，需人工研判",
    "gov_caused": "政府或政府部门原因造成",
    "price_missing": "缺少出让价款，无法计算闲置费",
}

CASE_KINDS: dict[str, str] = {"idle": "闲置土地处置", "unsupplied": "批而未供处置"}
CASE_STATUS: dict[str, str] = {"open": "办理中", "closed": "已办结"}

# Procedure of Order 53 (docs/domain.md §5) and of the 批而未供 disposal.
STEP_KINDS: dict[str, str] = {
    "investigation_notice": "下达闲置土地调查通知书",
    "holder_reply": "土地使用权人答复",
    "determination": "下达闲置土地认定书",
    "public_notice": "网上公示",
    "plan": "制定处置方案",
    "decision": "处置决定",
}

IDLE_DECISIONS: dict[str, str] = {
    "fee": "征缴土地闲置费",
    "recovery": "无偿收回",
    "extension": "延长动工开发期限（不超过一年）",
    "change_use": "调整土地用途、规划条件",
    "temporary_use": "安排临时使用",
    "negotiated_recovery": "协议有偿收回",
    "swap": "置换土地",
}
# An idle-land case closed without a disposal (docs/domain.md §5): the holder started work, so
# the land is no longer idle nor at risk (the scan's stage on the closing day is normal); or the
# investigation found the land not idle (after the investigation notice, with a reason).
CLOSURES: dict[str, str] = {
    "started": "已动工，结案",
    "not_idle": "不构成闲置，撤销",
}
UNSUPPLIED_DECISIONS: dict[str, str] = {
    "supply": "供应",
    "withdraw": "撤回批文",
    "adjust": "核减调整",
}
DECISIONS: dict[str, str] = {**IDLE_DECISIONS, **CLOSURES, **UNSUPPLIED_DECISIONS}

# What Order 53 allows in each idle stage (docs/domain.md §5): land idle through the holder
# (Art. 14) pays the idle fee from the first year and may be recovered without compensation
# from the second; land idle through the government (Art. 8) is disposed of by the Art. 12
# options only. No decision before the land is idle (normal, at_risk, unknown).
STAGE_DECISIONS: dict[str, tuple[str, ...]] = {
    "idle_fee": ("fee",),
    "recoverable": ("fee", "recovery"),
    "gov_caused": ("extension", "change_use", "temporary_use", "negotiated_recovery", "swap"),
}
# Why a decision needs its stage: the rule it rests on, for the refusal's message.
DECISION_RULES: dict[str, str] = {
    "fee": "征缴土地闲置费须闲置满一年且非政府原因造成（第十四条第一项）",
    "recovery": "无偿收回须闲置满两年且非政府原因造成（第十四条第二项）",
    "started": (
        "“已动工，结案”须地块已动工开发、不再闲置也不再临近闲置（闲置阶段为“正常”，"
        "第二条、第三十条）"
    ),
    "not_idle": "“不构成闲置，撤销”须在下达闲置土地调查通知书、经调查核实后作出，并写明理由",
    **{
        d: f"{IDLE_DECISIONS[d]}只适用于政府原因造成的闲置土地（第八条、第十二条）"
        for d in STAGE_DECISIONS["gov_caused"]
    },
}
# The idle stages a case may be opened in: idle land, and land within the year before the
# idle line (at risk), whose investigation may begin ahead of it; its decision waits for the
# line (STAGE_DECISIONS).
OPEN_STAGES = ("at_risk", "idle_fee", "recoverable", "gov_caused")

# Decisions after which the land goes back to the government as ready stock.
RECOVERING_DECISIONS = frozenset({"recovery", "negotiated_recovery", "swap"})
# A fee alone does not dispose of idle land: the land stays idle until work starts. A case
# closed without a disposal (CLOSURES) disposed of nothing either: the targets count neither.
NOT_DISPOSING_DECISIONS = frozenset({"fee", *CLOSURES})

TRANSFER_ROUTES: dict[str, str] = {
    "transferable_now": "可直接转让（投资已达 25%）",
    "notice_registration": "预告登记路径（投资未达 25%）",
    "unknown": "投资比例未知",
}

# How a yearly disposal target stands (landmatch.monitoring.targets).
TARGET_STATES: dict[str, str] = {
    "done": "已完成",
    "on_track": "进度正常",
    "behind": "进度滞后",
    "missed": "逾期未完成",
}

AGE_BANDS: dict[str, str] = {"lt2": "2年以内", "2to5": "2–5年", "gt5": "5年以上"}
