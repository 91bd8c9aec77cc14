/* The monitoring dashboard (/dashboard): reads /api/monitoring/summary for the page's city
   (data-city on #lm-dash; empty = the whole province) with the session cookie, draws every
   chart with ECharts (from npm). The date and city are a plain GET form: every view has its URL. */
(function () {
  "use strict";
  var MU = 10000 / 15;
  var charts = {};
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(window.location.search);
  var city = $("lm-dash").getAttribute("data-city") || "";
  // Without a date: the server's today (Beijing's calendar date; the browser's UTC date is a
  // day behind from 00:00 to 08:00).
  $("asof").value = /^\d{4}-\d{2}-\d{2}$/.test(params.get("as_of") || "") ? params.get("as_of")
    : $("lm-dash").getAttribute("data-today");
  function query() {
    return "?as_of=" + encodeURIComponent($("asof").value) + (city ? "&city=" + encodeURIComponent(city) : "");
  }

  function showLogin(message) {
    $("login").hidden = false; $("main-dash").hidden = true;
    $("msg").textContent = message || "";
  }
  function api(path) {
    return fetch(path, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401 || r.status === 403) {
        return r.json().then(function (p) { throw { auth: true, message: p.detail || p.title }; });
      }
      if (!r.ok) { throw { message: "请求失败：" + r.status }; }
      return r;
    });
  }
  function chart(id) {
    if (!charts[id]) { charts[id] = echarts.init($(id), null, { renderer: "canvas" }); }
    return charts[id];
  }
  // Areas as landmatch.numbers.mu writes them (docs/domain.md §0): 亩 to 0.01, separators.
  function mu(m2) { return Math.round(m2 / MU * 100) / 100; }

  function draw(d) {
    var cities = Object.keys(d.cities);
    var names = cities.map(function (c) { return d.cities[c]; });
    var statuses = Object.keys(d.statuses);
    var byKey = {};
    d.area_by_city_status.forEach(function (r) { byKey[r.city_code + "/" + r.status] = r.area_m2; });
    chart("c-city").setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 50, right: 10, bottom: 60, top: 30 },
      xAxis: { type: "category", data: names, axisLabel: { rotate: 40 } }, yAxis: { type: "value", name: "亩" },
      series: statuses.map(function (s) {
        return { name: d.statuses[s], type: "bar", stack: "a",
                 data: cities.map(function (c) { return mu(byKey[c + "/" + s] || 0); }) };
      })
    });
    var stages = d.idle_stages.filter(function (s) { return s.stage !== "normal"; });
    chart("c-funnel").setOption({
      tooltip: { trigger: "item", formatter: "{b}：{c} 宗" }, legend: { top: 0 },
      series: [{ type: "funnel", top: 30, bottom: 10, sort: "none", minSize: "20%",
                 label: { formatter: "{b} {c}" },
                 data: stages.map(function (s) { return { name: s.label, value: s.count }; }) }]
    });
    var tCities = []; var seen = {};
    d.targets.forEach(function (t) { if (!seen[t.city_code]) { seen[t.city_code] = 1; tCities.push(t.city_code); } });
    function tval(kind, field) {
      return tCities.map(function (c) {
        var t = d.targets.filter(function (x) { return x.city_code === c && x.kind === kind; })[0];
        return t ? t[field] : 0;
      });
    }
    chart("c-targets").setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 50, right: 10, bottom: 60, top: 40 },
      xAxis: { type: "category", data: tCities.map(function (c) { return d.cities[c] || c; }), axisLabel: { rotate: 40 } },
      yAxis: { type: "value", name: "亩" },
      series: [
        { name: "闲置目标", type: "bar", data: tval("idle", "target_mu") },
        { name: "闲置完成", type: "bar", data: tval("idle", "done_mu") },
        { name: "批而未供目标", type: "bar", data: tval("unsupplied", "target_mu") },
        { name: "批而未供完成", type: "bar", data: tval("unsupplied", "done_mu") }
      ]
    });
    var bands = d.unsupplied_bands;
    chart("c-age").setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 50, right: 10, bottom: 60, top: 30 },
      xAxis: { type: "category", data: d.unsupplied_age.map(function (r) { return r.city_name; }), axisLabel: { rotate: 40 } },
      yAxis: { type: "value", name: "亩" },
      series: bands.map(function (b) {
        return { name: b.label, type: "bar", stack: "age",
                 data: d.unsupplied_age.map(function (r) { return mu(r[b.band + "_m2"]); }) };
      })
    });
    var zs = d.zones.filter(function (z) { return z.score !== null; }).slice(0, 20).reverse();
    chart("c-zones").setOption({
      tooltip: { trigger: "axis" }, grid: { left: 180, right: 20, top: 10, bottom: 20 },
      xAxis: { type: "value", max: 1 },
      yAxis: { type: "category", data: zs.map(function (z) { return z.rank + ". " + z.name; }) },
      series: [{ type: "bar", name: "综合得分", data: zs.map(function (z) { return z.score; }) }]
    });
    var total = d.idle_stages.reduce(function (a, s) {
      return a + (["idle_fee", "recoverable", "gov_caused"].indexOf(s.stage) >= 0 ? s.area_mu : 0); }, 0);
    var unsup = bands.reduce(function (a, b) { return a + b.area_mu; }, 0);
    // The headline figures: [label, figure, the same in another unit (or "")], as text.
    var cards = $("cards");
    cards.textContent = "";
    [
      ["统计日期", d.as_of, ""],
      ["闲置土地", LMF.mu(total) + " 亩", LMF.ha(total)],
      ["应征闲置费", LMF.num(d.idle_fee_total_wan) + " 万元", LMF.yi(d.idle_fee_total_wan)],
      ["批而未供", LMF.mu(unsup) + " 亩", LMF.ha(unsup)],
      ["逾期处置步骤", LMF.num(d.alerts.length, 0) + " 项", ""]
    ].forEach(function (c) {
      var card = document.createElement("div");
      card.className = "lm-dash-card";
      card.appendChild(document.createTextNode(c[0]));
      var b = document.createElement("b");
      b.textContent = c[1];
      card.appendChild(b);
      if (c[2]) {
        var sub = document.createElement("span");
        sub.className = "lm-dash-sub";
        sub.textContent = c[2];
        card.appendChild(sub);
      }
      cards.appendChild(card);
    });
    var rows = d.alerts.map(function (a) {
      var td = function (v) { var e = document.createElement("td"); e.textContent = LMF.text(v); return e.outerHTML; };
      return "<tr>" + td(a.city_name) + td(a.parcel_code) + td(a.step_label) + td(a.due_on) + td(a.days_overdue) + "</tr>";
    }).join("");
    $("alerts").innerHTML = '<table class="table table-sm"><tr><th scope="col">城市</th><th scope="col">地块</th><th scope="col">当前步骤</th><th scope="col">期限</th><th scope="col">逾期天数</th></tr>' +
      (rows || '<tr><td colspan="5">无逾期步骤</td></tr>') + "</table>";
  }

  function load() {
    api("/api/monitoring/summary" + query()).then(function (r) { return r.json(); })
      .then(function (d) {
        $("login").hidden = true; $("main-dash").hidden = false; $("msg").textContent = "";
        draw(d);
        Object.keys(charts).forEach(function (k) { charts[k].resize(); });
        // When the figures were computed; while newer ones are computed, ask again shortly.
        var at = new Date(d.computed_at).toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
        // An earlier day's figures are shown while the asked day's are computed.
        var note = !d.updating ? "" : d.figures_as_of !== d.as_of
          ? "（暂显示 " + d.figures_as_of + " 的统计，正在统计 " + d.as_of + " 的数据……）"
          : "（数据已有变更，正在重新统计……）";
        $("dash-fresh").textContent = "统计时间：" + at + note;
        if (d.updating) { setTimeout(load, 3000); }
        document.body.setAttribute("data-ready", "1");
      })
      .catch(function (e) {
        if (e.auth) { showLogin(e.message || "登录已过期"); }
        else { $("msg").textContent = e.message || String(e); }
      });
  }
  // 导出 Excel: a background job (POST /api/monitoring/exports), its progress polled from the
  // job's status_url, then the finished workbook downloaded from its file_url.
  function csrfHeaders() {
    var m = document.querySelector('meta[name="csrf-token"]');
    var h = { "Content-Type": "application/json" };
    if (m) { h["X-CSRF-Token"] = m.getAttribute("content"); }
    return h;
  }
  function showJob(job) {
    var bar = $("export-progress");
    bar.hidden = false;
    bar.querySelector(".progress-bar").style.width = job.percent + "%";
    bar.querySelector(".progress").setAttribute("aria-valuenow", job.percent);
    var text = job.state_label + (job.stage ? "：" + job.stage : "");
    if (job.total) { text += "（已写 " + LMF.num(job.done, 0) + " / " + LMF.num(job.total, 0) + " 行）"; }
    $("export-status").textContent = text;
  }
  function pollJob(url) {
    api(url).then(function (r) { return r.json(); }).then(function (job) {
      showJob(job);
      if (job.state === "done") {
        $("export").disabled = false;
        var a = $("export-file");
        a.href = job.file_url; a.hidden = false;
        a.textContent = "下载 " + LMF.text(job.filename) + "（" + (job.size / 1048576).toFixed(1) + " MB）";
        a.click();
      } else if (job.state === "failed") {
        $("export").disabled = false;
        $("msg").textContent = job.error || "导出失败";
      } else {
        setTimeout(function () { pollJob(url); }, 1000);
      }
    }).catch(function (e) { $("export").disabled = false; $("msg").textContent = e.message || "导出失败"; });
  }
  $("export").addEventListener("click", function () {
    $("msg").textContent = "";
    $("export").disabled = true;
    $("export-file").hidden = true;
    var body = { as_of: $("asof").value || null, city: city || null };
    fetch("/api/monitoring/exports", { method: "POST", headers: csrfHeaders(), body: JSON.stringify(body), credentials: "same-origin" })
      .then(function (r) {
        return r.json().then(function (b) {
          if (!r.ok) { throw { message: b.detail || b.title || ("导出失败：" + r.status) }; }
          return b;
        });
      })
      .then(function (job) { showJob(job); pollJob(job.status_url); })
      .catch(function (e) { $("export").disabled = false; $("msg").textContent = e.message || "导出失败"; });
  });
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  load();
})();
