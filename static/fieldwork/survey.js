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

  // Answers are kept as they change, not only on Next: a moment after each change the
  // page's form is posted to the save address, and once more when the page is left
  // (closing the tab included). Sequences follow the server's clock, so an older save
  // never overwrites a newer one.
  document.querySelectorAll("form.survey-form[data-save-url]").forEach(function (form) {
    var url = form.getAttribute("data-save-url");
    var offset = Number(form.getAttribute("data-server-now")) - Date.now();
    var status = form.querySelector(".save-status");
    var timer = null;
    var dirty = false;
    function payload() {
      var data = new FormData(form);
      data.delete("go");
      data.set("seq", String(Date.now() + offset));
      return data;
    }
    // The messages come in the page's language, on the status line's data attributes.
    function words(name, english) {
      return (status && status.getAttribute("data-" + name)) || english;
    }
    function say(text) {
      if (!status) { return; }
      status.hidden = false;
      status.textContent = text;
    }
    function save() {
      timer = null;
      if (!dirty) { return; }
      dirty = false;
      fetch(url, { method: "POST", body: payload(), credentials: "same-origin" }).then(function (r) {
        if (r.ok) { say(words("saved", "Your answers are saved.")); }
        else if (r.status === 422) { say(words("invalid", "Some answers need checking before they can be saved.")); }
      }).catch(function () { dirty = true; say(words("retry", "Not saved yet: we will try again.")); });
    }
    function changed() {
      dirty = true;
      if (timer) { window.clearTimeout(timer); }
      timer = window.setTimeout(save, 800);
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", function () { dirty = false; if (timer) { window.clearTimeout(timer); } });
    // Leaving the page: send what is unsaved in a way the browser finishes after the tab closes.
    function flush() {
      if (!dirty || !navigator.sendBeacon) { return; }
      dirty = false;
      navigator.sendBeacon(url, payload());
    }
    window.addEventListener("pagehide", flush);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { flush(); }
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
