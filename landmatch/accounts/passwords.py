"""Password hashing (argon2id) and the password policy.

The hash is argon2id with argon2-cffi's default parameters (RFC 9106's second recommendation:
64 MiB, 3 passes, 4 lanes); a stored hash made with older parameters is rehashed at the next
successful sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from landmatch.errors import UnprocessableInput

_hasher = PasswordHasher()
MAX_LENGTH = 256


@lru_cache(maxsize=1)
def _dummy() -> str:
    """Verified against when the account does not exist: the answer takes as long."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; always spends one argon2 verification."""
    try:
        return _hasher.verify(stored or _dummy(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


class VerifiedCache:
    """Remembers, for the lifetime of the process, that a password matched a stored hash, so
    HTTP Basic clients (QGIS sends the header on every request) cost one argon2 verification
    rather than one per request. Keyed by the stored hash itself and a keyed digest of the
    password: a changed password or a reset makes every old entry unreachable, and the
    account's state (active, scope) is still read from the database on every request."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._key = secrets.token_bytes(32)
        self._items: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def _digest(self, stored: str, password: str) -> bytes:
        return hmac.new(self._key, f"{stored}\0{password}".encode(), hashlib.sha256).digest()

    def verify(self, stored: str | None, password: str) -> bool:
        if stored is None:
            return verify_password(None, password)
        key = self._digest(stored, password)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return True
        if not verify_password(stored, password):
            return False
        with self._lock:
            self._items[key] = None
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return True


verified = VerifiedCache()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = (resources.files("landmatch.accounts") / "common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def policy_text(min_length: int) -> str:
    """The policy as shown beside every password field."""
    return (
        f"密码至少 {min_length} 个字符（最多 {MAX_LENGTH} 个），不能与用户名相同或包含用户名，"
        "不能是常见弱密码（如 12345678、password、qwerty123），不能全部是数字或同一个字符。"
        "建议使用一句好记的话或几个不相关的词组合。"
    )


def check_policy(password: str, user_name: str, min_length: int, field: str = "password") -> None:
    """Raise ``UnprocessableInput`` naming ``field`` when the password breaks the policy."""
    reason = _policy_reason(password, user_name, min_length)
    if reason is not None:
        raise UnprocessableInput(reason, detail=[{"field": field, "reason": reason}])


def _policy_reason(password: str, user_name: str, min_length: int) -> str | None:
    if len(password) < min_length:
        return f"密码太短：至少需要 {min_length} 个字符（当前 {len(password)} 个）"
    if len(password) > MAX_LENGTH:
        return f"密码太长：最多 {MAX_LENGTH} 个字符"
    lowered = password.lower()
    name = user_name.strip().lower()
    if name and (lowered == name or (len(name) >= 3 and name in lowered)):
        return "密码不能与用户名相同，也不能包含用户名"
    if len(set(password)) == 1:
        return "密码不能全部是同一个字符"
    if password.isdigit():
        return "密码不能全部是数字（手机号、生日等容易被猜中）"
    common = common_passwords()
    if lowered in common or lowered.rstrip("0123456789!@#.") in common:
        return "密码过于常见，容易被猜中，请换一个"
    return None
