// The coding workbench: select a span in the answer and apply codes, by keyboard alone.
// Offsets sent to the server are the textarea's own (UTF-16 code units, line breaks as
// LF); the server converts them to character positions in the stored answer.
(function () {
  "use strict";
  var root = document.querySelector("[data-workbench]");
  if (!root) { return; }
  var text = document.getElementById("answer-text");
  var search = document.getElementById("code-search");
  var list = document.getElementById("code-options");
  var options = Array.prototype.slice.call(list.querySelectorAll("[role=option]"));
  var panel = document.getElementById("panel");
  var status = document.getElementById("workbench-status");
  var selStatus = document.getElementById("selection-status");
  var token = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var active = -1;

  function say(message, isError) {
    status.textContent = message;
    status.className = "workbench-status" + (isError ? " error" : "");
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var err = new Error(data.error || ("The server answered " + r.status));
          err.status = r.status;
          err.data = data;
          throw err;
        }
        return data;
      });
    });
  }

  function refresh() {
    return fetch(root.dataset.panelUrl, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) { panel.innerHTML = html; });
  }

  function selection() {
    return { start: text.selectionStart, end: text.selectionEnd };
  }

  function describeSelection() {
    var s = selection();
    if (s.end > s.start) {
      var chosen = text.value.slice(s.start, s.end);
      selStatus.textContent = "Selected: “" + (chosen.length > 80 ? chosen.slice(0, 80) + "…" : chosen) + "”";
    } else {
      selStatus.textContent = "Nothing selected: a code applies to the whole answer.";
    }
  }
  ["select", "keyup", "mouseup"].forEach(function (ev) { text.addEventListener(ev, describeSelection); });
  // The answer is read-only, but not a readonly textarea: Chromium gives a readonly one no
  // caret, so Shift+arrow selection would not work. Refuse every edit instead.
  ["beforeinput", "paste", "cut", "drop"].forEach(function (ev) {
    text.addEventListener(ev, function (e) { e.preventDefault(); });
  });

  function apply(code, valence) {
    var s = selection();
    var body = { code: code, valence: valence };
    if (s.end > s.start) { body.start = s.start; body.end = s.end; }
    return post(root.dataset.addUrl, body).then(function (data) {
      say("Applied " + code + " (" + valence.replace("_", " ") + ").");
      return refresh().then(function () { return data; });
    }).catch(function (err) { say(err.message, true); });
  }

  // --- Codebook search -------------------------------------------------------------
  // A combobox: the listbox opens while the search box has focus and closes on Escape or
  // when focus leaves; aria-expanded and aria-activedescendant say so to screen readers.
  function visible() { return options.filter(function (o) { return !o.hidden; }); }
  function isOpen() { return !list.hidden; }

  function setActive(index) {
    var shown = visible();
    options.forEach(function (o) { o.classList.remove("active"); o.setAttribute("aria-selected", "false"); });
    if (!shown.length || !isOpen()) { active = shown.length ? 0 : -1; search.removeAttribute("aria-activedescendant"); return; }
    active = Math.max(0, Math.min(index, shown.length - 1));
    var o = shown[active];
    o.classList.add("active");
    o.setAttribute("aria-selected", "true");
    search.setAttribute("aria-activedescendant", o.id);
    o.scrollIntoView({ block: "nearest" });
  }

  function open() {
    if (isOpen()) { return; }
    list.hidden = false;
    search.setAttribute("aria-expanded", "true");
    setActive(Math.max(active, 0));
  }

  function close() {
    list.hidden = true;
    search.setAttribute("aria-expanded", "false");
    setActive(active);
  }

  // The server ranks the codes (codesearch.js). Keys queue behind the ranking of what was
  // typed before them, so "type, Arrow down, Enter" acts on the list the typing produced.
  var pending = Promise.resolve();
  function queue(step) { pending = pending.then(step, step); return pending; }

  function show(results) {
    var byKey = {};
    options.forEach(function (o) { byKey[o.dataset.code + " " + o.dataset.valence] = o; o.hidden = true; });
    var ranked = [];
    results.forEach(function (r) {
      var o = byKey[r.code + " " + r.valence];
      if (o) { o.hidden = false; ranked.push(o); list.appendChild(o); }
    });
    options = ranked.concat(options.filter(function (o) { return o.hidden; }));
    setActive(0);
  }

  function filter() {
    var query = search.value;
    var results = window.impactmodelCodeSearch.rank(query);
    return queue(function () {
      return results.then(function (r) { if (query === search.value) { show(r); } })
        .catch(function (err) { say(err.message, true); });
    });
  }
  search.addEventListener("focus", open);
  search.addEventListener("blur", close);
  search.addEventListener("input", function () { open(); filter(); });
  search.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      queue(function () { if (isOpen()) { setActive(active + 1); } else { open(); } });
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      queue(function () { if (isOpen()) { setActive(active - 1); } else { open(); } });
    } else if (e.key === "Enter") {
      e.preventDefault();
      queue(function () {
        var o = isOpen() ? visible()[active] : null;
        if (o) {
          apply(o.dataset.code, o.dataset.valence).then(function () { search.value = ""; filter(); });
        }
      });
    } else if (e.key === "Escape") {
      e.preventDefault();
      if (isOpen() && search.value) { search.value = ""; filter(); }
      close();
      text.focus();
    }
  });
  // Clicking an option must not take focus from the search box (that would close the list).
  list.addEventListener("mousedown", function (e) { e.preventDefault(); });
  list.addEventListener("click", function (e) {
    var o = e.target.closest("[role=option]");
    if (o) { apply(o.dataset.code, o.dataset.valence); }
  });
  root.addEventListener("click", function (e) {
    var b = e.target.closest("button.freq");
    if (b) { apply(b.dataset.code, b.dataset.valence); }
  });

  // --- Selecting by keyboard ---------------------------------------------------------
  // A word is letters, digits, apostrophes and hyphens; punctuation stays outside a span.
  var WORD = /[\p{L}\p{N}\p{M}'’_-]/u;
  function wordEnd(from) {
    var v = text.value, i = from;
    while (i < v.length && !WORD.test(v[i])) { i++; }
    while (i < v.length && WORD.test(v[i])) { i++; }
    return i;
  }
  function wordBack(from, floor) {
    var v = text.value, i = from;
    while (i > floor && !WORD.test(v[i - 1])) { i--; }
    while (i > floor && WORD.test(v[i - 1])) { i--; }
    return i;
  }
  function sentenceAt(pos) {
    var v = text.value, a = pos, b = pos;
    while (a > 0 && !/[.!?\n]/.test(v[a - 1])) { a--; }
    while (a < v.length && /\s/.test(v[a])) { a++; }
    while (b < v.length && !/[.!?\n]/.test(v[b])) { b++; }
    if (b < v.length && v[b] !== "\n") { b++; }
    return [a, Math.max(a, b)];
  }

  text.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var s = selection();
    if (e.key === "]") {
      e.preventDefault();
      var start = s.start;
      if (s.end <= s.start) {   // nothing selected yet: start at the next word
        while (start < text.value.length && !WORD.test(text.value[start])) { start++; }
      }
      text.setSelectionRange(start, wordEnd(Math.max(s.end, start)));
    } else if (e.key === "[") {
      e.preventDefault();
      text.setSelectionRange(s.start, wordBack(s.end, s.start));
    } else if (e.key === ".") {
      e.preventDefault();
      var r = sentenceAt(s.start);
      text.setSelectionRange(r[0], r[1]);
    } else { return; }
    describeSelection();
  });

  // --- Codings list: edit, remove and undo a removal ---------------------------------
  function codingUrl(id, suffix) {
    return root.dataset.codingUrl.replace(/\/0$/, "/" + id) + (suffix || "");
  }
  var undoButton = document.getElementById("undo-removal");
  var undoUrl = null;
  function removed(data) {
    undoUrl = data.undo || null;
    undoButton.hidden = !undoUrl;
    say("Coding removed. Press u to undo.");
    return refresh();
  }
  function undo() {
    if (!undoUrl) { return; }
    var url = undoUrl;
    undoUrl = null;
    undoButton.hidden = true;
    post(url).then(function (data) { say("Removal undone: " + data.coding.code + " is back."); return refresh(); })
      .then(function () { text.focus(); })
      .catch(function (err) { say(err.message, true); });
  }
  undoButton.addEventListener("click", undo);
  panel.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-action]");
    if (!b) { return; }
    var item = b.closest("[data-coding-id]");
    var id = item.dataset.codingId;
    if (b.dataset.action === "delete") {
      post(codingUrl(id, "/delete")).then(removed)
        .then(function () { text.focus(); }).catch(function (err) { say(err.message, true); });
    } else if (b.dataset.action === "show") {
      text.focus();
      text.setSelectionRange(Number(item.dataset.start), Number(item.dataset.end));
      describeSelection();
    } else if (b.dataset.action === "span") {
      var s = selection();
      if (s.end <= s.start) { say("Select the new span in the answer first.", true); return; }
      post(codingUrl(id), { start: s.start, end: s.end }).then(function () { say("Span changed."); return refresh(); })
        .catch(function (err) { say(err.message, true); });
    }
  });
  panel.addEventListener("change", function (e) {
    var sel = e.target.closest("select[data-action=valence]");
    if (!sel) { return; }
    var id = sel.closest("[data-coding-id]").dataset.codingId;
    post(codingUrl(id), { valence: sel.value }).then(function () { say("Valence changed."); return refresh(); })
      .catch(function (err) { say(err.message, true); });
  });
  panel.addEventListener("keydown", function (e) {
    var item = e.target.closest && e.target.closest("li.coding");
    if (!item || e.target !== item) { return; }
    if (e.key === "Delete" || e.key === "Backspace") {
      e.preventDefault();
      post(codingUrl(item.dataset.codingId, "/delete")).then(removed)
        .then(function () { var first = panel.querySelector("li.coding"); (first || text).focus(); })
        .catch(function (err) { say(err.message, true); });
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      var sib = e.key === "ArrowDown" ? item.nextElementSibling : item.previousElementSibling;
      if (sib) { sib.focus(); }
    }
  });
  // Memo forms (add, remove) go as JSON, then the panel refreshes.
  panel.addEventListener("submit", function (e) {
    var form = e.target.closest("form[data-json-form]");
    if (!form) { return; }
    e.preventDefault();
    var data = {};
    new FormData(form).forEach(function (v, k) { if (k !== "csrf_token") { data[k] = v; } });
    post(form.action, data).then(function () { say("Memo saved."); return refresh(); })
      .catch(function (err) { say(err.message, true); });
  });
  panel.addEventListener("keydown", function (e) {
    if (e.target.id === "memo-text" && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      e.target.form.requestSubmit();
    }
  });

  // --- Page-wide keys ---------------------------------------------------------------
  function typing(el) {
    if (!el) { return false; }
    if (el === text) { return false; }   // edits are refused: its letters are free for shortcuts
    return el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName);
  }
  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(document.activeElement)) { return; }
    var k = e.key;
    if (k === "/") { e.preventDefault(); search.focus(); search.select(); }
    else if (/^[1-9]$/.test(k)) {
      var b = root.querySelector('button.freq[data-key="' + k + '"]');
      if (b) { e.preventDefault(); apply(b.dataset.code, b.dataset.valence); }
    }
    else if (k === "n" && root.dataset.nextUrl) { e.preventDefault(); window.location.assign(root.dataset.nextUrl); }
    else if (k === "p" && root.dataset.prevUrl) { e.preventDefault(); window.location.assign(root.dataset.prevUrl); }
    else if (k === "d" && root.dataset.doneUrl) { e.preventDefault(); finish(false); }
    else if (k === "u" && undoUrl) { e.preventDefault(); undo(); }
    else if (k === "m") { var memo = document.getElementById("memo-text"); if (memo) { e.preventDefault(); memo.focus(); } }
    else if (k === "c") { var first = panel.querySelector("li.coding"); if (first) { e.preventDefault(); first.focus(); } }
    else if (k === "?") { e.preventDefault(); var help = document.getElementById("keys-help"); help.open = !help.open; }
  });

  // --- Finishing a blind second coding ----------------------------------------------
  // With no code applied the server asks first (409, "confirm"): the dialog opens with
  // "Go back" focused, so a second stray key press does not finish the answer uncoded.
  var confirmEmpty = document.getElementById("confirm-empty");
  function finish(noCodeApplies) {
    post(root.dataset.doneUrl, noCodeApplies ? { no_code_applies: true } : {})
      .then(function (data) { window.location.assign(data.next); })
      .catch(function (err) {
        if (err.data && err.data.confirm && confirmEmpty) { confirmEmpty.showModal(); }
        else { say(err.message, true); }
      });
  }
  if (confirmEmpty) {
    confirmEmpty.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-confirm]");
      if (!b) { return; }
      confirmEmpty.close();
      if (b.dataset.confirm === "none") { finish(true); } else { text.focus(); }
    });
    confirmEmpty.addEventListener("keydown", function (e) { e.stopPropagation(); });
    var doneForm = document.querySelector("form.done-form");
    doneForm.addEventListener("submit", function (e) {
      e.preventDefault();
      finish(doneForm.elements.no_code_applies.checked);
    });
  }

  filter();
  describeSelection();
}());
