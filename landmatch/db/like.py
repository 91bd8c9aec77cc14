"""User text in SQL ``LIKE``/``ILIKE`` patterns, matched literally: ``%``, ``_`` and the
escape character ``\\`` (PostgreSQL's default ``ESCAPE``) are not wildcards."""

from __future__ import annotations


def escape_like(q: str) -> str:
    """``q`` with LIKE's wildcards and its escape character escaped.

    >>> escape_like("50%_a\\\\b")
    '50\\\\%\\\\_a\\\\\\\\b'
    """
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(q: str) -> str:
    """A LIKE pattern matching any text that contains ``q`` as it is written.

    >>> contains_pattern("A_1")
    '%A\\\\_1%'
    """
    return "%" + escape_like(q) + "%"
