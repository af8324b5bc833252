"""The codebook in and out: CSV, REFI-QDA codebook (``.qdc``), and applying an import.

An import never edits the database directly. It is parsed into a complete codebook
definition, validated by :func:`impactmodel.codebook.parse`, and compared with the
codebook in use (:func:`diff`). Applying it (:func:`apply_import`) rewrites the
codebook file (``surveys/codebook.yaml``, or ``CODEBOOK_PATH``) and records a new
:class:`CodebookVersion`, so the file stays the single source every part of the
app reads. Ids never change: codes are matched by id, a relabelled code keeps its
id, a code's group cannot move, and a code can be retired (left out) only when
nothing is coded with it and no valence in use is withdrawn.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree as ET

import sqlalchemy as sa
import yaml
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from impactmodel import codebook as codebook_mod
from impactmodel import sheets
from impactmodel.audit import record
from impactmodel.codebook import RULE_PARTS, Codebook, CodebookError, CodeDef
from impactmodel.codebook import flat
from impactmodel.codebook.models import Coding
from impactmodel.enums import Valence

CSV_COLUMNS = ["kind", "id", "parent", "label", "description", "level", "steering_group",
               "valences", "child_label", *RULE_PARTS, "example_constructed"]
QDC_NS = "urn:QDA-XML:codebook:1.0"
STEERING_SET = "External Steering Group features"
STEERING_SET_DESCRIPTION = ("The nine features the External Steering Group asked directors and managers "
                            "to rate.")
# Stable GUIDs: the same code gets the same GUID in every export, so other tools
# can match a re-imported codebook to the one they already hold.
GUID_NAMESPACE = uuid.UUID("6c1c1a52-4d8c-5b1e-9a41-1f5f8b0e2008")
ID_NAME = re.compile(r"^(?P<id>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)(?::\s*|\s+|$)(?P<label>.*)$")
VALENCE_NAME = re.compile(r"^(?P<id>\S+) \((?P<valence>positive|to_develop|negative)\)$")
# How each coding-rule part opens its paragraph in a .qdc Description.
RULE_HEADINGS = {"definition": "Definition: ", "include": "Use when: ",
                 "exclude": "Do not use when: ", "example": "Example: "}
CONSTRUCTED_HEADING = "Example (constructed): "


# A spreadsheet of codes names its columns with any of these (case and spacing ignored);
# Taguette's codebook export has tag, parent, description and number of highlights.
FLAT_COLUMNS = {"id": ("id", "code", "code_id", "tag", "name"), "label": ("label", "title"),
                "description": ("description", "memo"), "valence": ("valence", "valences"),
                "group": ("group",)}


class CodebookProblems(CodebookError):
    """Every problem found in a codebook file, listed at once."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


_NAMESPACE_BYTES = GUID_NAMESPACE.bytes
# The variant bits of a name-based UUID: the high two bits of its 17th hex digit are 10.
_VARIANT_DIGIT = {f"{d:x}": f"{d & 0x3 | 0x8:x}" for d in range(16)}


def guid(kind: str, key: str) -> str:
    """``str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{key}"))``, built from the SHA-1 digest
    directly: an export makes one for every coding, and the UUID object costs more than the hash."""
    return guids_of(kind)(key)


def guids_of(kind: str) -> Callable[[str], str]:
    """``guid(kind, key)`` as a function of ``key`` alone, for making many GUIDs of one kind
    (an export makes hundreds of thousands): the kind's bytes are hashed once."""
    hashed_prefix, variant = hashlib.sha1(_NAMESPACE_BYTES + f"{kind}:".encode()), _VARIANT_DIGIT

    def of(key: str) -> str:
        hashed = hashed_prefix.copy()
        hashed.update(key.encode())
        h = hashed.hexdigest()
        return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{variant[h[16]]}{h[17:20]}-{h[20:32]}"
    return of


def code_guid(code_id: str, valence: str | None = None) -> str:
    return guid("code", code_id if valence is None else f"{code_id}:{valence}")


