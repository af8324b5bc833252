// The sheet of survey links: a Print button (hidden when scripts do not run).
(function () {
  "use strict";
  document.querySelectorAll("button.print-button").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
