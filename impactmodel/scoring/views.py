"""Scores pages: continuum, authority profile, round report, JSON, downloads, recompute.

Every page reads stored results (ConfidenceScore, RoundScoring); only the
recompute button computes, in the background, with its progress stored.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template,
                   request, url_for)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange, Optional

from impactmodel import jobs
from impactmodel.access import requires
from impactmodel.coding import stored_reliability
from impactmodel.consortium.models import Authority, Participation, Round
from impactmodel.consortium.urls import authority_for_url
from impactmodel.db import db
from impactmodel.enums import RespondentRole
from impactmodel.inputs import as_id
from impactmodel.interchange import tables as round_tables
from impactmodel.scoring import charts, core, exports, findings, placements, present, services
from impactmodel.scoring.models import RoundScoring, ScoringRun

bp = Blueprint("scoring", __name__)

# The response rates page shows this many authorities' rows at a time.
AUTHORITIES_PER_PAGE = 25
# Flask adds "; charset=utf-8" to text types itself.
FORMATS = {"csv": "text/csv",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class ComputeForm(FlaskForm):
    seed = IntegerField("Seed", default=0, validators=[Optional(), NumberRange(0, 2**31 - 1,
                        "Use a whole number from 0 to 2147483647.")])


class PublishForm(FlaskForm):
    """CSRF only: publishing takes no input."""


def _viewer() -> present.Viewer:
    # The user itself, not Flask-Login's proxy: a report asks about every authority many
    # times, and each question through the proxy finds the user again.
    return present.Viewer(current_user._get_current_object(), current_app.config["SMALL_NUMBER_THRESHOLD"])


def _stale(stored) -> bool:
    return services.is_stale(db.session, stored)


def _round(round_id: int) -> Round:
    return db.session.get(Round, round_id) or abort(404)


@bp.get("/scores")
@requires("can_view_scores")
def index():
    rounds = db.session.scalars(sa.select(Round).order_by(Round.created_at.desc(), Round.id.desc())).all()
    computed = {rs.round_id: rs for rs in db.session.scalars(sa.select(RoundScoring))}
    return render_template("scoring/index.html", rounds=rounds, computed=computed)


@bp.get("/rounds/<int:round_id>/scores")
@requires("can_view_scores")
def continuum(round_id: int):
    rnd = _round(round_id)
    stored = services.stored_results(db.session, rnd)
    viewer = _viewer()
    rows = present.continuum_rows(stored, viewer)
    # The seed field starts at the stored results' seed: recomputing unchanged data
    # with it gives the same numbers.
    form = ComputeForm(seed=stored.scoring.seed if stored.scoring else 0)
    return render_template("scoring/continuum.html", round=rnd, stored=stored, rows=rows,
                           stale=_stale(stored), publication=services.publication(db.session, rnd),
                           publish_form=PublishForm(), min_group=core.MIN_GROUP,
                           method_note=present.method_note(stored.scoring.method_version) if stored.scoring else "",
                           chart=charts.continuum(rows), form=form,
                           sensitivity=stored.scoring.summary.get("sensitivity") if stored.scoring else None,
                           alternatives=stored.scoring.summary.get("alternatives", []) if stored.scoring else [],
                           labels=present.COMPONENT_LABELS, components=present.COMPONENTS,
                           threshold=viewer.threshold,
                           reliability_below=stored_reliability.below_threshold(db.session, rnd))


@bp.get("/rounds/<int:round_id>/scores/authorities/<public_id>")
@requires("can_view_scores")
def profile(round_id: int, public_id: str):
    rnd = _round(round_id)
    authority = authority_for_url(public_id)
    score = services.stored_score(db.session, rnd, authority.id)
    viewer = _viewer()
    view = None
    stale = False
    if score is not None:
        # One read of the round's stored summary serves the labels and the stale check.
        stored = services.stored_results(db.session, rnd, scores=False)
        labels = (stored.scoring.summary if stored.scoring else {}).get("labels", {})
        view = present.profile_view(score, viewer, labels)
        key_group = _key_group(rnd)
        if key_group:
            kg_label = next(kg.label for kg in rnd.key_groups if kg.code == key_group)
            view["key_group"] = present.key_group_view(score, viewer, labels, key_group, kg_label)
        stale = _stale(stored)
        computed_at = stored.scoring.computed_at if stored.scoring else score.computed_at
    return render_template("scoring/profile.html", round=rnd, authority=authority, stale=stale,
                           computed_at=computed_at if score is not None else None,
                           name=viewer.name(authority), view=view,
                           components_chart=charts.components(view["components"]) if view else None,
                           levels_chart=charts.levels(view["groups"]) if view else None,
                           profile_tables=present.profile_tables(view) if view else None,
                           threshold=viewer.threshold, key_groups=rnd.key_groups,
                           reliability_below=stored_reliability.below_threshold(db.session, rnd))


def _labels(rnd: Round) -> dict[str, str]:
    summary = db.session.scalar(sa.select(RoundScoring.summary).where(RoundScoring.round_id == rnd.id))
    return (summary or {}).get("labels", {})


# The tables the report page shows (indicators and response rates have pages of their own).
REPORT_TABLES = (*(n for n in round_tables.TABLES
                   if n not in ("indicators", "indicator_distribution", "response_rates")), "gaps_shown")


def _key_group(rnd: Round) -> str | None:
    """The ``key_group`` filter of the address, when it names one of the round's key groups."""
    return round_tables.round_key_group(db.session, rnd, request.args.get("key_group"))


