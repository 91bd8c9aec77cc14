/* The boundary editor: the parcel's polygon in GeoMan's feature group (vertices dragged, added,
   removed; snapping to the neighbours drawn by wb-map.js), the coordinates textarea kept in step
   with the map (and the map with it: "按坐标更新地图"), a live area estimate, and the server's
   preview (ellipsoidal area, problems, overlaps drawn in red). The form posts the textarea.
   Shared by the parcel and zone boundary pages (config.subject names what is edited) and the
   constraint area's edit form (no server preview there: the save checks). */
(function () {
  "use strict";
  var el = document.getElementById("lm-map-config");
  if (!el) { return; }
  var cfg = JSON.parse(el.textContent);
  var map = window[cfg.map];
  var group = window[cfg.drawn];
  var coords = document.getElementById("f-coords");
  var live = document.getElementById("area-live");
  var server = document.getElementById("area-server");
  var result = document.getElementById("preview-result");
  var overlaps = null;
  var R = 6378137, MU = 10000 / 15;

  function ringArea(ring) {  // spherical excess, m² (an estimate: the server measures on the ellipsoid)
    var s = 0;
    for (var i = 0; i < ring.length; i++) {
      var a = ring[i], b = ring[(i + 1) % ring.length];
      s += (b[0] - a[0]) * Math.PI / 180 * (2 + Math.sin(a[1] * Math.PI / 180) + Math.sin(b[1] * Math.PI / 180));
    }
    return Math.abs(s * R * R / 2);
  }
  function polygons() {  // [[outer, hole…], …] of every polygon in the group, lon/lat
    var out = [];
    group.eachLayer(function (layer) {
      if (!layer.toGeoJSON) { return; }
      var g = layer.toGeoJSON().geometry;
      if (g.type === "Polygon") { out.push(g.coordinates); }
      if (g.type === "MultiPolygon") { g.coordinates.forEach(function (p) { out.push(p); }); }
    });
    return out;
  }
  function toText(polys) {
    var blocks = [];
    polys.forEach(function (p) {
      p.forEach(function (ring) {
        var pts = ring.slice(0, ring.length - 1);
        blocks.push(pts.map(function (c) { return c[0].toFixed(8) + "," + c[1].toFixed(8); }).join("\n"));
      });
    });
    return blocks.join("\n\n");
  }
  function fromText(text) {
    var rings = [], cur = [];
    text.split(/\r?\n/).forEach(function (line) {
      line = line.trim();
      if (!line) { if (cur.length) { rings.push(cur); cur = []; } return; }
      var p = line.split(/[,，\s]+/).map(Number);
      if (p.length === 2 && isFinite(p[0]) && isFinite(p[1])) { cur.push([p[0], p[1]]); }
    });
    if (cur.length) { rings.push(cur); }
    return rings.filter(function (r) { return r.length >= 3; });
  }
  function update() {
    var polys = polygons();
    var area = 0;
    polys.forEach(function (p) {
      p.forEach(function (ring, k) { area += (k === 0 ? 1 : -1) * ringArea(ring); });
    });
    live.textContent = polys.length ? (area / MU).toLocaleString("zh-CN", { maximumFractionDigits: 2 }) : "—";
    var ha = document.getElementById("area-live-ha");  // 公顷 beside the 亩 (house style)
    if (ha) { ha.textContent = polys.length ? "（" + LMF.ha(area / MU) + "）" : ""; }
    coords.value = toText(polys);
    if (server) { server.textContent = "—（边界已改动，请重新预览）"; }
  }
  function watch(layer) {
    layer.on("pm:edit pm:markerdragend pm:vertexadded pm:vertexremoved pm:snapdrag", update);
  }
  function setRings(rings) {
    group.clearLayers();
    rings.forEach(function (ring) {
      var layer = L.polygon(ring.map(function (c) { return [c[1], c[0]]; }), { color: "#0d47a1", weight: 3 });
      group.addLayer(layer);
      watch(layer);
      if (layer.pm) { layer.pm.enable({ snappable: true, snapDistance: 15, allowSelfIntersection: false }); }
    });
  }
  if (map && map.pm) {
    map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });
    if (map.pm.setLang) { map.pm.setLang("zh"); }
    map.on("pm:create", function (e) { watch(e.layer); update(); });
    map.on("pm:remove", update);
  }
  if (cfg.parcel && cfg.parcel.geometry) {
    var g = cfg.parcel.geometry;
    var polys = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
    group.clearLayers();
    polys.forEach(function (p) {
      var layer = L.polygon(p.map(function (ring) { return ring.map(function (c) { return [c[1], c[0]]; }); }),
        { color: "#0d47a1", weight: 3 });
      group.addLayer(layer);
      watch(layer);
      if (layer.pm) { layer.pm.enable({ snappable: true, snapDistance: 15, allowSelfIntersection: false }); }
    });
    map.fitBounds(group.getBounds(), { padding: [40, 40], animate: false });
    var keep = coords.value;
    update();
    if (keep) { coords.value = keep; }  // the server's text (full precision) until an edit
    if (server) { server.textContent = "—"; }
  } else if (cfg.start) {
    // No boundary yet: the account's zone or city (the page's own fit ran before the map had
    // its size, and left it at the editor's zoom).
    map.invalidateSize();
    map.fitBounds(cfg.start, { padding: [20, 20], animate: false });
  }
  document.getElementById("apply-coords").addEventListener("click", function () {
    var rings = fromText(coords.value);
    var text = coords.value;
    setRings(rings);
    update();
    coords.value = text;
    if (group.getLayers().length) { map.fitBounds(group.getBounds(), { padding: [40, 40], animate: false }); }
  });
  function item(text, cls) {
    var li = document.createElement("li");
    li.className = "list-group-item " + (cls || "");
    li.appendChild(document.createTextNode(LMF.text(text)));
    return li;
  }
  var previewButton = document.getElementById("preview-button");
  if (!previewButton) { return; }
  previewButton.addEventListener("click", function () {
    var body = new URLSearchParams();
    body.set("coords", coords.value);
    result.textContent = "正在计算……";
    LMW.fetch(this.getAttribute("data-url"), { method: "POST", body: body }).then(function (r) {
      return r.json();
    }).then(function (d) {
      result.textContent = "";
      var ul = document.createElement("ul");
      ul.className = "list-group list-group-flush";
      ul.id = "preview-list";
      if (overlaps) { map.removeLayer(overlaps); overlaps = null; }
      (d.problems || []).forEach(function (p) { ul.appendChild(item((p.label || "边界") + "：" + p.reason, "list-group-item-danger")); });
      if (d.area_mu !== undefined) {
        server.textContent = d.area_mu.toLocaleString("zh-CN", { maximumFractionDigits: 2 }) + " 亩（" +
          d.area_m2.toLocaleString("zh-CN", { maximumFractionDigits: 1 }) + " 平方米）";
      }
      (d.overlaps || []).forEach(function (o) {
        ul.appendChild(item("与" + (cfg.subject || "地块") + " " + o.code + "（" + (o.name || "") + "）重叠 " + o.overlap_m2.toLocaleString("zh-CN") + " 平方米", "list-group-item-warning"));
      });
      if (d.overlaps && d.overlaps.length) {
        overlaps = L.geoJSON(d.overlaps.map(function (o) { return { type: "Feature", geometry: o.geometry, properties: {} }; }),
          { pmIgnore: true, snapIgnore: true, interactive: false, style: { color: "#d50000", weight: 2, fillOpacity: 0.5 } }).addTo(map);
      }
      if (!ul.children.length) { ul.appendChild(item("校验通过，与相邻" + (cfg.subject || "地块") + "无重叠", "list-group-item-success")); }
      (d.warnings || []).forEach(function (w) { ul.appendChild(item("提示：" + w, "list-group-item-info")); });
      result.appendChild(ul);
    }).catch(function () { result.textContent = "预览失败，请稍后再试"; });
  });
})();
