"""The codebook as data: load and validate ``surveys/codebook.yaml``; mirror it in the database.

The codebook part: this loader, its tables (``models``: codes, versions and the codings
that apply them) and its import and export (``exchange``), below fieldwork and coding.

Validated when the app starts, so a broken codebook stops the app with a message
rather than failing later in the middle of an import.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session

from impactmodel.codebook.models import Code, CodebookVersion
from impactmodel.enums import Valence
from impactmodel.paths import SURVEYS_DIR

CODEBOOK_PATH = SURVEYS_DIR / "codebook.yaml"


# The parts of a code's coding rules; `impactmodel codebook check` requires each.
RULE_PARTS = ("definition", "include", "exclude", "example")
# A code id written in prose ("... is L2.dialogue;"): a group id, dot, words.
CODE_MENTION = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:\.[a-z][a-z0-9_]*)+\b")


class CodebookError(ValueError):
    pass


@dataclass(frozen=True)
class CodeDef:
    id: str
    label: str
    group: str
    level: int | None
    description: str = ""
    steering_group: bool = False
    valences: tuple[str, ...] = ("positive",)
    child_label: str | None = None
    # Coding rules, read by coders: what the code means, when to use it, when not to
    # (naming the neighbouring code to use instead), and an example.
    definition: str = ""
    include: str = ""
    exclude: str = ""
    example: str = ""
    example_constructed: bool = False   # the example is made up, not the report's words

    @property
    def default_valence(self) -> Valence:
        return Valence(self.valences[0])

    @property
    def is_feature(self) -> bool:
        return self.group == "F"

    @property
    def missing_rules(self) -> list[str]:
        """The coding-rule parts this code lacks, in :data:`RULE_PARTS` order."""
        return [part for part in RULE_PARTS if not getattr(self, part).strip()]


@dataclass(frozen=True)
class Codebook:
    groups: dict[str, dict]
    codes: dict[str, CodeDef]
    checksum: str
    definition: dict = field(repr=False, compare=False)

    def get(self, code_id: str) -> CodeDef | None:
        return self.codes.get(code_id)

    @property
    def structure(self) -> str:
        """A hash of what results depend on: code ids, their groups, levels and valences.

        Rewording a label or description leaves it unchanged; adding, removing or
        moving a code, or changing its valences, changes it.
        """
        parts = sorted((c.id, c.group, c.level or 0, list(c.valences)) for c in self.codes.values())
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def check_rules(self) -> None:
        """CodebookError listing each code without a definition, include, exclude or example.

        Not part of :func:`parse`: a codebook with gaps in its rules still loads (codings
        keep working), but ``impactmodel codebook check`` fails until the gaps are filled.
        """
        gaps = []
        for c in self.codes.values():
            if c.missing_rules:
                gaps.append(f"{c.id}: no {', '.join(c.missing_rules)}")
            elif not set(CODE_MENTION.findall(c.exclude)) & (set(self.codes) - {c.id}):
                gaps.append(f"{c.id}: its exclude names no other code to use instead")
        if gaps:
            raise CodebookError(f"{len(gaps)} code(s) lack coding rules:\n  " + "\n  ".join(gaps))

    def by_group(self, group: str) -> list[CodeDef]:
        return [c for c in self.codes.values() if c.group == group]

    def check_coding(self, code_id: str, valence: str | None) -> Valence:
        """The valence to store for ``code_id``; ValueError saying what is wrong."""
        code = self.codes.get(code_id)
        if code is None:
            if code_id in self.groups:
                raise ValueError(f"{code_id!r} is a grouping code: use one of its codes, "
                                 f"e.g. {self.by_group(code_id)[0].id!r}")
            raise ValueError(f"unknown code {code_id!r} (not in the codebook)")
        if not valence:
            return code.default_valence
        if valence not in {v.value for v in Valence}:
            raise ValueError(f"unknown valence {valence!r}: use positive, to_develop or negative")
        if valence not in code.valences:
            raise ValueError(f"valence {valence!r} does not apply to {code_id}: "
                             f"use {' or '.join(code.valences)}")
        return Valence(valence)


def parse(text: str) -> Codebook:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CodebookError(f"codebook is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list) \
            or not isinstance(data.get("codes"), list):
        raise CodebookError("codebook needs a 'groups' list and a 'codes' list")
    groups: dict[str, dict] = {}
    for g in data["groups"]:
        if not isinstance(g, dict) or not g.get("id") or not g.get("label"):
            raise CodebookError(f"group {g!r} needs an id and a label")
        if g["id"] in groups:
            raise CodebookError(f"group {g['id']!r} is defined twice")
        groups[g["id"]] = g
    codes: dict[str, CodeDef] = {}
    allowed = {"id", "group", "label", "description", "steering_group", "valences", "child_label",
               *RULE_PARTS, "example_constructed"}
    valences = {v.value for v in Valence}
    for c in data["codes"]:
        if not isinstance(c, dict):
            raise CodebookError(f"code entry {c!r} is not a mapping")
        extra = set(c) - allowed
        if extra:
            raise CodebookError(f"code {c.get('id')!r} has unknown fields: {', '.join(sorted(extra))}")
        cid, group = c.get("id"), c.get("group")
        if not cid or not c.get("label"):
            raise CodebookError(f"code {c!r} needs an id and a label")
        if cid in codes or cid in groups:
            raise CodebookError(f"code {cid!r} is defined twice")
        if group not in groups:
            raise CodebookError(f"code {cid!r} names unknown group {group!r}")
        if not cid.startswith(group + "."):
            raise CodebookError(f"code {cid!r} must start with its group id {group!r}")
        for part in ("description", "child_label", *RULE_PARTS):
            if c.get(part) is not None and not isinstance(c[part], str):
                raise CodebookError(f"code {cid!r}: {part} must be text, not {c[part]!r}")
        vals = tuple(c.get("valences") or ("positive",))
        if not set(vals) <= valences:
            raise CodebookError(f"code {cid!r} has unknown valences {sorted(set(vals) - valences)}")
        codes[cid] = CodeDef(id=cid, label=c["label"], group=group, level=groups[group].get("level"),
                             description=c.get("description", ""),
                             steering_group=bool(c.get("steering_group", False)),
                             valences=vals, child_label=c.get("child_label"),
                             example_constructed=bool(c.get("example_constructed", False)),
                             **{part: (c.get(part) or "").strip() for part in RULE_PARTS})
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return Codebook(groups=groups, codes=codes, definition=data,
                    checksum=hashlib.sha256(canonical.encode()).hexdigest())


@lru_cache(maxsize=4)
def _load(path: str, mtime: int, size: int) -> Codebook:
    return parse(Path(path).read_text(encoding="utf-8"))


def active_path() -> Path:
    """The codebook file in use: ``CODEBOOK_PATH`` from the app's config, else the shipped one."""
    from flask import current_app, has_app_context
    if has_app_context() and current_app.config.get("CODEBOOK_PATH"):
        return Path(current_app.config["CODEBOOK_PATH"])
    return CODEBOOK_PATH


