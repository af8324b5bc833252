// The coding queue: j/k move through the answers, Enter opens the focused one.
(function () {
  "use strict";
  var links = Array.prototype.slice.call(document.querySelectorAll("[data-queue] a.queue-link"));
  if (!links.length) { return; }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var el = document.activeElement;
    if (el && /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName)) { return; }
    var i = links.indexOf(el);
    if (e.key === "j") { e.preventDefault(); links[Math.min(i + 1, links.length - 1)].focus(); }
    else if (e.key === "k") { e.preventDefault(); links[Math.max(i - 1, 0)].focus(); }
  });
}());
