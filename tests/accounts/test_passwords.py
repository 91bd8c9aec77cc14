"""The password policy and the hash (pure: no database)."""

from __future__ import annotations

import pytest

from landmatch.accounts import passwords
from landmatch.errors import UnprocessableInput


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1", "太短"),
        ("wang.2026-wang", "用户名"),
        ("WANG-secret-xyz", "用户名"),
        ("aaaaaaaaaaaa", "同一个字符"),
        ("13812345678", "全部是数字"),
        ("password2024", "常见"),
        ("1qaz2wsx3edc", "常见"),
        ("Woaini1314", "常见"),
        ("x" * 257, "太长"),
    ],
)
def test_policy_refuses_with_a_chinese_reason(password: str, reason: str) -> None:
    with pytest.raises(UnprocessableInput) as err:
        passwords.check_policy(password, "wang", 10, field="new")
    assert reason in err.value.message
    assert err.value.detail == [{"field": "new", "reason": err.value.message}]


def test_policy_accepts_a_passphrase() -> None:
    passwords.check_policy("石家庄 土地 2026 秋", "wang", 10)
    assert "至少 12 个字符" in passwords.policy_text(12)


def test_hash_is_argon2id_and_verifies() -> None:
    stored = passwords.hash_password("河北-土地-口令")
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, "河北-土地-口令")
    assert not passwords.verify_password(stored, "河北-土地-口令 ")
    assert not passwords.verify_password(None, "anything")
    assert not passwords.verify_password("not-a-hash", "anything")


def test_verified_cache_follows_the_stored_hash() -> None:
    cache = passwords.VerifiedCache()
    old = passwords.hash_password("first-passphrase")
    assert cache.verify(old, "first-passphrase")
    assert cache.verify(old, "first-passphrase")  # remembered
    assert not cache.verify(old, "wrong-passphrase")
    new = passwords.hash_password("second-passphrase")
    assert not cache.verify(new, "first-passphrase")  # a reset makes the old entry unreachable
