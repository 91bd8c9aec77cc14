"""Page builders: the public map, the staff map and a match result map, each a folium map on
vector tiles (large layers) with small inline layers only where they are small (facilities,
a match's top N)."""

from __future__ import annotations

import html
import json
from typing import Any, cast
from urllib.parse import urlencode

import folium
from branca.element import Figure
from folium import plugins
from folium.utilities import JsCode
from shapely.geometry import shape

from landmatch import vocab
from landmatch.basemap.store import ATTRIBUTION as WATER_ATTRIBUTION
from landmatch.geo.validate import normalise_polygons
from landmatch.maps.assets import localise_folium
from landmatch.maps.elements import AppInit, panel
from landmatch.maps.styles import (
    CONSTRAINT_COLOURS,
    LAND_USE_COLOURS,
    STATUS_COLOURS,
    ZONE_COLOURS,
    legend_items,
    water_style,
)
from landmatch.match import readable, runs
from landmatch.settings import Settings

localise_folium()

HEBEI_CENTRE = (38.9, 115.9)
TIANDITU = (
    "http://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={key}"
)
# Layers the tile engine serves, and the default query for each page.
TILE_LAYERS = ("parcels", "zones", "constraints", "admin")
MATCH_TOP_INLINE = 20
WORKBENCH_WATER_MAX_ZOOM = 14
STAFF_QUERY = {"status": "ready,unsupplied,idle,supplied"}


def base_map(
    settings: Settings,
    *,
    location: tuple[float, float] = HEBEI_CENTRE,
    zoom: int = 7,
    water: bool = False,
) -> folium.Map:
    """A map with the configured basemap. ``none`` draws the administrative boundaries as the
    base (vector tiles from our own server), so the default works with no internet at all;
    with ``water`` (the offline basemap is built: ``landmatch.basemap.store.water_loaded``)
    the sea, coast, lakes and rivers too. The full-page maps add the water themselves, above
    their boundary base (``_common``)."""
    m = folium.Map(
        location=location,
        zoom_start=zoom,
        tiles=None,
        min_zoom=5,
        max_zoom=19,
        prefer_canvas=True,
        control_scale=False,  # a metric-only scale is added by LM.init
        attribution_control=True,
    )
    # folium (0.20) leaves min_zoom / max_zoom out of the map's options when it has no tile
    # layer of its own: Leaflet then takes the map's zoom range from its layers, and the
    # workbench water's maxZoom 14 capped the editors below parcel scale (and its clamp from
    # the starting zoom ran as an animation that swallowed the editors' own fit).
    m.options.update(min_zoom=5, max_zoom=19)
    if settings.basemap == "osm":
        folium.TileLayer(
            settings.osm_tile_url,
            name="OpenStreetMap",
            attr="© OpenStreetMap contributors",
            max_zoom=19,
            overlay=False,
        ).add_to(m)
    elif settings.basemap == "tianditu":
        for layer, name, overlay in (("vec", "天地图矢量", False), ("cva", "天地图注记", True)):
            url = TIANDITU.replace("{layer}", layer).replace("{key}", settings.tianditu_key)
            folium.TileLayer(
                url,
                name=name,
                attr="© 天地图",
                subdomains="01234567",
                max_zoom=18,
                overlay=overlay,
                control=not overlay,
            ).add_to(m)
    elif water:
        # The workbench's maps work at parcel scale (z15-19), where a 1:1 million line would
        # mislead about a parcel's distance to water: there the water stops at z14.
        water_layer(max_zoom=WORKBENCH_WATER_MAX_ZOOM).add_to(m)
    return m


def water_layer(max_zoom: int | None = None) -> plugins.VectorGridProtobuf:
    """The offline basemap's water as vector tiles, its source and licence in the attribution
    control. Nothing to click (the page script does not answer clicks on it)."""
    return _vector(
        _tile_url("water"),
        "水系（离线底图）",
        water_style(),
        attribution=WATER_ATTRIBUTION,
        max_zoom=max_zoom,
    )


