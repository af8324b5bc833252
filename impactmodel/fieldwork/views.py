"""Staff pages: interviews (with autosave) and survey links with QR codes."""
from __future__ import annotations

import time

import segno
import sqlalchemy as sa
from flask import (Blueprint, Response as FileResponse, abort, current_app, flash, jsonify, redirect,
                   render_template, request, url_for)
from flask_login import current_user
from markupsafe import Markup

from impactmodel.access import own_authority_or_403, requires
from impactmodel.auth.models import Role
from impactmodel.consortium.models import Authority, KeyGroup, Respondent, Round
from impactmodel.db import db
from impactmodel.enums import STAFF_ROLES, RespondentRole
from impactmodel.fieldwork import interviews, links, responses
from impactmodel.fieldwork import invitations as survey_links
from impactmodel.fieldwork.forms import InvitationForm, StartInterviewForm
from impactmodel.fieldwork.instrument_translations import language_status, loaded_translations
from impactmodel.fieldwork.models import (Instrument, InstrumentVersion, Invitation, Response, ResponseMode,
                                          ResponseStatus)
from impactmodel.fieldwork.questions import LEVELS, question_type
from impactmodel.inputs import as_id, json_object, takes_json
from impactmodel.languages import LANGUAGES

bp = Blueprint("fieldwork", __name__, url_prefix="/fieldwork")


def _authorities() -> list[Authority]:
    """The authorities this user may run fieldwork in: assigned ones, or all for admins."""
    if current_user.role is Role.ADMIN:
        return db.session.scalars(sa.select(Authority).order_by(Authority.name)).all()
    return sorted(current_user.assigned_authorities, key=lambda a: a.name)


def _rounds() -> list[Round]:
    return db.session.scalars(sa.select(Round).order_by(Round.created_at.desc(), Round.id.desc())).all()


def _key_groups() -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for code, label in db.session.execute(sa.select(KeyGroup.code, KeyGroup.label).order_by(KeyGroup.code)):
        seen.setdefault(code, label)
    return list(seen.items())


def display_values(idef, answers: dict) -> dict[str, dict]:
    """Answers (stored, or as just posted) in the shape the question templates show."""
    out = {}
    for key, q in idef.questions.items():
        a = answers.get(key)
        if a is None:
            continue
        text, value, note = (a.text, a.value, a.note) if not isinstance(a, dict) else (
            a.get("text"), a.get("value"), a.get("note"))
        if q["type"] == "level" and value not in (None, ""):
            try:
                value = f"{float(value):g}"
            except (TypeError, ValueError):
                value = str(value)
        # The version shown: a stored answer's sequence, or the one a posted form was loaded with.
        seq = a.get("base") if isinstance(a, dict) else a.client_seq
        out[key] = {"text": text or "", "value": value, "note": note or "", "seq": seq}
    return out


def choice_words(q: dict, value) -> str:
    """A closed answer in words (option labels), to show someone what they sent."""
    if value in (None, "", [], {}):
        return ""
    if q["type"] == "level":
        return f"Level {float(value):g}"
    if isinstance(value, dict):   # feature ratings
        features = {f["code"]: f["label"] for f in q.get("features") or []}
        ratings = {r["id"]: r["label"] for r in q.get("ratings") or []}
        return "; ".join(f"{features.get(f, f)}: {ratings.get(r, r)}" for f, r in value.items())
    labels = {o["id"]: o["label"] for o in q.get("options") or []}
    labels["other"] = q.get("other_label") or "Something else"
    return ", ".join(labels.get(v, str(v)) for v in (value if isinstance(value, list) else [value]))


def _interview_or_404(response_id: int) -> Response:
    response = db.session.get(Response, response_id) or abort(404)
    if response.mode is not ResponseMode.INTERVIEW:
        abort(404)
    own_authority_or_403(response.respondent.authority_id)
    return response


PER_PAGE = 50


def _int_arg(name: str) -> int | None:
    return as_id(request.args.get(name, ""))


