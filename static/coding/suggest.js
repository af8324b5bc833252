// Suggested codes in the workbench's panel: "Accept" applies one as the coder's own
// coding (to the selection in the answer, else the whole answer), then the panel reloads.
(function () {
  "use strict";
  var root = document.querySelector("[data-workbench]");
  var panel = document.getElementById("panel");
  if (!root || !panel || !root.dataset.acceptUrl) { return; }
  var text = document.getElementById("answer-text");
  var status = document.getElementById("workbench-status");
  var token = document.querySelector("meta[name=csrf-token]").getAttribute("content");

  function say(message, isError) {
    status.textContent = message;
    status.className = "workbench-status" + (isError ? " error" : "");
  }

  panel.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-accept-code]");
    if (!b) { return; }
    var body = { code: b.dataset.acceptCode, valence: b.dataset.acceptValence };
    if (text.selectionEnd > text.selectionStart) { body.start = text.selectionStart; body.end = text.selectionEnd; }
    b.disabled = true;
    fetch(root.dataset.acceptUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { throw new Error(data.error || ("The server answered " + r.status)); }
        say("Accepted the suggested " + body.code + " (" + body.valence.replace("_", " ") + ").");
        return fetch(root.dataset.panelUrl, { credentials: "same-origin" });
      });
    }).then(function (r) { return r.text(); })
      .then(function (html) { panel.innerHTML = html; text.focus(); })
      .catch(function (err) { b.disabled = false; say(err.message, true); });
  });
}());
