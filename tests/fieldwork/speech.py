"""A stand-in for the browser's speech synthesis, put in a page before its scripts run:
it has the voices a test gives it and records each utterance (text, language, voice and
when it was spoken), finishing each a moment later as a real voice would."""
from __future__ import annotations

import json


def speech_stub(voices=(("Test English", "en-GB"),)) -> str:
    listed = json.dumps([{"name": name, "lang": lang, "default": i == 0, "localService": True,
                          "voiceURI": name} for i, (name, lang) in enumerate(voices)])
    return """
window.__spoken = [];
window.__voices = %s;
window.SpeechSynthesisUtterance = function (text) { this.text = text; };
if (window.speechSynthesis) {
  window.speechSynthesis.getVoices = function () { return window.__voices; };
  window.speechSynthesis.cancel = function () {};
  window.speechSynthesis.speak = function (u) {
    window.__spoken.push({ text: u.text, lang: u.lang, voice: u.voice && u.voice.name, at: performance.now() });
    setTimeout(function () { if (u.onend) { u.onend(); } }, 40);
  };
}
""" % listed
