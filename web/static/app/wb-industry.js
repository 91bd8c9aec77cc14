/* The industry picker (workbench/_industry.html): typing a code or a name offers matches from
   /api/industries; a known code shows its path (门类 › 大类 › 中类 › 小类) under the field. */
(function () {
  "use strict";
  function attach(box) {
    var input = box.querySelector("input");
    var list = box.querySelector("datalist");
    var hint = box.querySelector("[data-industry-path]");
    var timer = null;
    var seq = 0;
    function show(text) { if (hint) { hint.textContent = text; } }
    function lookup() {
      var q = input.value.trim();
      var mine = ++seq;
      if (!q) { list.replaceChildren(); show("门类、大类、中类或小类均可，可带门类字母"); return; }
      window.fetch("/api/industries?limit=15&q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (body) {
          if (mine !== seq) { return; }
          list.replaceChildren();
          body.items.forEach(function (it) {
            var opt = document.createElement("option");
            opt.value = it.full_code;
            opt.label = it.full_code + " " + it.name + "（" + it.level_name + "）";
            opt.textContent = opt.label;
            list.appendChild(opt);
          });
          var hit = body.items.find(function (it) {
            return it.full_code === q.toUpperCase() || it.code === q;
          });
          show(hit ? hit.path : (body.items.length ? "请从列表中选择一个代码" : "未找到匹配的行业"));
        })
        .catch(function () { show("行业查询暂不可用"); });
    }
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(lookup, 200);
    });
    if (input.value.trim()) { lookup(); }
  }
  document.querySelectorAll("[data-industry-picker]").forEach(attach);
})();
