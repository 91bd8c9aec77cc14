/* The requirement form's area (location.polygon): polygons and rectangles drawn with GeoMan
   in the map's feature group are written to the hidden field as one GeoJSON Polygon or
   MultiPolygon (lon/lat); a stored area is drawn back on load. The engine keeps the parcels
   that intersect it; the server validates it. */
(function () {
  "use strict";
  var el = document.getElementById("lm-area-config");
  if (!el) { return; }
  var cfg = JSON.parse(el.textContent);
  var map = window[cfg.map];
  var group = window[cfg.drawn];
  var field = document.getElementById("f-area_polygon");
  var summary = document.getElementById("area-summary");
  var R = 6378137;

  function ringArea(ring) {  // spherical excess, m² (an estimate for the summary line)
    var s = 0;
    for (var i = 0; i < ring.length; i++) {
      var a = ring[i], b = ring[(i + 1) % ring.length];
      s += (b[0] - a[0]) * Math.PI / 180 * (2 + Math.sin(a[1] * Math.PI / 180) + Math.sin(b[1] * Math.PI / 180));
    }
    return Math.abs(s * R * R / 2);
  }
  function polygons() {
    var out = [];
    group.eachLayer(function (layer) {
      if (!layer.toGeoJSON) { return; }
      var g = layer.toGeoJSON().geometry;
      if (g.type === "Polygon") { out.push(g.coordinates); }
      if (g.type === "MultiPolygon") { g.coordinates.forEach(function (p) { out.push(p); }); }
    });
    return out;
  }
  function write() {
    var polys = polygons();
    if (!polys.length) {
      field.value = "";
      summary.textContent = "未划定范围（不按地图范围限定）";
      return;
    }
    var geom = polys.length === 1 ? { type: "Polygon", coordinates: polys[0] } : { type: "MultiPolygon", coordinates: polys };
    field.value = JSON.stringify(geom);
    var km2 = polys.reduce(function (s, p) { return s + ringArea(p[0]); }, 0) / 1e6;
    summary.textContent = "已划定 " + polys.length + " 块范围，约 " + km2.toLocaleString("zh-CN", { maximumFractionDigits: 1 }) + " 平方公里";
  }
  function watch(layer) {
    layer.on("pm:edit", write);
    layer.on("pm:remove", write);
  }
  if (field.value) {
    try {
      L.geoJSON(JSON.parse(field.value), { style: { color: "#e67e22", weight: 2 } }).eachLayer(function (l) {
        group.addLayer(l);
        watch(l);
      });
      if (group.getLayers().length) { map.fitBounds(group.getBounds(), { maxZoom: 14 }); }
    } catch (e) {
      summary.textContent = "保存的范围无法显示，请重新划定";
    }
  }
  if (map.pm) {
    map.pm.setGlobalOptions({ layerGroup: group, allowSelfIntersection: false });
    if (map.pm.setLang) { map.pm.setLang("zh"); }
  }
  map.on("pm:create", function (e) {
    // GeoMan draws on the map itself unless told otherwise: the area is the group's layers.
    if (!group.hasLayer(e.layer)) { group.addLayer(e.layer); }
    watch(e.layer);
    write();
  });
  map.on("pm:remove", write);
  document.getElementById("area-clear").addEventListener("click", function () {
    group.clearLayers();
    write();
  });
  write();
})();