def has_valence_children(valences) -> bool:
    """Codes with a valence other than plain ``positive`` carry one child code per valence
    in REFI-QDA files, since the format has no place for a valence."""
    return tuple(valences) != (Valence.POSITIVE.value,)


def valence_child_name(code_id: str, valence: str) -> str:
    return f"{code_id} ({valence})"


# --- CSV ---------------------------------------------------------------------------

def export_csv(cb: Codebook) -> str:
    out = io.StringIO()
    w = sheets.csv_writer(out)
    w.writerow(CSV_COLUMNS)
    for g in cb.definition["groups"]:
        w.writerow(["group", g["id"], g.get("parent", ""), g["label"], g.get("description", ""),
                    g.get("level", ""), "", "", "", *([""] * (len(CSV_COLUMNS) - 9))])
    for c in cb.codes.values():
        w.writerow(["code", c.id, c.group, c.label, c.description, "",
                    "yes" if c.steering_group else "", " ".join(c.valences), c.child_label or "",
                    *(getattr(c, part) for part in RULE_PARTS), "yes" if c.example_constructed else ""])
    return out.getvalue()


def _truthy(value: str, line: int, column: str) -> bool:
    v = value.strip().lower()
    if v in ("", "no", "false", "0", "n"):
        return False
    if v in ("yes", "true", "1", "y"):
        return True
    raise CodebookError(f"line {line}, column '{column}': use yes or no, not {value!r}")


