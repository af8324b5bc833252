"""Flat codebooks: a plain list of codes, with no hierarchy and no place for a valence, as
Taguette exports them (CSV or ``.qdc``) and as people keep them in a spreadsheet.

Each entry's name starts with a code id. The id's dots give its group (``L3.cyp.happier``
sits in the longest group id it starts with: ``L3.cyp``), and a suffix on the id gives a
valence (:data:`VALENCE_SUFFIXES`): ``F.ict+`` and ``F.ict~`` are the ``positive`` and
``to_develop`` valences of ``F.ict``. An entry whose id is a group's (or the start of
other entries' ids) defines that group. What a flat file has no place for (a code's coding
rules when its description is empty, child wording, the steering-group flag, a group's
level) is kept from the codebook in use.

:func:`read` turns the entries into a complete codebook definition and says how it read
each one, so the import's preview can show it; every problem is listed at once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from impactmodel.codebook import Codebook
from impactmodel.enums import Valence

# How a flat codebook marks a valence: a suffix right after the id.
VALENCE_SUFFIXES = {"+": Valence.POSITIVE.value, "_pos": Valence.POSITIVE.value,
                    "~": Valence.TO_DEVELOP.value, "_dev": Valence.TO_DEVELOP.value,
                    "-": Valence.NEGATIVE.value, "_neg": Valence.NEGATIVE.value}
VALENCE_WORDS = {v.value: v.value for v in Valence}
NAME = re.compile(r"^(?P<id>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)"
                  r"(?P<suffix>[+~-]| \((?:positive|to_develop|negative)\))?"
                  r"(?::\s*|\s+|$)(?P<label>.*)$", re.S)
WORD_SUFFIX = re.compile(r"^(?P<id>.+?)(?P<suffix>_pos|_dev|_neg)$")


@dataclass
class Entry:
    """One code of a flat codebook: where it is (``line 4``), its name, and what other
    columns gave (empty when the file has no such column)."""
    where: str
    name: str
    description: str = ""
    label: str = ""
    valence: str = ""
    group: str = ""


@dataclass
class Reading:
    """How each entry was read: ``(where, name, id, kind, group, valence)``."""
    definition: dict
    rows: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def split_name(name: str, current: Codebook) -> tuple[str, str | None, str] | None:
    """``(id, valence or None, label)`` of an entry's name, or None when it does not start
    with an id. An id that is itself a code in use keeps its ending (no suffix is taken)."""
    m = NAME.match(name.strip())
    if not m:
        return None
    cid, suffix, label = m.group("id"), m.group("suffix"), m.group("label").strip()
    valence = None
    if suffix:
        valence = VALENCE_SUFFIXES.get(suffix) or suffix.strip(" ()")
    elif cid not in current.codes and cid not in current.groups:
        word = WORD_SUFFIX.match(cid)
        if word:
            cid, valence = word.group("id"), VALENCE_SUFFIXES[word.group("suffix")]
    return cid, valence, label


def _valence_column(value: str) -> str | None:
    v = value.strip()
    return VALENCE_SUFFIXES.get(v) or VALENCE_WORDS.get(v.lower().replace(" ", "_"))


def read(entries: list[Entry], current: Codebook, read_description) -> Reading:
    """The codebook definition the entries describe, mapped onto groups and valences.

    ``read_description`` takes a description apart into the description and the coding
    rules (the ``.qdc`` convention), so rules written into a description come back.
    """
    out = Reading(definition={"groups": [], "codes": []})
    parsed = []
    for e in entries:
        split = split_name(e.name, current)
        if split is None:
            out.problems.append(f"{e.where}: {e.name.strip()!r} does not start with a code id such as "
                                "'L1.tools' (ids are what codings refer to)")
            continue
        cid, valence, label = split
        if e.valence.strip():
            column = _valence_column(e.valence)
            if column is None:
                out.problems.append(f"{e.where}: valence {e.valence.strip()!r} is not one of positive, "
                                    "to_develop, negative (or +, ~, -)")
                continue
            if valence is not None and valence != column:
                out.problems.append(f"{e.where}: {e.name.strip()!r} says {valence} but the valence "
                                    f"column says {column}")
                continue
            valence = column
        parsed.append((e, cid, valence, e.label.strip() or label))

    ids = {cid for _, cid, _, _ in parsed}
    # Groups: those in use, those named by a group column, and every entry whose id others extend.
    group_ids = set(current.groups) | {e.group.strip() for e, *_ in parsed if e.group.strip()}
    group_ids |= {cid for cid in ids if cid not in current.codes
                  and any(other.startswith(cid + ".") for other in ids)}

    def group_of(cid: str) -> str | None:
        parts = cid.split(".")
        for n in range(len(parts) - 1, 0, -1):
            if ".".join(parts[:n]) in group_ids:
                return ".".join(parts[:n])
        return None

    group_entries: dict[str, tuple[Entry, str]] = {}
    code_entries: dict[str, list[tuple[Entry, str | None, str]]] = {}
    seen: dict[tuple[str, str | None], str] = {}
    for e, cid, valence, label in parsed:
        if (cid, valence) in seen:
            out.problems.append(f"{e.where}: {cid}" + (f" ({valence})" if valence else "")
                                + f" is also on {seen[(cid, valence)]}")
            continue
        seen[(cid, valence)] = e.where
        if cid in group_ids and not e.group.strip():
            if valence:
                out.problems.append(f"{e.where}: {cid} is a group, so it has no valence")
                continue
            group_entries[cid] = (e, label)
            out.rows.append((e.where, e.name, cid, "group", group_of(cid) or "", ""))
            continue
        code_entries.setdefault(cid, []).append((e, valence, label))

    used_groups: set[str] = set()
    for cid, found in code_entries.items():
        e = found[0][0]
        group = e.group.strip() or group_of(cid)
        if group is None and "." not in cid:
            out.problems.append(f"{e.where}: {e.name.strip()!r} does not start with a code id such as "
                                "'L1.tools' (ids are what codings refer to)")
            continue
        if group is None:
            out.problems.append(f"{e.where}: {cid} belongs to no group: add an entry for its group "
                                f"('{cid.rsplit('.', 1)[0]}: its label') or use an id that starts "
                                "with a group's id")
            continue
        if not cid.startswith(group + "."):
            out.problems.append(f"{e.where}: {cid} must start with its group id {group!r}")
            continue
        old = current.codes.get(cid)
        label = next((lbl for _, _, lbl in found if lbl), "") or (old.label if old else "")
        if not label:
            out.problems.append(f"{e.where}: {cid} is a new code without a label: name it "
                                f"'{cid}: its label'")
            continue
        code: dict = {"id": cid, "group": group, "label": label}
        description = next((en.description for en, _, _ in found if en.description.strip()), "")
        if description.strip():
            fields = read_description(description)
            if old is not None:     # rules the file does not restate stay as they are
                code.update({part: getattr(old, part) for part in ("definition", "include", "exclude",
                                                                   "example") if getattr(old, part)})
                if old.example_constructed and "example" not in fields:
                    code["example_constructed"] = True
            code.update(fields)
        elif old is not None:
            code.update(_kept(old))
        stated = [v for _, v, _ in found if v]
        valences = _ordered(stated, old.valences if old else ()) if stated else \
            list(old.valences if old else (Valence.POSITIVE.value,))
        if valences != [Valence.POSITIVE.value]:
            code["valences"] = valences
        if old is not None and old.steering_group:
            code["steering_group"] = True
        if old is not None and old.child_label:
            code["child_label"] = old.child_label
        out.definition["codes"].append(code)
        used_groups.add(group)
        for en, v, _ in found:
            out.rows.append((en.where, en.name, cid, "code", group, v or ", ".join(valences)))

    # A group is kept when codes use it, an entry names it, or it holds such a group.
    wanted = used_groups | set(group_entries)
    for gid in list(wanted):
        parent = group_of(gid)
        while parent is not None:
            wanted.add(parent)
            parent = group_of(parent)
    order = [g for g in current.groups if g in wanted] + sorted(wanted - set(current.groups))
    for gid in order:
        old = current.groups.get(gid, {})
        e, label = group_entries.get(gid, (None, ""))
        label = label or old.get("label", "")
        if not label:
            out.problems.append(f"{e.where if e else 'the file'}: group {gid} has no label: name it "
                                f"'{gid}: its label'")
            continue
        g: dict = {"id": gid, "label": label}
        parent = group_of(gid)
        level = old.get("level")
        if level is None and parent is not None:
            level = current.groups.get(parent, {}).get("level")
        if level is None and re.fullmatch(r"L[1-4]", gid):
            level = int(gid[1])
        if level is not None:
            g["level"] = level
        if parent is not None:
            g["parent"] = parent
        description = (e.description.strip() if e else "") or old.get("description", "")
        if description:
            g["description"] = description
        out.definition["groups"].append(g)
    out.problems.sort(key=_place)
    return out


def _place(problem: str) -> int:
    """Where a problem is (``line 12: ...``), to list problems in the file's order."""
    m = re.match(r"(?:line|code) (\d+):", problem)
    return int(m.group(1)) if m else 0


def _kept(old) -> dict:
    """A code's description and coding rules as the codebook in use has them."""
    kept = {part: getattr(old, part) for part in ("description", "definition", "include", "exclude",
                                                  "example") if getattr(old, part)}
    if old.example_constructed:
        kept["example_constructed"] = True
    return kept


def _ordered(stated: list[str], old: tuple[str, ...]) -> list[str]:
    """Valences in the order the codebook in use has them (its first is the default),
    then any new ones in the order the file gives them."""
    return [v for v in old if v in stated] + [v for v in dict.fromkeys(stated) if v not in old]
