"""User text in LIKE patterns is matched literally, in PostgreSQL itself."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from landmatch.db.like import contains_pattern, escape_like


@pytest.mark.parametrize(
    ("q", "value", "matches"),
    [
        ("50%", "容积率50%以上", True),
        ("50%", "容积率50以上", False),  # % is not "anything"
        ("A_1", "地块A_1号", True),
        ("A_1", "地块AB1号", False),  # _ is not "any one character"
        ("a\\b", "路径a\\b", True),
        ("a\\b", "路径ab", False),
        ("石家庄", "石家庄市", True),
    ],
)
def test_contains_pattern_matches_the_text_as_written(
    conn: Connection, q: str, value: str, matches: bool
) -> None:
    got = conn.execute(
        text("SELECT :v LIKE :p, :v ILIKE :p"), {"v": value, "p": contains_pattern(q)}
    ).one()
    assert tuple(got) == (matches, matches)


def test_a_prefix_pattern_built_from_escape_like(conn: Connection) -> None:
    p = escape_like("10_") + "%"
    assert conn.execute(text("SELECT '10_3' LIKE :p, '1023' LIKE :p"), {"p": p}).one() == (
        True,
        False,
    )