@bp.get("/")
@requires("can_run_fieldwork")
def index():
    """Interviews in the user's authorities, filtered by round, authority, role and status,
    50 a page, the user's own interviews in progress first."""
    authorities = _authorities()
    allowed = [a.id for a in authorities]
    rounds = _rounds()
    f = {"round": _int_arg("round"), "authority": _int_arg("authority"),
         "role": request.args.get("role") or None, "status": request.args.get("status") or None}
    if f["round"] not in {r.id for r in rounds}:
        f["round"] = None
    if f["authority"] not in allowed:
        f["authority"] = None
    if f["role"] not in {r.value for r in STAFF_ROLES}:
        f["role"] = None
    if f["status"] not in {s.value for s in ResponseStatus}:
        f["status"] = None
    where = [Response.mode == ResponseMode.INTERVIEW, Respondent.authority_id.in_(allowed)]
    if f["round"]:
        where.append(Respondent.round_id == f["round"])
    if f["authority"]:
        where.append(Respondent.authority_id == f["authority"])
    if f["role"]:
        where.append(Respondent.role == RespondentRole(f["role"]))
    if f["status"]:
        where.append(Response.status == ResponseStatus(f["status"]))
    mine_first = sa.case((sa.and_(Response.status == ResponseStatus.IN_PROGRESS,
                                  Response.interviewer_id == current_user.id), 0), else_=1)
    base = sa.select(Response, Respondent).join(Respondent, Response.respondent_id == Respondent.id) \
        .where(*where)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.subquery()))
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(_int_arg("page") or 1, 1), pages)
    rows = db.session.execute(base.order_by(mine_first, Response.updated_at.desc(), Response.id.desc())
                              .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    mine_count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Response).join(Respondent, Response.respondent_id == Respondent.id)
        .where(Response.mode == ResponseMode.INTERVIEW, Respondent.authority_id.in_(allowed),
               Response.status == ResponseStatus.IN_PROGRESS, Response.interviewer_id == current_user.id))
    filters = {k: v for k, v in f.items() if v}

    def page_url(n: int) -> str:
        return url_for("fieldwork.index", **filters, **({"page": n} if n > 1 else {}))
    return render_template("fieldwork/index.html", rows=rows, total=total, page=page, pages=pages,
                           first=(page - 1) * PER_PAGE + 1, page_url=page_url, filters=f,
                           filtered=bool(filters), rounds=rounds, authorities=authorities,
                           roles=STAFF_ROLES, statuses=list(ResponseStatus), mine_count=mine_count,
                           has_authorities=bool(allowed))


@bp.route("/interviews/new", methods=["GET", "POST"])
@requires("can_run_fieldwork")
def start():
    form = StartInterviewForm()
    authorities = _authorities()
    form.set_choices(_rounds(), authorities, _key_groups())
    if form.validate_on_submit():
        own_authority_or_403(form.authority_id.data)
        try:
            response = interviews.start_interview(
                db.session, current_user, round=form.round_id.data, authority=form.authority_id.data,
                role=form.role.data, key_group=form.key_group.data or None,
                case=form.case.data or None, reference=form.reference.data or None)
        except responses.FieldworkError as exc:
            target = form.case if "pseudonym" in str(exc) or "case" in str(exc) else (
                form.key_group if "key group" in str(exc) else form.reference)
            target.errors = list(target.errors) + [str(exc)]
        else:
            return redirect(url_for("fieldwork.interview", response_id=response.id))
    return render_template("fieldwork/start.html", form=form, has_authorities=bool(authorities)), \
        (422 if form.errors else 200)


@bp.route("/interviews/<int:response_id>", methods=["GET", "POST"])
@requires("can_run_fieldwork")
def interview(response_id: int):
    """The schedule, section by section. Saves as the researcher types (interview.js);
    the Save button posts the whole form, so nothing depends on scripts.

    Each question in the form carries the version (``<key>-seq``) it was loaded with: a
    save writes only answers still at that version, and keeps (and names) those changed
    elsewhere since, showing what was sent beside them. A question the form does not
    carry is not sent, and stays as stored.
    """
    response = _interview_or_404(response_id)
    idef = responses.definition_of(response)
    errors: dict[str, str] = {}
    values = None
    changed_elsewhere: dict[str, dict] = {}
    if request.method == "POST":
        if response.status is ResponseStatus.COMPLETE:
            flash("This interview is complete: its answers can no longer change.", "error")
            return redirect(url_for("fieldwork.interview", response_id=response.id))
        items = _form_items(idef)
        if not items:
            flash("No answers were sent, so nothing changed. Reload the page and try again.", "error")
            return redirect(url_for("fieldwork.interview", response_id=response.id))
        try:
            report = responses.save_answers(db.session, current_user, response, items)
        except responses.AnswersInvalid as exc:
            errors = exc.errors
            stored = responses.answers_of(db.session, response)
            values = display_values(idef, {**stored, **{i["key"]: _with_stored(i, stored) for i in items}})
        else:
            if not report.stale:
                flash("Answers saved.")
                return redirect(url_for("fieldwork.interview", response_id=response.id))
            sent = {i["key"]: i for i in items}
            changed_elsewhere = {k: {"label": idef.question(k)["label"], "text": sent[k].get("text") or "",
                                     "choice": choice_words(idef.question(k), sent[k].get("value")),
                                     "note": sent[k].get("note") or ""} for k in report.stale}
    if values is None:
        values = display_values(idef, responses.answers_of(db.session, response))
    respondent = response.respondent
    status = 422 if errors else (409 if changed_elsewhere else 200)
    return render_template("fieldwork/interview.html", response=response, idef=idef,
                           respondent=respondent, values=values, errors=errors, levels=LEVELS,
                           changed_elsewhere=changed_elsewhere,
                           locked=response.status is ResponseStatus.COMPLETE,
                           server_now_ms=int(time.time() * 1000)), status