def _vector(
    url: str,
    name: str,
    style: str,
    *,
    show: bool = True,
    pane: str | None = None,
    min_zoom: int | None = None,
    max_zoom: int | None = None,
    attribution: str = "landmatch",
) -> plugins.VectorGridProtobuf:
    layer_name = url.split("/")[2]  # /tiles/<layer>/...
    styles = {layer_name: style}
    if layer_name == "parcels":  # below z12 the engine sends per-cell aggregates instead
        styles["parcel_cells"] = style
    options: dict[str, Any] = {
        # A JS literal, not a dict: folium would camelize the keys (parcel_cells → parcelCells).
        "vectorTileLayerStyles": JsCode(
            "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in styles.items()) + "}"
        ),
        "interactive": False,  # clicks are answered by /api/identify (VectorGrid issue 274)
        "maxNativeZoom": 18,
        "maxZoom": 19,
        "rendererFactory": JsCode("L.canvas.tile"),
        "attribution": attribution,
    }
    if pane:
        options["pane"] = pane
    if min_zoom is not None:
        options["minZoom"] = min_zoom
    if max_zoom is not None:
        options["maxZoom"] = max_zoom
    return plugins.VectorGridProtobuf(url, name=name, options=options, show=show)


def _tile_url(layer: str, query: dict[str, str] | None = None) -> str:
    url = f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf"
    return url + ("?" + urlencode(query, safe=",") if query else "")


FACILITY_ICONS = {
    "port": "anchor",
    "airport": "plane",
    "rail_freight": "train",
    "highway_interchange": "road",
    "logistics_hub": "truck",
    "cold_chain": "snowflake",
    "bonded_zone": "warehouse",
    "substation": "bolt",
}
# Facilities an investor orients by: shown and labelled from province zoom. The others (highway
# interchanges, substations: one per county) appear from city zoom (landmatch.js).
MAJOR_FACILITIES = ("port", "airport", "rail_freight", "logistics_hub", "cold_chain", "bonded_zone")


def facility_rows(facilities: list[dict[str, Any]]) -> list[list[Any]]:
    """Facilities as compact rows for the page script, which draws each as a labelled icon
    (a name stays text: it is set as textContent): [lat, lon, icon, tooltip, major, name]."""
    return [
        [
            f["lat"],
            f["lon"],
            FACILITY_ICONS.get(f["kind"], "circle"),
            f"{f['kind_label']}：{f['name']}" + ("（位置为近似）" if f.get("approximate") else ""),
            f["kind"] in MAJOR_FACILITIES,
            f["name"],
        ]
        for f in facilities
    ]


def _common(m: folium.Map, settings: Settings, *, staff: bool, water: bool) -> dict[str, Any]:
    admin_style = "LM.style.adminBase" if settings.basemap == "none" else "LM.style.admin"
    layers: dict[str, Any] = {"admin": _vector(_tile_url("admin"), "行政区划", admin_style)}
    if water and settings.basemap == "none":
        # Above the boundaries' land fill, under zones and parcels.
        layers["water"] = water_layer()
    layers["zones"] = _vector(_tile_url("zones"), "开发区（按级别）", "LM.style.zones")
    if staff:
        layers["constraints"] = _vector(
            _tile_url("constraints"), "管控区（红线、基本农田等）", "LM.style.constraints"
        )
    layers["parcels"] = _vector(
        _tile_url("parcels", STAFF_QUERY if staff else None),
        "地块（按状态）" if staff else "熟地（按用途）",
        "LM.style.parcelsByStatus" if staff else "LM.style.parcelsByLandUse",
    )
    for layer in layers.values():
        layer.add_to(m)
    return layers


def _head(root: Any) -> None:
    # A viewport for phones, and an inline icon so the browser asks for no /favicon.ico.
    root.header.add_child(
        folium.Element(
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="icon" href="data:,">'
        )
    )


