/* Maps of the inventory pages. Folium made the map (window[config.map]); this script draws
   the layers from the page's JSON (script#lm-map-config): the parcel, its neighbours, zones
   and constraint areas. Names become text nodes (never HTML), through LMF.text (format.js). Exposes LMW.parcelMap for the
   boundary editor and the tests. */
(function () {
  "use strict";
  var STATUS = { ready: "#2e7d32", unsupplied: "#f9a825", idle: "#c62828", supplied: "#1565c0", withdrawn: "#757575" };

  function text(s) { return document.createTextNode(LMF.text(s)); }

  function draw(map, cfg) {
    var out = {};
    if (cfg.zones && cfg.zones.length) {
      out.zones = L.geoJSON(cfg.zones, {
        interactive: false, pmIgnore: true, snapIgnore: true,
        style: { color: "#6a1b9a", weight: 2, dashArray: "6 4", fill: false }
      }).addTo(map);
    }
    if (cfg.constraints && cfg.constraints.length) {
      out.constraints = L.geoJSON(cfg.constraints, {
        pmIgnore: true, snapIgnore: true,
        style: function (f) {
          var ex = f.properties.severity === "excludes";
          return { color: ex ? "#b71c1c" : "#ef6c00", weight: 1, fillOpacity: 0.12, dashArray: "2 3" };
        },
        onEachFeature: function (f, layer) { layer.bindTooltip(text(f.properties.name)); }
      }).addTo(map);
    }
    if (cfg.neighbours) {
      // Neighbours are what GeoMan snaps to (snapIgnore false), never edited themselves.
      out.neighbours = L.geoJSON(cfg.neighbours, {
        pmIgnore: true, snapIgnore: false,
        style: function (f) {
          return { color: STATUS[f.properties.status] || "#455a64", weight: 1, fillOpacity: 0.15 };
        },
        onEachFeature: function (f, layer) {
          layer.bindTooltip(text(f.properties.code + " " + (f.properties.name || "")));
        }
      }).addTo(map);
    }
    if (cfg.before) {
      out.before = L.geoJSON(cfg.before, {
        pmIgnore: true, snapIgnore: true,
        style: { color: "#757575", weight: 2, dashArray: "5 4", fillOpacity: 0.05 }
      }).addTo(map);
    }
    if (cfg.parcel && !cfg.editable) {
      out.parcel = L.geoJSON(cfg.parcel, {
        pmIgnore: true, snapIgnore: true,
        style: { color: "#0d47a1", weight: 3, fillOpacity: 0.25 }
      }).addTo(map);
      map.fitBounds(out.parcel.getBounds(), { padding: [30, 30], animate: false });
    }
    return out;
  }

  function init() {
    document.querySelectorAll("script.lm-map-config, script#lm-map-config").forEach(function (el) {
      var cfg = JSON.parse(el.textContent);
      var map = window[cfg.map];
      if (!map) { return; }
      var layers = draw(map, cfg);
      window.LMW = window.LMW || {};
      LMW.maps = LMW.maps || {};
      LMW.maps[cfg.map] = { map: map, layers: layers, config: cfg };
      if (!LMW.parcelMap) { LMW.parcelMap = LMW.maps[cfg.map]; }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else { init(); }
})();
