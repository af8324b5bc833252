"""The safeguarding page: answers from parents and children that may disclose harm, with
the steps of each authority's procedure, for the researchers of that authority."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from impactmodel.access import own_authority_or_403, requires
from impactmodel.db import db
from impactmodel.fieldwork import responses, safeguarding
from impactmodel.fieldwork.models import SafeguardingFlag
from impactmodel.inputs import as_id

bp = Blueprint("safeguarding", __name__, url_prefix="/safeguarding")


def open_flags_for_current_user() -> int:
    """For the banner on every staff page: how many flags wait for this user."""
    if not current_user.is_authenticated or not current_user.role.can_run_fieldwork:
        return 0
    return safeguarding.open_count(db.session, current_user)


@bp.get("/")
@requires("can_run_fieldwork")
def index():
    waiting = safeguarding.flags_for(db.session, current_user, handled=False)
    handled = safeguarding.flags_for(db.session, current_user, handled=True, limit=50)
    return render_template("fieldwork/safeguarding.html", waiting=waiting, handled=handled,
                           rules=safeguarding.descriptions(), steps_for=safeguarding.steps_for,
                           question_of=_question_label)


def _question_label(flag: SafeguardingFlag) -> str:
    response = flag.answer.response
    q = responses.definition_of(response).question(flag.answer.question_key)
    return (q or {}).get("label") or flag.answer.question_key


@bp.post("/<int:flag_id>/handled")
@requires("can_run_fieldwork")
def handled(flag_id: int):
    flag = db.session.get(SafeguardingFlag, flag_id) if as_id(flag_id) is not None else None
    if flag is None:
        abort(404)
    own_authority_or_403(flag.authority_id)
    safeguarding.mark_handled(db.session, current_user, flag)
    flash("Marked as dealt with. The audit log records who and when.")
    return redirect(url_for("safeguarding.index"))
