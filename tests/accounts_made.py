"""Test accounts made on the spot: a user that signs in with the tests' password at once."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.accounts.users import add_user


def add_usable_user(
    session: Session,
    name: str,
    role: str,
    city_code: str | None = None,
    *,
    team: str | None = None,
    password_hash: str,
) -> str:
    """Create ``name`` (``add_user``) with ``password_hash`` (the ``password_hash`` fixture's,
    TEST_PASSWORD) and no forced password change; its API token."""
    token = add_user(session, name, role, city_code, team=team)
    session.execute(
        text(
            "UPDATE landmatch.app_user SET password_hash = :h, must_change_password = false "
            "WHERE name = :n"
        ),
        {"h": password_hash, "n": name},
    )
    session.flush()
    return token
