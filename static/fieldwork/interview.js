// Interview autosave: every change is kept in localStorage at once, then sent to the
// server (debounced) as JSON with the CSRF token in a header. A dropped connection or a
// reload loses nothing: unsent answers are restored from localStorage and sent again.
// Each write carries a sequence (milliseconds, always increasing), so the server can
// refuse a late, older write that would overwrite a newer answer.
(function () {
  "use strict";
  var form = document.getElementById("interview-form");
  if (!form || form.dataset.locked) { return; }
  var url = form.dataset.saveUrl;
  var storeKey = "impactmodel.interview." + form.dataset.response;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var statusBox = document.getElementById("save-status");
  var DEBOUNCE = 700;
  var timer = null;
  var inflight = null;
  var retryDelay = 1000;
  var lastSeq = 0;
  var pending = readStore();   // question key -> {key, text, value, note, seq, invalid?}

  function readStore() {
    try { return JSON.parse(window.localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  function writeStore() {
    try {
      if (Object.keys(pending).length) { window.localStorage.setItem(storeKey, JSON.stringify(pending)); }
      else { window.localStorage.removeItem(storeKey); }
    } catch (e) { /* private mode or full: the server copy still counts */ }
  }
  // Sequences follow the server's clock, not this device's, so two devices (or a laptop
  // with a wrong clock) order their edits correctly.
  var clockOffset = form.dataset.serverNow ? parseInt(form.dataset.serverNow, 10) - Date.now() : 0;
  function nextSeq() { lastSeq = Math.max(Date.now() + clockOffset, lastSeq + 1); return lastSeq; }
  function setStatus(kind, text) {
    statusBox.className = "save-status" + (kind ? " " + kind : "");
    statusBox.textContent = text;
  }
  function named(q, name) { return q.querySelectorAll('[name="' + name + '"]'); }
  function checkedValue(q, name) {
    var c = q.querySelector('[name="' + name + '"]:checked');
    return c ? c.value : null;
  }
  function field(q, name) { return q.querySelector('[name="' + name + '"]'); }

  function stateOf(q) {
    var key = q.dataset.key, type = q.dataset.type, text = null, value = null;
    if (type === "text" || type === "long_text") {
      text = field(q, key).value;
    } else if (type === "multi_choice") {
      value = [];
      named(q, key).forEach(function (i) { if (i.checked) { value.push(i.value); } });
      text = field(q, key + "-other") ? field(q, key + "-other").value : null;
    } else if (type === "level") {
      var lv = checkedValue(q, key);
      value = lv === null ? null : parseFloat(lv);
    } else if (type === "feature_ratings") {
      value = {};
      q.querySelectorAll("[data-feature]").forEach(function (fs) {
        var code = fs.getAttribute("data-feature");
        var r = checkedValue(fs, key + "-" + code);
        if (r !== null) { value[code] = r; }
      });
    } else {
      value = checkedValue(q, key);
      text = field(q, key + "-other") ? field(q, key + "-other").value : null;
    }
    var note = field(q, key + "-note");
    return { key: key, text: text, value: value, note: note ? note.value : null };
  }

  function applyState(q, st) {
    var key = q.dataset.key, type = q.dataset.type;
    if (type === "text" || type === "long_text") {
      field(q, key).value = st.text || "";
    } else if (type === "multi_choice") {
      named(q, key).forEach(function (i) { i.checked = (st.value || []).indexOf(i.value) >= 0; });
    } else if (type === "level") {
      named(q, key).forEach(function (i) { i.checked = st.value !== null && parseFloat(i.value) === st.value; });
    } else if (type === "feature_ratings") {
      q.querySelectorAll("[data-feature]").forEach(function (fs) {
        var code = fs.getAttribute("data-feature");
        named(fs, key + "-" + code).forEach(function (i) { i.checked = (st.value || {})[code] === i.value; });
      });
    } else {
      named(q, key).forEach(function (i) { i.checked = i.value === st.value; });
    }
    if (type !== "text" && type !== "long_text" && field(q, key + "-other")) {
      field(q, key + "-other").value = st.text || "";
    }
    if (field(q, key + "-note")) { field(q, key + "-note").value = st.note || ""; }
  }

  function questionFor(key) { return form.querySelector('.question[data-key="' + key + '"]'); }
  function showError(key, message) {
    var q = questionFor(key);
    if (!q) { return; }
    var box = q.querySelector(".q-status");
    q.classList.toggle("has-error", !!message);
    if (box) { box.textContent = message ? "Not saved: " + message : ""; box.classList.toggle("bad", !!message); }
  }

  function changed(q) {
    var st = stateOf(q);
    st.seq = nextSeq();
    pending[st.key] = st;
    writeStore();
    showError(st.key, "");
    setStatus("saving", "Saving…");
    schedule(DEBOUNCE);
  }

  function schedule(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(flush, ms);
  }

  function sendable() {
    return Object.keys(pending).map(function (k) { return pending[k]; })
      .filter(function (p) { return !p.invalid; })
      .map(function (p) { return { key: p.key, text: p.text, value: p.value, note: p.note, seq: p.seq }; });
  }

  function settle() {
    var invalid = Object.keys(pending).filter(function (k) { return pending[k].invalid; }).length;
    if (invalid) { setStatus("error", invalid + " answer" + (invalid > 1 ? "s" : "") + " not saved: see the message beside " + (invalid > 1 ? "them" : "it")); }
    else if (Object.keys(pending).length) { schedule(200); }
    else { setStatus("", "All answers saved"); }
  }

  function retryLater() {
    setStatus("offline", "Offline — will retry");
    schedule(retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  // Send what is pending; resolves true when nothing sendable is left.
  function flush() {
    window.clearTimeout(timer);
    if (inflight) { return inflight.then(flush); }
    var items = sendable();
    if (!items.length) { settle(); return Promise.resolve(true); }
    setStatus("saving", "Saving…");
    inflight = fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ answers: items })
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        return { status: response.status, body: body || {}, json: !!body && !response.redirected };
      });
    }).then(function (res) {
      inflight = null;
      if (res.status === 200 && res.json && res.body.saved) {
        retryDelay = 1000;
        var stale = res.body.stale || {};
        // Drop what the server saved; keep anything typed since. An answer the server
        // holds a newer copy of (changed elsewhere) stays in this browser, not sent again.
        items.forEach(function (it) {
          var p = pending[it.key];
          if (!p || p.seq !== it.seq) { return; }
          if (it.key in stale) { p.invalid = true; showError(it.key, "changed elsewhere since this page was loaded: reload to see the newer answer (what you typed here is kept in this browser)"); }
          else { delete pending[it.key]; }
        });
        writeStore();
        settle();
        return Object.keys(pending).length === 0;
      }
      if (res.status === 422 && res.body.errors) {
        Object.keys(res.body.errors).forEach(function (key) {
          if (pending[key]) { pending[key].invalid = true; }
          showError(key, res.body.errors[key]);
        });
        writeStore();
        return flush();   // the valid ones still go
      }
      if (res.status === 409) {
        pending = {};
        writeStore();
        setStatus("error", "This interview is complete: changes are no longer saved");
        return false;
      }
      if (res.status === 400 || res.status === 403 || res.status === 401) {
        setStatus("error", "Not saved: your sign-in or the page has expired. Your answers are kept in this browser; reload the page to send them.");
        return false;
      }
      retryLater();
      return false;
    }).catch(function () {
      inflight = null;
      retryLater();
      return false;
    });
    return inflight;
  }

  // Restore unsent answers kept in this browser, unless the server has a newer copy.
  Object.keys(pending).forEach(function (key) {
    var q = questionFor(key);
    var serverSeq = q && q.dataset.seq ? parseInt(q.dataset.seq, 10) : 0;
    if (!q || pending[key].seq <= serverSeq) { delete pending[key]; return; }
    applyState(q, pending[key]);
    delete pending[key].invalid;
    lastSeq = Math.max(lastSeq, pending[key].seq);
  });
  form.querySelectorAll(".question[data-seq]").forEach(function (q) {
    if (q.dataset.seq) { lastSeq = Math.max(lastSeq, parseInt(q.dataset.seq, 10)); }
  });
  writeStore();
  if (Object.keys(pending).length) { setStatus("saving", "Restoring unsaved answers…"); schedule(50); }

  function onEdit(event) {
    var q = event.target.closest(".question[data-key]");
    if (q) { changed(q); }
  }
  form.addEventListener("input", onEdit);
  form.addEventListener("change", onEdit);
  window.addEventListener("online", function () { retryDelay = 1000; flush(); });
  window.addEventListener("pagehide", function () { writeStore(); });

  // With scripts, "Save all answers" and "Mark complete" first send what is pending.
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    flush();
  });
  var complete = document.getElementById("complete-form");
  if (complete) {
    complete.addEventListener("submit", function (event) {
      if (complete.dataset.ready === "1") { return; }
      event.preventDefault();
      flush().then(function (ok) {
        if (ok && Object.keys(pending).length === 0) {
          complete.dataset.ready = "1";
          complete.submit();
        } else {
          setStatus("error", "Some answers are not saved yet, so the interview cannot be completed. Check the messages, or wait until you are back online.");
        }
      });
    });
  }
})();
