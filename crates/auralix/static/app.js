// Auralix dashboard: the little JS it needs. Everything works without it except copy.
(function () {
  "use strict";
  // Swatches: colours come from data attributes because the CSP forbids inline styles.
  document.querySelectorAll("[data-color]").forEach(function (el) {
    el.style.background = el.getAttribute("data-color");
  });
  // Copy buttons: copy the text of the element named by data-copy.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      var status = button.parentElement.querySelector(".copy-status");
      var done = function () { if (status) status.textContent = button.getAttribute("data-copied") || "Copied"; };
      var text = target ? target.textContent : "";
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { select(target); });
      } else {
        select(target);
        try { document.execCommand("copy"); done(); } catch (e) { /* selection stays for manual copy */ }
      }
    });
  });
  function select(el) {
    if (!el) return;
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  // Times: the server writes UTC; show them in the reader's own zone and language.
  var lang = document.documentElement.lang || undefined;
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var date = new Date(el.getAttribute("datetime"));
    if (isNaN(date.getTime())) return;
    try {
      el.title = el.textContent;
      el.textContent = date.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
    } catch (e) { /* an old browser keeps the UTC text */ }
  });
  // Destructive forms ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
})();
