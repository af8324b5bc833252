// Respondents' pages: read-aloud buttons, focus on the error summary, one submit per click.
(function () {
  "use strict";

  // Read aloud with the browser's own speech synthesis; buttons stay hidden without it.
  var synth = window.speechSynthesis;
  var buttons = document.querySelectorAll("button.read-aloud");
  if (synth && typeof window.SpeechSynthesisUtterance === "function") {
    buttons.forEach(function (button) {
      button.hidden = false;
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", function () {
        var speaking = button.getAttribute("aria-pressed") === "true";
        synth.cancel();
        buttons.forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
        if (speaking) { return; }
        var target = document.getElementById(button.getAttribute("data-read"));
        if (!target) { return; }
        var utterance = new SpeechSynthesisUtterance(textOf(target));
        utterance.lang = document.documentElement.lang || "en-GB";
        utterance.rate = 0.9;
        utterance.onend = utterance.onerror = function () { button.setAttribute("aria-pressed", "false"); };
        button.setAttribute("aria-pressed", "true");
        synth.speak(utterance);
      });
    });
  }

  // The words a listener needs: the question and its choices, not the button's own label.
  function textOf(element) {
    var clone = element.cloneNode(true);
    clone.querySelectorAll("button, .visually-hidden, svg, textarea, input").forEach(function (n) { n.remove(); });
    return clone.textContent.replace(/\s+/g, " ").trim();
  }

  // After a failed submit, take keyboard and screen-reader users straight to the problems.
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
  summary && summary.querySelectorAll("a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var question = document.getElementById(link.getAttribute("href").slice(1));
      var field = question && question.querySelector("input:not([type=hidden]), textarea, select");
      if (field) { event.preventDefault(); question.scrollIntoView(); field.focus(); }
    });
  });

  // A double click sends once (the server would store one response anyway).
  document.querySelectorAll("form.survey-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent === "1") { event.preventDefault(); return; }
      form.dataset.sent = "1";
      window.setTimeout(function () { form.dataset.sent = ""; }, 4000);
    });
  });
})();
