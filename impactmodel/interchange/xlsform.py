"""Instruments as XLSForms, for offline fieldwork in KoboToolbox or ODK Collect.

``build_form`` lays an instrument out as an XLSForm: the sheets ``survey``, ``choices``
and ``settings``, and the list of fields a submission of it carries. The export writes
the sheets; the submissions import (``submissions.py``) reads a CSV export of the form
with the same field list, so the two cannot drift apart.

Names. XLSForm names must be XML names, so a codebook id such as ``L3.cyp.confidence``
is written with each dot as two underscores (``L3__cyp__confidence``); the import maps
every name back through the field list, never by guessing. Names the form adds to a
question (the words for "something else", a feature's rating) join the question key
and a part with two underscores, which no question key of the app uses.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook

from impactmodel.consortium.models import Authority, Respondent
from impactmodel.fieldwork.instruments import InstrumentDef
from impactmodel.fieldwork.questions import LEVELS, LONG_TEXT_MAX, SHORT_TEXT_MAX

SURVEY_COLUMNS = ["type", "name", "label", "hint", "required", "required_message", "constraint",
                  "constraint_message", "relevant", "appearance", "calculation", "default"]
CHOICES_COLUMNS = ["list_name", "name", "label"]
SETTINGS_COLUMNS = ["form_title", "form_id", "version", "instance_name"]
SEP = "__"
# XML names, restricted to ASCII (what XLSForm tools accept everywhere).
XML_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# The acknowledge type's value once ticked.
ACKNOWLEDGED = "OK"
# The form's own fields, outside the instrument's sections.
AUTHORITY, RESPONDENT, ROLE, KEY_GROUP = "authority", "respondent", "role", "key_group"
CONSENT, ASSENT = "consent", "assent"
INSTRUMENT, CHECKSUM = "instrument", "instrument_checksum"
START, END = "start", "end"


class XLSFormError(ValueError):
    """The instrument cannot be written as an XLSForm; the message names the question."""


def choice_name(option_id: str) -> str:
    """An option id as an XLSForm choice name: each dot becomes ``__``."""
    return str(option_id).replace(".", SEP)


def level_name(level: float) -> str:
    """A level's choice name: ``level_2_5`` is 2.5."""
    return f"level_{level:g}".replace(".", "_")


@dataclass
class Field:
    """One field of the form that a submission carries a value for.

    ``path`` is the field's groups and name (``("support", "support_received")``);
    ``question`` the instrument's question key (None for the form's own fields);
    ``part`` what the value is: ``value`` (a choice, or the list of choices when
    ``multiple``), ``text`` (words), ``rating`` (of ``feature``) or ``meta``;
    ``choices`` maps each choice name to the value the app stores.
    """

    path: tuple[str, ...]
    question: str | None
    part: str
    choices: dict[str, Any] = field(default_factory=dict)
    multiple: bool = False
    feature: str | None = None

    @property
    def name(self) -> str:
        return self.path[-1]


@dataclass
class Form:
    """An instrument as an XLSForm: the three sheets' rows and the fields a submission has."""

    instrument: InstrumentDef
    survey: list[dict] = field(default_factory=list)
    choices: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    fields: list[Field] = field(default_factory=list)


def _check_name(name: str, where: str) -> str:
    if not XML_NAME_RE.match(name):
        raise XLSFormError(f"{where}: {name!r} cannot be an XLSForm name (letters, digits and _ only)")
    return name


class _Builder:
    def __init__(self, inst: InstrumentDef):
        self.form = Form(inst)
        self.groups: list[str] = []
        self.lists: set[str] = set()

    def row(self, **cells) -> None:
        self.form.survey.append({k: v for k, v in cells.items() if v not in (None, "")})

    def add(self, question: str | None, part: str, *, choices=None, multiple=False, feature=None,
            **cells) -> None:
        self.row(**cells)
        self.form.fields.append(Field((*self.groups, cells["name"]), question, part, choices or {},
                                      multiple, feature))

    def begin(self, name: str, label: str, hint: str | None = None) -> None:
        self.row(type="begin group", name=name, label=label, hint=hint)
        self.groups.append(name)

    def end(self) -> None:
        self.groups.pop()
        self.row(type="end group")

    def choice_list(self, list_name: str, items: list[tuple[str, str]], where: str) -> dict[str, str]:
        """Add a choice list of (value, label); returns choice name -> value."""
        if list_name in self.lists:
            raise XLSFormError(f"{where}: the choice list {list_name!r} is made twice")
        self.lists.add(list_name)
        out: dict[str, str] = {}
        for value, label in items:
            name = _check_name(choice_name(value), where)
            if name in out:
                raise XLSFormError(f"{where}: options {out[name]!r} and {value!r} have the same "
                                   f"choice name {name!r}")
            out[name] = value
            self.form.choices.append({"list_name": list_name, "name": name, "label": label})
        return out


