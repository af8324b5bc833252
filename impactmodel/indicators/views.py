"""Indicator pages: one authority's figures over periods, and the consortium's view.

Who sees what is decided in ``present.py``; these views only read and render.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user

from impactmodel.access import requires
from impactmodel.consortium.models import Round
from impactmodel.consortium.urls import authority_for_url
from impactmodel.db import db
from impactmodel.indicators import charts, present
from impactmodel.inputs import as_id
from impactmodel.interchange import tables as round_tables
from impactmodel.scoring import exports
from impactmodel.scoring.present import Viewer

bp = Blueprint("indicators", __name__)

# The consortium page's table of the chosen indicator shows this many authorities at a time.
AUTHORITIES_PER_PAGE = 25
FORMATS = {"csv": "text/csv",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _viewer() -> Viewer:
    # The user itself, not Flask-Login's proxy (asked about every authority).
    return Viewer(current_user._get_current_object(), current_app.config["SMALL_NUMBER_THRESHOLD"])


def _round(round_id: int) -> Round:
    return db.session.get(Round, round_id) or abort(404)


@bp.get("/rounds/<int:round_id>/indicators")
@requires("can_view_scores")
def consortium(round_id: int):
    rnd = _round(round_id)
    viewer = _viewer()
    spread = present.spreads(db.session, rnd, viewer)
    labels = present.key_group_labels(rnd)
    available = present.indicators_with_figures(spread)
    chosen = next((i for i in available if i.id == request.args.get("indicator")),
                  available[0] if available else None)
    places = present.authorities_with_figures(db.session, rnd, viewer)
    pages = max(1, -(-len(places) // AUTHORITIES_PER_PAGE))
    page = min(max(1, as_id(request.args.get("page", "")) or 1), pages)
    on_page = places[(page - 1) * AUTHORITIES_PER_PAGE:page * AUTHORITIES_PER_PAGE]
    # The download holds every figure; the page reads the chosen indicator's, a page of authorities at a time.
    points = []
    if chosen:
        latest = present.figures(db.session, rnd, viewer, places, indicator=chosen.id, whole_only=True)
        points = present.against_index(db.session, rnd, latest, chosen.id)
    shown = present.figures(db.session, rnd, viewer, on_page, indicator=chosen.id) if chosen and on_page else []
    return render_template("indicators/consortium.html", round=rnd, available=available, chosen=chosen,
                           scatter=charts.against_index(points, chosen.unit.label) if points else None,
                           distribution=present.distribution_table(spread, labels, viewer),
                           table=present.figures_table(shown, labels, viewer),
                           authorities=[(p.name, p.authority.public_id) for p in places],
                           page=page, pages=pages, per_page=AUTHORITIES_PER_PAGE, n_authorities=len(places),
                           threshold=viewer.threshold)


@bp.get("/rounds/<int:round_id>/indicators/authorities/<public_id>")
@requires("can_view_scores")
def authority(round_id: int, public_id: str):
    rnd = _round(round_id)
    place = authority_for_url(public_id)
    viewer = _viewer()
    shown = present.figures(db.session, rnd, viewer, [present.place_of(place, viewer)])
    labels = present.key_group_labels(rnd)
    charts_ = [{"indicator": ind, "chart": charts.over_periods([f for f in shown if f.indicator.id == ind.id], labels)}
               for ind in present.indicators_with_figures(shown)]
    return render_template("indicators/authority.html", round=rnd, authority=place, name=viewer.name(place),
                           open=viewer.is_open(place), charts=charts_, evidence=present.evidence(db.session, rnd, place),
                           table=present.figures_table(shown, labels, viewer), threshold=viewer.threshold)


@bp.get("/rounds/<int:round_id>/indicators/tables/<name>.<fmt>")
@requires("can_export_consortium")
def download_table(round_id: int, name: str, fmt: str):
    rnd = _round(round_id)
    if fmt not in FORMATS:
        abort(404)
    if name not in ("indicators", "indicator_distribution"):
        abort(404)
    table = round_tables.round_table(db.session, rnd, name, _viewer())
    body = exports.to_csv(table) if fmt == "csv" else exports.to_xlsx(table)
    return Response(body, mimetype=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="round-{rnd.id}-{name}.{fmt}"'})
