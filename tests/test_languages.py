"""The interface's catalogues: every marked word translated, placeholders kept, .mo files current."""
from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from impactmodel.paths import ROOT
from impactmodel.languages import DEFAULT, LANGUAGES, TRANSLATIONS_DIR

KEYWORDS = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2)}
METHODS = [("impactmodel/**.py", "python"), ("templates/**.html", "jinja2")]


def _marked_words() -> set[str]:
    """Every message the code and templates mark for translation, as `make translations` finds it."""
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT, METHODS, keywords=KEYWORDS, options_map={"**.html": {}}):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalogue(code: str):
    with open(TRANSLATIONS_DIR / code / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=code)


def test_every_marked_word_is_translated_in_every_language():
    marked = _marked_words()
    assert "Send my answers" in marked and "Please tick the answers shown." in marked
    for code in LANGUAGES:
        if code == DEFAULT:
            continue
        catalogue = _catalogue(code)
        untranslated = sorted(w for w in marked if not catalogue.get(w) or not catalogue.get(w).string
                              or catalogue.get(w).fuzzy)
        assert untranslated == [], f"{code}: run `make translations` and translate {untranslated[:5]}"
        # Placeholders such as %(minutes)s are the same in both languages.
        assert [(m.id, errors) for m, errors in catalogue.check()] == []
        assert "fluent" in catalogue.header_comment


def _plain(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_the_compiled_catalogues_match_their_sources():
    for code in LANGUAGES:
        if code == DEFAULT:
            continue
        source = {_plain(m.id): _plain(m.string) for m in _catalogue(code) if m.id and m.string}
        with open(TRANSLATIONS_DIR / code / "LC_MESSAGES" / "messages.mo", "rb") as fh:
            compiled = {_plain(m.id): _plain(m.string) for m in read_mo(fh) if m.id}
        assert compiled == source, f"{code}: messages.mo is out of date: run `make translations`"