def csv_table(text: str) -> list[list[str]]:
    """The rows of a CSV codebook, each cell restored (the app's ``'`` rule)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        rows = list(sheets.csv_rows(text))
    except csv.Error as exc:
        raise CodebookError(f"malformed CSV: {exc}") from None
    if not rows:
        raise CodebookError("the file is empty: it needs a header row")
    return rows


def parse_csv(text: str) -> dict:
    """A codebook definition from the CSV format of :func:`export_csv`."""
    return parse_rows(csv_table(text))


def parse_rows(rows: list[list[str]]) -> dict:
    """A codebook definition from the rows (header first) of the format of :func:`export_csv`."""
    header = [h.strip() for h in rows[0]]
    missing = [c for c in ("kind", "id", "label") if c not in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if missing or unknown:
        raise CodebookProblems(["line 1: " + "; ".join(
            ([f"missing column(s) {', '.join(missing)}"] if missing else [])
            + ([f"unknown column(s) {', '.join(unknown)}; expected {', '.join(CSV_COLUMNS)}"]
               if unknown else []))])
    groups, codes, problems = [], [], []
    for line, values in enumerate(rows[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            problems.append(f"line {line}: has {len(values)} fields but the header has {len(header)}")
            continue
        row = {h: v.strip() for h, v in zip(header, values)}
        kind = row["kind"].lower()
        if kind == "group":
            g = {"id": row["id"], "label": row["label"]}
            if row.get("level"):
                try:
                    g["level"] = int(row["level"])
                except ValueError:
                    problems.append(f"line {line}, column 'level': {row['level']!r} is not a whole number")
            if row.get("parent"):
                g["parent"] = row["parent"]
            if row.get("description"):
                g["description"] = row["description"]
            groups.append(g)
        elif kind == "code":
            c = {"id": row["id"], "group": row.get("parent", ""), "label": row["label"]}
            if row.get("description"):
                c["description"] = row["description"]
            try:
                if _truthy(row.get("steering_group", ""), line, "steering_group"):
                    c["steering_group"] = True
            except CodebookError as exc:
                problems.append(str(exc))
            vals = row.get("valences", "").replace(",", " ").replace("|", " ").split()
            if vals and vals != ["positive"]:
                c["valences"] = vals
            if row.get("child_label"):
                c["child_label"] = row["child_label"]
            c.update({part: row[part] for part in RULE_PARTS if row.get(part)})
            try:
                if _truthy(row.get("example_constructed", ""), line, "example_constructed"):
                    c["example_constructed"] = True
            except CodebookError as exc:
                problems.append(str(exc))
            codes.append(c)
        else:
            problems.append(f"line {line}, column 'kind': use group or code, not {row['kind']!r}")
    if problems:     # every problem at once, so one round of fixes is enough
        raise CodebookProblems(problems)
    return {"groups": groups, "codes": codes}


def flat_entries(rows: list[list[str]]) -> list[flat.Entry]:
    """The entries of a spreadsheet of codes (Taguette's codebook CSV among them): one code
    (or one valence of a code, or a group) per row, in the columns of :data:`FLAT_COLUMNS`."""
    header = [re.sub(r"[\s_]+", "_", h.strip().lower()) for h in rows[0]]
    where = {}
    for part, names in FLAT_COLUMNS.items():
        where[part] = next((header.index(n) for n in names if n in header), None)
    if where["id"] is None:
        raise CodebookProblems([
            "line 1: no column of code ids: name it code (or id, tag or name); or use the full "
            f"format, whose columns are {', '.join(CSV_COLUMNS)}"])
    entries, problems = [], []
    for line, values in enumerate(rows[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header) and any(v.strip() for v in values[len(header):]):
            problems.append(f"line {line}: has {len(values)} fields but the header has {len(header)}")
            continue
        cell = {part: (values[i] if i is not None and i < len(values) else "") for part, i in where.items()}
        entries.append(flat.Entry(f"line {line}", cell["id"], description=cell["description"],
                                           label=cell["label"], valence=cell["valence"],
                                           group=cell["group"]))
    if problems:
        raise CodebookProblems(problems)
    return entries


# --- REFI-QDA codebook -------------------------------------------------------------

def describe(code: CodeDef) -> str:
    """A code's .qdc Description: its description, then each coding-rule part as a
    paragraph opening with its heading (``Use when: ...``), so other tools show the rules
    and :func:`read_description` can take them apart again."""
    paragraphs = [code.description] if code.description else []
    for part, heading in RULE_HEADINGS.items():
        if getattr(code, part):
            if part == "example" and code.example_constructed:
                heading = CONSTRUCTED_HEADING
            paragraphs.append(heading + getattr(code, part))
    return "\n\n".join(paragraphs)


def read_description(text: str) -> dict:
    """The codebook fields in a .qdc Description written by :func:`describe`; a paragraph
    without a heading is (part of) the description."""
    fields: dict = {}
    plain = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        paragraph = paragraph.strip()
        if paragraph.startswith(CONSTRUCTED_HEADING):
            fields["example"] = paragraph[len(CONSTRUCTED_HEADING):].strip()
            fields["example_constructed"] = True
            continue
        part = next((p for p, h in RULE_HEADINGS.items() if paragraph.startswith(h)), None)
        if part:
            fields[part] = paragraph[len(RULE_HEADINGS[part]):].strip()
        elif paragraph:
            plain.append(paragraph)
    if plain:
        fields["description"] = "\n\n".join(plain)
    return fields


def _code_elements(parent: ET.Element, cb: Codebook, ns: str, *, with_notes=False) -> None:
    """Groups as non-codable codes holding their codes (and sub-groups), in codebook order."""
    q = f"{{{ns}}}"

    def code_el(into, gid, name, codable, description=""):
        el = ET.SubElement(into, q + "Code", guid=gid, name=name, isCodable="true" if codable else "false")
        if description:
            ET.SubElement(el, q + "Description").text = description
        return el

    elements: dict[str, ET.Element] = {}
    for g in cb.definition["groups"]:
        into = elements.get(g.get("parent")) if g.get("parent") else parent
        if into is None:
            into = parent
        elements[g["id"]] = code_el(into, guid("group", g["id"]), f"{g['id']}: {g['label']}", False,
                                    g.get("description", ""))
    for c in cb.codes.values():
        el = code_el(elements[c.group], code_guid(c.id), f"{c.id}: {c.label}", True, describe(c))
        if has_valence_children(c.valences):
            for v in c.valences:
                code_el(el, code_guid(c.id, v), valence_child_name(c.id, v), True)


def xml_bytes(root: ET.Element) -> bytes:
    """UTF-8 XML with a declaration and no byte-order mark, as REFI-QDA tools expect."""
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8")


def export_qdc(cb: Codebook, version: int | None = None) -> bytes:
    """The codebook as a REFI-QDA ``.qdc`` file (UTF-8, valid against Codebook.xsd)."""
    ET.register_namespace("", QDC_NS)
    root = ET.Element(f"{{{QDC_NS}}}CodeBook", origin=f"impactmodel codebook"
                      + (f" version {version}" if version else ""))
    codes = ET.SubElement(root, f"{{{QDC_NS}}}Codes")
    _code_elements(codes, cb, QDC_NS)
    steering = [c for c in cb.codes.values() if c.steering_group]
    if steering:
        sets = ET.SubElement(root, f"{{{QDC_NS}}}Sets")
        s = ET.SubElement(sets, f"{{{QDC_NS}}}Set", guid=guid("set", "steering_group"), name=STEERING_SET)
        ET.SubElement(s, f"{{{QDC_NS}}}Description").text = STEERING_SET_DESCRIPTION
        for c in steering:
            ET.SubElement(s, f"{{{QDC_NS}}}MemberCode", guid=code_guid(c.id))
    return xml_bytes(root)


def _qdc_codes(data: bytes) -> tuple[ET.Element, ET.Element, str]:
    """(root, its Codes element, the namespace prefix) of a ``.qdc`` file."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise CodebookError(f"the file is not well-formed XML: {exc}") from None
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    q = f"{{{ns}}}" if ns else ""
    if root.tag != q + "CodeBook":
        raise CodebookError("this is not a REFI-QDA codebook: the root element must be CodeBook")
    codes_el = root.find(q + "Codes")
    if codes_el is None:
        raise CodebookError("the codebook has no Codes element")
    return root, codes_el, q


def qdc_is_flat(data: bytes) -> bool:
    """Whether a ``.qdc`` lists its codes with no hierarchy (as Taguette writes it): no code
    holds another, and none is a non-codable grouping code."""
    _, codes_el, q = _qdc_codes(data)
    return all(el.find(q + "Code") is None and el.get("isCodable") != "false"
               for el in codes_el.iter(q + "Code"))


def qdc_flat_entries(data: bytes) -> list[flat.Entry]:
    """The codes of a flat ``.qdc`` as flat-codebook entries (name and description)."""
    _, codes_el, q = _qdc_codes(data)
    entries = []
    for n, el in enumerate(codes_el.findall(q + "Code"), start=1):
        d = el.find(q + "Description")
        entries.append(flat.Entry(f"code {n}", el.get("name") or "",
                                           description=(d.text or "") if d is not None else ""))
    return entries


def parse_qdc(data: bytes, current: Codebook) -> dict:
    """A codebook definition from a ``.qdc`` file whose groups hold their codes.

    Code names start with the code's id (``L1.tools: Tools and frameworks``); a
    name without an id is an error, since ids are what codings refer to. Child
    codes named ``<id> (<valence>)`` give a code's valences; fields REFI-QDA has
    no place for (group level, child wording) are kept from the current codebook.
    Every problem is listed at once.
    """
    root, codes_el, q = _qdc_codes(data)
    problems: list[str] = []
    by_guid = {code_guid(cid): cid for cid in current.codes}
    groups: list[dict] = []
    codes: list[dict] = []
    group_ids: set[str] = set()
    steering_guids: set[str] | None = None
    sets_el = root.find(q + "Sets")
    if sets_el is not None:
        for s in sets_el.findall(q + "Set"):
            if s.get("name") == STEERING_SET:
                steering_guids = {m.get("guid") for m in s.findall(q + "MemberCode")}

    def split(el) -> tuple[str, str] | None:
        name = (el.get("name") or "").strip()
        m = ID_NAME.match(name)
        if not m or not m.group("label").strip():
            problems.append(f"code {name!r}: its name must start with its id, e.g. "
                            "'L1.tools: Tools and frameworks'")
            return None
        cid = m.group("id")
        known = by_guid.get(el.get("guid") or "")
        if known is not None and known != cid:
            problems.append(f"code {name!r} is {known} (same GUID): ids never change, "
                            "relabel the code instead")
            return None
        return cid, m.group("label").strip()

    def description(el) -> str:
        d = el.find(q + "Description")
        return (d.text or "").strip() if d is not None else ""

    def walk(el, parent_group: str | None) -> None:
        named = split(el)
        if named is None:
            return
        cid, label = named
        children = el.findall(q + "Code")
        if el.get("isCodable") == "false" or (cid in current.groups and cid not in current.codes):
            g = {"id": cid, "label": label}
            old = current.groups.get(cid, {})
            if old.get("level") is not None:
                g["level"] = old["level"]
            if parent_group:
                g["parent"] = parent_group
            if description(el):
                g["description"] = description(el)
            groups.append(g)
            group_ids.add(cid)
            for child in children:
                walk(child, cid)
            return
        if parent_group is None:
            problems.append(f"code {cid} must sit inside its group (e.g. {cid.rsplit('.', 1)[0]})")
            return
        c = {"id": cid, "group": parent_group, "label": label, **read_description(description(el))}
        old = current.codes.get(cid)
        valences = []
        for child in children:
            m = VALENCE_NAME.match(child.get("name") or "")
            if not m or m.group("id") != cid:
                problems.append(f"code {cid}: a child code must be a valence named "
                                f"'{cid} (positive)', '{cid} (to_develop)' or '{cid} (negative)', "
                                f"not {child.get('name')!r}")
                continue
            valences.append(m.group("valence"))
        if valences and valences != ["positive"]:
            c["valences"] = valences
        steering = (el.get("guid") in steering_guids) if steering_guids is not None else \
            bool(old and old.steering_group)
        if steering:
            c["steering_group"] = True
        if old is not None and old.child_label:
            c["child_label"] = old.child_label
        codes.append(c)

    for el in codes_el.findall(q + "Code"):
        walk(el, None)
    if problems:
        raise CodebookProblems(problems)
    return {"groups": groups, "codes": codes}


# --- Comparing and applying --------------------------------------------------------

@dataclass
class Change:
    id: str
    label: str
    detail: str = ""


@dataclass
class CodebookDiff:
    new: list[Change] = field(default_factory=list)
    relabelled: list[Change] = field(default_factory=list)
    redescribed: list[Change] = field(default_factory=list)
    revalenced: list[Change] = field(default_factory=list)
    steering: list[Change] = field(default_factory=list)
    retired: list[Change] = field(default_factory=list)
    groups: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any((self.new, self.relabelled, self.redescribed, self.revalenced, self.steering,
                        self.retired, self.groups))


def diff(session: Session, current: Codebook, new: Codebook) -> CodebookDiff:
    """What applying ``new`` would change, and the problems that forbid it."""
    d = CodebookDiff()
    used = dict(session.execute(sa.select(Coding.code_id, sa.func.count()).group_by(Coding.code_id)).all())
    used_valences = {(c, v.value if hasattr(v, "value") else v) for c, v in session.execute(
        sa.select(Coding.code_id, Coding.valence).distinct()).all()}
    for gid, g in new.groups.items():
        old = current.groups.get(gid)
        if old is None:
            d.groups.append(Change(gid, g["label"], "new group"))
        elif old["label"] != g["label"]:
            d.groups.append(Change(gid, g["label"], f"was “{old['label']}”"))
    for cid, c in new.codes.items():
        old = current.codes.get(cid)
        if old is None:
            d.new.append(Change(cid, c.label, c.group))
            continue
        if old.group != c.group:
            d.problems.append(f"{cid} would move from group {old.group} to {c.group}: a code's group "
                              "is part of its id, which never changes")
        if old.label != c.label:
            d.relabelled.append(Change(cid, c.label, f"was “{old.label}”"))
        if describe(old) != describe(c):
            d.redescribed.append(Change(cid, c.label))
        if old.valences != c.valences:
            d.revalenced.append(Change(cid, c.label, f"{', '.join(old.valences)} → {', '.join(c.valences)}"))
            for v in set(old.valences) - set(c.valences):
                if (cid, v) in used_valences:
                    d.problems.append(f"{cid}: codings use the valence {v}, so it cannot be withdrawn")
        if old.steering_group != c.steering_group:
            d.steering.append(Change(cid, c.label, "now a steering-group feature" if c.steering_group
                                     else "no longer a steering-group feature"))
    for cid, old in current.codes.items():
        if cid not in new.codes:
            n = used.get(cid, 0)
            d.retired.append(Change(cid, old.label, f"{n} coding(s)" if n else "not used"))
            if n:
                d.problems.append(f"{cid} is left out but {n} coding(s) use it: ids never change, so "
                                  "keep the code (relabel it if needed) or recode those answers first")
    for gid in current.groups:
        if gid not in new.groups:
            d.groups.append(Change(gid, current.groups[gid]["label"], "removed"))
    return d


@dataclass
class ImportReading:
    """A codebook file as read: the codebook it holds, what kind of file it was, and for a
    flat file how each entry was read (``flat.Reading.rows``)."""
    codebook: Codebook
    kind: str
    rows: list = field(default_factory=list)


def _xlsx_table(raw: bytes) -> list[list[str]]:
    """The first sheet of a workbook as rows of text (numbers written as they show)."""
    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:   # openpyxl raises many kinds for a file that is not a workbook
        raise CodebookError("the file is not an Excel workbook (.xlsx) that can be read") from None
    try:
        rows = [["" if v is None else (f"{v:g}" if isinstance(v, float) else str(v)) for v in row]
                for row in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()
    while rows and not any(v.strip() for v in rows[-1]):
        rows.pop()
    if not rows:
        raise CodebookError("the workbook's first sheet is empty: it needs a header row")
    return rows


def _from_table(rows: list[list[str]], current: Codebook, source: str) -> tuple[dict, str, list]:
    """A codebook definition from a table: the full format (a ``kind`` column) or a flat one."""
    if "kind" in [h.strip().lower() for h in rows[0]]:
        return parse_rows(rows), f"codebook {source}", []
    header = [h.strip().lower() for h in rows[0]]
    kind = f"flat codebook ({'Taguette ' if 'tag' in header else ''}{source})"
    reading = flat.read(flat_entries(rows), current, read_description)
    if reading.problems:
        raise CodebookProblems(reading.problems)
    return reading.definition, kind, reading.rows


def read_file(filename: str, raw: bytes, current: Codebook) -> ImportReading:
    """Read an uploaded codebook: the app's CSV, a REFI-QDA ``.qdc`` (with groups, or flat as
    Taguette writes it), a spreadsheet of codes (CSV or XLSX, Taguette's codebook export
    among them). CodebookProblems lists every problem at once; nothing is changed."""
    name = (filename or "").lower()
    rows: list = []
    if name.endswith(".qdc") or name.endswith(".xml") or raw.lstrip()[:5] == b"<?xml":
        if qdc_is_flat(raw):
            reading = flat.read(qdc_flat_entries(raw), current, read_description)
            if reading.problems:
                raise CodebookProblems(reading.problems)
            definition, kind, rows = reading.definition, "flat REFI-QDA codebook (.qdc)", reading.rows
        else:
            definition, kind = parse_qdc(raw, current), "REFI-QDA codebook (.qdc)"
    elif name.endswith(".xlsx") or raw[:4] == b"PK\x03\x04":
        definition, kind, rows = _from_table(_xlsx_table(raw), current, "XLSX")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CodebookError("the file is not UTF-8 text: save it as 'CSV UTF-8'") from None
        definition, kind, rows = _from_table(csv_table(text), current, "CSV")
    if not definition["codes"]:
        raise CodebookError("the file holds no codes")
    problems = definition_problems(definition)
    if problems:
        raise CodebookProblems(problems)
    return ImportReading(codebook_mod.parse(dump_yaml(definition)), kind, rows)


def definition_problems(definition: dict) -> list[str]:
    """Every reason the codebook would refuse this definition (it stops at the first),
    so that an import names them all at once."""
    problems: list[str] = []
    groups: set[str] = set()
    for g in definition["groups"]:
        if not g.get("id") or not g.get("label"):
            problems.append(f"group {g.get('id') or '(no id)'} needs an id and a label")
        elif g["id"] in groups:
            problems.append(f"group {g['id']} is defined twice")
        groups.add(g.get("id"))
    valences = {v.value for v in Valence}
    codes: set[str] = set()
    for c in definition["codes"]:
        cid, group = c.get("id"), c.get("group")
        if not cid or not c.get("label"):
            problems.append(f"code {cid or '(no id)'} needs an id and a label")
            continue
        if cid in codes or cid in groups:
            problems.append(f"code {cid} is defined twice (or is also a group)")
        codes.add(cid)
        if group not in groups:
            problems.append(f"code {cid} names unknown group {group!r}")
        elif not cid.startswith(group + "."):
            problems.append(f"code {cid} must start with its group id {group!r}")
        unknown = set(c.get("valences") or ()) - valences
        if unknown:
            problems.append(f"code {cid} has unknown valences {', '.join(sorted(unknown))}: use "
                            "positive, to_develop or negative")
    return problems


def read_import(filename: str, raw: bytes, current: Codebook) -> Codebook:
    """Parse an uploaded codebook file into a validated codebook (CodebookError if not)."""
    return read_file(filename, raw, current).codebook


def dump_yaml(definition: dict, header: str = "") -> str:
    """The codebook file's text: one flow-style line per group and per code."""
    def line(item: dict) -> str:
        return "  - " + yaml.safe_dump(item, default_flow_style=True, width=10**6, allow_unicode=True,
                                       sort_keys=False).strip()
    parts = [header.rstrip("\n") + "\n\n" if header.strip() else "", "groups:\n"]
    parts += [line(g) + "\n" for g in definition["groups"]]
    parts.append("\ncodes:\n")
    parts += [line(c) + "\n" for c in definition["codes"]]
    return "".join(parts)


def _header(path: Path) -> str:
    lines = []
    for ln in path.read_text(encoding="utf-8").splitlines():
        if ln.startswith("#") or not ln.strip():
            lines.append(ln)
        else:
            break
    return "\n".join(lines)


def apply_import(session: Session, actor, new: Codebook, base_checksum: str) -> int:
    """Write ``new`` as the codebook file and record it as a new version.

    ``base_checksum`` is the checksum of the codebook the preview was made
    against: if the codebook changed since, nothing is written.
    Returns the new codebook version number.
    """
    path = codebook_mod.active_path()
    current = codebook_mod.load(path)
    if current.checksum != base_checksum:
        raise CodebookError("the codebook changed since this preview: upload the file again")
    d = diff(session, current, new)
    if d.problems:
        raise CodebookError("; ".join(d.problems))
    text = dump_yaml(new.definition, _header(path))
    codebook_mod.parse(text)   # what is written must load
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".codebook-", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)      # atomic: readers see the old file or the new one
    written = codebook_mod.load(path)
    version = codebook_mod.sync(session, written)
    record(session, actor, "codebook.import", "codebook_version", version, new=len(d.new),
           relabelled=len(d.relabelled), retired=len(d.retired), revalenced=len(d.revalenced))
    session.commit()
    return version
