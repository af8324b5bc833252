"""Instruments as data: load and validate ``surveys/instruments/*.yaml``.

An instrument file has a ``key``, a ``title``, the ``role`` it is for, a ``mode``
(``interview``: researcher-administered; ``survey``: self-completion by link) and
``sections`` of ``questions``. Each question names a type from the registry in
``questions.py``. Options may be written out, or drawn from the codebook with
``options_from`` (so closed answers carry codebook ids and are coded on arrival).

Loading expands ``options_from``/``features_from`` into plain lists, so the stored
definition of a version is complete on its own; its checksum decides versioning.
Validated when the app starts: a broken file stops the app with a message naming
the file, the question and the problem.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from impactmodel import codebook as codebook_mod
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork.questions import QUESTION_TYPES, DefinitionError
from impactmodel.paths import SURVEYS_DIR

INSTRUMENTS_DIR = SURVEYS_DIR / "instruments"
MODES = ("interview", "survey")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
QUESTION_FIELDS = {"key", "type", "label", "child_label", "hint", "prompt", "probes", "required",
                   "options", "options_from", "features_from", "other", "other_label", "max",
                   "features", "ratings", "explain", "required_message"}
SECTION_FIELDS = {"key", "title", "intro", "prompt", "questions"}
# ``parent_info``: a child survey's information for the parent or carer who consents, in
# adult words (``intro`` and ``about`` speak to the child).
TOP_FIELDS = {"key", "title", "role", "mode", "audience", "intro", "consent", "sections", "about",
              "parent_info"}


class InstrumentError(ValueError):
    """An instrument file that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class InstrumentDef:
    """A parsed instrument (or a stored version of one)."""

    key: str
    title: str
    role: RespondentRole
    mode: str
    definition: dict = field(repr=False, compare=False)
    checksum: str = ""

    @property
    def sections(self) -> list[dict]:
        return self.definition["sections"]

    @property
    def audience(self) -> str:
        """``staff``, ``parent`` or ``child``: how the respondent pages speak."""
        return self.definition.get("audience") or ("staff" if self.role.is_staff else self.role.value)

    @property
    def questions(self) -> dict[str, dict]:
        return {q["key"]: q for s in self.sections for q in s["questions"]}

    def question(self, key: str) -> dict | None:
        return self.questions.get(key)

    def section_of(self, key: str) -> int | None:
        for i, s in enumerate(self.sections):
            if any(q["key"] == key for q in s["questions"]):
                return i
        return None

    @classmethod
    def from_definition(cls, definition: dict) -> InstrumentDef:
        """Rebuild from a stored (already expanded and validated) definition."""
        return cls(key=definition["key"], title=definition["title"],
                   role=RespondentRole(definition["role"]), mode=definition["mode"],
                   definition=definition, checksum=checksum(definition))


def checksum(definition: dict) -> str:
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _expand_options(spec: Any, codebook, where: str) -> list[dict]:
    if not isinstance(spec, dict):
        raise InstrumentError(f"{where}: options_from must be a mapping such as {{group: L3.cyp}}")
    extra = set(spec) - {"group", "codes", "steering_group", "label", "valence", "exclude"}
    if extra:
        raise InstrumentError(f"{where}: options_from has unknown fields: {', '.join(sorted(extra))}")
    if "codes" in spec:
        ids = spec["codes"]
        if not isinstance(ids, list):
            raise InstrumentError(f"{where}: options_from.codes must be a list of codebook ids")
        codes = []
        for cid in ids:
            code = codebook.get(cid)
            if code is None:
                raise InstrumentError(f"{where}: options_from names unknown code {cid!r}")
            codes.append(code)
    elif "group" in spec:
        if spec["group"] not in codebook.groups:
            raise InstrumentError(f"{where}: options_from names unknown group {spec['group']!r}")
        codes = codebook.by_group(spec["group"])
    else:
        raise InstrumentError(f"{where}: options_from needs 'group' or 'codes'")
    if "steering_group" in spec:
        codes = [c for c in codes if c.steering_group == bool(spec["steering_group"])]
    codes = [c for c in codes if c.id not in set(spec.get("exclude") or [])]
    label_field = spec.get("label", "label")
    if label_field not in ("label", "child_label"):
        raise InstrumentError(f"{where}: options_from.label must be 'label' or 'child_label'")
    out = []
    for c in codes:
        label = (c.child_label or c.label) if label_field == "child_label" else c.label
        opt = {"id": c.id, "label": label, "code": c.id}
        if spec.get("valence"):
            opt["valence"] = spec["valence"]
        out.append(opt)
    if not out:
        raise InstrumentError(f"{where}: options_from selects no codes")
    return out


