/* Match results and the comparison: [data-print] prints the page; the compare form allows at
   most five ticked sites (the server checks again). */
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("[data-print]") : null;
    if (btn) { window.print(); }
  });
  var form = document.getElementById("compare-form");
  if (!form) { return; }
  var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="codes"]'));
  var button = form.querySelector("button[type=submit]");
  function sync() {
    var n = boxes.filter(function (b) { return b.checked; }).length;
    boxes.forEach(function (b) { b.disabled = !b.checked && n >= 5; });
    button.disabled = n === 0;
    button.textContent = n ? "对比所选 " + n + " 宗" : "勾选地块后对比";
  }
  boxes.forEach(function (b) { b.addEventListener("change", sync); });
  sync();
})();
