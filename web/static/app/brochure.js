/* The brochure page's print button (no inline handlers: the pages' CSP forbids them). */
(function () {
  "use strict";
  var b = document.querySelector("[data-print]");
  if (b) b.addEventListener("click", function () { window.print(); });
})();