@bp.get("/rounds/<int:round_id>/report")
@requires("can_view_scores")
def report(round_id: int):
    rnd = _round(round_id)
    stored = services.stored_results(db.session, rnd)
    viewer = _viewer()
    key_group = _key_group(rnd)
    rows = present.continuum_rows(stored, viewer)
    tables = round_tables.round_tables(db.session, rnd, viewer, key_group, names=REPORT_TABLES, stored=stored,
                                       continuum_rows=rows)
    reach = None
    if not stored.empty and not key_group:
        s = stored.scoring.summary
        reach = charts.level_reach(s.get("level_reach", {}), s.get("respondents_by_role", {}),
                                   [(r.value, r.short) for r in RespondentRole], viewer.threshold)
    return render_template("scoring/report.html", round=rnd, stored=stored, tables=tables,
                           placement_agreement=placements.agreement(db.session, rnd),
                           stale=_stale(stored), key_group=key_group, key_groups=rnd.key_groups,
                           by_key_group=round_tables.BY_KEY_GROUP,
                           changes=tables["change"].rows, change_table=tables["change"],
                           reach=reach, chart=charts.continuum(rows), rows=rows,
                           level_names=present.LEVEL_NAMES, threshold=viewer.threshold,
                           summary=stored.scoring.summary if stored.scoring else {})