def _check_question(q: Any, where: str, codebook, seen: set[str]) -> dict:
    if not isinstance(q, dict):
        raise InstrumentError(f"{where}: a question must be a mapping")
    key = q.get("key")
    where = f"{where} (key {key!r})" if key else where
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise InstrumentError(f"{where}: needs a key of lower-case letters, digits and _")
    if key in seen:
        raise InstrumentError(f"{where}: key {key!r} is used twice in this instrument")
    seen.add(key)
    qtype = q.get("type")
    if qtype not in QUESTION_TYPES:
        raise InstrumentError(f"{where}: unknown type {qtype!r}; known types: "
                              f"{', '.join(sorted(QUESTION_TYPES))}")
    cls = QUESTION_TYPES[qtype]
    extra = set(q) - QUESTION_FIELDS
    if extra:
        raise InstrumentError(f"{where}: unknown fields: {', '.join(sorted(extra))}")
    if not isinstance(q.get("label"), str) or not q["label"].strip():
        raise InstrumentError(f"{where}: needs a label (the question as asked)")
    q = copy.deepcopy(q)
    if "options_from" in q:
        q["options"] = (q.get("options") or []) + _expand_options(q.pop("options_from"), codebook, where)
    if "features_from" in q:
        if q.pop("features_from") != "steering_group":
            raise InstrumentError(f"{where}: features_from must be 'steering_group'")
        q["features"] = [{"code": c.id, "label": c.label}
                         for c in codebook.codes.values() if c.steering_group]
    if "probes" in q and (not isinstance(q["probes"], list)
                          or not all(isinstance(p, str) for p in q["probes"])):
        raise InstrumentError(f"{where}: probes must be a list of strings")
    q["required"] = bool(q.get("required", False))
    try:
        cls.check_definition(q, codebook)
    except DefinitionError as exc:
        raise InstrumentError(f"{where}: {exc}") from None
    return q


def parse_instrument(text: str, source: str = "<instrument>", codebook=None) -> InstrumentDef:
    """Parse and validate one instrument file's text. InstrumentError says what is wrong."""
    codebook = codebook or codebook_mod.load()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InstrumentError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InstrumentError(f"{source}: expected a mapping with key, title, role, mode and sections")
    extra = set(data) - TOP_FIELDS
    if extra:
        raise InstrumentError(f"{source}: unknown fields: {', '.join(sorted(extra))}")
    for name in ("key", "title", "role", "mode", "sections"):
        if not data.get(name):
            raise InstrumentError(f"{source}: '{name}' is missing")
    if not isinstance(data["key"], str) or not KEY_RE.match(data["key"]):
        raise InstrumentError(f"{source}: key must be lower-case letters, digits and _")
    try:
        role = RespondentRole(data["role"])
    except ValueError:
        raise InstrumentError(f"{source}: unknown role {data['role']!r}; use "
                              f"{', '.join(r.value for r in RespondentRole)}") from None
    if data["mode"] not in MODES:
        raise InstrumentError(f"{source}: mode must be one of {', '.join(MODES)}")
    if data.get("audience") not in (None, "staff", "parent", "child"):
        raise InstrumentError(f"{source}: audience must be staff, parent or child")
    for name in ("intro", "about", "parent_info"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise InstrumentError(f"{source}: '{name}' must be text")
    if not isinstance(data["sections"], list):
        raise InstrumentError(f"{source}: sections must be a list")
    seen: set[str] = set()
    section_keys: set[str] = set()
    sections = []
    for i, s in enumerate(data["sections"]):
        where = f"{source}: sections[{i}]"
        if not isinstance(s, dict) or not s.get("title") or not isinstance(s.get("questions"), list) \
                or not s["questions"]:
            raise InstrumentError(f"{where}: needs a title and a non-empty questions list")
        extra = set(s) - SECTION_FIELDS
        if extra:
            raise InstrumentError(f"{where}: unknown fields: {', '.join(sorted(extra))}")
        skey = s.get("key") or f"s{i + 1}"
        if skey in section_keys:
            raise InstrumentError(f"{where}: section key {skey!r} is used twice")
        section_keys.add(skey)
        questions = [_check_question(q, f"{where}.questions[{j}]", codebook, seen)
                     for j, q in enumerate(s["questions"])]
        sections.append({**s, "key": skey, "questions": questions})
    definition = {**data, "role": role.value, "sections": sections}
    return InstrumentDef(key=data["key"], title=data["title"], role=role, mode=data["mode"],
                         definition=definition, checksum=checksum(definition))


def instrument_files(directory: Path) -> list[Path]:
    """The instrument files of a folder: ``<key>.yaml`` (``<key>.<lang>.yaml`` is a translation)."""
    return [p for p in sorted(Path(directory).glob("*.yaml")) if "." not in p.stem]


def load_instruments(directory: Path = INSTRUMENTS_DIR, codebook=None) -> dict[str, InstrumentDef]:
    """Every ``<key>.yaml`` in ``directory``, keyed by instrument key. One instrument per role."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InstrumentError(f"no instruments folder at {directory}")
    out: dict[str, InstrumentDef] = {}
    roles: dict[RespondentRole, str] = {}
    for path in instrument_files(directory):
        inst = parse_instrument(path.read_text(encoding="utf-8"), path.name, codebook)
        if inst.key in out:
            raise InstrumentError(f"{path.name}: key {inst.key!r} is already used by another file")
        if inst.role in roles:
            raise InstrumentError(f"{path.name}: role {inst.role.value!r} already has the instrument "
                                  f"{roles[inst.role]!r}")
        out[inst.key] = inst
        roles[inst.role] = inst.key
    return out


@lru_cache(maxsize=4)
def _cached(directory: str, stamp: tuple) -> dict[str, InstrumentDef]:
    return load_instruments(Path(directory))


def load(directory: Path = INSTRUMENTS_DIR) -> dict[str, InstrumentDef]:
    """The instruments in ``directory``, parsed once per change of its files or the codebook."""
    directory = Path(directory)
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in instrument_files(directory))
    stamp += (codebook_mod.CODEBOOK_PATH.stat().st_mtime_ns,)
    return _cached(str(directory), stamp)