def _hint(q: dict) -> str | None:
    parts = [q.get("hint"), q.get("prompt"), q.get("explain")]
    if q.get("probes"):
        parts.append("Probes: " + " / ".join(q["probes"]))
    return " ".join(p.strip() for p in parts if p) or None


def _length(limit: int) -> dict:
    return {"constraint": f"string-length(.) <= {limit}",
            "constraint_message": f"Please keep this under {limit:,} characters."}


def _choice_question(b: _Builder, q: dict, label: str, hint: str | None, required: dict,
                     where: str) -> None:
    key, multiple = q["key"], q["type"] == "multi_choice"
    items = [(o["id"], o["label"]) for o in q["options"]]
    if q.get("other"):
        items.append(("other", q.get("other_label") or "Something else"))
    choices = b.choice_list(key, items, where)
    rules, messages = [], []
    if multiple:
        for o in q["options"]:
            if o.get("exclusive"):
                rules.append(f"not(selected(., '{choice_name(o['id'])}') and count-selected(.) > 1)")
                messages.append(f"'{o['label']}' goes on its own.")
        if q.get("max"):
            rules.append(f"count-selected(.) <= {int(q['max'])}")
            messages.append(f"Please tick up to {int(q['max'])} answers.")
    appearance = "likert" if q["type"] in ("scale", "faces") else None
    b.add(key, "value", choices=choices, multiple=multiple,
          type=f"{'select_multiple' if multiple else 'select_one'} {key}", name=key, label=label,
          hint=hint, appearance=appearance, constraint=" and ".join(rules) or None,
          constraint_message=" ".join(messages) or None, **required)
    if q.get("other"):
        # A relative path to the question: a ${name} must be unique in the whole form, and
        # a section may share its key with a question.
        b.add(key, "text", type="text", name=f"{key}{SEP}other",
              label=f"{q.get('other_label') or 'Something else'}: please say what",
              required="yes", relevant=f"selected(../{key}, 'other')", **_length(LONG_TEXT_MAX))


def _question(b: _Builder, inst: InstrumentDef, q: dict) -> None:
    key, kind = q["key"], q["type"]
    where = f"question {key!r}"
    _check_name(key, where)
    label = q["child_label"] if inst.audience == "child" and q.get("child_label") else q["label"]
    hint = _hint(q)
    required = {"required": "yes", "required_message": q.get("required_message")} \
        if q.get("required") else {}
    if kind in ("text", "long_text"):
        b.add(key, "text", type="text", name=key, label=label, hint=hint,
              appearance="multiline" if kind == "long_text" else None,
              **_length(LONG_TEXT_MAX if kind == "long_text" else SHORT_TEXT_MAX), **required)
    elif kind in ("single_choice", "multi_choice", "scale", "faces"):
        _choice_question(b, q, label, hint, required, where)
    elif kind == "level":
        choices = b.choice_list(key, [(level_name(v), f"{v:g}") for v in LEVELS], where)
        b.add(key, "value", choices={name: float(LEVELS[i]) for i, name in enumerate(choices)},
              type=f"select_one {key}", name=key, label=label, hint=hint, **required)
    elif kind == "feature_ratings":
        ratings = b.choice_list(key, [(r["id"], r["label"]) for r in q["ratings"]], where)
        b.begin(key, label, hint)
        for f in q["features"]:
            b.add(key, "rating", choices=ratings, feature=f["code"], type=f"select_one {key}",
                  name=_check_name(choice_name(f["code"]), where), label=f["label"])
        b.end()
    elif kind == "evidence":
        choices = b.choice_list(key, [(o["id"], o["label"]) for o in q["options"]], where)
        b.add(key, "value", choices=choices, type=f"select_one {key}", name=key, label=label,
              hint=hint, **required)
        b.add(key, "text", type="text", name=f"{key}{SEP}other", label="What is the evidence?",
              appearance="multiline", **_length(LONG_TEXT_MAX))
    else:
        raise XLSFormError(f"{where}: the question type {kind!r} has no XLSForm equivalent yet")


