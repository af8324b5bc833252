from __future__ import annotations

import io

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from impactmodel import downloads
from impactmodel.access import requires
from impactmodel.consortium import context
from impactmodel.consortium.models import Round
from impactmodel.db import db
from impactmodel.fieldwork.models import Instrument
from impactmodel.fieldwork.responses import loaded_instruments
from impactmodel.indicators import services as indicator_services
from impactmodel.indicators import vocabulary as indicator_vocabulary
from impactmodel.interchange import authority_context, csvio, responses, submissions

bp = Blueprint("interchange", __name__)

# Flask adds "; charset=utf-8" to text types itself.
FORMATS = {"csv": "text/csv",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


NEW_ROUND = "__new__"
# What each kind of file is read with, and how its result is described.
IMPORTS = {"coded": (csvio.import_coded, csvio.describe),
           "levels": (csvio.import_levels, csvio.describe),
           "submissions": (submissions.import_submissions, submissions.describe),
           "indicators": (indicator_services.import_indicators, indicator_services.describe),
           "context": (authority_context.import_contexts, authority_context.describe)}
# Kinds only an administrator imports: the upload form offers them to no one else.
ADMIN_KINDS = {"context"}


class ImportForm(FlaskForm):
    kind = SelectField("What the file holds", choices=[
        SelectChoice("coded", "Codings (authority, respondent, role, code, ...)"),
        SelectChoice("levels", "Self-reported levels of impact (authority, respondent, role, level)"),
        SelectChoice("submissions", "KoboToolbox or ODK submissions (CSV export of the app's XLSForm)"),
        SelectChoice("indicators", "Indicator figures (authority, indicator, period, value or numerator "
                                   "and denominator)"),
        SelectChoice("context", "Authorities' context (authority, authority_type, children, integrated_since)")])
    # Any existing round, or a new one; whether this user may create one is the import's
    # decision, so that a refusal names the round.
    round_choice = SelectField("Round", validate_choice=False)
    new_round = StringField("Name of the new round", validators=[Length(max=80)])
    file = FileField("CSV file (UTF-8, header row)", validators=[FileRequired("Choose a CSV file.")])

    def validate_round_choice(self, field):
        if field.data != NEW_ROUND and field.data not in {c.value for c in field.choices}:
            raise ValidationError("Choose a round from the list.")

    def validate_new_round(self, field):
        if self.round_choice.data == NEW_ROUND and not (field.data or "").strip():
            raise ValidationError("Name the new round, such as 'Round 3 (2009-10)'.")

    @property
    def round_name(self) -> str:
        return (self.new_round.data or "").strip() if self.round_choice.data == NEW_ROUND \
            else self.round_choice.data


@bp.route("/import", methods=["GET", "POST"])
@requires("can_import")
def upload():
    form = ImportForm()
    rounds = db.session.scalars(sa.select(Round.name).order_by(Round.created_at.desc(), Round.id.desc())).all()
    may_create = current_user.role.can_manage_rounds
    if not may_create:
        form.kind.choices = [c for c in form.kind.choices if c.value not in ADMIN_KINDS]
    form.round_choice.choices = [SelectChoice(r, r) for r in rounds] + (
        [SelectChoice(NEW_ROUND, "A new round…")] if may_create else [])
    problems = plan = None
    if form.validate_on_submit():
        check_only = request.form.get("action") == "check"
        func, describe = IMPORTS[form.kind.data]
        try:
            stream = io.StringIO(csvio.decode(form.file.data.read()), newline="")
            result = func(db.session, stream, form.round_name, actor=current_user, dry_run=check_only)
        except csvio.ImportRejected as exc:
            problems = exc.problems
        else:
            if check_only:
                plan = describe(result, checked_only=True)
            else:
                flash(describe(result))
                return redirect(url_for("consortium.round_detail", round_id=result.round.id))
    return render_template("interchange/import.html", form=form, problems=problems, plan=plan,
                           may_create=may_create, columns=csvio.CODED_COLUMNS,
                           level_columns=csvio.LEVELS_COLUMNS, indicator_columns=indicator_services.COLUMNS,
                           context_columns=authority_context.COLUMNS, authority_types=context.AUTHORITY_TYPES,
                           indicators=indicator_vocabulary.load().indicators.values()), \
        (422 if problems or form.errors else 200)


@bp.get("/rounds/<int:round_id>/export/coded.csv")
@requires("can_import")
def export_coded(round_id: int):
    rnd = db.session.get(Round, round_id) or abort(404)
    # A researcher downloads only the authorities assigned to them; the CLI exports all.
    lines = csvio.coded_csv(db.session, rnd, authority_ids=current_user.visible_authority_ids(),
                            blind_coder_id=current_user.id)
    return downloads.csv_lines_response(lines, f"coded-{rnd.id}.csv")


@bp.get("/rounds/<int:round_id>/export/responses")
@requires("can_run_fieldwork")
def responses_page(round_id: int):
    rnd = db.session.get(Round, round_id) or abort(404)
    titles = {key: d.title for key, d in loaded_instruments().items()}
    for key, title in db.session.execute(sa.select(Instrument.key, Instrument.title)):
        titles.setdefault(key, title)
    return render_template("interchange/responses.html", round=rnd, instruments=sorted(titles.items()))


def _responses(rnd: Round, key: str, labels: bool) -> responses.ResponsesExport | None:
    """The export, or None (with a message) when the instrument's columns would clash."""
    # Only the authorities this user may see, by the names they may see.
    try:
        return responses.build(db.session, rnd.name, key, labels=labels,
                               authority_ids=current_user.visible_authority_ids(),
                               name_of=current_user.authority_display_name)
    except LookupError:
        abort(404)
    except ValueError as exc:
        flash(f"{key} cannot be exported: {exc}.", "error")
        return None


@bp.get("/rounds/<int:round_id>/export/responses/<key>.<fmt>")
@requires("can_run_fieldwork")
def export_responses(round_id: int, key: str, fmt: str):
    rnd = db.session.get(Round, round_id) or abort(404)
    if fmt not in FORMATS:
        abort(404)
    labels = request.args.get("labels") == "1"
    export = _responses(rnd, key, labels)
    if export is None:
        return redirect(url_for("interchange.responses_page", round_id=rnd.id))
    name = f"round-{rnd.id}-{key}-responses{'-labels' if labels else ''}.{fmt}"
    if fmt == "xlsx":
        return downloads.file_response(lambda fh: responses.write_xlsx(export, fh), FORMATS[fmt], name)
    return downloads.csv_response(responses.csv_rows(export), name)


@bp.get("/rounds/<int:round_id>/export/responses/<key>/dictionary.csv")
@requires("can_run_fieldwork")
def export_dictionary(round_id: int, key: str):
    rnd = db.session.get(Round, round_id) or abort(404)
    export = _responses(rnd, key, False)
    if export is None:
        return redirect(url_for("interchange.responses_page", round_id=rnd.id))
    return downloads.csv_response(responses.dictionary_rows(export), f"round-{rnd.id}-{key}-dictionary.csv")