def _filters_context(cities: list[tuple[str, str]], staff: bool) -> dict[str, Any]:
    return {
        "cities": cities,
        "land_uses": list(vocab.LAND_USE.items()),
        "statuses": [(k, v) for k, v in vocab.PARCEL_STATUS.items() if k != "withdrawn"],
        "industries": [(k, v[0]) for k, v in vocab.INDUSTRIES.items()],
        "staff": staff,
    }


def _finish(m: folium.Map, layers: dict[str, Any], title: str) -> Figure:
    """The layer control (the page script adds its own layers to it: places, facilities),
    the page's head and its title."""
    layers["control"] = folium.LayerControl(collapsed=True, position="topright").add_to(m)
    root = cast(Figure, m.get_root())  # a folium Map always sits in a Figure
    _head(root)
    root.title = title
    return root


def _app_config(
    page: str, *, staff: bool, facilities: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    """What ``LM.init`` (landmatch.js) is given: the page, its facilities, the colours."""
    return {
        "page": page,
        "facilities": facility_rows(facilities),
        "staff": staff,
        "tileBase": "/tiles",
        "landUse": LAND_USE_COLOURS,
        "status": STATUS_COLOURS,
        "zones": ZONE_COLOURS,
        "constraints": CONSTRAINT_COLOURS,
        "defaultQuery": STAFF_QUERY if staff else {},
        **extra,
    }


def _inventory_map(
    settings: Settings,
    *,
    staff: bool,
    title: str,
    cities: list[tuple[str, str]],
    facilities: list[dict[str, Any]],
    water: bool,
    **panel_context: Any,
) -> str:
    """The public or the staff map of the inventory: tiles, side panel, the page script."""
    m = base_map(settings)
    layers = _common(m, settings, staff=staff, water=water)
    water = "water" in layers
    root = _finish(m, layers, title)
    if staff:
        token = html.escape(panel_context["csrf_token"])
        root.header.add_child(folium.Element(f'<meta name="csrf-token" content="{token}">'))
    root.html.add_child(
        panel(
            "map_panel.html",
            title=title,
            public=not staff,
            legend=legend_items(staff=staff, water=water),
            **_filters_context(cities, staff),
            **panel_context,
        )
    )
    page = "staff" if staff else "public"
    AppInit(layers, _app_config(page, staff=staff, facilities=facilities)).add_to(m)
    return root.render()


def public_map(
    settings: Settings,
    *,
    cities: list[tuple[str, str]],
    facilities: list[dict[str, Any]],
    water: bool = False,
) -> str:
    """``/map``: public ready land by land use, zones, boundaries, facilities, search, filters,
    parcel card and the "find sites for my project" form."""
    return _inventory_map(
        settings,
        staff=False,
        title="河北省熟地“一张图”",
        cities=cities,
        facilities=facilities,
        water=water,
    )


def staff_map(
    settings: Settings,
    *,
    cities: list[tuple[str, str]],
    facilities: list[dict[str, Any]],
    user: str,
    csrf_token: str,
    water: bool = False,
) -> str:
    """``/internal/map``: every status coloured, constraint areas, QA flags, reservations.
    ``csrf_token``: the session's, for the sign-out form and the page's script requests."""
    return _inventory_map(
        settings,
        staff=True,
        title="熟地“一张图”（内部）",
        cities=cities,
        facilities=facilities,
        water=water,
        user=user,
        csrf_token=csrf_token,
    )


def match_sites(response: dict[str, Any], top: int = MATCH_TOP_INLINE) -> list[dict[str, Any]]:
    """The ranked candidates of a match response (parcels and assemblies), top N only."""
    # Parcels first, by rank; then assemblies (ranked among themselves, labelled A1, A2 …).
    feats = sorted(
        response["features"],
        key=lambda f: (f["properties"]["kind"] == "assembly", f["properties"]["rank"]),
    )
    sites = []
    for f in feats[:top]:
        p = f["properties"]  # landmatch.api.schemas.match: MatchParcelProperties / …Assembly…
        geom = shape(f["geometry"])
        is_assembly = p["kind"] == "assembly"
        label_point = geom.representative_point()
        sites.append(
            {
                "rank": p["rank"],
                "label": f"A{p['rank']}" if is_assembly else str(p["rank"]),
                "score": p["score"],
                "code": None if is_assembly else p["code"],
                "name": p["name"] or p["members"][0],
                "area_mu": p["area_mu"],
                "zone_name": p.get("zone_name"),
                "city_name": p.get("city_name"),
                "land_use": vocab.label(vocab.PARCEL_LAND_USE, p.get("land_use")),
                "price": p.get("ref_price_wan_per_mu"),
                "assembly": is_assembly,
                "members": p["members"],
                "breakdown": p["breakdown"],
                "policies": p.get("policies", []),
                "warnings": p["warnings"],
                "days_to_start": p["time_to_start"]["days"] if not is_assembly else None,
                "lat": label_point.y,
                "lon": label_point.x,
                "geometry": normalise_polygons(geom).__geo_interface__,
                "outline": normalise_polygons(geom.buffer(0)).__geo_interface__
                if is_assembly
                else None,
            }
        )
    return sites


def match_map(
    settings: Settings,
    *,
    match_id: str,
    run: dict[str, Any],
    facilities: list[dict[str, Any]],
    staff: bool,
    water: bool = False,
) -> str:
    """``/match/{id}/map``: numbered ranked sites, score breakdown, assemblies outlined as one
    site, and the top five side by side."""
    sites = match_sites(run["response"])
    # The explanation of each site, the funnel and the near misses: the staff results page's
    # view (landmatch.match.readable), rendered by the same template macros.
    shown = readable.results_view(run["response"])
    by_rank = {
        ("A" if v["p"].get("kind") == "assembly" else "") + str(v["p"]["rank"]): v
        for v in shown["sites"] + shown["assemblies"]
    }
    views = []
    for s in sites:
        v = by_rank.get(s["label"])
        if v is None:
            continue
        views.append(
            v
            | {
                "label": s["label"],
                "assembly": s["assembly"],
                # An inquiry names a parcel: an assembly's first member stands for it.
                "inquiry_code": s["members"][0],
            }
        )
    if sites:
        lats = [s["lat"] for s in sites]
        lons = [s["lon"] for s in sites]
        m = base_map(settings, location=(sum(lats) / len(lats), sum(lons) / len(lons)), zoom=9)
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(30, 30))
    else:
        m = base_map(settings)
    layers = _common(m, settings, staff=staff, water=water)
    ranked = folium.FeatureGroup(name=f"匹配结果（前 {len(sites)}）").add_to(m)
    layers["ranked"] = ranked
    root = _finish(m, layers, "匹配结果地图")
    criteria: dict[str, str] = {}
    for s in sites[:5]:
        s["by_criterion"] = {b["criterion"]: b for b in s["breakdown"]}
        for b in s["breakdown"]:
            criteria.setdefault(b["criterion"], b["label"] or b["criterion"])
    root.html.add_child(
        panel(
            "match_panel.html",
            match_id=match_id,
            wanted=readable.requirement_line(run["response"].get("requirement") or {}),
            sites=sites,
            top5=sites[:5],
            run=run,
            staff=staff,
            criteria=list(criteria.items()),
            views=views,
            withdrawn=runs.withdrawn_note(n) if (n := run["response"].get("withdrawn")) else None,
            funnel=shown["funnel"] if run["response"].get("why_not") else None,
            near=shown["near"],
            num=readable.num,
            score=readable.score,
        )
    )
    AppInit(layers, _app_config("match", staff=staff, facilities=facilities, sites=sites)).add_to(m)
    return root.render()
