/* The history page's map: the chosen version's boundary before (dashed) and after (solid). */
(function () {
  "use strict";
  var el = document.getElementById("lm-map-config");
  if (!el) { return; }
  var cfg = JSON.parse(el.textContent);
  var map = window[cfg.map];
  var caption = document.getElementById("geom-caption");
  var shown = null;
  function show(v) {
    var g = (cfg.geometries || []).filter(function (x) { return x.version === v; })[0];
    if (!g || !map) { return; }
    if (shown) { map.removeLayer(shown); }
    shown = L.featureGroup([
      L.geoJSON(g.before, { style: { color: "#757575", weight: 2, dashArray: "5 4", fillOpacity: 0.05 } }),
      L.geoJSON(g.after, { style: { color: "#0d47a1", weight: 3, fillOpacity: 0.2 } })
    ]).addTo(map);
    map.fitBounds(shown.getBounds(), { padding: [30, 30], animate: false });
    if (caption) { caption.textContent = "显示版本 " + v + " 的边界变化（" + (LMF.text(g.actor) || "—") + "）"; }
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest(".lm-show-geom") : null;
    if (b) { show(parseInt(b.getAttribute("data-version"), 10)); }
  });
  if (cfg.geometries && cfg.geometries.length) { show(cfg.geometries[0].version); }
})();
