"""Staff pages for withdrawing a respondent who asked the research team to be removed:
found by the code on their survey card, or from their interview."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from impactmodel.access import own_authority_or_403, requires
from impactmodel.consortium.models import Respondent
from impactmodel.db import db
from impactmodel.fieldwork import invitations, withdrawal
from impactmodel.fieldwork.models import Invitation
from impactmodel.inputs import as_id

bp = Blueprint("withdrawal", __name__, url_prefix="/fieldwork/withdraw")


@bp.route("", methods=["GET", "POST"])
@requires("can_run_fieldwork")
def find():
    """Type the code from the respondent's card; the confirmation page follows."""
    typed = (request.form.get("code") or "").strip()[:40] if request.method == "POST" else ""
    error = None
    if request.method == "POST":
        try:
            invitation = invitations.find_invitation_by_code(db.session, typed)
        except invitations.InvitationNotFound:
            invitation = None
        if invitation is not None and not current_user.may_see_authority(invitation.authority_id):
            invitation = None   # as unknown: the code says nothing of other authorities
        if invitation is None:
            error = "No survey link of your authorities has that code."
        elif invitation.withdrawn_at is not None:
            error = "That respondent has already withdrawn: nothing of theirs is left."
        elif invitation.respondent_id is None:
            error = "That link has not been opened: there are no answers to remove."
        else:
            return redirect(url_for("withdrawal.confirm", respondent_id=invitation.respondent_id))
    return render_template("fieldwork/withdraw_find.html", typed=typed, error=error), (422 if error else 200)


@bp.route("/<int:respondent_id>", methods=["GET", "POST"])
@requires("can_run_fieldwork")
def confirm(respondent_id: int):
    """What withdrawing removes; removed once confirmed."""
    respondent = db.session.get(Respondent, respondent_id) if as_id(respondent_id) is not None else None
    if respondent is None:
        abort(404)
    own_authority_or_403(respondent.authority_id)
    if request.method == "POST" and request.form.get("confirm") == "yes":
        removed = withdrawal.withdraw_respondent(db.session, current_user, respondent)
        flash(f"Withdrawn: {removed.answers} answers and {removed.codings} codings removed. The round's "
              "scores and reliability report show as out of date until computed again.")
        return redirect(url_for("withdrawal.find"))
    link = db.session.scalar(sa.select(Invitation).where(Invitation.respondent_id == respondent.id))
    return render_template("fieldwork/withdraw_confirm.html", respondent=respondent,
                           counts=withdrawal.counts(db.session, respondent), link=link)
