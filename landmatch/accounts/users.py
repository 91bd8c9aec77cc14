"""Accounts: create, list, change role and scope, disable, reset and change passwords.

Every function that changes an account takes the caller (``by``) and checks inside itself that
the caller may do it (admin), then writes the audit entry in the same transaction. An admin's
writes check the caller under the accounts' locks (:func:`_lock_as_admin`: an admin demoted or
disabled by another at the same moment writes nothing), and the last active admin is never
demoted or disabled (:func:`_keep_an_admin`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.accounts import audit, passwords, tokens
from landmatch.accounts.audit import NO_CLIENT, Client
from landmatch.auth import Principal
from landmatch.db.like import contains_pattern
from landmatch.db.locking import check_version, lock_row
from landmatch.db.where import Where, page_of
from landmatch.errors import Conflict, Forbidden, NotFound, Unauthorized, UnprocessableInput
from landmatch.paging import Page

# Letters (Chinese too), digits, "_", "." and "-": no spaces, and no ":" (HTTP Basic splits
# the user name from the password at the first colon).
NAME_PATTERN = re.compile(r"^[\w.\-]{2,64}$")
TEAM_MAX = 64
# Who acts when a script or test makes an account (:func:`add_user`).
SYSTEM = Principal(name="system", role="admin")


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    city_code: str | None
    zone_id: int | None
    zone_code: str | None
    team: str | None
    active: bool
    must_change_password: bool
    has_password: bool
    last_login_at: dt.datetime | None
    created_at: dt.datetime
    version: int
    city_name: str | None = None
    zone_name: str | None = None

    @property
    def role_label(self) -> str:
        return vocab.ROLES.get(self.role, self.role)

    @property
    def scope_label(self) -> str:
        """The account's scope in words: 全省, a city, a zone, plus the team."""
        parts = []
        if self.role == "zone":
            parts.append(self.zone_name or self.zone_code or "")
        elif self.city_code:
            parts.append(self.city_name or self.city_code)
        elif self.role in ("admin", "bureau"):
            parts.append("全省")
        if self.team:
            parts.append(f"团队：{self.team}")
        return " · ".join(p for p in parts if p) or "—"

    def principal(self) -> Principal:
        return Principal(
            name=self.name,
            role=self.role,
            city_code=self.city_code,
            zone_id=self.zone_id,
            team=self.team,
            user_id=self.id,
        )


@dataclass(frozen=True)
class AccountSpec:
    """What an admin sets on an account (``city_code`` 130000 means the whole province)."""

    name: str
    role: str
    city_code: str | None = None
    zone_code: str | None = None
    team: str | None = None


@dataclass
class _Scope:
    city_code: str | None
    zone_id: int | None
    team: str | None
    errors: list[dict[str, str]] = field(default_factory=list)


SELECT = """
SELECT u.id, u.name, u.role, u.city_code, u.zone_id, z.code, u.team, u.active,
       u.must_change_password, u.password_hash IS NOT NULL, u.last_login_at, u.created_at,
       u.version, d.name, z.name
FROM landmatch.app_user u
LEFT JOIN landmatch.dev_zone z ON z.id = u.zone_id
LEFT JOIN landmatch.admin_division d ON d.code = u.city_code
"""


def _account(row: Any) -> Account:
    return Account(*row)


def read(session: Session, name: str, by: Principal) -> Account:
    """The account ``name`` as its admin reads it (admins only)."""
    _require_admin(by)
    return get(session, name)


def own_id(by: Principal) -> int:
    """The caller's own account (``/api/me``): a signed-in user, not the public."""
    if by.user_id is None:
        raise Unauthorized("需要登录")
    return by.user_id


def me(session: Session, by: Principal) -> Account:
    return by_id(session, own_id(by))


def get(session: Session, name: str) -> Account:
    row = session.execute(text(SELECT + " WHERE u.name = :n"), {"n": name}).first()
    if row is None:
        raise NotFound(f"账号 {name} 不存在")
    return _account(row)


def by_id(session: Session, user_id: int) -> Account:
    row = session.execute(text(SELECT + " WHERE u.id = :i"), {"i": user_id}).first()
    if row is None:
        raise NotFound("账号不存在")
    return _account(row)


