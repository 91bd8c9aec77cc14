"""Failed sign-ins are throttled per account and per client address.

One definition for the sign-in form and HTTP Basic: the failures are the ``login_failed``
entries of the audit log. With ``n`` failures allowed in a window ``w``, a further attempt is
refused (429) until the n-th most recent failure is older than ``w``. An account's successful
sign-in starts its count afresh; an address's count does not (one good account must not
unlock guessing at every other).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.dates import BEIJING, beijing_today
from landmatch.errors import TooManyRequests
from landmatch.settings import Settings


@dataclass(frozen=True)
class Limits:
    window: dt.timedelta
    per_account: int
    per_address: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            dt.timedelta(minutes=settings.login_failure_window_minutes),
            settings.login_max_failures_per_account,
            settings.login_max_failures_per_address,
        )


_ACCOUNT = text(
    "SELECT a.at FROM landmatch.audit_log a WHERE a.event = 'login_failed' AND a.subject = :k "
    "AND a.at > greatest(now() - :w, coalesce((SELECT u.last_login_at FROM landmatch.app_user u "
    "WHERE u.name = :k), '-infinity')) ORDER BY a.at DESC OFFSET :n LIMIT 1"
)
_ADDRESS = text(
    "SELECT at FROM landmatch.audit_log WHERE event = 'login_failed' AND address = :k "
    "AND at > now() - :w ORDER BY at DESC OFFSET :n LIMIT 1"
)


def blocked_until(
    session: Session, name: str, address: str | None, limits: Limits
) -> dt.datetime | None:
    """When sign-in for this account from this address is allowed again (None: now)."""
    until: dt.datetime | None = None
    checks = [(_ACCOUNT, name[:64], limits.per_account)]
    if address:
        checks.append((_ADDRESS, address, limits.per_address))
    for sql, key, n in checks:
        at = session.execute(sql, {"k": key, "w": limits.window, "n": n - 1}).scalar()
        if at is not None:
            free = at + limits.window
            until = free if until is None else max(until, free)
    return until


def check(session: Session, name: str, address: str | None, limits: Limits) -> None:
    """Raise ``TooManyRequests`` (429, with when to retry) while throttled."""
    until = blocked_until(session, name, address, limits)
    if until is not None and until > dt.datetime.now(dt.UTC):
        local = until.astimezone(BEIJING)
        day = "" if local.date() == beijing_today() else f"{local:%m月%d日} "
        raise TooManyRequests(
            f"登录失败次数过多，请稍后再试：{day}{local:%H:%M:%S}（北京时间）后可再次登录",
            retry_at=until,
        )
