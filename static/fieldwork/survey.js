// Respondents' pages: read-aloud, focus on the error summary, answers kept as they change, one submit per click.
(function () {
  "use strict";

  // Read aloud with the browser's own speech synthesis, in the page's language. A question
  // is read in parts (the question, its hint, then each option on its own) with a pause
  // between them, each option outlined while it is read; a small button beside an option
  // reads just that option. Buttons stay hidden unless the device has a voice for the
  // page's language: no voice, no button (an English voice reading Welsh helps no one).
  var PAUSE_MS = 700;
  var synth = window.speechSynthesis;
  var buttons = document.querySelectorAll("button.read-aloud");
  var run = 0;          // the reading in progress; a newer one makes older callbacks do nothing
  var pauseTimer = null;

  function pageLang() { return (document.documentElement.lang || "en-GB").toLowerCase(); }

  function voiceFor(lang) {
    var voices = synth.getVoices() || [];
    var primary = lang.split("-")[0];
    var near = null;
    for (var i = 0; i < voices.length; i++) {
      var voiceLang = String(voices[i].lang || "").toLowerCase().replace("_", "-");
      if (voiceLang === lang) { return voices[i]; }
      if (!near && voiceLang.split("-")[0] === primary) { near = voices[i]; }
    }
    return near;
  }

  function textOf(element) {
    var clone = element.cloneNode(true);
    clone.querySelectorAll("button, .visually-hidden, svg, textarea, input").forEach(function (n) { n.remove(); });
    return clone.textContent.replace(/\s+/g, " ").trim();
  }

  // The parts of a target, in reading order: marked parts, else its blocks, else itself.
  function partsOf(target) {
    var parts = target.querySelectorAll("[data-read-part]");
    if (!parts.length) { parts = target.querySelectorAll("h2, h3, p, li"); }
    var list = parts.length ? Array.prototype.slice.call(parts) : [target];
    return list.map(function (el) { return { element: el, text: textOf(el) }; })
               .filter(function (part) { return part.text; });
  }

  function stop() {
    run += 1;
    if (pauseTimer) { window.clearTimeout(pauseTimer); pauseTimer = null; }
    synth.cancel();
    buttons.forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
    document.querySelectorAll(".reading").forEach(function (el) { el.classList.remove("reading"); });
  }

  function highlight(element, on) {
    var box = element.closest(".choice, .face-choice") || element;
    box.classList.toggle("reading", on);
  }

  function read(button, voice) {
    var target = document.getElementById(button.getAttribute("data-read"));
    if (!target) { return; }
    var parts = partsOf(target);
    var mine = run;
    var i = 0;
    button.setAttribute("aria-pressed", "true");
    function next() {
      pauseTimer = null;
      if (mine !== run) { return; }
      if (i >= parts.length) { button.setAttribute("aria-pressed", "false"); return; }
      var part = parts[i++];
      var utterance = new SpeechSynthesisUtterance(part.text);
      utterance.lang = document.documentElement.lang || "en-GB";
      utterance.voice = voice;
      utterance.rate = 0.9;
      highlight(part.element, true);
      utterance.onend = function () {
        highlight(part.element, false);
        if (mine === run) { pauseTimer = window.setTimeout(next, PAUSE_MS); }
      };
      utterance.onerror = function () {
        highlight(part.element, false);
        if (mine === run) { button.setAttribute("aria-pressed", "false"); }
      };
      synth.speak(utterance);
    }
    next();
  }

  if (synth && typeof window.SpeechSynthesisUtterance === "function") {
    var showButtons = function () {
      var voice = voiceFor(pageLang());
      buttons.forEach(function (button) { button.hidden = !voice; });
    };
    buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", function () {
        var voice = voiceFor(pageLang());
        var speaking = button.getAttribute("aria-pressed") === "true";
        stop();
        if (!speaking && voice) { read(button, voice); }
      });
    });
    showButtons();
    // Many browsers load their voices a moment after the page.
    if (synth.addEventListener) { synth.addEventListener("voiceschanged", showButtons); }
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
