"""HTML views (zh-CN) of every OGC resource, rendered with Jinja2 from the same documents."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from landmatch import display

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        finalize=display.shown,  # user text reads in the order it was typed
    )
    env.filters["pretty"] = lambda v: json.dumps(v, ensure_ascii=False, indent=2)
    env.filters["cell"] = _cell
    return env


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, list):
        return "、".join(str(x) for x in v) if v else "—"
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def render(template: str, title: str, doc: dict[str, Any], base: str, **context: Any) -> str:
    return environment().get_template(template).render(title=title, doc=doc, base=base, **context)
