/* The requirement form's weights: a preset fills the sliders; each slider shows its value and
   every criterion's share of the total (the engine normalises the weights the same way). */
(function () {
  "use strict";
  var box = document.getElementById("weights");
  if (!box) { return; }
  var presets = JSON.parse(box.getAttribute("data-presets") || "{}");
  var sliders = Array.prototype.slice.call(box.querySelectorAll("[data-weight]"));
  var preset = document.getElementById("f-preset");
  var custom = document.getElementById("f-custom_weights");
  function shares() {
    var total = sliders.reduce(function (s, el) { return s + Number(el.value); }, 0);
    sliders.forEach(function (el) {
      var c = el.getAttribute("data-weight");
      box.querySelector('[data-weight-value="' + c + '"]').textContent = Number(el.value).toFixed(1);
      box.querySelector('[data-share="' + c + '"]').textContent =
        total > 0 ? (100 * Number(el.value) / total).toFixed(1) + " %" : "—";
    });
  }
  preset.addEventListener("change", function () {
    var w = presets[preset.value] || {};
    sliders.forEach(function (el) {
      var c = el.getAttribute("data-weight");
      if (c in w) { el.value = w[c]; }
    });
    custom.checked = false;
    shares();
  });
  sliders.forEach(function (el) {
    el.addEventListener("input", function () { custom.checked = true; shares(); });
  });
  shares();
})();