def _form_items(idef) -> list[dict]:
    """The answers a posted interview form carries, each with the version it was loaded
    with. Questions whose version marker is missing were not sent."""
    items = []
    for key, q in idef.questions.items():
        if f"{key}-seq" not in request.form:
            continue
        base = request.form.get(f"{key}-seq", "").strip()
        item = {"key": key, "base": int(base) if base.isdigit() else (base or None),
                **question_type(q["type"]).sent_in_form(q, request.form, key)}
        if f"{key}-note" in request.form:
            item["note"] = request.form.get(f"{key}-note")
        items.append(item)
    return items


def _with_stored(item: dict, stored: dict) -> dict:
    """A sent answer, its unsent parts filled from the stored one (to show it again)."""
    a = stored.get(item["key"])
    return {**{part: getattr(a, part, None) for part in ("text", "value", "note")}, **item}


@bp.post("/interviews/<int:response_id>/answers")
@requires("can_run_fieldwork")
@takes_json
def autosave(response_id: int):
    """JSON autosave: ``{"answers": [{"key", "text", "value", "note", "seq"}]}``.

    Answers 200 with ``saved`` and ``stale`` (key -> sequence the server holds), 422 with
    ``errors`` (key -> message; nothing saved), 409 if the interview is complete.
    """
    response = _interview_or_404(response_id)
    items = json_object(answers=list).get("answers")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items) or len(items) > 500:
        return jsonify(error="Send {\"answers\": [{\"key\": ..., ...}]}."), 400
    try:
        report = responses.save_answers(db.session, current_user, response, items)
    except responses.ResponseLocked as exc:
        return jsonify(error=str(exc)), 409
    except responses.AnswersInvalid as exc:
        return jsonify(errors=exc.errors), 422
    return jsonify(saved=report.saved, stale=report.stale)


@bp.route("/interviews/<int:response_id>/complete", methods=["GET", "POST"])
@requires("can_run_fieldwork")
def complete(response_id: int):
    """A confirmation step: how many questions are unanswered, then a box to tick, as
    completing locks the answers."""
    response = _interview_or_404(response_id)
    if response.status is ResponseStatus.COMPLETE:
        flash("This interview is already complete: its answers are locked.")
        return redirect(url_for("fieldwork.interview", response_id=response.id))
    error = None
    if request.method == "POST":
        if request.form.get("confirm") == "yes":
            responses.complete_response(db.session, current_user, response)
            flash(f"Interview {response.respondent.reference} marked complete. Its closed answers are "
                  f"coded; open answers wait in the coding queue.")
            return redirect(url_for("fieldwork.index"))
        error = "Tick the box to confirm: completing locks the answers."
    idef = responses.definition_of(response)
    return render_template("fieldwork/complete.html", response=response, respondent=response.respondent,
                           idef=idef, total=len(idef.questions),
                           unanswered=responses.unanswered(db.session, response),
                           missing=responses.missing_required(db.session, response),
                           error=error), (422 if error else 200)


