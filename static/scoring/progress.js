// Polls a background computation's status and moves the progress bar; opens its results when done.
(function () {
  "use strict";
  var box = document.getElementById("run");
  if (!box) { return; }
  var bar = document.getElementById("run-progress");
  var message = document.getElementById("run-message");
  var url = box.getAttribute("data-status-url");
  var hint = box.querySelector(".no-js-hint");
  var failed = box.getAttribute("data-failed-text") || "Nothing was changed; the previous scores still stand.";
  if (hint) { hint.hidden = true; }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.value = s.progress;
        bar.textContent = s.progress + "%";
        message.textContent = s.message + " (" + s.progress + "%)";
        if (s.status === "done") {
          window.location.assign(s.next);
        } else if (s.status === "failed") {
          message.textContent = (s.message.indexOf("Stopped") === 0 ? s.message + " " : "The computation failed. ") +
            failed;
        } else {
          window.setTimeout(poll, 800);
        }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  poll();
})();
