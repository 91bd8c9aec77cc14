"""Folium elements of our own: the page's side panel (HTML from a Jinja template), the legend,
and the call that hands the folium-built map and layers to ``landmatch.js``."""

from __future__ import annotations

import json
from typing import Any

from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.utils import htmlsafe_json_dumps

from landmatch import display, numbers
from landmatch.maps.assets import APP_JS, FORMAT_JS, INQUIRY_CSS, INQUIRY_JS, templates_dir

_env: Environment | None = None


def jinja() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=FileSystemLoader(str(templates_dir())),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=display.shown,  # user text reads in the order it was typed
        )
        # How a figure is written for people, areas in 亩 and 公顷 (docs/domain.md §0).
        _env.globals.update(num=numbers.num, mu=numbers.mu, ha=numbers.ha)
    return _env


def render(template: str, **context: Any) -> str:
    return jinja().get_template(template).render(**context)


class RawHtml(Element):
    """HTML placed as is (not re-read as a template by branca)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html = html

    def render(self, **kwargs: Any) -> str:
        return self.html


def panel(template: str, **context: Any) -> RawHtml:
    """Static HTML (the side panel, forms) placed in the page body next to the map."""
    return RawHtml(render(template, **context))


class AppInit(JSCSSMixin, MacroElement):
    """Runs ``LM.init`` after folium has created the map and the layers."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        LM.init({{ this._parent.get_name() }}, {
            {%- for key, layer in this.layers.items() %}
            {{ key|tojson }}: {{ layer.get_name() }},
            {%- endfor %}
        }, {{ this.config_json }});
        {% endmacro %}
        """
    )
    # The 我有意向 dialog rides along on every map page (its buttons open it).
    default_js = [
        ("landmatch_format_js", FORMAT_JS),
        ("landmatch_js", APP_JS),
        ("landmatch_inquiry_js", INQUIRY_JS),
    ]
    default_css = [("landmatch_inquiry_css", INQUIRY_CSS)]

    def __init__(self, layers: dict[str, Any], config: dict[str, Any]) -> None:
        super().__init__()
        self._name = "AppInit"
        self.layers = layers
        # <, >, & and ' as \u escapes: no string in the config can end the script element
        # or open an HTML comment inside it.
        self.config_json = str(htmlsafe_json_dumps(config, dumps=json.dumps, ensure_ascii=False))
