"""Reading server-rendered HTML in tests."""

from __future__ import annotations

import re


def section(page: str, ident: str) -> str:
    """The element with id ``ident``, up to its own closing tag."""
    start = re.search(rf'<(\w+)[^>]*\bid="{ident}"', page)
    assert start, ident
    tag = start.group(1)
    depth = 0
    for m in re.finditer(rf"<(/?){tag}\b[^>]*>", page[start.start() :]):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            return page[start.start() : start.start() + m.end()]
    raise AssertionError(f"{ident} is not closed")
