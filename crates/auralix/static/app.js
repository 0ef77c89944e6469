// Auralix dashboard: the little JS it needs. Everything works without it except copy
// and file uploads.
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
  // Destructive forms ask first (delegated, so rows added later ask too).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-confirm")) return;
    if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });

  // Forms that wait on a model say so, and cannot be sent twice meanwhile.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.hasAttribute || !form.hasAttribute("data-busy")) return;
    var button = form.querySelector("button[type=submit]");
    if (!button || button.disabled) return;
    button.setAttribute("data-label", button.textContent);
    // After this turn, so the form is still sent with its button.
    window.setTimeout(function () {
      button.disabled = true;
      button.textContent = form.getAttribute("data-busy");
    }, 0);
  });
  // Back to a page kept in the browser's cache: the buttons work again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[data-label]").forEach(function (button) {
      button.disabled = false;
      button.textContent = button.getAttribute("data-label");
      button.removeAttribute("data-label");
    });
  });

  // AI settings: the model field shows the chosen provider's default; the model's own
  // settings are dimmed while the agent uses the built-in answerer.
  var aiForm = document.querySelector("form[data-ai-form]");
  if (aiForm) {
    var providerSelect = aiForm.querySelector("[data-provider-select]");
    var modelInput = aiForm.querySelector("[data-model-input]");
    var llmFields = aiForm.querySelector("[data-llm-fields]");
    var syncAi = function () {
      var option = providerSelect && providerSelect.options[providerSelect.selectedIndex];
      if (modelInput) modelInput.placeholder = (option && option.getAttribute("data-default-model")) || "";
      var mode = aiForm.querySelector("input[name=mode]:checked");
      if (llmFields) llmFields.classList.toggle("off", !mode || mode.value !== "llm");
    };
    aiForm.addEventListener("change", syncAi);
    syncAi();
  }

  // Knowledge base: uploads with progress, and status updates while documents are read.
  var docs = document.querySelector("table[data-documents]");
  if (docs) knowledgeBase(docs);

  function knowledgeBase(table) {
    var tbody = table.tBodies[0];
    var listUrl = table.getAttribute("data-list-url");
    var actions = table.getAttribute("data-actions");
    var units = (table.getAttribute("data-units") || "B,KB,MB,GB").split(",");
    var timer = null;
    // Upload entries by document id, told when their document is ready or failed.
    var uploads = {};

    function label(status) {
      return table.getAttribute("data-label-" + status) || status;
    }
    function kindLabel(kind) {
      if (!kind) return "";
      if (kind === "text") return table.getAttribute("data-kind-text") || "Text";
      if (kind === "markdown") return "Markdown";
      return kind.toUpperCase();
    }
    function size(bytes) {
      var value = Math.max(0, bytes || 0), unit = 0;
      while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
      var digits = unit === 0 || value >= 100 || value % 1 === 0 ? 0 : 1;
      var shown;
      try {
        shown = value.toLocaleString(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
      } catch (e) { shown = value.toFixed(digits); }
      return shown + " " + units[unit];
    }
    function rowFor(id) {
      for (var i = 0; i < tbody.rows.length; i++) {
        if (tbody.rows[i].getAttribute("data-doc-id") === id) return tbody.rows[i];
      }
      return null;
    }
    function setText(row, selector, text) {
      var el = row.querySelector(selector);
      if (el) el.textContent = text;
    }
    // Brings a row up to date with the API's view of the document.
    function update(row, doc) {
      row.setAttribute("data-status", doc.status);
      var badge = row.querySelector(".doc-status .badge");
      if (badge) {
        badge.className = "badge s-" + doc.status;
        badge.textContent = label(doc.status);
      }
      setText(row, ".doc-error", doc.status === "failed" ? (doc.error || "") : "");
      setText(row, ".doc-chunks", String(doc.chunks || 0));
      setText(row, ".doc-kind", kindLabel(doc.kind));
      var upload = uploads[doc.id];
      if (upload && doc.status !== "processing") {
        delete uploads[doc.id];
        upload.item.classList.toggle("failed", doc.status === "failed");
        upload.state.textContent = label(doc.status) + (doc.status === "failed" && doc.error ? ": " + doc.error : "");
      }
    }
    function addRow(doc) {
      var template = document.getElementById("document-row");
      if (!template || rowFor(doc.id)) return;
      var row = template.content.firstElementChild.cloneNode(true);
      row.setAttribute("data-doc-id", doc.id);
      setText(row, ".doc-title", doc.title);
      setText(row, ".doc-file", doc.file_name && doc.file_name !== doc.title ? doc.file_name : "");
      setText(row, ".doc-size", size(doc.size_bytes));
      var time = row.querySelector("time");
      if (time) {
        var created = new Date(doc.created_at);
        time.setAttribute("datetime", doc.created_at);
        try {
          time.textContent = created.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
        } catch (e) { time.textContent = doc.created_at; }
      }
      row.querySelectorAll("form[data-doc-action]").forEach(function (form) {
        form.setAttribute("action", actions + "/" + encodeURIComponent(doc.id) + "/" + form.getAttribute("data-doc-action"));
      });
      update(row, doc);
      tbody.insertBefore(row, tbody.firstChild);
      table.closest(".table-card").hidden = false;
      var empty = document.querySelector("[data-documents-empty]");
      if (empty) empty.hidden = true;
    }

    // While anything is processing, fetch the list every 1.5 s and update rows in place.
    function processing() {
      return !!tbody.querySelector('tr[data-status="processing"]');
    }
    function schedule(delay) {
      if (timer === null && processing()) timer = window.setTimeout(poll, delay || 1500);
    }
    function fetchPage(cursor, found) {
      var url = listUrl + "?limit=200" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
      return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw response.status;
          return response.json();
        })
        .then(function (body) {
          var all = found.concat(body.items || []);
          return body.next_cursor ? fetchPage(body.next_cursor, all) : all;
        });
    }
    function poll() {
      timer = null;
      fetchPage(null, []).then(function (items) {
        items.forEach(function (doc) {
          var row = rowFor(doc.id);
          if (row) update(row, doc);
        });
        schedule();
      }, function (status) {
        // Signed out or the agent is gone: stop; otherwise try again a little later.
        if (status === 401 || status === 403 || status === 404) return;
        schedule(5000);
      });
    }
    schedule();

    // Uploads: each file goes to the JSON API on its own, one after another.
    var zone = document.querySelector("[data-upload-url]");
    if (!zone) return;
    var input = zone.querySelector("input[type=file]");
    var list = zone.parentElement.querySelector(".uploads");
    var uploadUrl = zone.getAttribute("data-upload-url");
    var maxBytes = Number(zone.getAttribute("data-max-bytes")) || 0;
    var queue = [];
    var busy = false;
    var say = function (key) { return zone.getAttribute("data-" + key) || ""; };

    function enqueue(files) {
      Array.prototype.forEach.call(files, function (file) {
        var item = document.createElement("li");
        item.className = "upload";
        var name = document.createElement("span");
        name.className = "upload-name";
        name.textContent = file.name;
        var bar = document.createElement("progress");
        bar.max = 100;
        bar.value = 0;
        var state = document.createElement("span");
        state.className = "upload-state small";
        state.textContent = say("waiting");
        item.appendChild(name);
        item.appendChild(bar);
        item.appendChild(state);
        list.appendChild(item);
        if (maxBytes && file.size > maxBytes) {
          fail(item, state, say("too-large"));
          return;
        }
        queue.push({ file: file, item: item, bar: bar, state: state });
      });
      next();
    }
    function fail(item, state, reason) {
      item.classList.add("failed");
      state.textContent = say("failed") + " " + reason;
    }
    function next() {
      if (busy || !queue.length) return;
      busy = true;
      var job = queue.shift();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", uploadUrl);
      xhr.setRequestHeader("Accept", "application/json");
      job.state.textContent = say("uploading");
      job.item.classList.add("active");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) job.bar.value = Math.round((event.loaded / event.total) * 100);
      });
      xhr.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        job.item.classList.remove("active");
        if (xhr.status === 202 && body && body.id) {
          job.bar.value = 100;
          job.item.classList.add("done");
          job.state.textContent = say("uploaded");
          uploads[body.id] = job;
          addRow(body);
          schedule();
        } else {
          fail(job.item, job.state, (body && body.detail) || String(xhr.status));
        }
        done();
      });
      xhr.addEventListener("error", function () {
        job.item.classList.remove("active");
        fail(job.item, job.state, say("network"));
        done();
      });
      var data = new FormData();
      data.append("file", job.file, job.file.name);
      xhr.send(data);
    }
    function done() {
      busy = false;
      next();
    }

    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files || []);
      input.value = "";
      if (files.length) enqueue(files);
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "dragend"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        if (!zone.contains(event.relatedTarget)) zone.classList.remove("over");
      });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("over");
      if (event.dataTransfer && event.dataTransfer.files.length) enqueue(event.dataTransfer.files);
    });
    // A file dropped beside the zone must not replace the page with itself.
    window.addEventListener("dragover", function (event) { event.preventDefault(); });
    window.addEventListener("drop", function (event) { event.preventDefault(); });
  }
})();
