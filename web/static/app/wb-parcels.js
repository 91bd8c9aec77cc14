/* The inventory list: select all on the page, the count of selected parcels on the bulk
   button, and a question before a bulk action is sent. */
(function () {
  "use strict";
  var all = document.getElementById("sel-all");
  var count = document.getElementById("sel-count");
  function boxes() { return document.querySelectorAll("input.lm-sel"); }
  function update() {
    var n = 0;
    boxes().forEach(function (b) { if (b.checked) { n += 1; } });
    if (count) { count.textContent = String(n); }
  }
  if (all) {
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      update();
    });
  }
  document.addEventListener("change", function (ev) {
    if (ev.target && ev.target.classList && ev.target.classList.contains("lm-sel")) { update(); }
  });
  var form = document.getElementById("bulk-form");
  if (form) {
    form.addEventListener("submit", function (ev) {
      var n = count ? count.textContent : "0";
      if (n === "0") { ev.preventDefault(); window.alert("请先勾选地块"); return; }
      if (!window.confirm("确定对所选 " + n + " 宗地块执行批量操作？")) { ev.preventDefault(); }
    });
  }
  update();
})();
