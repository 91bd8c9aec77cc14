"""Folium maps inside workbench pages: a map of one parcel among its neighbours, and the
boundary editor (folium's GeoMan plugin, its assets from npm).

Folium builds the base map (basemap, assets, and GeoMan's controls); the layers (parcel,
neighbours, zones, constraints) are drawn by ``web/static/app/wb-map.js`` from the page's JSON,
so every name is a text node and every GeoJSON stays data. The map's HTML goes into the
workbench template in three parts (:class:`MapParts`), without a second Bootstrap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

import folium
from branca.element import Figure
from folium import plugins

from landmatch.maps.assets import localise_folium
from landmatch.maps.builders import base_map
from landmatch.settings import Settings

localise_folium()

# The workbench page loads Bootstrap itself (folium's copy would bind its handlers twice), and
# the full-page map pages' stylesheet does not apply inside a page.
_NOT_HERE = re.compile(
    r"<(?:script|link)[^>]*(?:/bootstrap/dist/|/static/app/landmatch\.css)[^>]*>(?:</script>)?\s*"
)


@dataclass(frozen=True)
class MapParts:
    """A folium map cut for a Jinja page: ``head`` (assets), ``html`` (the map element) and
    ``script`` (folium's script, to be placed after the element). ``name`` is the map's JS
    variable; ``drawn`` GeoMan's feature group's (the boundary editor)."""

    head: str
    html: str
    script: str
    name: str
    drawn: str = ""


def _parts(m: folium.Map, drawn: str = "") -> MapParts:
    root = cast(Figure, m.get_root())
    root.render()
    head = _NOT_HERE.sub("", root.header.render())
    return MapParts(
        head=head,
        html=root.html.render(),
        script=f"<script>{root.script.render()}</script>",
        name=m.get_name(),
        drawn=drawn,
    )


def _map(
    settings: Settings,
    bounds: list[list[float]],
    water: bool,
    zoom: int = 16,
    padding: tuple[int, int] | None = (20, 20),
) -> folium.Map:
    (y0, x0), (y1, x1) = bounds
    m = base_map(settings, location=((y0 + y1) / 2, (x0 + x1) / 2), zoom=zoom, water=water)
    m.fit_bounds(bounds, padding=padding)
    return m


def parcel_map(settings: Settings, bounds: list[list[float]], *, water: bool = False) -> MapParts:
    """The parcel page's map (the layers come from the page's JSON). ``water``: draw the
    offline basemap's water (``landmatch.basemap.store.water_loaded``)."""
    return _parts(_map(settings, bounds, water))


def _drawing(m: folium.Map, name: str, *, draw: bool) -> MapParts:
    """GeoMan's controls on ``m`` over a layer named ``name``: edit (drag, add, remove
    vertices), snapping on; with ``draw``, the polygon and rectangle tools and removal too."""
    group = folium.FeatureGroup(name=name, control=False).add_to(m)
    plugins.GeoMan(
        feature_group=group,
        position="topleft",
        drawMarker=False,
        drawCircleMarker=False,
        drawPolyline=False,
        drawRectangle=draw,
        drawPolygon=draw,
        drawCircle=False,
        drawText=False,
        cutPolygon=False,
        rotateMode=False,
        dragMode=False,
        removalMode=draw,
    ).add_to(m)
    return _parts(m, drawn=group.get_name())


def boundary_editor(
    settings: Settings, bounds: list[list[float]], *, draw: bool, water: bool = False
) -> MapParts:
    """A boundary's editor; with ``draw``, a new parcel's (the polygon tool too)."""
    return _drawing(_map(settings, bounds, water), "地块边界", draw=draw)


def feature_editor(
    settings: Settings,
    bounds: list[list[float]],
    *,
    point: bool,
    draw: bool = False,
    water: bool = False,
) -> MapParts:
    """A reference-layer feature's editor: a constraint area's polygon as a boundary's
    (GeoMan, vertices dragged; with ``draw``, a new one's: the polygon tool too); a facility's
    point as a marker ``wb-point.js`` drags (and, new, places where the map is clicked)."""
    zoom = 7 if draw else 16
    padding = None if draw else (20, 20)
    m = _map(settings, bounds, water, zoom=zoom, padding=padding)
    if point:
        return _parts(m)
    return _drawing(m, "管控区范围", draw=draw)


#: [[south, west], [north, east]] of Hebei: where a requirement's area is drawn.
HEBEI = [[36.0, 113.4], [42.6, 119.9]]


def area_picker(settings: Settings, *, water: bool = False) -> MapParts:
    """The requirement form's map: draw (polygon or rectangle), edit and remove the area a match
    is restricted to (``location.polygon``); ``wb-area.js`` keeps the form's field in step."""
    return _drawing(_map(settings, HEBEI, water, zoom=7, padding=None), "选址范围", draw=True)


def bounds_of(geojson: dict[str, Any]) -> list[list[float]]:
    """[[south, west], [north, east]] of a GeoJSON geometry's coordinates."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if c and isinstance(c[0], int | float):
            xs.append(float(c[0]))
            ys.append(float(c[1]))
        else:
            for part in c:
                walk(part)

    walk(geojson["coordinates"])
    return [[min(ys), min(xs)], [max(ys), max(xs)]]
