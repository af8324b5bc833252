"""The raw responses export: one row per response, one column per question, and a data
dictionary describing every column (docs/INTERCHANGE.md "Raw responses").

Only responses whose answers may leave the app are written: every interview, and
surveys once sent (``fieldwork.models.response_counts``). Columns are the union of
the questions of every version of the instrument, in definition order, so a file
covers responses given on older versions too.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any, Callable, Iterable

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.orm import Session, joinedload, selectinload

from impactmodel import sheets
from impactmodel.consortium.models import Authority, Respondent, Round
from impactmodel.fieldwork.instruments import InstrumentDef
from impactmodel.fieldwork.models import Answer, Instrument, InstrumentVersion, Response, response_counts
from impactmodel.fieldwork.responses import loaded_instruments
from impactmodel.languages import LANGUAGES

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
CHOICE_TYPES = {"single_choice", "scale", "faces", "evidence"}


@dataclass
class Column:
    """One column of the export and its line in the data dictionary."""

    variable: str
    label: str
    type: str                       # text, choice, checkbox, number, datetime
    choices: list[tuple[str, str]] = field(default_factory=list)
    # The cell for one response; the answer is None when the question was not answered.
    cell: Callable[[Response, Answer | None], Any] = field(default=lambda r, a: None, repr=False)
    question: str | None = None     # the question key, for question columns


@dataclass
class ResponsesExport:
    round_name: str
    instrument_key: str
    title: str
    columns: list[Column]
    # One row per response, read from the database a batch at a time as it is consumed:
    # it can be iterated once.
    rows: Iterable[list[Any]]


def _merge_in_order(lists: list[list[str]]) -> list[str]:
    """The union of ``lists`` (newest last), in the newest order; an item only older
    lists have goes after the item it followed there."""
    merged = list(lists[-1]) if lists else []
    for older in reversed(lists[:-1]):
        for i, item in enumerate(older):
            if item in merged:
                continue
            before = next((older[j] for j in range(i - 1, -1, -1) if older[j] in merged), None)
            merged.insert(merged.index(before) + 1 if before is not None else 0, item)
    return merged


def merged_questions(definitions: list[InstrumentDef]) -> list[dict]:
    """Every question of ``definitions`` (oldest first), in definition order; a question
    keeps its newest wording, and a choice question every option any version had."""
    order = _merge_in_order([list(d.questions) for d in definitions])
    out = []
    for key in order:
        versions = [d.questions[key] for d in definitions if key in d.questions]
        q = dict(versions[-1])
        for part, id_field in (("options", "id"), ("features", "code"), ("ratings", "id")):
            if q.get(part):
                by_id = {}
                for v in versions:
                    by_id.update({o[id_field]: o for o in v.get(part) or []})
                ids = _merge_in_order([[o[id_field] for o in v.get(part) or []] for v in versions])
                q[part] = [by_id[i] for i in ids]
        if any(v.get("other") for v in versions):
            q["other"] = True
        out.append(q)
    return out


def _choice_label(options: dict[str, str], value: Any, labels: bool) -> Any:
    if value is None or not labels:
        return value
    return options.get(value, value)


def question_columns(q: dict, labels: bool) -> list[Column]:
    """The columns of one question: see docs/INTERCHANGE.md for each type."""
    key, label, qtype = q["key"], q["label"], q["type"]
    words = Column(f"{key}__text", f"{label} (words given with the choice)", "text",
                   cell=lambda r, a: a.text if a else None, question=key)
    if qtype in ("text", "long_text"):
        return [Column(key, label, "text", cell=lambda r, a: a.text if a else None, question=key)]
    if qtype == "level":
        return [Column(key, label, "number", cell=lambda r, a: a.value if a else None, question=key)]
    if qtype in CHOICE_TYPES:
        choices = [(o["id"], o["label"]) for o in q["options"]]
        if q.get("other"):
            choices.append(("other", q.get("other_label") or "Something else"))
        names = dict(choices)
        cols = [Column(key, label, "choice", choices,
                       cell=lambda r, a: _choice_label(names, a.value if a else None, labels), question=key)]
        return cols + ([words] if q.get("other") or qtype == "evidence" else [])
    if qtype == "multi_choice":
        choices = [(o["id"], o["label"]) for o in q["options"]]
        if q.get("other"):
            choices.append(("other", q.get("other_label") or "Something else"))
        cols = []
        for option, option_label in choices:
            def ticked(r, a, option=option, option_label=option_label):
                if a is None or a.value is None:
                    return None         # not answered: empty, not 0
                if labels:
                    return option_label if option in a.value else ""
                return int(option in a.value)
            cols.append(Column(f"{key}__{option}", f"{label}: {option_label}", "checkbox",
                               [("1", "ticked"), ("0", "not ticked")], cell=ticked, question=key))
        return cols + ([words] if q.get("other") else [])
    if qtype == "feature_ratings":
        choices = [(r["id"], r["label"]) for r in q["ratings"]]
        names = dict(choices)
        return [Column(f"{key}__{f['code']}", f"{label}: {f['label']}", "choice", choices,
                       cell=lambda r, a, code=f["code"]: _choice_label(
                           names, (a.value or {}).get(code) if a else None, labels), question=key)
                for f in q["features"]]
    # A type without its own layout: the stored value as JSON, or the words.
    return [Column(key, label, "text", question=key,
                   cell=lambda r, a: (json.dumps(a.value, ensure_ascii=False) if a.value is not None
                                      else a.text) if a else None)]


def _utc(moment: datetime | None) -> datetime | None:
    """A stored time as a plain UTC time: spreadsheets have no time zones."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _respondent_columns(name_of: Callable[[Authority], str], labels: bool) -> list[Column]:
    def resp(r: Response) -> Respondent:
        return r.respondent
    return [
        Column("respondent", "Respondent reference", "text", cell=lambda r, a: resp(r).reference),
        Column("role", "Respondent role", "text", cell=lambda r, a: resp(r).role.value),
        Column("authority", "Authority", "text", cell=lambda r, a: name_of(resp(r).authority)),
        Column("key_group", "Key group (code)", "text",
               cell=lambda r, a: resp(r).key_group.code if resp(r).key_group else None),
        Column("case", "Case reference", "text",
               cell=lambda r, a: resp(r).case.reference if resp(r).case else None),
        Column("language", "Language the response was last answered in", "choice", list(LANGUAGES.items()),
               cell=lambda r, a: _choice_label(LANGUAGES, r.language, labels)),
        Column("mode", "How it was given: interview, self or assisted", "text",
               cell=lambda r, a: r.mode.value),
        Column("version", "Instrument version answered", "number",
               cell=lambda r, a: r.instrument_version.version),
        Column("started_at", "Started (UTC)", "datetime", cell=lambda r, a: _utc(r.started_at)),
        Column("completed_at", "Completed, or sent for a survey (UTC); empty for an interview not yet "
               "marked complete", "datetime", cell=lambda r, a: _utc(r.completed_at)),
    ]


