/* 我有意向: the inquiry dialog of the public map and the public match page.
 *
 * Any element with data-lm-inquiry="PARCEL_CODE" opens it (one listener on the document, so
 * buttons added later — a parcel card, a match site — need no wiring); optional attributes:
 * data-lm-name="地块名称" (shown in the title), data-lm-match="MATCH_ID" (the public match the
 * site came from). Scripts may call LM.inquiry.open({parcel, name, match}) instead.
 *
 * The form token comes from GET /api/inquiries/form when the dialog opens; the inquiry goes to
 * POST /api/inquiries without cookies (a public form: the signed token is its CSRF defence).
 * Everything typed or returned is put in the page as text. Plain ES2017, no build step. */
(function () {
  "use strict";

  var LM = (window.LM = window.LM || {});
  var FIELDS = [
    { name: "name", label: "姓名", type: "text", required: true, max: 50, autocomplete: "name" },
    { name: "company", label: "单位", type: "text", max: 100, autocomplete: "organization" },
    { name: "phone", label: "电话", type: "tel", max: 30, autocomplete: "tel" },
    { name: "email", label: "电子邮箱", type: "email", max: 254, autocomplete: "email" },
    { name: "message", label: "留言（项目情况、用地需求等）", type: "textarea", required: true, max: 2000 }
  ];
  var dialog = null, state = {};

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function $(sel) { return dialog.querySelector(sel); }

  function build() {
    dialog = el("dialog", { id: "lm-inquiry", "class": "lm-inquiry", "aria-labelledby": "lm-inq-title" });
    var form = el("form", { id: "lm-inq-form", novalidate: "" });
    var head = el("div", { "class": "d-flex justify-content-between align-items-start mb-2" });
    head.appendChild(el("h2", { id: "lm-inq-title", "class": "h6 mb-0" }, "我有意向"));
    var close = el("button", { type: "button", "class": "btn-close", "aria-label": "关闭" });
    close.addEventListener("click", function () { dialog.close(); });
    head.appendChild(close);
    dialog.appendChild(head);
    form.appendChild(el("p", { "class": "small text-muted mb-2", id: "lm-inq-parcel" }));
    FIELDS.forEach(function (f) {
      var box = el("div", { "class": "mb-2" });
      var id = "lm-inq-" + f.name;
      box.appendChild(el("label", { "class": "form-label small mb-0", "for": id }, f.label + (f.required ? " *" : "")));
      var input = f.type === "textarea" ? el("textarea", { rows: "4" }) : el("input", { type: f.type });
      input.id = id;
      input.name = f.name;
      input.className = "form-control form-control-sm";
      input.maxLength = f.max;
      if (f.autocomplete) input.setAttribute("autocomplete", f.autocomplete);
      input.setAttribute("aria-describedby", id + "-msg");
      box.appendChild(input);
      box.appendChild(el("div", { "class": "invalid-feedback", id: id + "-msg" }));
      form.appendChild(box);
    });
    form.appendChild(el("div", { "class": "form-text mb-2" }, "电话和电子邮箱至少填写一项。"));
    // The honeypot: hidden from people (and from assistive technology); robots fill it.
    var trap = el("div", { "class": "lm-inq-trap", "aria-hidden": "true" });
    trap.appendChild(el("label", { "for": "lm-inq-website" }, "网站（请留空）"));
    trap.appendChild(el("input", { id: "lm-inq-website", name: "website", type: "text", tabindex: "-1", autocomplete: "off" }));
    form.appendChild(trap);
    var consent = el("div", { "class": "form-check mb-2" });
    consent.appendChild(el("input", { id: "lm-inq-consent", name: "consent", type: "checkbox", "class": "form-check-input", "aria-describedby": "lm-inq-consent-msg" }));
    consent.appendChild(el("label", { "for": "lm-inq-consent", "class": "form-check-label small", id: "lm-inq-consent-text" }));
    consent.appendChild(el("div", { "class": "invalid-feedback", id: "lm-inq-consent-msg" }));
    form.appendChild(consent);
    form.appendChild(el("div", { "class": "alert alert-danger small py-1 px-2 d-none", id: "lm-inq-error", role: "alert" }));
    var send = el("button", { type: "submit", "class": "btn btn-success btn-sm", id: "lm-inq-send" }, "提交意向");
    form.appendChild(send);
    form.addEventListener("submit", submit);
    dialog.appendChild(form);
    var done = el("div", { id: "lm-inq-done", "class": "d-none", role: "status" });
    done.appendChild(el("p", { "class": "mb-2", id: "lm-inq-done-text" }));
    var ok = el("button", { type: "button", "class": "btn btn-primary btn-sm" }, "关闭");
    ok.addEventListener("click", function () { dialog.close(); });
    done.appendChild(ok);
    dialog.appendChild(done);
    document.body.appendChild(dialog);
  }

  function clearErrors() {
    Array.prototype.forEach.call(dialog.querySelectorAll(".is-invalid"), function (i) { i.classList.remove("is-invalid"); });
    Array.prototype.forEach.call(dialog.querySelectorAll(".invalid-feedback"), function (m) { m.textContent = ""; });
    var box = $("#lm-inq-error");
    box.textContent = "";
    box.classList.add("d-none");
  }
  function showError(text) {
    var box = $("#lm-inq-error");
    box.textContent = text;
    box.classList.remove("d-none");
  }
  function fieldError(field, reason) {
    var input = $("#lm-inq-" + field);
    if (!input) return false;
    input.classList.add("is-invalid");
    $("#lm-inq-" + field + "-msg").textContent = reason;
    return true;
  }

  function loadToken() {
    state.token = null;
    return fetch("/api/inquiries/form", { credentials: "omit", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(); return r.json(); })
      .then(function (b) { state.token = b.token; $("#lm-inq-consent-text").textContent = b.consent; })
      .catch(function () { showError("表单暂时无法加载，请稍后再试"); });
  }

  function submit(ev) {
    ev.preventDefault();
    clearErrors();
    var f = ev.target;
    var body = { token: state.token || "", parcel: state.parcel, consent: f.elements.consent.checked, website: f.elements.website.value };
    if (state.match) body.match_id = state.match;
    FIELDS.forEach(function (x) { body[x.name] = f.elements[x.name].value; });
    var send = $("#lm-inq-send");
    send.disabled = true;
    fetch("/api/inquiries", {
      method: "POST", credentials: "omit", cache: "no-store",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); })
      .then(function (res) {
        send.disabled = false;
        if (res.ok) {
          f.classList.add("d-none");
          $("#lm-inq-done-text").textContent = res.body.message;
          $("#lm-inq-done").classList.remove("d-none");
          return;
        }
        var shown = false;
        (res.body.errors || []).forEach(function (e) {
          // Every problem's errors are {field, reason} (landmatch/api/problems.py).
          if (fieldError(e.field || "", e.reason || "")) shown = true;
        });
        if (!shown || res.status !== 422) showError(res.body.detail || "提交失败，请稍后再试");
        // A used, stale or refused token: the next try gets a fresh one.
        if (res.status === 400 || res.status === 409) loadToken();
      })
      .catch(function () { send.disabled = false; showError("网络异常，提交失败，请稍后再试"); });
  }

  function open(opts) {
    if (!dialog) build();
    state = { parcel: opts.parcel, match: opts.match || null };
    var form = $("#lm-inq-form");
    form.reset();
    form.classList.remove("d-none");
    $("#lm-inq-done").classList.add("d-none");
    clearErrors();
    $("#lm-inq-parcel").textContent = LMF.text("意向地块：" + (opts.name ? opts.name + "（" + opts.parcel + "）" : opts.parcel));
    loadToken();
    dialog.showModal();
    $("#lm-inq-name").focus();
  }

  LM.inquiry = { open: open };
  document.addEventListener("click", function (ev) {
    var t = ev.target && ev.target.closest ? ev.target.closest("[data-lm-inquiry]") : null;
    if (!t) return;
    ev.preventDefault();
    open({ parcel: t.getAttribute("data-lm-inquiry"), name: t.getAttribute("data-lm-name"), match: t.getAttribute("data-lm-match") });
  });
})();
