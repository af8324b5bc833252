from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from impactmodel.access import requires
from impactmodel.audit import record
from impactmodel.consortium import admin, context, services
from impactmodel.consortium.forms import (ContextForm, MergeAuthorityForm, ParticipationForm, RemoveParticipationForm,
                                          RenameAuthorityForm, RoundForm)
from impactmodel.consortium.models import Authority, Locality, Participation, Round
from impactmodel.consortium.queries import authority_overview, round_overview
from impactmodel.consortium.urls import authority_for_url
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
    names = (db.session.scalars(sa.select(Authority.name).order_by(Authority.name)).all()
             if current_user.role.can_manage_rounds else [])
    return render_template("consortium/round.html", round=rnd, rows=rows, roles=list(RespondentRole),
                           threshold=threshold, form=ParticipationForm(), authority_names=names)


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


def _flash_errors(form) -> None:
    for errors in form.errors.values():
        for e in errors:
            flash(e, "error")


@bp.get("/authorities")
@requires("can_manage_rounds")
def authorities():
    return render_template("consortium/authorities.html", rows=authority_overview(db.session))


@bp.get("/authorities/<public_id>")
@requires("can_manage_rounds")
def authority(public_id: str):
    authority = authority_for_url(public_id)
    return render_template("consortium/authority.html", authority=authority,
                           rows=authority_overview(db.session, authority.id),
                           rename=RenameAuthorityForm(name=authority.name),
                           merge=_merge_form(authority))


def _merge_form(authority: Authority) -> MergeAuthorityForm:
    form = MergeAuthorityForm()
    others = db.session.scalars(sa.select(Authority).where(Authority.id != authority.id)
                                .order_by(Authority.name)).all()
    form.into.choices = [("", "—")] + [(a.public_id, f"{a.name} ({a.label})") for a in others]
    return form


@bp.post("/authorities/<public_id>/rename")
@requires("can_manage_rounds")
def rename_authority(public_id: str):
    authority = authority_for_url(public_id)
    form = RenameAuthorityForm()
    if form.validate_on_submit():
        old = authority.name
        try:
            admin.rename_authority(db.session, current_user, authority, form.name.data)
            flash(f"{old} is now called {authority.name}.")
        except admin.AuthorityError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    else:
        _flash_errors(form)
    return redirect(url_for("consortium.authority", public_id=authority.public_id))


@bp.post("/authorities/<public_id>/merge")
@requires("can_manage_rounds")
def merge_authority(public_id: str):
    """Without ``confirmed``: show what the merge would move. With it: merge."""
    source = authority_for_url(public_id)
    form = _merge_form(source)
    if not form.validate_on_submit():
        _flash_errors(form)
        return redirect(url_for("consortium.authority", public_id=source.public_id))
    target = db.session.scalar(sa.select(Authority).where(Authority.public_id == form.into.data))
    if target is None:   # removed since the form was shown
        flash("That authority no longer exists.", "error")
        return redirect(url_for("consortium.authority", public_id=source.public_id))
    if not form.confirmed.data:
        plan = admin.plan_merge(db.session, source, target)
        form.confirmed.data = "yes"
        return render_template("consortium/merge.html", plan=plan, form=form, labels=admin.MERGE_COUNTS)
    name = source.name
    try:
        plan = admin.merge_authorities(db.session, current_user, source, target)
    except admin.AuthorityError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("consortium.authority", public_id=public_id))
    flash(f"{name} was merged into {target.name}: {plan.counts['respondents']} respondents and "
          f"{plan.counts['codings']} codings moved.")
    return redirect(url_for("consortium.authority", public_id=target.public_id))


@bp.post("/rounds/<int:round_id>/authorities/<public_id>/remove")
@requires("can_manage_rounds")
def remove_participation(round_id: int, public_id: str):
    """Removes at once when the authority has nothing in the round; otherwise shows what
    would be deleted and removes only once that is confirmed."""
    rnd = db.session.get(Round, round_id) or abort(404)
    authority = authority_for_url(public_id)
    form = RemoveParticipationForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return redirect(url_for("consortium.round_detail", round_id=rnd.id))
    try:
        plan = admin.plan_removal(db.session, rnd, authority)
        if plan.has_data and not form.confirmed.data:
            form.confirmed.data = plan.confirmation
            return render_template("consortium/remove.html", plan=plan, form=form,
                                   labels=admin.REMOVAL_COUNTS)
        plan = admin.remove_participation(db.session, current_user, rnd, authority,
                                          confirmed=form.confirmed.data or None)
    except admin.AuthorityError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("consortium.round_detail", round_id=rnd.id))
    removed = ", ".join(f"{n} {admin.REMOVAL_COUNTS[k]}" for k, n in plan.counts.items() if n)
    flash(f"{authority.name} no longer takes part in {rnd.name}" + (f"; deleted {removed}." if removed else "."))
    return redirect(url_for("consortium.round_detail", round_id=rnd.id))


@bp.get("/rounds/<int:round_id>/context")
@requires("can_manage_rounds")
def context_page(round_id: int):
    """Each taking part authority's type, size and year integration began, for the round report."""
    rnd = db.session.get(Round, round_id) or abort(404)
    # One row of fields per authority, written out by the template (a form object each
    # would cost more than the rest of the page); saving one validates a ContextForm.
    rows = db.session.execute(
        sa.select(Authority.name, Authority.public_id, Participation.authority_type, Participation.children,
                  Participation.integrated_since).join(Authority, Authority.id == Participation.authority_id)
        .where(Participation.round_id == rnd.id).order_by(Authority.name)).all()
    return render_template("consortium/context.html", round=rnd, rows=rows, types=context.AUTHORITY_TYPES)


@bp.post("/rounds/<int:round_id>/context/<public_id>")
@requires("can_manage_rounds")
def save_context(round_id: int, public_id: str):
    rnd = db.session.get(Round, round_id) or abort(404)
    authority = authority_for_url(public_id)
    form = ContextForm()
    if not form.validate_on_submit():
        _flash_errors(form)
    else:
        try:
            context.record_context(db.session, current_user, rnd, authority,
                                   authority_type=form.authority_type.data or None,
                                   children=form.children.data, integrated_since=form.integrated_since.data)
        except context.ContextError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(f"Context saved for {authority.name}.", "success")
    return redirect(url_for("consortium.context_page", round_id=rnd.id))
