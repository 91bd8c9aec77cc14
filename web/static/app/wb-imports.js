/* The import wizard's pages: the drop zone (files dropped land in the form's own file input,
   which stays the keyboard's way in), the progress bar of a job running in the background
   (polls its progress; the page reloads when the job is done) and the map of the file's
   parcels coloured by what the import does with each. Names become text nodes. */
(function () {
  "use strict";
  var COLOURS = { created: "#2e7d32", updated: "#1565c0", unchanged: "#9e9e9e", rejected: "#c62828", checked: "#6c757d" };
  var LABELS = { created: "新建", updated: "更新", unchanged: "未变", rejected: "拒绝", checked: "已校验" };

  function listFiles(input, list) {
    if (!list) { return; }
    list.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (f) {
      var li = document.createElement("li");
      li.textContent = LMF.text(f.name) + "（" + Math.max(1, Math.round(f.size / 1024)).toLocaleString("zh-CN") + " KB）";
      list.appendChild(li);
    });
  }

  function dropZone() {
    var zone = document.getElementById("drop-zone");
    var input = document.getElementById("f-files");
    var list = document.getElementById("drop-list");
    if (!zone || !input) { return; }
    input.addEventListener("change", function () { listFiles(input, list); });
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.add("lm-drop-over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function () { zone.classList.remove("lm-drop-over"); });
    });
    zone.addEventListener("drop", function (ev) {
      ev.preventDefault();
      if (ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files.length) {
        input.files = ev.dataTransfer.files;
        listFiles(input, list);
      }
    });
  }

  function progress() {
    var card = document.getElementById("progress-card");
    if (!card) { return; }
    var url = card.getAttribute("data-progress-url");
    var bar = document.getElementById("job-progress-bar");
    var box = document.getElementById("job-progress");
    var text = document.getElementById("job-progress-text");
    function poll() {
      window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) { window.setTimeout(poll, 3000); return; }
          bar.style.width = p.percent + "%";
          bar.textContent = p.percent + "%";
          box.setAttribute("aria-valuenow", String(p.percent));
          text.textContent = p.stage + (p.total ? "：" + p.done.toLocaleString("zh-CN") + " / " + p.total.toLocaleString("zh-CN") + " 行" : "");
          if (p.running) { window.setTimeout(poll, 1000); } else { window.location.reload(); }
        }, function () { window.setTimeout(poll, 3000); });
    }
    window.setTimeout(poll, 500);
  }

  function map() {
    var el = document.getElementById("lm-import-map");
    if (!el) { return; }
    var cfg = JSON.parse(el.textContent);
    var m = window[cfg.map];
    if (!m) { return; }
    window.fetch(cfg.features, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (fc) {
        var layer = L.geoJSON(fc, {
          style: function (f) {
            var c = COLOURS[f.properties.action] || "#455a64";
            return { color: c, weight: 2, fillColor: c, fillOpacity: 0.35 };
          },
          onEachFeature: function (f, l) {
            var p = f.properties;
            l.bindTooltip(document.createTextNode(LMF.text("第 " + p.row + " 行 " + (p.code || "") + "：" + (LABELS[p.action] || p.action))));
          }
        }).addTo(m);
        if (fc.features.length) { m.fitBounds(layer.getBounds(), { padding: [20, 20], animate: false }); }
        window.LMW = window.LMW || {};
        LMW.importMap = { map: m, layer: layer, count: fc.features.length };
      });
  }

  function init() { dropZone(); progress(); map(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else { init(); }
})();