def _definitions(session: Session, key: str) -> list[InstrumentDef]:
    stored = session.scalars(sa.select(InstrumentVersion).join(Instrument).where(Instrument.key == key)
                             .order_by(InstrumentVersion.version)).all()
    definitions = [InstrumentDef.from_definition(v.definition) for v in stored]
    loaded = loaded_instruments().get(key)
    if loaded is not None and loaded.checksum not in {v.checksum for v in stored}:
        definitions.append(loaded)      # not synced yet: its questions still make the columns
    return definitions


def build(session: Session, round_name: str, instrument_key: str, *, labels: bool = False,
          authority_ids: set[int] | None = None,
          name_of: Callable[[Authority], str] = lambda a: a.name) -> ResponsesExport:
    """The round's responses to ``instrument_key``. ``authority_ids`` limits them to those
    authorities (None: all); ``name_of`` names an authority as the reader may see it;
    ``labels`` writes option labels instead of option ids."""
    rnd = session.scalar(sa.select(Round).where(Round.name == " ".join(round_name.split())))
    if rnd is None:
        raise LookupError(f"no round called {round_name!r}")
    definitions = _definitions(session, instrument_key)
    if not definitions:
        known = ", ".join(sorted(set(loaded_instruments()) | set(session.scalars(sa.select(Instrument.key)))))
        raise LookupError(f"no instrument {instrument_key!r}; the instruments are {known}")
    columns = _respondent_columns(name_of, labels)
    for q in merged_questions(definitions):
        columns += question_columns(q, labels)
    variables = [c.variable for c in columns]
    if len(set(variables)) != len(variables):
        clash = sorted({v for v in variables if variables.count(v) > 1})
        raise ValueError(f"two columns would share the name {', '.join(clash)}: rename an option")
    query = (sa.select(Response).join(Respondent, Response.respondent_id == Respondent.id)
             .join(Authority, Respondent.authority_id == Authority.id)
             .join(InstrumentVersion, Response.instrument_version_id == InstrumentVersion.id)
             .join(Instrument, InstrumentVersion.instrument_id == Instrument.id)
             .where(Respondent.round_id == rnd.id, Instrument.key == instrument_key, response_counts(),
                    sa.true() if authority_ids is None else Respondent.authority_id.in_(authority_ids))
             .order_by(Authority.name, Respondent.reference, InstrumentVersion.version)
             .options(selectinload(Response.answers),
                      joinedload(Response.instrument_version),
                      joinedload(Response.respondent).options(joinedload(Respondent.authority),
                                                              joinedload(Respondent.key_group),
                                                              joinedload(Respondent.case))))
    return ResponsesExport(rnd.name, instrument_key, definitions[-1].title, columns,
                           _rows(session, query, columns))


