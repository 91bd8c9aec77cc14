"""Front-end assets: every JS/CSS/font file comes from ``web/node_modules`` (installed from the
npm registry by ``scripts/lib.sh ensure_web_assets``) and is served by the app under
``/static/vendor``; our own files live in ``web/static/app`` under ``/static/app``.

:func:`localise_folium` rewrites folium's CDN lists once, at import of :mod:`landmatch.maps`,
so a rendered page holds no external URL except the configured basemap.
"""

from __future__ import annotations

from pathlib import Path

import folium
from folium import plugins

from landmatch import resources
from landmatch.settings import Settings

VENDOR = "/static/vendor"
APP = "/static/app"

# Files taken from the npm packages named in web/package.json.
JS: dict[str, str] = {
    "leaflet": f"{VENDOR}/leaflet/dist/leaflet.js",
    "jquery": f"{VENDOR}/jquery/dist/jquery.min.js",
    "bootstrap": f"{VENDOR}/bootstrap/dist/js/bootstrap.bundle.min.js",
    "awesome_markers": f"{VENDOR}/leaflet.awesome-markers/dist/leaflet.awesome-markers.min.js",
    "vectorGrid": f"{VENDOR}/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
    "markerclusterjs": f"{VENDOR}/leaflet.markercluster/dist/leaflet.markercluster.js",
    "leaflet_geoman_js": f"{VENDOR}/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js",
}
CSS: dict[str, str] = {
    "leaflet_css": f"{VENDOR}/leaflet/dist/leaflet.css",
    "bootstrap_css": f"{VENDOR}/bootstrap/dist/css/bootstrap.min.css",
    "awesome_markers_font_css": f"{VENDOR}/@fortawesome/fontawesome-free/css/all.min.css",
    "awesome_markers_css": f"{VENDOR}/leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
    "markerclustercss": f"{VENDOR}/leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": f"{VENDOR}/leaflet.markercluster/dist/MarkerCluster.Default.css",
    "leaflet_geoman_css": f"{VENDOR}/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css",
    # Replaces folium's awesome-rotate CSS and glyphicons (not on npm): our own stylesheet.
    "landmatch_css": f"{APP}/landmatch.css",
}
APP_JS = f"{APP}/landmatch.js"
FORMAT_JS = f"{APP}/format.js"  # the number formats, before landmatch.js
INQUIRY_JS = f"{APP}/inquiry.js"
INQUIRY_CSS = f"{APP}/inquiry.css"

_done = False


def localise_folium() -> None:
    """Point folium's and the used plugins' asset lists at the app's own copies (once)."""
    global _done
    if _done:
        return
    folium.Map.default_js = [
        (k, JS[k]) for k in ("leaflet", "jquery", "bootstrap", "awesome_markers")
    ]
    folium.Map.default_css = [
        (k, CSS[k])
        for k in (
            "leaflet_css",
            "bootstrap_css",
            "awesome_markers_font_css",
            "awesome_markers_css",
            "landmatch_css",
        )
    ]
    plugins.VectorGridProtobuf.default_js = [("vectorGrid", JS["vectorGrid"])]
    plugins.MarkerCluster.default_js = [("markerclusterjs", JS["markerclusterjs"])]
    plugins.MarkerCluster.default_css = [
        ("markerclustercss", CSS["markerclustercss"]),
        ("markerclusterdefaultcss", CSS["markerclusterdefaultcss"]),
    ]
    plugins.GeoMan.default_js = [("leaflet_geoman_js", JS["leaflet_geoman_js"])]
    plugins.GeoMan.default_css = [("leaflet_geoman_css", CSS["leaflet_geoman_css"])]
    _done = True


def node_modules(settings: Settings) -> Path:
    """Where the npm packages are installed (``LANDMATCH_WEB_ASSETS_DIR``, or web/node_modules of
    the checkout)."""
    if settings.web_assets_dir:
        return Path(settings.web_assets_dir)
    return resources.CHECKOUT_NODE_MODULES


def templates_dir() -> Path:
    return resources.TEMPLATES


def app_static_dir() -> Path:
    return resources.STATIC_APP