def _consent_fields(b: _Builder, inst: InstrumentDef) -> None:
    if inst.mode == "interview":
        b.add(None, "meta", type="acknowledge", name=CONSENT, required="yes",
              label=inst.definition.get("consent") or "The interviewee agrees to take part.")
    elif inst.audience == "child":
        b.add(None, "meta", type="acknowledge", name=CONSENT, required="yes",
              label=(inst.definition.get("parent_info") or "")
              + " For the parent or carer: I agree that my child takes part.")
        b.add(None, "meta", type="acknowledge", name=ASSENT, required="yes",
              label=(inst.definition.get("about") or "") + " I want to take part.")
    else:
        b.add(None, "meta", type="acknowledge", name=CONSENT, required="yes",
              label=(inst.definition.get("about") or "") + " I agree to take part.")


def build_form(inst: InstrumentDef) -> Form:
    """Lay ``inst`` out as an XLSForm. XLSFormError names a question that cannot be written."""
    b = _Builder(inst)
    b.add(None, "meta", type="start", name=START)
    b.add(None, "meta", type="end", name=END)
    b.add(None, "meta", type="text", name=AUTHORITY, required="yes",
          label="Authority (the local council, as named in the study)",
          **_length(Authority.__table__.c.name.type.length))
    b.add(None, "meta", type="text", name=RESPONDENT, required="yes",
          label="Respondent reference",
          hint="A reference such as parent-017, unique in the authority for this round. Never a name.",
          **_length(Respondent.__table__.c.reference.type.length))
    roles = b.choice_list(ROLE, [(inst.role.value, inst.role.label)], "the role")
    b.add(None, "meta", choices=roles, type=f"select_one {ROLE}", name=ROLE, label="Respondent's role",
          required="yes", default=inst.role.value)
    b.add(None, "meta", type="text", name=KEY_GROUP, label="Key group (optional)",
          hint="The round's key-group id, such as lac, asd or ks3_absence; leave empty if none.",
          constraint="regex(., '^[a-z0-9_]{1,40}$')",
          constraint_message="A key-group id: lower-case letters, digits and _.")
    _consent_fields(b, inst)
    # The form names its instrument and the exact version of its questions, so that a
    # submission is read with the questions it was answered with.
    b.add(None, "meta", type="calculate", name=INSTRUMENT, calculation=f"'{inst.key}'")
    b.add(None, "meta", type="calculate", name=CHECKSUM, calculation=f"'{inst.checksum}'")
    for section in inst.sections:
        b.begin(_check_name(section["key"], f"section {section['key']!r}"), section["title"],
                section.get("intro") or section.get("prompt"))
        for q in section["questions"]:
            _question(b, inst, q)
        b.end()
    paths = [f.path for f in b.form.fields]
    if len(set(paths)) != len(paths):
        twice = sorted({"/".join(p) for p in paths if paths.count(p) > 1})
        raise XLSFormError(f"these names are used twice: {', '.join(twice)}")
    b.form.settings = {"form_title": inst.title, "form_id": inst.key, "version": inst.checksum[:12],
                       "instance_name": f"concat(${{{AUTHORITY}}}, ' ', ${{{RESPONDENT}}})"}
    return b.form


def _sheet(wb: Workbook, title: str, columns: list[str], rows: list[dict]) -> None:
    ws = wb.create_sheet(title)
    ws.append(columns)
    for r, row in enumerate(rows, start=2):
        for c, name in enumerate(columns, start=1):
            value = row.get(name)
            if value is not None:
                cell = ws.cell(row=r, column=c, value=str(value))
                # Always text: a label starting with '=' must not become a formula.
                cell.data_type = "s"


def write_xlsform(inst: InstrumentDef) -> bytes:
    """The instrument as an XLSForm workbook (.xlsx bytes)."""
    form = build_form(inst)
    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, "survey", SURVEY_COLUMNS, form.survey)
    _sheet(wb, "choices", CHOICES_COLUMNS, form.choices)
    _sheet(wb, "settings", SETTINGS_COLUMNS, [form.settings])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