# Responses read at a time (a server-side cursor on PostgreSQL); their answers come in
# one query per batch.
YIELD_PER = 500


def _rows(session: Session, query, columns: list[Column]):
    result = session.scalars(query.execution_options(yield_per=YIELD_PER))
    try:
        for response in result:
            answers = {a.question_key: a for a in response.answers}
            yield [c.cell(response, answers.get(c.question) if c.question else None) for c in columns]
    finally:
        result.close()


def dictionary_rows(export: ResponsesExport) -> list[list[str]]:
    """The data dictionary, REDCap-style: variable, label, type, choices (``id, label | ...``)."""
    return [["variable", "label", "type", "choices"]] + [
        [c.variable, c.label, c.type, " | ".join(f"{i}, {label}" for i, label in c.choices)]
        for c in export.columns]


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return value


def csv_rows(export: ResponsesExport):
    """The CSV's rows, header first, as they are read."""
    yield [c.variable for c in export.columns]
    for row in export.rows:
        yield ["" if v is None else _csv_value(v) for v in row]


def write_csv(export: ResponsesExport, out: IO[str]) -> int:
    """Write the CSV to ``out``; returns the number of responses."""
    writer = sheets.csv_writer(out)
    n = -1
    for n, row in enumerate(csv_rows(export)):
        writer.writerow(row)
    return n


def write_dictionary_csv(export: ResponsesExport, out: IO[str]) -> None:
    sheets.csv_writer(out).writerows(dictionary_rows(export))


def write_xlsx(export: ResponsesExport, out: IO[bytes]) -> int:
    """The responses on a first sheet (variable names on row 1), the dictionary on a
    second, written to ``out`` row by row (openpyxl's write-only mode keeps rows on disk).
    Returns the number of responses."""
    wb = Workbook(write_only=True)
    wb.properties.title = f"{export.title}: responses, {export.round_name}"
    ws = wb.create_sheet("Responses")
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    sheets.append_cells(ws, [c.variable for c in export.columns], font=bold)
    n = 0
    for row in export.rows:
        sheets.append_cells(ws, row)
        n += 1
    dictionary = wb.create_sheet("Dictionary")
    header, *rest = dictionary_rows(export)
    sheets.append_cells(dictionary, header, font=bold)
    for row in rest:
        sheets.append_cells(dictionary, row)
    wb.save(out)
    return n
