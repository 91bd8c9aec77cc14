/* landmatch map pages: styles for the vector tiles, filters, search, identify → parcel card,
 * the public "find sites" form and the match result page. Plain ES2017, no build step. */
(function () {
  "use strict";

  var LM = (window.LM = window.LM || {});
  var cfg = {};

  // User text as HTML: LMF.text (format.js: no bidirectional controls), then escaped.
  function esc(v) {
    return LMF.text(v)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function known(v) { return v !== null && v !== undefined && v !== ""; }
  // A score as every page writes it (landmatch.match.readable.score): one decimal.
  function score(v) { return known(v) && isFinite(Number(v)) ? Number(v).toFixed(1) : "—"; }
  function $(id) { return document.getElementById(id); }

  // ---- styles (functions of the MVT feature properties) -------------------------------
  function landUseColour(code) {
    var c = (cfg.landUse || {})[code];
    if (c) return c;
    if (code && code.indexOf("1001") === 0) return "#9b59b6";
    if (code && code.indexOf("1101") === 0) return "#3498db";
    return "#95a5a6";
  }
  // A parcels tile below the cell zoom holds cells (landmatch/db/tiles.py: n parcels, area_mu).
  function aggregate(p) { return p && p.n !== undefined && !p.code; }
  function aggStyle(p) {
    var n = Number(p.n || 1);
    // A cell is 1/16 of a tile (16 px): keep each dot inside its cell so density reads from
    // colour and size instead of overlapping blobs.
    return { fill: true, fillColor: "#1e8449", fillOpacity: Math.min(0.85, 0.25 + Math.log10(n + 1) / 4),
             color: "#145a32", weight: 0.4, radius: Math.min(7, 2 + Math.log2(n + 1) * 0.8) };
  }
  LM.style = {
    parcelsByLandUse: function (p) {
      if (aggregate(p)) return aggStyle(p);
      var c = landUseColour(p.land_use);
      return { fill: true, fillColor: c, fillOpacity: 0.7, color: "#333", weight: 0.6, radius: 4 };
    },
    parcelsByStatus: function (p) {
      if (aggregate(p)) return aggStyle(p);
      var c = (cfg.status || {})[p.status] || "#34495e";
      return { fill: true, fillColor: c, fillOpacity: 0.7, color: "#222", weight: 0.6, radius: 4 };
    },
    zones: function (p) {
      var c = (cfg.zones || {})[p.level] || "#1f5fbf";
      return { fill: true, fillColor: c, fillOpacity: 0.06, color: c, weight: 2,
               dashArray: p.level === "national" ? null : "6 4" };
    },
    constraints: function (p) {
      var c = (cfg.constraints || {})[p.severity] || "#c0392b";
      return { fill: true, fillColor: c, fillOpacity: 0.25, color: c, weight: 1 };
    },
    admin: function (p) {
      var lvl = p.level;
      return { fill: false, color: "#555", weight: lvl === "city" || lvl === "province" ? 1.6 : 0.6,
               dashArray: lvl === "county" ? "3 3" : null, opacity: 0.8 };
    },
    // With no basemap the boundaries are the base: a light fill so the map is not blank.
    adminBase: function (p) {
      var lvl = p.level;
      return { fill: lvl === "county", fillColor: "#f6f1e7", fillOpacity: 1, color: "#6b6b6b",
               weight: lvl === "city" || lvl === "province" ? 1.6 : 0.6, opacity: 0.9 };
    }
  };

  // ---- filters ------------------------------------------------------------------------
  function filterQuery() {
    var f = $("lm-filters");
    var q = Object.assign({}, cfg.defaultQuery || {});
    if (!f) return q;
    var statuses = Array.prototype.slice.call(f.querySelectorAll('input[name="status"]:checked'))
      .map(function (i) { return i.value; });
    if (f.querySelector('input[name="status"]')) q.status = statuses.join(",");
    ["area_min", "area_max", "city", "land_use", "in_zone"].forEach(function (k) {
      var el = f.elements[k];
      if (el && el.value !== "") q[k] = el.value; else delete q[k];
    });
    return q;
  }
  function qs(q) {
    var parts = Object.keys(q).filter(function (k) { return q[k] !== "" && q[k] !== undefined; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(q[k]); });
    return parts.length ? "?" + parts.join("&") : "";
  }
  function applyFilters() {
    var q = filterQuery();
    var msg = $("lm-filter-msg");
    if (msg) msg.textContent = "";
    if (q.area_min && q.area_max && Number(q.area_min) > Number(q.area_max)) {
      if (msg) msg.textContent = "面积下限不能大于上限";
      return;
    }
    if (q.status === "") {
      if (msg) msg.textContent = "请至少选择一种状态";
      return;
    }
    LM.query = q;
    var layer = LM.layers.parcels;
    if (layer) layer.setUrl(cfg.tileBase + "/parcels/{z}/{x}/{y}.pbf" + qs(q));
    writeUrl();
  }

  // ---- search -------------------------------------------------------------------------
  function search(ev) {
    ev.preventDefault();
    var q = $("lm-q").value.trim();
    var hits = $("lm-hits");
    if (!q) { hits.innerHTML = ""; return; }
    fetch("/api/search?q=" + encodeURIComponent(q)).then(function (r) { return r.json(); })
      .then(function (body) {
        var items = body.results || [];
        if (!items.length) { hits.innerHTML = '<li class="list-group-item small text-muted">未找到“' + esc(q) + '”</li>'; return; }
        hits.innerHTML = items.map(function (h, i) {
          return '<li class="list-group-item list-group-item-action small" data-i="' + i + '" tabindex="0">' +
            '<span class="badge text-bg-secondary me-1">' + esc(h.kind_label) + "</span>" + esc(h.label) + "</li>";
        }).join("");
        // A hit picked (clicked, or Enter / Space on it) is shown and the list closes, so that
        // on a phone it no longer covers the map; the query stays in the box to search again.
        Array.prototype.forEach.call(hits.children, function (li) {
          function pick() { goTo(items[Number(li.dataset.i)]); hits.innerHTML = ""; }
          li.addEventListener("click", pick);
          li.addEventListener("keydown", function (e) {
            if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(); }
          });
        });
      });
  }
  function goTo(hit) {
    var b = hit.bbox;
    moveMap(function () {
      if (hit.kind === "facility" || (b[0] === b[2] && b[1] === b[3])) LM.map.setView([b[1], b[0]], 14);
      else LM.map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: 17 });
    });
    if (hit.kind === "parcel") showCard(hit.code);
  }

  // ---- identify and the parcel card -----------------------------------------------------
  var highlight = null;
  function identify(e) {
    var ll = e.latlng;
    // The parcels layer's filters go along: a parcel the map hides does not open either.
    var q = Object.assign({}, LM.query, { lon: ll.lng.toFixed(7), lat: ll.lat.toFixed(7) });
    fetch("/api/identify" + qs(q))
      .then(function (r) { return r.ok ? r.json() : { features: [] }; })
      .then(function (body) {
        // landmatch/api/schemas/parcels.py ParcelsAtPoint: features, each with its code as id
        var codes = body.features.map(function (f) { return f.id; });
        if (codes.length) showCard(codes[0], codes.slice(1));
      });
  }
  // The card is rendered by the server (web/templates/parcel_card.html, the sections the
  // brochure shares), escaped there; the parcel's geometry for the highlight comes with it.
  function showCard(code, others, zoom) {
    var card = fillCard('<p class="small text-muted">正在加载 ' + esc(code) + " …</p>");
    fetch("/parcels/" + encodeURIComponent(code) + "/card.html")
      .then(function (r) { return r.ok ? r.text() : r.json().then(function (b) { throw new Error(b.detail || b.title || r.status); }); })
      .then(function (html) {
        fillCard(html);
        var parcel = card.querySelector(".lm-parcel");
        if (others && others.length) parcel.appendChild(el("div", "small text-muted mt-1", "此处另有重叠地块：" + others.join("、")));
        card.dataset.code = code;
        if (highlight) LM.map.removeLayer(highlight);
        highlight = L.geoJSON(JSON.parse(parcel.dataset.geometry), { style: { color: "#00e5ff", weight: 3, fill: false } }).addTo(LM.map);
        var bounds = highlight.getBounds();
        if (zoom) moveMap(function () { LM.map.fitBounds(bounds, { maxZoom: 17, paddingTopLeft: [20, 20], paddingBottomRight: [20, 20 + sheetOverlap()] }); });
        openCode = code;
        writeUrl();
      })
      .catch(function (err) { fillCard('<p class="small text-danger">无法加载地块：' + esc(err.message) + "</p>"); });
  }

  // ---- public "find sites for my project" -------------------------------------------------
  function runMatch(ev) {
    ev.preventDefault();
    var f = ev.target, out = $("lm-match-result");
    var body = {
      industry: f.elements.industry.value,
      area_mu_min: Number(f.elements.area_min_mu.value),
      area_mu_max: Number(f.elements.area_max_mu.value),
      top: 10
    };
    if (f.elements.investment_wan.value) body.investment_wan = Number(f.elements.investment_wan.value);
    if (f.elements.fixed_asset_investment_wan.value) body.fixed_asset_investment_wan = Number(f.elements.fixed_asset_investment_wan.value);
    if (f.elements.city.value) body.location = { cities: [f.elements.city.value] };
    if (body.area_mu_min > body.area_mu_max) { out.innerHTML = '<span class="text-danger">用地下限不能大于上限</span>'; return; }
    out.textContent = "正在匹配 …";
    // The staff map sends its session's CSRF token; the public map sends no cookie at all
    // (a public match, whoever is signed in elsewhere).
    var csrf = document.querySelector('meta[name="csrf-token"]');
    var headers = { "Content-Type": "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf.getAttribute("content");
    fetch("/api/match", { method: "POST", headers: headers, body: JSON.stringify(body), credentials: csrf ? "same-origin" : "omit" })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (!res.ok) { out.innerHTML = '<span class="text-danger">' + esc(res.body.detail || res.body.title || "匹配失败") + "</span>"; return; }
        var feats = res.body.features;
        var id = res.body.match_id;
        var h = ["<div>找到 " + feats.length + " 个候选地块" + (id ? '，<a href="/match/' + encodeURIComponent(id) + '/map">在地图上查看全部结果与对比</a>' : "") + "</div><ol>"];
        feats.slice(0, 5).forEach(function (ft) {
          // landmatch/api/schemas/match.py: every feature has kind, members and a name
          // (a parcel's may be empty: its code stands in); an inquiry names the first member.
          var p = ft.properties, code = p.members[0], parcel = p.kind === "parcel";
          h.push("<li>" + esc(p.name || code) + "：" + score(p.score) + " 分" +
                 (parcel ? ' <a href="#" data-code="' + esc(code) + '">详情</a>' : "") +
                 (!cfg.staff ? ' <button type="button" class="btn btn-link btn-sm p-0 align-baseline" data-lm-inquiry="' + esc(code) +
                  '" data-lm-name="' + esc(p.name || code) + '"' + (id ? ' data-lm-match="' + esc(id) + '"' : "") + ">我有意向</button>" : "") + "</li>");
        });
        h.push("</ol>");
        // What the run could not check (the engine's warnings: the 标准地 投资强度 tested
        // with the total investment only, 未确认), said with the list, not only on its page.
        (res.body.warnings || []).forEach(function (w) { h.push('<div class="text-muted lm-match-note">' + esc(w) + "</div>"); });
        out.innerHTML = h.join("");
        Array.prototype.forEach.call(out.querySelectorAll("a[data-code]"), function (a) {
          a.addEventListener("click", function (e) { e.preventDefault(); showCard(a.dataset.code); });
        });
      })
      .catch(function () { out.innerHTML = '<span class="text-danger">匹配服务暂不可用</span>'; });
  }

  // ---- match result page ------------------------------------------------------------------
  // A ranked site: its explanation was rendered by the server (the staff results page's
  // renderer, match_panel.html's <template>s); shown in the card, a bottom sheet on a phone.
  function showSite(s) {
    var t = $("lm-site-" + s.label);
    fillCard(t ? t.innerHTML : '<h2 class="h6">' + esc(s.name) + "</h2>");
  }
  function drawSites() {
    var group = LM.layers.ranked;
    (cfg.sites || []).forEach(function (s) {
      var shape = L.geoJSON(s.assembly && s.outline ? s.outline : s.geometry, {
        style: s.assembly ? { color: "#e67e22", weight: 3, dashArray: "8 4", fillOpacity: 0.15 }
                          : { color: "#c0392b", weight: 2, fillOpacity: 0.25 }
      }).addTo(group);
      var marker = L.marker([s.lat, s.lon], {
        icon: L.divIcon({ className: "lm-rank-icon", html: "<span>" + esc(s.label) + "</span>", iconSize: [26, 26] }),
        title: (s.assembly ? "组合 " : "第 ") + s.label + (s.assembly ? "" : " 名"),
        zIndexOffset: 1000  // above facility clusters
      }).addTo(group);
      var open = function () { showSite(s); };
      marker.on("click", open);
      shape.on("click", function (e) { L.DomEvent.stopPropagation(e); open(); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("#lm-ranked [data-rank]"), function (li, i) {
      li.addEventListener("click", function () {
        var s = cfg.sites[i];
        moveMap(function () { LM.map.setView([s.lat, s.lon], Math.max(LM.map.getZoom(), 14)); });
        showSite(s);
      });
    });
  }

  // ---- orientation: places and facilities, labelled by zoom ---------------------------------
  // The map container carries one zoom class; landmatch.css shows each kind of label only at
  // the zooms where it helps (cities and their ready land at province zoom, counties and zones
  // closer in, minor facilities at city zoom).
  var ZOOM_CLASSES = ["lm-zoom-province", "lm-zoom-region", "lm-zoom-city", "lm-zoom-street"];
  function zoomClass() {
    var z = LM.map.getZoom(), el = LM.map.getContainer();
    var cls = z < 8 ? 0 : z < 10 ? 1 : z < 13 ? 2 : 3;
    ZOOM_CLASSES.forEach(function (c, i) { el.classList.toggle(c, i === cls); });
  }
  function el(tag, cls, textValue) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (textValue !== undefined) e.textContent = LMF.text(textValue);
    return e;
  }
  // format.js: figures as landmatch.numbers writes them (docs/domain.md §0).
  var fmt = LMF.num;
  var mu = LMF.mu;
  function drawFacilities(rows) {
    var group = L.layerGroup();
    rows.forEach(function (r) {
      var box = el("div", "lm-fac " + (r[4] ? "lm-fac-major" : "lm-fac-minor"));
      var i = el("i", "fa fa-" + r[2]);
      i.setAttribute("aria-hidden", "true");
      box.appendChild(i);
      box.appendChild(el("span", "lm-fac-label", r[5]));
      var icon = L.divIcon({ html: box, className: "lm-fac-icon", iconSize: null, iconAnchor: [9, 9] });
      // Leaflet reads a string tooltip as HTML: hand it a text node so a name stays text.
      L.marker([r[0], r[1]], { icon: icon, title: LMF.text(r[3]), keyboard: false })
        .bindTooltip(document.createTextNode(LMF.text(r[3]))).addTo(group);
    });
    return group;
  }
  function drawPlaces(body) {
    var group = L.layerGroup();
    body.counties.forEach(function (c) {
      L.marker([c.lat, c.lon], { interactive: false, keyboard: false,
        icon: L.divIcon({ html: el("span", "", c.name), className: "lm-place lm-place-county", iconSize: null }) }).addTo(group);
    });
    body.zones.forEach(function (zn) {
      var box = el("div");
      box.appendChild(el("b", "", zn.short_name));
      if (zn.parcels) box.appendChild(el("span", "lm-place-sub", " 熟地 " + fmt(zn.parcels, 0) + " 宗 · " + mu(zn.area_mu) + " 亩"));
      L.marker([zn.lat, zn.lon], { keyboard: false, title: LMF.text(zn.name + "（" + zn.level_label + zn.kind + "）"),
        icon: L.divIcon({ html: box, className: "lm-place lm-place-zone" + (zn.parcels ? "" : " lm-place-empty"), iconSize: null }) })
        .on("click", function () { moveMap(function () { LM.map.setView([zn.lat, zn.lon], Math.max(LM.map.getZoom(), 13)); }); })
        .addTo(group);
    });
    var maxMu = Math.max.apply(null, body.cities.map(function (c) { return c.area_mu; }).concat([1]));
    body.cities.forEach(function (c) {
      var box = el("div", "lm-city");
      var dot = el("span", "lm-city-dot");
      var d = Math.round(14 + 30 * Math.sqrt(c.area_mu / maxMu));
      dot.style.width = dot.style.height = d + "px";
      box.appendChild(dot);
      var text = el("span", "lm-city-text");
      text.appendChild(el("b", "", c.name));
      text.appendChild(el("span", "lm-place-sub", c.parcels ? "熟地 " + fmt(c.parcels, 0) + " 宗 · " + mu(c.area_mu) + " 亩" : "暂无公开熟地"));
      box.appendChild(text);
      var m = L.marker([c.lat, c.lon], { title: c.name + "：查看熟地清单",
        icon: L.divIcon({ html: box, className: "lm-place lm-place-city", iconSize: null, iconAnchor: [d / 2, d / 2] }) });
      m.on("click", function () { showCity(c); });
      m.on("keypress", function (e) { if (e.originalEvent.key === "Enter") showCity(c); });
      m.addTo(group);
    });
    return group;
  }
  // A city's ready land: zoom to it, filter the parcels to it, list its largest sites.
  function showCity(c) {
    moveMap(function () { LM.map.fitBounds([[c.bbox[1], c.bbox[0]], [c.bbox[3], c.bbox[2]]]); });
    var f = $("lm-filters");
    if (f && f.elements.city) { f.elements.city.value = c.code; applyFilters(); }
    fillCard('<h2 class="h6 mb-1">' + esc(c.name) + "熟地</h2>" +
      '<div class="small mb-2">' + (c.parcels ? fmt(c.parcels, 0) + " 宗，共 " + mu(c.area_mu) + " 亩" : "暂无公开熟地") + "</div>" +
      '<ol class="small lm-city-list" id="lm-city-list"></ol>');
    if (!c.parcels) return;
    var status = cfg.staff ? "" : "&status=ready";
    fetch("/api/parcels?city=" + encodeURIComponent(c.code) + status + "&limit=20")
      .then(function (r) { return r.ok ? r.json() : { features: [] }; })
      .then(function (body) {
        var list = $("lm-city-list");
        if (!list) return;
        (body.features || []).forEach(function (ft) {
          var p = ft.properties || {};
          var li = el("li");
          var a = el("a", "", (p.name || p.code) + "（" + mu(p.area_mu || 0) + " 亩）");
          a.href = "#";
          a.addEventListener("click", function (e) { e.preventDefault(); showCard(p.code, [], true); });
          li.appendChild(a);
          list.appendChild(li);
        });
      });
  }
  function loadPlaces() {
    fetch("/api/map/places").then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
      if (!body) return;
      LM.layers.places = drawPlaces(body).addTo(LM.map);
      if (LM.layers.control) LM.layers.control.addOverlay(LM.layers.places, "地名与熟地概况");
    });
  }

  // ---- the view in the URL: centre, zoom, filters, the open parcel ---------------------------
  // /map?lat=38.04&lon=114.51&z=12&city=130100&parcel=CODE reopens the same view; 分享 copies it.
  var FILTER_KEYS = ["status", "area_min", "area_max", "city", "land_use", "in_zone"];
  var openCode = null;
  function viewQuery() {
    var c = LM.map.getCenter();
    var q = { lat: c.lat.toFixed(5), lon: c.lng.toFixed(5), z: String(LM.map.getZoom()) };
    FILTER_KEYS.forEach(function (k) { if (LM.query[k] !== undefined && LM.query[k] !== "") q[k] = LM.query[k]; });
    if (openCode) q.parcel = openCode;
    return q;
  }
  function writeUrl() {
    if (!LM.map || cfg.page === "match") return;
    history.replaceState(null, "", location.pathname + qs(viewQuery()));
  }
  function readUrl() {
    var p = new URLSearchParams(location.search);
    var lat = parseFloat(p.get("lat")), lon = parseFloat(p.get("lon")), z = parseInt(p.get("z"), 10);
    var hasView = isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
    if (hasView) LM.map.setView([lat, lon], isFinite(z) ? Math.max(0, Math.min(z, 19)) : LM.map.getZoom());
    var f = $("lm-filters"), any = false;
    if (f) {
      FILTER_KEYS.forEach(function (k) {
        var v = p.get(k);
        if (v === null) return;
        any = true;
        if (k === "status") {
          var wanted = v.split(",");
          Array.prototype.forEach.call(f.querySelectorAll('input[name="status"]'), function (i) { i.checked = wanted.indexOf(i.value) >= 0; });
        } else if (f.elements[k]) {
          f.elements[k].value = v;
        }
      });
    }
    if (any) applyFilters();
    var code = p.get("parcel");
    if (code) showCard(code, [], !hasView);
  }
  function share() {
    writeUrl();
    var url = location.href, msg = $("lm-share-msg");
    var done = function () { if (msg) msg.textContent = "链接已复制，可粘贴发送"; };
    var fallback = function () {
      var box = $("lm-share-url");
      if (box) { box.value = url; box.hidden = false; box.select(); }
      if (msg) msg.textContent = "请复制上面的链接";
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(url).then(done, fallback);
    else fallback();
  }

  // ---- panel and card on phones ---------------------------------------------------------------
  // The card sits in the panel on a desktop. On a phone (landmatch.css) it opens as a bottom
  // sheet over the panel, so the filters and the match form stay where they were; 关闭 (or Esc)
  // closes it (a tap on the parcel opens it again).
  function fillCard(html) {
    var card = $("lm-card");
    card.innerHTML = '<div class="lm-sheet-bar"><span class="lm-sheet-grip" aria-hidden="true"></span>' +
      '<button type="button" class="btn btn-sm btn-light lm-sheet-close" aria-label="关闭详情">关闭 ×</button></div>' + html;
    card.querySelector(".lm-sheet-close").addEventListener("click", closeSheet);
    card.classList.remove("lm-sheet-closed");
    card.classList.add("lm-sheet");
    card.scrollTop = 0;
    return card;
  }
  // How much of the map's foot the open sheet hides (0 on a desktop), to fit a parcel above it.
  function sheetOverlap() {
    var c = $("lm-card");
    if (!c || getComputedStyle(c).position !== "fixed") return 0;
    return Math.max(0, LM.map.getContainer().getBoundingClientRect().bottom - c.getBoundingClientRect().top);
  }
  function closeSheet() {
    var c = $("lm-card");
    if (c && c.classList.contains("lm-sheet")) { c.classList.remove("lm-sheet"); c.classList.add("lm-sheet-closed"); }
  }
  // Leaflet drops a change of zoom asked for while a zoom animates (Map._tryAnimatedZoom): a
  // parcel picked from a city's list during the city's zoom would not be shown. Such a move
  // waits for the animation's end ("zoomanim" starts one, "zoomend" ends it).
  var zooming = false;
  function moveMap(move) {
    if (zooming) LM.map.once("zoomend", move);
    else move();
  }
  function togglePanel() { var p = $("lm-panel"); if (p) p.classList.toggle("lm-open"); setTimeout(function () { LM.map.invalidateSize(); }, 250); }

  LM.init = function (map, layers, config) {
    cfg = config;
    LM.map = map;
    LM.layers = layers;
    L.control.scale({ imperial: false }).addTo(map);  // metric only (公里/米)
    LM.query = Object.assign({}, cfg.defaultQuery || {});  // the page built the first URL with it
    var f = $("lm-filters");
    if (f) {
      f.addEventListener("submit", function (e) { e.preventDefault(); applyFilters(); });
      f.addEventListener("reset", function () { setTimeout(applyFilters, 0); });
    }
    var s = $("lm-search");
    if (s) s.addEventListener("submit", search);
    var m = $("lm-match");
    if (m) m.addEventListener("submit", runMatch);
    var t = $("lm-toggle");
    if (t) t.addEventListener("click", togglePanel);
    document.addEventListener("keydown", function (e) { if (e.key === "Escape") closeSheet(); });
    zoomClass();
    map.on("zoomend", zoomClass);
    map.on("zoomanim", function () { zooming = true; });
    map.on("zoomend", function () { zooming = false; });
    if (cfg.facilities) {
      layers.facilities = drawFacilities(cfg.facilities).addTo(map);
      if (layers.control) layers.control.addOverlay(layers.facilities, "设施（港口、机场、物流等）");
    }
    if (cfg.page !== "match") loadPlaces();
    var sh = $("lm-share");
    if (sh) sh.addEventListener("click", share);
    if (cfg.page === "match") drawSites();
    else {
      map.on("click", identify);
      readUrl();
      map.on("moveend", writeUrl);
    }
    setTimeout(function () { map.invalidateSize(); }, 0);
  };
})();