@bp.route("/invitations", methods=["GET", "POST"])
@requires("can_run_fieldwork")
def invitations():
    form = InvitationForm()
    authorities = _authorities()
    form.set_choices(_rounds(), authorities, _key_groups())
    if form.validate_on_submit():
        own_authority_or_403(form.authority_id.data)
        try:
            made = survey_links.create_invitations(
                db.session, current_user, round=form.round_id.data, authority=form.authority_id.data,
                role=form.role.data, count=form.count.data, key_group=form.key_group.data or None,
                case=form.case.data or None)
        except responses.FieldworkError as exc:
            target = form.key_group if "key group" in str(exc) else (
                form.count if "number" in str(exc) else form.case)
            target.errors = list(target.errors) + [str(exc)]
        else:
            flash(f"{len(made)} survey link{'s' if len(made) != 1 else ''} made. Print this sheet "
                  f"and hand out one link per person.")
            return redirect(url_for("fieldwork.invitation_sheet", batch=made[0].batch))
    allowed = [a.id for a in authorities]
    batches = db.session.execute(
        sa.select(Invitation.batch, Invitation.round_id, Invitation.authority_id, Invitation.role,
                  sa.func.count(), sa.func.count(Invitation.respondent_id),
                  sa.func.count(Invitation.submitted_at), sa.func.min(Invitation.created_at))
        .where(Invitation.authority_id.in_(allowed))
        .group_by(Invitation.batch, Invitation.round_id, Invitation.authority_id, Invitation.role)
        .order_by(sa.func.min(Invitation.created_at).desc()).limit(100)).all()
    rounds = {r.id: r for r in _rounds()}
    names = {a.id: a.name for a in authorities}
    return render_template("fieldwork/invitations.html", form=form, batches=batches, rounds=rounds,
                           names=names, has_authorities=bool(authorities)), (422 if form.errors else 200)


def qr_svg(url: str) -> Markup:
    """A QR code as inline SVG (attributes only, so the strict CSP allows it)."""
    svg = segno.make(url, error="m").svg_inline(scale=3, border=2, title=None, dark="#000",
                                                light="#fff", svgclass="qr", lineclass=None)
    return Markup(svg.replace("<svg ", '<svg role="img" aria-hidden="true" focusable="false" ', 1))


EXPORT_TYPES = {"csv": "text/csv",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _batch_or_404(batch: str) -> list[Invitation]:
    rows = links.batch_invitations(db.session, batch)
    if not rows:
        abort(404)
    own_authority_or_403(rows[0].authority_id)
    return rows


@bp.get("/invitations/<batch>")
@requires("can_run_fieldwork")
def invitation_sheet(batch: str):
    rows = _batch_or_404(batch)
    base = current_app.config["BASE_URL"]
    cards = [{"invitation": inv, "url": links.printed_address(survey_links.invitation_url(inv.token, base)),
              "qr": qr_svg(survey_links.invitation_url(inv.token, base)),
              "code": survey_links.format_code(inv.code),
              "status": survey_links.invitation_status(inv)} for inv in rows]
    # What people type: no https://, and the host never broken across lines.
    entry = links.printed_address(survey_links.code_entry_url(base))
    return render_template("fieldwork/sheet.html", cards=cards, first=rows[0], entry=entry,
                           role=RespondentRole(rows[0].role))


@bp.get("/invitations/<batch>/links.<fmt>")
@requires("can_run_fieldwork")
def invitation_export(batch: str, fmt: str):
    """A batch's links as CSV or XLSX, for a mail merge (the columns: ``links.COLUMNS``)."""
    if fmt not in links.FORMATS:
        abort(404)
    rows = _batch_or_404(batch)
    exported = links.export_batch(db.session, current_user, rows, fmt, current_app.config["BASE_URL"])
    return FileResponse(exported.body, mimetype=EXPORT_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{exported.filename}"'})


@bp.get("/instruments")
@requires("can_run_fieldwork")
def instruments():
    responses.ensure_synced(db.session)
    loaded = responses.loaded_instruments()
    versions = dict(db.session.execute(
        sa.select(Instrument.key, sa.func.count(InstrumentVersion.id))
        .join(InstrumentVersion, InstrumentVersion.instrument_id == Instrument.id)
        .group_by(Instrument.key)).all())
    languages = language_status(loaded, loaded_translations())
    return render_template("fieldwork/instruments.html", loaded=loaded, versions=versions,
                           languages=languages, language_names=LANGUAGES)


@bp.get("/instruments/<key>/preview", defaults={"step": 1})
@bp.get("/instruments/<key>/preview/<int:step>")
@requires("can_run_fieldwork")
def preview(key: str, step: int):
    """An instrument's pages as a respondent sees them, one section a page. Nothing is
    stored: the page has no form to send, and moving between pages is by link."""
    idef = responses.loaded_instruments().get(key) or abort(404)
    if not 1 <= step <= len(idef.sections):
        return redirect(url_for("fieldwork.preview", key=key))
    return render_template("fieldwork/survey/preview.html", idef=idef, audience=idef.audience,
                           child=idef.audience == "child", sections=idef.sections,
                           section=idef.sections[step - 1], step=step, values={}, errors={},
                           state="answering")
