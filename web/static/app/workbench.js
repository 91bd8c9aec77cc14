/* The workbench's script: no inline handlers anywhere (the pages' CSP allows scripts from
   this site only). Behaviour hangs on data attributes:
   - every htmx request and every fetch made through LMW.fetch carries the page's CSRF token
     (meta[name=csrf-token]) in the X-CSRF-Token header;
   - <form data-confirm="question"> asks before submitting;
   - a form whose files exceed the upload cap (meta[name=upload-max-mb], the server's 413)
     is not sent: the file field says so, at once, instead of after the upload;
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
  function uploadTooLarge(form) {
    var meta = document.querySelector('meta[name="upload-max-mb"]');
    var maxMb = meta ? parseFloat(meta.getAttribute("content")) : NaN;
    if (!(maxMb > 0) || !form.querySelectorAll) { return false; }
    var inputs = form.querySelectorAll('input[type="file"]');
    var total = 0;
    Array.prototype.forEach.call(inputs, function (input) {
      Array.prototype.forEach.call(input.files || [], function (f) { total += f.size; });
    });
    if (total <= maxMb * 1024 * 1024) { return false; }
    var input = inputs[0];
    var id = (input.id || "f-upload") + "-size-msg";
    var msg = document.getElementById(id);
    if (!msg) {
      msg = document.createElement("div");
      msg.id = id;
      msg.className = "invalid-feedback d-block";
      input.insertAdjacentElement("afterend", msg);
    }
    msg.textContent = "所选文件合计 " + (total / 1048576).toLocaleString("zh-CN", { maximumFractionDigits: 1 }) +
      " MB，超过单次上传上限 " + maxMb.toLocaleString("zh-CN") + " MB：请拆分后分批上传（文件未发送）";
    input.classList.add("is-invalid");
    input.setAttribute("aria-describedby", id);
    input.focus();
    return true;
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (uploadTooLarge(form)) { ev.preventDefault(); return; }
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