def load(path: Path | None = None) -> Codebook:
    """The codebook in ``path`` (default: :func:`active_path`), parsed once per change of the file."""
    path = Path(path) if path is not None else active_path()
    stat = path.stat()
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


def sync(session: Session, codebook: Codebook | None = None) -> int:
    """Mirror the codebook into the ``code`` table; record a new version if it changed.

    Codes removed from the file are kept (codings refer to them) but marked retired.
    Returns the codebook version number. Flushes; the caller commits. Requests racing to
    do it on a fresh database (the first codings, imports or surveys at once) do not
    fail: the loser's savepoint is rolled back and it uses the winner's version.
    """
    codebook = codebook or load()

    def current() -> int | None:
        return session.scalar(sa.select(CodebookVersion.version)
                              .where(CodebookVersion.checksum == codebook.checksum))
    version = current()
    if version is not None:
        return version
    try:
        with session.begin_nested():
            existing = {c.id: c for c in session.scalars(sa.select(Code))}
            for cid, d in codebook.codes.items():
                row = existing.get(cid) or Code(id=cid)
                row.label, row.description, row.level, row.group = d.label, d.description, d.level, d.group
                row.steering_group, row.valences, row.retired = d.steering_group, list(d.valences), False
                row.definition, row.include, row.exclude = d.definition, d.include, d.exclude
                row.example, row.example_constructed = d.example, d.example_constructed
                session.add(row)
            for cid, row in existing.items():
                if cid not in codebook.codes:
                    row.retired = True
            latest = session.scalar(sa.select(sa.func.max(CodebookVersion.version))) or 0
            session.add(CodebookVersion(version=latest + 1, checksum=codebook.checksum,
                                        definition=codebook.definition))
            session.flush()
    except sa.exc.IntegrityError:
        version = current()
        if version is None:
            raise
        return version
    return latest + 1
