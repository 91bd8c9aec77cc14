"""我有意向: an investor's inquiry about a public parcel, sent without an account.

Anti-spam without any outside service, in three layers:

1. **The form token**: ``GET /api/inquiries/form`` hands out ``<issued>.<nonce>.<mac>``, an HMAC
   (the app's secret) over the time it was issued and a random nonce. A submission needs a
   token that is genuine, at least ``inquiry_min_seconds`` old (a person takes longer to fill
   the form than a robot) and at most ``inquiry_form_hours``; each nonce is stored with its
   inquiry, so one form is sent once. The token is what a public form without a cookie
   carries instead of a session's CSRF token.
2. **The honeypot**: a ``website`` field hidden from people; a robot that fills it is answered
   as if all went well and nothing is stored.
3. **Per-address rate limit**: at most ``inquiry_max_per_hour`` inquiries per client address
   within an hour, then 429 with when to retry (the inquiries themselves are the count).

Everything sent is checked as text (lengths, no control characters or markup-only content,
a phone number or an e-mail address that looks like one, the consent ticked) and stored as
typed; pages show it escaped. The inquiry is internal data: nothing here returns it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.dates import BEIJING
from landmatch.db.parcels import PUBLIC_WHERE
from landmatch.errors import Conflict, InvalidInput, NotFound, TooManyRequests, UnprocessableInput
from landmatch.leads.coverage import route_sql

#: The consent line shown above the submit button and stored (by time) with the inquiry.
CONSENT = (
    "我同意将以上信息提供给负责该地块的招商部门，仅用于联系我洽谈本次用地意向；"
    "信息不会公开，也不会提供给第三方。"
)
CONFIRMATION = "已收到您的意向，负责该地块的招商部门将尽快与您联系。"
MAX_BODY = 16 * 1024  # bytes: the whole request
LIMITS = {"name": 50, "company": 100, "phone": 30, "email": 254, "message": 2000}
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{4,28}[0-9]$")
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9\-]{1,63}(\.[A-Za-z0-9\-]{1,63})+$")
_UUID = re.compile(r"^[0-9a-fA-F\-]{32,36}$")


class InquiryIn(BaseModel):
    """What the inquiry form sends (JSON). Lengths are bounded here; the checks with their
    Chinese messages are :func:`submit`'s."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=200, description="表单令牌（GET /api/inquiries/form）")
    parcel: str = Field(max_length=64, description="地块编号")
    match_id: str | None = Field(None, max_length=36, description="来自哪次公开匹配（可选）")
    name: str = Field("", max_length=200, description="姓名")
    company: str = Field("", max_length=400, description="单位")
    phone: str = Field("", max_length=100, description="电话")
    email: str = Field("", max_length=400, description="电子邮箱")
    message: str = Field("", max_length=8000, description="留言")
    consent: bool = Field(False, description="同意将信息提供给招商部门")
    website: str = Field("", max_length=400, description="请留空（防机器人）")


# ---- the form token ------------------------------------------------------------------------


def _mac(secret: str, issued: int, nonce: str) -> str:
    msg = f"inquiry|{issued}|{nonce}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()[:32]


def issue_token(secret: str, now: dt.datetime | None = None) -> str:
    """A fresh form token: the time it was issued, a random nonce and their signature."""
    issued = int((now or dt.datetime.now(dt.UTC)).timestamp())
    nonce = secrets.token_hex(12)
    return f"{issued}.{nonce}.{_mac(secret, issued, nonce)}"


@dataclass(frozen=True)
class Limits:
    min_seconds: int
    form_hours: int
    per_hour: int


