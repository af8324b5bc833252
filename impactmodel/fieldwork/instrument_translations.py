"""An instrument's words in other languages, as data beside it: ``<key>.<lang>.yaml``.

A translation file gives, for one instrument and one language, the text of the
instrument's title and introductions, of each section (by section key) and of each
question (by question key), with its options (by option id), features (by code) and
ratings (by id)::

    instrument: parent_survey
    language: cy
    review: Draft for review by a fluent Welsh speaker before real use.
    title: Arolwg rhieni a gofalwyr
    sections:
      support: {title: Y cymorth rydych chi'n ei gael}
    questions:
      support_helpful:
        label: Pa mor ddefnyddiol yw'r cymorth hwn wedi bod?
        options: {very: Defnyddiol iawn}

Translations are words only: ids, codes and question types stay in the instrument, so
an answer means the same in every language and a translation never makes a new
version. A translation may name only what the instrument has (a stale one stops the
app, naming the file); what it leaves out shows in English, and ``completeness`` says
which words are missing, so each instrument says which languages it is complete in.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from flask import current_app, has_app_context

from impactmodel.fieldwork import instruments as instruments_mod
from impactmodel.fieldwork.instruments import INSTRUMENTS_DIR, InstrumentDef, InstrumentError
from impactmodel.languages import DEFAULT, LANGUAGES

TOP_TEXT = ("title", "intro", "about", "parent_info", "consent")
SECTION_TEXT = ("title", "intro", "prompt")
QUESTION_TEXT = ("label", "child_label", "hint", "prompt", "other_label", "explain",
                 "required_message", "probes")
# The lists of a question whose items have words, and the field naming each item.
QUESTION_ITEMS = {"options": "id", "features": "code", "ratings": "id"}
FILE_FIELDS = {"instrument", "language", "review", *TOP_TEXT, "sections", "questions"}

WordPath = tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Translation:
    """One instrument's words in one language: path -> text (a list for probes)."""

    instrument: str
    language: str
    review: str
    text: dict[WordPath, Any]
    source: str


def words(definition: dict) -> dict[WordPath, Any]:
    """Every translatable piece of an instrument definition, by path."""
    out: dict[WordPath, Any] = {}
    for name in TOP_TEXT:
        if definition.get(name):
            out[(name,)] = definition[name]
    for s in definition["sections"]:
        for name in SECTION_TEXT:
            if s.get(name):
                out[("sections", s["key"], name)] = s[name]
        for q in s["questions"]:
            for name in QUESTION_TEXT:
                if q.get(name):
                    out[("questions", q["key"], name)] = q[name]
            for items, id_field in QUESTION_ITEMS.items():
                for item in q.get(items) or []:
                    out[("questions", q["key"], items, item[id_field])] = item["label"]
    return out


def _flatten(data: dict, source: str) -> dict[WordPath, Any]:
    out: dict[WordPath, Any] = {}
    for name in TOP_TEXT:
        if name in data:
            out[(name,)] = data[name]
    for skey, fields in (data.get("sections") or {}).items():
        if not isinstance(fields, dict):
            raise InstrumentError(f"{source}: section {skey!r} must be a mapping of its words")
        for name, text in fields.items():
            out[("sections", str(skey), str(name))] = text
    for qkey, fields in (data.get("questions") or {}).items():
        if not isinstance(fields, dict):
            raise InstrumentError(f"{source}: question {qkey!r} must be a mapping of its words")
        for name, text in fields.items():
            if name in QUESTION_ITEMS:
                if not isinstance(text, dict):
                    raise InstrumentError(f"{source}: question {qkey!r}: {name} must map each id to its words")
                for item_id, label in text.items():
                    out[("questions", str(qkey), name, str(item_id))] = label
            else:
                out[("questions", str(qkey), str(name))] = text
    return out


def _where(path: WordPath) -> str:
    if path[0] == "sections":
        return f"section {path[1]!r} {path[2]}"
    if path[0] == "questions":
        return f"question {path[1]!r} " + (f"{path[2]} {path[3]!r}" if len(path) == 4 else path[2])
    return path[0]


