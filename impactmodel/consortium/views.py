from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from impactmodel.access import requires
from impactmodel.audit import record
from impactmodel.consortium import services
from impactmodel.consortium.forms import ParticipationForm, RoundForm
from impactmodel.consortium.models import Locality, Round
from impactmodel.consortium.queries import round_overview
from impactmodel.db import db
from impactmodel.enums import RespondentRole

bp = Blueprint("consortium", __name__)


@bp.get("/")
@requires()
def home():
    rounds = db.session.scalars(sa.select(Round).order_by(Round.created_at.desc(), Round.id.desc())).all()
    return render_template("consortium/home.html", rounds=rounds, form=RoundForm())


@bp.post("/rounds")
@requires("can_manage_rounds")
def create_round():
    form = RoundForm()
    if form.validate_on_submit():
        if db.session.scalar(sa.select(Round.id).where(Round.name == form.name.data.strip())):
            flash(f"There is already a round called {form.name.data.strip()!r}.", "error")
        else:
            rnd = services.get_or_create_round(db.session, form.name.data)
            record(db.session, current_user, "round.create", "round", rnd.id)
            db.session.commit()
            flash(f"Round {rnd.name!r} created.")
            return redirect(url_for("consortium.round_detail", round_id=rnd.id))
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
    return redirect(url_for("consortium.home"))


@bp.get("/rounds/<int:round_id>")
@requires()
def round_detail(round_id: int):
    rnd = db.session.get(Round, round_id) or abort(404)
    rows = round_overview(db.session, rnd)
    threshold = current_app.config["SMALL_NUMBER_THRESHOLD"]
    for row in rows:
        row["name"] = current_user.authority_display_name(row["authority"])
        # Counts about an authority this user may not see by name are suppressed below 5.
        row["open"] = current_user.may_see_authority(row["authority"].id)
    # Named rows first, then labels in label order ("Authority B" before "Authority AA").
    rows.sort(key=lambda r: (not r["open"], len(r["name"]) if not r["open"] else 0, r["name"]))
    return render_template("consortium/round.html", round=rnd, rows=rows, roles=list(RespondentRole),
                           threshold=threshold, form=ParticipationForm())


@bp.post("/rounds/<int:round_id>/authorities")
@requires("can_manage_rounds")
def add_authority(round_id: int):
    rnd = db.session.get(Round, round_id) or abort(404)
    form = ParticipationForm()
    if form.validate_on_submit():
        authority = services.get_or_create_authority(db.session, form.authority.data)
        part = services.ensure_participation(db.session, rnd, authority)
        name = (form.locality.data or "").strip()
        if name:
            loc = db.session.scalar(sa.select(Locality).where(Locality.authority_id == authority.id,
                                                              Locality.name == name))
            part.locality = loc or Locality(authority_id=authority.id, name=name)
        record(db.session, current_user, "round.add_authority", "participation", part.id)
        db.session.commit()
        flash(f"{authority.name} ({authority.label}) takes part in {rnd.name}.")
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
    return redirect(url_for("consortium.round_detail", round_id=rnd.id))
