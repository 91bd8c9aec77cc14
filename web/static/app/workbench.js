/* The workbench's script: no inline handlers anywhere (the pages' CSP allows scripts from
   this site only). Behaviour hangs on data attributes:
   - every htmx request and every fetch made through LMW.fetch carries the page's CSRF token
     (meta[name=csrf-token]) in the X-CSRF-Token header;
   - <form data-confirm="question"> asks before submitting;
   - <button data-copy="#input"> copies that input's value. */
(function () {
  "use strict";
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  document.addEventListener("htmx:configRequest", function (ev) {
    if (csrf()) { ev.detail.headers["X-CSRF-Token"] = csrf(); }
  });
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var q = form && form.getAttribute && form.getAttribute("data-confirm");
    if (q && !window.confirm(q)) { ev.preventDefault(); }
  });
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("[data-copy]") : null;
    if (!btn) { return; }
    var input = document.querySelector(btn.getAttribute("data-copy"));
    if (!input) { return; }
    input.select();
    var done = function () { btn.textContent = "已复制"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else { document.execCommand("copy"); done(); }
  });
  /* GeoMan (any map of a workbench page) names each toolbar button on its container's title:
     give the button itself that name, for screen readers, whenever a toolbar is (re)built. */
  var nameMapButtons = function () {
    var boxes = document.querySelectorAll(".leaflet-pm-toolbar .button-container[title]");
    Array.prototype.forEach.call(boxes, function (box) {
      var a = box.querySelector("a.leaflet-buttons-control-button");
      if (a && !a.getAttribute("aria-label")) { a.setAttribute("aria-label", box.getAttribute("title")); }
    });
  };
  if (window.MutationObserver) {
    new MutationObserver(nameMapButtons).observe(document.documentElement, { childList: true, subtree: true });
  }
  window.addEventListener("load", nameMapButtons);
  window.LMW = {
    csrf: csrf,
    /* fetch() with the session cookie and the CSRF header, for page scripts. */
    fetch: function (url, options) {
      options = options || {};
      options.credentials = "same-origin";
      options.headers = Object.assign({ "X-CSRF-Token": csrf() }, options.headers || {});
      return window.fetch(url, options);
    }
  };
})();