@bp.get("/rounds/<int:round_id>/response-rates")
@requires("can_view_scores")
def response_rates(round_id: int):
    """Whose voice is missing: survey links sent, begun and sent back."""
    rnd = _round(round_id)
    key_group = _key_group(rnd)
    viewer = _viewer()
    # A page of authorities at a time (about six rows each); the downloads hold them all.
    authorities = findings.response_rate_authorities(db.session, rnd, viewer, key_group)
    pages = max(1, -(-len(authorities) // AUTHORITIES_PER_PAGE))
    page = min(max(1, as_id(request.args.get("page", "")) or 1), pages)
    on_page = authorities[(page - 1) * AUTHORITIES_PER_PAGE:page * AUTHORITIES_PER_PAGE]
    table = findings.response_rates_table(db.session, rnd, viewer, key_group, on_page)
    return render_template("scoring/response_rates.html", round=rnd, table=table, key_group=key_group,
                           key_groups=rnd.key_groups, page=page, pages=pages, per_page=AUTHORITIES_PER_PAGE,
                           n_authorities=len(authorities))


@bp.get("/rounds/<int:round_id>/scores.json")
@requires("can_view_scores")
def scores_json(round_id: int):
    rnd = _round(round_id)
    stored = services.stored_results(db.session, rnd)
    viewer = _viewer()
    return jsonify([present.score_json(s, viewer) for s in stored.scores])


@bp.get("/rounds/<int:round_id>/scores/tables/<name>.<fmt>")
@requires("can_export_consortium")
def download_table(round_id: int, name: str, fmt: str):
    """Any round-report table (interchange/tables.py names them), for the key group filtered on."""
    rnd = _round(round_id)
    if fmt not in FORMATS or name not in round_tables.TABLES:
        abort(404)
    key_group = _key_group(rnd) if name in round_tables.BY_KEY_GROUP else None
    table = round_tables.round_table(db.session, rnd, name, _viewer(), key_group)
    # A key group's code is typed by people: only safe characters go into the header.
    suffix = "-" + re.sub(r"[^A-Za-z0-9_-]", "_", key_group) if key_group else ""
    return _send(table, fmt, f"round-{rnd.id}-{name}{suffix}")


@bp.get("/rounds/<int:round_id>/scores/authorities/<public_id>/tables/<name>.<fmt>")
@requires("can_view_scores")
def download_profile_table(round_id: int, public_id: str, name: str, fmt: str):
    rnd = _round(round_id)
    if fmt not in FORMATS:
        abort(404)
    authority = authority_for_url(public_id)
    score = services.stored_score(db.session, rnd, authority.id) or abort(404)
    view = present.profile_view(score, _viewer(), _labels(rnd))
    table = present.profile_tables(view).get(name) or abort(404)
    # The authority's public id, never its label: a viewer who sees the name must not
    # find the anonymised letter beside it in the file name.
    return _send(table, fmt, f"round-{rnd.id}-authority-{authority.public_id}-{name}")


def _send(table: present.Table, fmt: str, stem: str) -> Response:
    body = exports.to_csv(table) if fmt == "csv" else exports.to_xlsx(table)
    return Response(body, mimetype=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


@bp.post("/rounds/<int:round_id>/scores/compute")
@requires("can_compute_scores")
def compute(round_id: int):
    rnd = _round(round_id)
    form = ComputeForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
        return redirect(url_for("scoring.continuum", round_id=rnd.id))
    if services.publication(db.session, rnd) is not None:
        flash(f"{rnd.name} is published: its scores are frozen and cannot be recomputed.", "error")
        return redirect(url_for("scoring.continuum", round_id=rnd.id))
    seed = form.seed.data if form.seed.data is not None else services.default_seed(db.session, rnd)
    run, new = services.start_run(db.session, current_user, rnd, seed=seed)
    if not new:
        # A second click, or someone else's request: follow the run already under way.
        flash("Scores for this round are already being computed; this is that computation.", "info")
        return redirect(url_for("scoring.run_status", run_id=run.id))
    jobs.enqueue(db.session, "scoring.run", {"run_id": run.id, "user_id": current_user.id},
                 key=f"scoring-run:{run.id}")
    db.session.commit()
    jobs.dispatch()
    return redirect(url_for("scoring.run_status", run_id=run.id))


@bp.post("/rounds/<int:round_id>/scores/publish")
@requires("can_manage_rounds")
def publish(round_id: int):
    rnd = _round(round_id)
    if not PublishForm().validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("scoring.continuum", round_id=rnd.id))
    try:
        pub = services.publish(db.session, current_user, rnd)
    except ValueError as exc:
        flash(str(exc), "error")
    else:
        flash(f"{rnd.name} published: its numbers are frozen (data hash {pub.data_hash[:12]}).", "success")
    return redirect(url_for("scoring.continuum", round_id=rnd.id))


def _run(run_id: int) -> ScoringRun:
    """The run, shown as failed once it has stopped without finishing (its page stops polling)."""
    run = db.session.get(ScoringRun, run_id) or abort(404)
    if run.status in services.ACTIVE and services.expire_stale_runs(db.session, run.round_id):
        db.session.refresh(run)
    return run


@bp.get("/scoring/runs/<int:run_id>")
@requires("can_compute_scores")
def run_status(run_id: int):
    run = _run(run_id)
    rnd = db.session.get(Round, run.round_id)
    return render_template("scoring/run.html", run=run, round=rnd)


@bp.get("/scoring/runs/<int:run_id>.json")
@requires("can_compute_scores")
def run_status_json(run_id: int):
    run = _run(run_id)
    return jsonify({"id": run.id, "status": run.status, "progress": run.progress, "message": run.message,
                    "done": run.status in ("done", "failed"),
                    "next": url_for("scoring.continuum", round_id=run.round_id)})


class PlacementForm(FlaskForm):
    authority = IntegerField("Authority", validators=[DataRequired()])
    stage = SelectField("Your placement", choices=[SelectChoice("", "Not placed yet")] + [
        SelectChoice(s, placements.STAGE_LABELS[s]) for s in placements.STAGES], validators=[Optional()])
    selection = SelectField("How staff were chosen", choices=[
        SelectChoice("", "Not recorded"), SelectChoice("sampled", "Sampled at random"),
        SelectChoice("nominated", "Nominated by the authority"), SelectChoice("census", "All interviewed")],
        validators=[Optional()])
    managers_in_post = IntegerField("Managers in post", validators=[Optional(), NumberRange(1, 100_000)])
    practitioners_in_post = IntegerField("Practitioners in post", validators=[Optional(), NumberRange(1, 100_000)])


@bp.route("/rounds/<int:round_id>/placements", methods=["GET", "POST"])
@requires("can_compute_scores")
def placements_page(round_id: int):
    """Researchers place the authorities they know, without seeing the index here."""
    rnd = _round(round_id)
    form = PlacementForm()
    if form.is_submitted():
        if not form.validate():
            for errors in form.errors.values():
                for e in errors:
                    flash(e, "error")
        else:
            authority = db.session.get(Authority, form.authority.data)
            if authority is None or not current_user.may_see_authority(authority.id):
                abort(404)
            try:
                if form.stage.data:
                    placements.record_placement(db.session, current_user, rnd, authority, form.stage.data)
                placements.record_design(db.session, current_user, rnd, authority,
                                         selection=form.selection.data or None,
                                         managers_in_post=form.managers_in_post.data,
                                         practitioners_in_post=form.practitioners_in_post.data)
            except placements.PlacementError as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                flash(f"Saved for {authority.name}.", "success")
        return redirect(url_for("scoring.placements_page", round_id=rnd.id))
    parts = db.session.execute(
        sa.select(Participation, Authority).join(Authority, Authority.id == Participation.authority_id)
        .where(Participation.round_id == rnd.id).order_by(Authority.name)).all()
    mine = {p.authority_id: p for ps in placements.placements_of(db.session, rnd).values() for p in ps
            if p.researcher_id == current_user.id}
    rows = []
    for part, authority in parts:
        if not current_user.may_see_authority(authority.id):
            continue
        own = mine.get(authority.id)
        rows.append({"authority": authority, "mine": own, "form": PlacementForm(
            formdata=None, authority=authority.id, stage=own.stage if own else "",
            selection=part.staff_selection or "", managers_in_post=part.managers_in_post,
            practitioners_in_post=part.practitioners_in_post)})
    scored = db.session.scalar(sa.select(RoundScoring.id).where(RoundScoring.round_id == rnd.id)) is not None
    return render_template("scoring/placements.html", round=rnd, rows=rows, scored=scored,
                           labels=placements.STAGE_LABELS)