def parse_translation(text: str, source: str, idef: InstrumentDef) -> Translation:
    """Parse and check one translation file against its instrument; InstrumentError if wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InstrumentError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InstrumentError(f"{source}: expected a mapping with instrument, language and the words")
    extra = set(data) - FILE_FIELDS
    if extra:
        raise InstrumentError(f"{source}: unknown fields: {', '.join(sorted(map(str, extra)))}")
    if data.get("instrument") != idef.key:
        raise InstrumentError(f"{source}: 'instrument' must be {idef.key!r}, as the file name says")
    language = data.get("language")
    if language not in LANGUAGES or language == DEFAULT:
        raise InstrumentError(f"{source}: 'language' must be one of "
                              f"{', '.join(c for c in LANGUAGES if c != DEFAULT)}")
    if not isinstance(data.get("review"), str) or not data["review"].strip():
        raise InstrumentError(f"{source}: 'review' must say who has checked the words "
                              f"(or that a fluent speaker still has to)")
    english = words(idef.definition)
    text_by_path = _flatten(data, source)
    for path, value in text_by_path.items():
        if path not in english:
            raise InstrumentError(f"{source}: {_where(path)} is not in the instrument {idef.key!r}")
        if isinstance(english[path], list):
            if not (isinstance(value, list) and len(value) == len(english[path])
                    and all(isinstance(v, str) and v.strip() for v in value)):
                raise InstrumentError(f"{source}: {_where(path)} must be a list of "
                                      f"{len(english[path])} texts, as in the instrument")
        elif not isinstance(value, str) or not value.strip():
            raise InstrumentError(f"{source}: {_where(path)} must be text")
    return Translation(idef.key, language, data["review"].strip(), text_by_path, source)


def load_translations(instruments: dict[str, InstrumentDef],
                      directory: Path = INSTRUMENTS_DIR) -> dict[tuple[str, str], Translation]:
    """Every ``<key>.<lang>.yaml`` in ``directory``, checked, by (instrument key, language)."""
    out: dict[tuple[str, str], Translation] = {}
    for path in sorted(Path(directory).glob("*.*.yaml")):
        key, language = path.name[:-len(".yaml")].rsplit(".", 1)
        idef = instruments.get(key)
        if idef is None:
            raise InstrumentError(f"{path.name}: there is no instrument {key!r} to translate")
        translation = parse_translation(path.read_text(encoding="utf-8"), path.name, idef)
        if translation.language != language:
            raise InstrumentError(f"{path.name}: 'language' must be {language!r}, as the file name says")
        out[(key, language)] = translation
    return out


def completeness(idef: InstrumentDef, translation: Translation | None) -> list[str]:
    """What of the instrument's words the translation lacks (empty: complete)."""
    have = translation.text if translation is not None else {}
    return [_where(path) for path in words(idef.definition) if path not in have]


def complete_languages(idef: InstrumentDef,
                       translations: dict[tuple[str, str], Translation]) -> list[str]:
    """The languages an instrument is complete in, English first."""
    return [DEFAULT] + [code for code in LANGUAGES if code != DEFAULT
                        and (t := translations.get((idef.key, code))) is not None
                        and not completeness(idef, t)]


def language_status(instruments: dict[str, InstrumentDef],
                    translations: dict[tuple[str, str], Translation]) -> dict[str, dict[str, list[str]]]:
    """Per instrument, per language other than English: the words it lacks (empty: complete)."""
    return {key: {code: completeness(idef, translations.get((key, code)))
                  for code in LANGUAGES if code != DEFAULT}
            for key, idef in instruments.items()}


def translate(idef: InstrumentDef, translation: Translation | None) -> InstrumentDef:
    """The instrument with its words in the translation's language (English where it has none).

    Works on any stored version: words are found by section, question and option
    keys, so an older version shows the translation of the keys it shares.
    """
    if translation is None:
        return idef
    return _translated(idef, translation)


@lru_cache(maxsize=64)
def _translated(idef: InstrumentDef, translation: Translation) -> InstrumentDef:
    definition = copy.deepcopy(idef.definition)
    text = translation.text
    for name in TOP_TEXT:
        if (name,) in text and definition.get(name):
            definition[name] = text[(name,)]
    for s in definition["sections"]:
        for name in SECTION_TEXT:
            if ("sections", s["key"], name) in text and s.get(name):
                s[name] = text[("sections", s["key"], name)]
        for q in s["questions"]:
            for name in QUESTION_TEXT:
                path = ("questions", q["key"], name)
                if path in text and q.get(name) and type(q[name]) is type(text[path]) \
                        and (not isinstance(q[name], list) or len(q[name]) == len(text[path])):
                    q[name] = text[path]
            for items, id_field in QUESTION_ITEMS.items():
                for item in q.get(items) or []:
                    path = ("questions", q["key"], items, item[id_field])
                    if path in text:
                        item["label"] = text[path]
    return InstrumentDef(key=idef.key, title=definition["title"], role=idef.role, mode=idef.mode,
                         definition=definition, checksum=idef.checksum)


def loaded_translations() -> dict[tuple[str, str], Translation]:
    """The translations the app loaded at start-up (or, outside an app, from ``surveys/``)."""
    if has_app_context() and "impactmodel.instrument_translations" in current_app.extensions:
        return current_app.extensions["impactmodel.instrument_translations"]
    return load_translations(instruments_mod.load())


def in_language(idef: InstrumentDef, language: str) -> InstrumentDef:
    """The instrument as a respondent reading ``language`` sees it."""
    return translate(idef, loaded_translations().get((idef.key, language)))
