/* Figures as landmatch.numbers writes them (docs/domain.md §0), for every page's script (the
   map pages load this file before landmatch.js, the workbench's base before its scripts):
   thousands separators, 亩 to 0.01, 公顷 to 0.0001, and 亿元 beside a 万元 sum of 1 亿元 or
   more. One definition of each; scripts call LMF.num(…), LMF.mu(…) and so on.
   And user text as every script shows it (LMF.text), as the templates' finalize does
   (landmatch/display.py): the bidirectional controls taken out, so a name reads in the
   order it was typed. */
(function () {
  "use strict";
  /* 12,345.6: thousands separators, at most nd decimals (1 unless given). */
  function num(n, nd) {
    return Number(n).toLocaleString("zh-CN", { maximumFractionDigits: nd === undefined ? 1 : nd });
  }
  /* landmatch.display.BIDI_CONTROLS (tests/web/test_bidi_browser.py checks they agree). */
  var BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  window.LMF = {
    num: num,
    /* User text to show (textContent, a text node, a title, or before esc()): a string,
       "" for null/undefined, without the bidirectional controls. */
    text: function (v) { return String(v === null || v === undefined ? "" : v).replace(BIDI, ""); },
    /* An area in 亩: to 0.01 (numbers.mu). */
    mu: function (mu) { return num(mu, 2); },
    /* An area in 亩 written in 公顷 (15 亩 = 1 公顷): to 0.0001 (numbers.ha), "245.92 公顷". */
    ha: function (mu) { return num(mu / 15, 4) + " 公顷"; },
    /* A sum in 万元 written in 亿元 when it is 1 亿元 (10,000 万元) or more, else "": "2.36 亿元". */
    yi: function (wan) { return Math.abs(wan) >= 10000 ? num(wan / 10000, 2) + " 亿元" : ""; }
  };
})();