def listing(
    session: Session,
    by: Principal,
    *,
    q: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[Account]:
    """The accounts (admins only), by name, filtered; ``total`` counts every match."""
    _require_admin(by)
    where = (
        Where()
        .given(q and contains_pattern(q), "(u.name ILIKE :q OR u.team ILIKE :q)", "q")
        .given(role, "u.role = :role", "role")
        .given(active, "u.active = :active", "active")
    )
    total, rows = page_of(session, SELECT, "landmatch.app_user u", where, "u.name", offset, limit)
    return Page([_account(r) for r in rows], total, offset, limit)


def _require_admin(by: Principal) -> None:
    by.require("admin")


@dataclass(frozen=True)
class _Locked:
    """What :func:`_lock_as_admin` read under its locks: each locked account's role and active
    flag, by id."""

    accounts: dict[int, tuple[str, bool]]

    def admins_but(self, account_id: int) -> int:
        """How many active admins there are besides ``account_id``."""
        return sum(
            1
            for i, (role, active) in self.accounts.items()
            if i != account_id and role == "admin" and active
        )


def _lock_as_admin(session: Session, by: Principal, *names: str) -> _Locked:
    """The admin check of an account write, inside the write: lock the caller's account, the
    accounts ``names`` (404 for one that does not exist) and every active admin's (``FOR
    UPDATE``, in id order — the one order every account write takes them in), then refuse
    (403) unless the caller is still an active admin. The role a request was signed in with is read before its write: an admin
    demoted or disabled since (by another admin at the same moment) writes nothing. A caller
    without an account (``SYSTEM``, the CLI's operator) has no row to check."""
    _require_admin(by)
    rows = session.execute(
        text(
            "SELECT id, name, role, active FROM landmatch.app_user WHERE id = :me "
            "OR name = ANY(:names) OR (role = 'admin' AND active) ORDER BY id FOR UPDATE"
        ),
        {"me": by.user_id, "names": list(names)},
    ).all()
    found = {r[1] for r in rows}
    for name in names:
        if name not in found:
            raise NotFound(f"账号 {name} 不存在")
    locked = _Locked({int(r[0]): (str(r[2]), bool(r[3])) for r in rows})
    if by.user_id is not None and locked.accounts.get(by.user_id) != ("admin", True):
        raise Forbidden("本账号已不是有效的管理员账号，不能修改账号（请重新登录）")
    return locked


def _keep_an_admin(locked: _Locked, account: Account, still_admin: bool) -> None:
    """Refuse (409) to demote or disable the last active admin: someone must be left to manage
    the accounts. Decided on the rows :func:`_lock_as_admin` locked (every active admin's), so
    two such writes at once cannot each leave the other as the last."""
    last = account.role == "admin" and account.active and not locked.admins_but(account.id)
    if last and not still_admin:
        raise Conflict(f"{account.name} 是最后一个有效的管理员账号，不能取消其管理员角色或停用")


def _scope(session: Session, spec: AccountSpec) -> _Scope:
    """Check role, city, zone and team together; every problem at once, by field."""
    errors: list[dict[str, str]] = []
    city = spec.city_code or None
    zone_id = None
    if spec.role not in vocab.ROLES:
        errors.append({"field": "role", "reason": f"未知角色；可选：{'、'.join(vocab.ROLES)}"})
    if spec.role == "bureau" and city is None:
        errors.append(
            {
                "field": "city_code",
                "reason": "自然资源局账号需要选择城市范围（省厅账号选“全省”，接口中为 130000）",
            }
        )
    if city is not None and city != vocab.PROVINCE_CODE:
        found = session.execute(
            text("SELECT 1 FROM landmatch.admin_division WHERE code = :c"), {"c": city}
        ).first()
        if not found:
            errors.append({"field": "city_code", "reason": f"未知行政区划代码 {city}"})
    if spec.role == "zone":
        if not spec.zone_code:
            errors.append({"field": "zone_code", "reason": "开发区账号需要指定开发区编码"})
        else:
            zone_id = session.execute(
                text("SELECT id FROM landmatch.dev_zone WHERE code = :c"), {"c": spec.zone_code}
            ).scalar()
            if zone_id is None:
                errors.append({"field": "zone_code", "reason": f"未知开发区 {spec.zone_code}"})
    team = (spec.team or "").strip() or None
    if team is not None and len(team) > TEAM_MAX:
        errors.append({"field": "team", "reason": f"团队名称最多 {TEAM_MAX} 个字符"})
    if city == vocab.PROVINCE_CODE:
        city = None  # the province is stored as "no city limit"
    return _Scope(city, zone_id, team, errors)


def _raise(errors: list[dict[str, str]]) -> None:
    if errors:
        raise UnprocessableInput("；".join(e["reason"] for e in errors), detail=errors)


def create(
    session: Session,
    spec: AccountSpec,
    by: Principal,
    *,
    password: str | None,
    min_length: int,
    client: Client = NO_CLIENT,
) -> Account:
    """Create an account. With a password, the user must choose a new one at first sign-in."""
    _lock_as_admin(session, by)
    errors: list[dict[str, str]] = []
    if not NAME_PATTERN.match(spec.name):
        errors.append(
            {
                "field": "name",
                "reason": "用户名为 2–64 个字符：字母、汉字、数字、下划线、点或连字符，不含空格和冒号",
            }
        )
    scope = _scope(session, spec)
    errors += scope.errors
    if password is not None:
        try:
            passwords.check_policy(password, spec.name, min_length)
        except UnprocessableInput as exc:
            errors += exc.detail
    _raise(errors)
    if session.execute(
        text("SELECT 1 FROM landmatch.app_user WHERE name = :n"), {"n": spec.name}
    ).first():
        raise Conflict(
            f"用户 {spec.name} 已存在", detail=[{"field": "name", "reason": "该用户名已被使用"}]
        )
    session.execute(
        text(
            "INSERT INTO landmatch.app_user (name, role, city_code, zone_id, team, password_hash, "
            "must_change_password, password_changed_at) VALUES (:n, :r, :c, :z, :t, CAST(:p AS text), :m, "
            "CASE WHEN CAST(:p AS text) IS NULL THEN NULL ELSE now() END)"
        ),
        {
            "n": spec.name,
            "r": spec.role,
            "c": scope.city_code,
            "z": scope.zone_id,
            "t": scope.team,
            "p": None if password is None else passwords.hash_password(password),
            "m": password is not None,
        },
    )
    account = get(session, spec.name)
    audit.record(
        session,
        "user_created",
        actor=by.actor,
        subject=spec.name,
        client=client,
        detail={"role": spec.role, "scope": account.scope_label},
    )
    return account


def update(
    session: Session,
    name: str,
    spec: AccountSpec,
    by: Principal,
    client: Client = NO_CLIENT,
    *,
    if_match: str | None,
) -> Account:
    """Change an account's role, scope and team (the name stays), against the version
    ``if_match`` names (``landmatch.db.locking``: 428 without it, 412 when another admin
    changed the account since; ``ANY`` for the CLI), checked under the row's lock."""
    locked = _lock_as_admin(session, by, name)
    row = lock_row(
        session,
        "SELECT id, version FROM landmatch.app_user WHERE name = :n",
        {"n": name},
        f"账号 {name} 不存在",
    )
    if row["id"] == by.user_id and spec.role != "admin":
        raise Forbidden("不能取消自己的管理员角色")
    check_version(if_match, name, row["version"], what="账号")
    before = get(session, name)
    scope = _scope(session, spec)
    _raise(scope.errors)
    _keep_an_admin(locked, before, spec.role == "admin")
    session.execute(
        text(
            "UPDATE landmatch.app_user SET role = :r, city_code = :c, zone_id = :z, team = :t, "
            "version = version + 1, updated_at = now() WHERE id = :i"
        ),
        {"r": spec.role, "c": scope.city_code, "z": scope.zone_id, "t": scope.team, "i": before.id},
    )
    after = get(session, name)
    changes = {
        k: [getattr(before, k), getattr(after, k)]
        for k in ("role", "city_code", "zone_code", "team")
        if getattr(before, k) != getattr(after, k)
    }
    if changes:
        audit.record(
            session, "user_updated", actor=by.actor, subject=name, client=client, detail=changes
        )
    return after


def set_active(
    session: Session, name: str, active: bool, by: Principal, client: Client = NO_CLIENT
) -> Account:
    """Disable (every session ends, every token stops working) or enable an account."""
    locked = _lock_as_admin(session, by, name)
    account = get(session, name)
    if not active and account.id == by.user_id:
        raise Forbidden("不能停用自己的账号")
    if account.active == active:
        return account
    _keep_an_admin(locked, account, active)
    session.execute(
        text("UPDATE landmatch.app_user SET active = :a WHERE id = :i"),
        {"a": active, "i": account.id},
    )
    if not active:
        end_sessions(session, account.id, reason="disabled")
    audit.record(
        session,
        "user_enabled" if active else "user_disabled",
        actor=by.actor,
        subject=name,
        client=client,
    )
    return get(session, name)


def reset_password(
    session: Session,
    name: str,
    password: str,
    by: Principal,
    *,
    min_length: int,
    client: Client = NO_CLIENT,
) -> Account:
    """Set a new initial password: every session ends, the user must change it at sign-in."""
    _lock_as_admin(session, by, name)
    account = get(session, name)
    passwords.check_policy(password, name, min_length)
    session.execute(
        text(
            "UPDATE landmatch.app_user SET password_hash = :p, must_change_password = true, "
            "password_changed_at = now() WHERE id = :i"
        ),
        {"p": passwords.hash_password(password), "i": account.id},
    )
    end_sessions(session, account.id, reason="password_reset")
    audit.record(session, "password_reset", actor=by.actor, subject=name, client=client)
    return get(session, name)


def change_password(
    session: Session,
    user_id: int,
    current: str,
    new: str,
    *,
    min_length: int,
    keep_session: int | None = None,
    client: Client = NO_CLIENT,
) -> Account:
    """The user's own change: the current password, then the policy; other sessions end."""
    account = by_id(session, user_id)
    stored = session.execute(
        text("SELECT password_hash FROM landmatch.app_user WHERE id = :i"), {"i": user_id}
    ).scalar()
    errors: list[dict[str, str]] = []
    if not passwords.verify_password(stored, current):
        errors.append({"field": "current", "reason": "当前密码不正确"})
    try:
        passwords.check_policy(new, account.name, min_length, field="new")
    except UnprocessableInput as exc:
        errors += exc.detail
    if not errors and new == current:
        errors.append({"field": "new", "reason": "新密码不能与当前密码相同"})
    _raise(errors)
    session.execute(
        text(
            "UPDATE landmatch.app_user SET password_hash = :p, must_change_password = false, "
            "password_changed_at = now() WHERE id = :i"
        ),
        {"p": passwords.hash_password(new), "i": user_id},
    )
    end_sessions(session, user_id, reason="password_changed", keep=keep_session)
    audit.record(
        session, "password_changed", actor=account.name, subject=account.name, client=client
    )
    return by_id(session, user_id)


def end_sessions(session: Session, user_id: int, *, reason: str, keep: int | None = None) -> int:
    """End every live sign-in session of an account (but ``keep``); returns how many."""
    return len(
        session.execute(
            text(
                "UPDATE landmatch.user_session SET revoked_at = now(), end_reason = :r "
                "WHERE user_id = :u AND revoked_at IS NULL AND id IS DISTINCT FROM :k "
                "RETURNING id"
            ),
            {"u": user_id, "r": reason, "k": keep},
        ).all()
    )


def scope_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Cities and zones an account can be scoped to (for the admin's form)."""
    zones = session.execute(text("SELECT code, name FROM landmatch.dev_zone ORDER BY code")).all()
    return {"cities": list(vocab.CITIES.items()), "zones": [(r[0], r[1]) for r in zones]}


def add_user(
    session: Session,
    name: str,
    role: str,
    city_code: str | None = None,
    zone_code: str | None = None,
    team: str | None = None,
) -> str:
    """Create a user without a password and one API token for it; return the token (shown
    once). For scripts and tests; people get accounts through :func:`create`."""
    spec = AccountSpec(name, role, city_code, zone_code, team)
    account = create(session, spec, SYSTEM, password=None, min_length=0)
    return tokens.create(session, account.id, SYSTEM, name="脚本")[1]


def principal_for_user(session: Session, name: str) -> Principal:
    """The stored, active user ``name`` as a caller (the CLI's ``--user``: act as that user)."""
    try:
        account = get(session, name)
    except NotFound:
        account = None
    if account is None or not account.active:
        raise NotFound(f"未找到有效用户 {name}")
    return account.principal()