def check_token(token: str, secret: str, limits: Limits, now: dt.datetime) -> tuple[str, float]:
    """The token's nonce and age in seconds if it is genuine and not expired; else 400 in
    words. Whether it is old enough (``too_fast``) is asked after the fields are checked: a
    person who sends the form at once, empty, is told what to fill in."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not re.fullmatch(r"[0-9a-f]{24}", parts[1]):
        raise InvalidInput("表单令牌无效：请刷新页面后重新填写")
    issued, nonce, mac = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(mac, _mac(secret, issued, nonce)):
        raise InvalidInput("表单令牌无效：请刷新页面后重新填写")
    age = now.timestamp() - issued
    if age > limits.form_hours * 3600:
        raise InvalidInput("表单已过期：请重新打开“我有意向”后填写")
    return nonce, age


def too_fast(age: float, limits: Limits) -> None:
    """400 for a form sent sooner than a person fills it in (``min_seconds``)."""
    if age < limits.min_seconds:
        raise InvalidInput("提交过快：请确认填写内容后再提交")


# ---- checks --------------------------------------------------------------------------------


def _clean(value: str, *, multiline: bool = False) -> str:
    """Trimmed, NFC, and with no control characters (newlines and tabs kept in a message)."""
    value = unicodedata.normalize("NFC", value).strip()
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def _bad_chars(value: str, multiline: bool) -> bool:
    allowed = "\n\t" if multiline else ""
    return any(
        unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") and c not in allowed for c in value
    )


def _validate(body: InquiryIn) -> dict[str, Any]:
    errors: list[dict[str, str]] = []
    out: dict[str, Any] = {}
    for field in ("name", "company", "phone", "email", "message"):
        multiline = field == "message"
        v = _clean(getattr(body, field), multiline=multiline)
        if len(v) > LIMITS[field]:
            errors.append({"field": field, "reason": f"最多 {LIMITS[field]} 个字"})
        elif _bad_chars(v, multiline):
            errors.append({"field": field, "reason": "含有不可见的控制字符，请删除后重试"})
        out[field] = v or None
    if out["name"] is None:
        errors.append({"field": "name", "reason": "请填写姓名"})
    if out["message"] is None:
        errors.append({"field": "message", "reason": "请填写留言（用地需求、项目情况等）"})
    if out["phone"] is None and out["email"] is None:
        errors.append({"field": "phone", "reason": "请填写电话或电子邮箱（至少一项）"})
    if out["phone"] is not None and not _PHONE.match(out["phone"]):
        errors.append({"field": "phone", "reason": "电话号码格式不正确（数字，可含 +、-、空格）"})
    if out["email"] is not None and not _EMAIL.match(out["email"]):
        errors.append({"field": "email", "reason": "电子邮箱格式不正确"})
    if not body.consent:
        errors.append({"field": "consent", "reason": "请阅读并勾选同意后提交"})
    match_id = (body.match_id or "").strip() or None
    if match_id is not None and not _UUID.match(match_id):
        errors.append({"field": "match_id", "reason": "匹配编号格式不正确"})
    out["match_id"] = match_id
    if errors:
        raise UnprocessableInput("请检查填写的内容", detail=errors)
    return out


#: pg_advisory_xact_lock's first key (the second: the address's hash): inquiries from one
#: address are counted and written one transaction at a time.
_RATE_LOCK = 0x1A4D_1A01


def _check_rate(session: Session, address: str | None, per_hour: int) -> None:
    """429 when the address has sent ``per_hour`` inquiries within the hour. The address's
    lock is held until the transaction ends, so a concurrent request from it counts after
    this one's inquiry is written (or not)."""
    if not address:
        return
    session.execute(
        text("SELECT pg_advisory_xact_lock(:k, hashtext(:a))"), {"k": _RATE_LOCK, "a": address}
    )
    oldest = session.execute(
        text(
            "SELECT created_at FROM landmatch.inquiry WHERE address = :a "
            "AND created_at > now() - interval '1 hour' ORDER BY created_at DESC "
            "OFFSET :n LIMIT 1"
        ),
        {"a": address, "n": per_hour - 1},
    ).scalar()
    if oldest is not None:
        until = oldest + dt.timedelta(hours=1)
        local = until.astimezone(BEIJING)
        raise TooManyRequests(
            f"提交次数过多：每小时最多 {per_hour} 次，请于 {local:%H:%M}（北京时间）后再试",
            retry_at=until,
        )


# ---- submitting ----------------------------------------------------------------------------


def submit(
    session: Session,
    body: InquiryIn,
    *,
    secret: str,
    limits: Limits,
    address: str | None,
    user_agent: str | None,
    now: dt.datetime | None = None,
) -> int | None:
    """Store an inquiry about a public parcel for the team covering it; its id (None when the
    honeypot caught a robot: nothing stored, the same answer)."""
    now = now or dt.datetime.now(dt.UTC)
    nonce, age = check_token(body.token, secret, limits, now)
    if body.website.strip():
        return None
    fields = _validate(body)
    too_fast(age, limits)
    _check_rate(session, address, limits.per_hour)
    parcel = session.execute(
        text(
            f"SELECT p.id, p.code, p.city_code, p.zone_id, "
            f"{route_sql('p.zone_id', 'p.city_code')} AS team "
            f"FROM landmatch.parcel p WHERE p.code = :c AND {PUBLIC_WHERE}"
        ),
        {"c": body.parcel.strip()},
    ).first()
    if parcel is None:
        raise NotFound(f"未找到公开地块 {body.parcel.strip()[:64]}：该地块可能已下架或已供应")
    if fields["match_id"] is not None:
        found = session.execute(
            text("SELECT 1 FROM landmatch.match_run WHERE id = :m AND public"),
            {"m": fields["match_id"]},
        ).first()
        if found is None:
            raise NotFound(f"未找到公开匹配结果 {fields['match_id']}")
    row = session.execute(
        text(
            "INSERT INTO landmatch.inquiry (parcel_id, parcel_code, match_id, city_code, zone_id, "
            "owner_team, name, company, phone, email, message, consent_at, address, user_agent, "
            "nonce) VALUES (:pid, :code, :m, :city, :zone, :team, :name, :company, :phone, "
            ":email, :message, :at, :addr, :ua, :nonce) "
            "ON CONFLICT (nonce) DO NOTHING RETURNING id"
        ),
        {
            "pid": parcel.id,
            "code": parcel.code,
            "m": fields["match_id"],
            "city": parcel.city_code,
            "zone": parcel.zone_id,
            "team": parcel.team,
            "name": fields["name"],
            "company": fields["company"],
            "phone": fields["phone"],
            "email": fields["email"],
            "message": fields["message"],
            "at": now,
            "addr": address,
            "ua": (user_agent or "")[:400] or None,
            "nonce": nonce,
        },
    ).scalar()
    if row is None:
        raise Conflict("该表单已提交过：如需再次联系，请重新打开“我有意向”")
    return int(row)
