"""Users, bearer tokens and what each role may touch."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized


@dataclass(frozen=True)
class Principal:
    """Who is calling. ``None`` role means the public (no token)."""

    name: str | None = None
    role: str | None = None
    city_code: str | None = None
    zone_id: int | None = None

    @property
    def is_public(self) -> bool:
        return self.role is None

    @property
    def actor(self) -> str:
        return self.name or "public"

    def can_edit_city(self, city_code: str) -> bool:
        if self.role == "admin":
            return True
        if self.role == "bureau":
            return self.city_code in (None, vocab.PROVINCE_CODE, city_code)
        return False

    def can_edit_feature(self, city_code: str | None) -> bool:
        """May this caller write a reference-layer feature kept by ``city_code`` (None =
        province-wide)? Province-wide features are the admin's (``landmatch.reflayers.scope``)."""
        if self.role == "admin":
            return True
        return city_code is not None and self.can_edit_city(city_code)

    def can_edit_zone(self, zone_id: int, zone_city_code: str | None = None) -> bool:
        """May this caller edit the zone's own data (boundary, industries, assessments, contact)?

        The single rule for zone scope: admin everywhere; a zone committee only its own zone;
        a bureau the zones of its city (pass ``zone_city_code``).
        """
        if self.role == "admin":
            return True
        if self.role == "zone":
            return self.zone_id is not None and self.zone_id == zone_id
        if self.role == "bureau" and zone_city_code is not None:
            return self.can_edit_city(zone_city_code)
        return False

    def can_edit_parcel(self, city_code: str, zone_id: int | None) -> bool:
        """May this caller write a parcel in ``city_code`` / ``zone_id``? Parcel write paths call
        this for the parcel as it is and as it will be (a zone user cannot move a parcel out)."""
        if self.role == "zone":
            return self.zone_id is not None and zone_id == self.zone_id
        return self.can_edit_city(city_code)

    def require_zone(self, zone_id: int, zone_city_code: str | None = None) -> None:
        self.require("admin", "bureau", "zone")
        if not self.can_edit_zone(zone_id, zone_city_code):
            raise Forbidden("无权编辑该开发区：开发区账号只能维护本开发区的数据")

    def require_parcel(self, city_code: str, zone_id: int | None) -> None:
        self.require("admin", "bureau", "zone")
        if not self.can_edit_parcel(city_code, zone_id):
            raise Forbidden("无权编辑该地块：超出本账号的城市或开发区范围")

    def require(self, *roles: str) -> None:
        if self.is_public:
            raise Unauthorized("需要登录：请在请求头中提供 Bearer 令牌")
        if self.role not in roles:
            raise Forbidden(f"当前角色（{vocab.label(vocab.ROLES, self.role)}）无权执行此操作")


PUBLIC = Principal()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    session: Session,
    name: str,
    role: str,
    city_code: str | None = None,
    zone_code: str | None = None,
) -> str:
    """Create a user with one token and return the token (shown once)."""
    if role not in vocab.ROLES:
        raise InvalidInput(f"未知角色 {role}；可选：{', '.join(vocab.ROLES)}")
    if role == "bureau" and city_code is None:
        raise InvalidInput("bureau 角色需要 --city 指定城市范围（全省用 130000）")
    if city_code is not None:
        found = session.execute(
            text("SELECT 1 FROM landmatch.admin_division WHERE code = :c"), {"c": city_code}
        ).first()
        if not found and city_code != vocab.PROVINCE_CODE:
            raise InvalidInput(f"未知行政区划代码 {city_code}")
    zone_id = None
    if role == "zone":
        if not zone_code:
            raise InvalidInput("zone 角色需要 --zone 指定开发区编码")
        zone_id = session.execute(
            text("SELECT id FROM landmatch.dev_zone WHERE code = :c"), {"c": zone_code}
        ).scalar()
        if zone_id is None:
            raise NotFound(f"未知开发区 {zone_code}")
    exists = session.execute(
        text("SELECT 1 FROM landmatch.app_user WHERE name = :n"), {"n": name}
    ).first()
    if exists:
        raise Conflict(f"用户 {name} 已存在")
    uid = session.execute(
        text(
            "INSERT INTO landmatch.app_user (name, role, city_code, zone_id) "
            "VALUES (:n, :r, :c, :z) RETURNING id"
        ),
        {
            "n": name,
            "r": role,
            "c": city_code if city_code != vocab.PROVINCE_CODE or role != "bureau" else None,
            "z": zone_id,
        },
    ).scalar_one()
    return issue_token(session, uid)


def issue_token(session: Session, user_id: int) -> str:
    token = "lm_" + secrets.token_urlsafe(32)
    session.execute(
        text("INSERT INTO landmatch.api_token (user_id, token_hash) VALUES (:u, :h)"),
        {"u": user_id, "h": hash_token(token)},
    )
    return token


def parse_bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (None without a header)."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization 头格式应为：Bearer <令牌>")
    return token.strip()


# What a caller is made of, read from ``app_user u``.
_PRINCIPAL_SQL = "SELECT u.name, u.role, u.city_code, u.zone_id FROM landmatch.app_user u"


def _principal(row: Any) -> Principal:
    return Principal(name=row[0], role=row[1], city_code=row[2], zone_id=row[3])


def principal_for_token(session: Session, token: str) -> Principal:
    row = session.execute(
        text(
            f"{_PRINCIPAL_SQL} JOIN landmatch.api_token t ON u.id = t.user_id "
            "WHERE t.token_hash = :h AND t.revoked_at IS NULL AND u.active"
        ),
        {"h": hash_token(token)},
    ).first()
    if row is None:
        raise Unauthorized("令牌无效或已被吊销")
    return _principal(row)


def principal_for_user(session: Session, name: str) -> Principal:
    """The stored, active user ``name`` as a caller (the CLI's ``--user``: act as that user)."""
    row = session.execute(
        text(f"{_PRINCIPAL_SQL} WHERE u.name = :n AND u.active"), {"n": name}
    ).first()
    if row is None:
        raise NotFound(f"未找到有效用户 {name}")
    return _principal(row)
