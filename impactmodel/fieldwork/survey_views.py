"""Respondents' pages: a survey opened from an invitation link, with no log-in.

A separate blueprint from the staff pages. The token in the address is the only
credential; every page checks it. An unknown token answers 404 and an expired or
already-submitted one 410, each with a kind page that says nothing about anyone else.
"""
from __future__ import annotations

import time
from datetime import timedelta

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from impactmodel.access import public
from impactmodel.auth.services import code_check_allowed, note_code_check
from impactmodel.db import db
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork import invitations, responses, surveys, withdrawal
from impactmodel.fieldwork.instrument_translations import in_language
from impactmodel.fieldwork.models import ResponseMode, ResponseStatus
from impactmodel.fieldwork.questions import question_type
from impactmodel.fieldwork.views import display_values
from impactmodel.languages import current_language, keep_response_language

bp = Blueprint("survey", __name__, url_prefix="/s")


def _ended(reason: str, audience: str | None = None, invitation=None, status: int | None = None):
    code = status or (404 if reason == "unknown" else 410)
    return render_template("fieldwork/survey/ended.html", reason=reason, audience=audience,
                           child=audience == "child", sections=None, state=reason,
                           **_footer(invitation)), code


def _footer(invitation=None, *, can_withdraw: bool = False) -> dict:
    """What every respondent page's footer shows: who to contact about the research
    (the round's contact, else the app's), the privacy notice, and how to withdraw."""
    rnd = invitation.round if invitation is not None else None
    token = invitation.token if invitation is not None else None
    return {"contact": (rnd.research_contact if rnd is not None else None)
            or current_app.config["RESEARCH_CONTACT"],
            "privacy_url": url_for("survey.privacy", token=token) if token else url_for("survey.privacy"),
            "withdraw_url": url_for("survey.withdraw", token=token) if can_withdraw else None}


# Short codes are short enough to guess at. Wrong ones are counted per client; past
# SURVEY_CODE_MAX_FAILURES within the window the client is slowed (a few checks at once,
# then one every few minutes), never locked out: a classroom behind one address that
# made typos still gets in with a correct code. docs/FIELDWORK.md gives the arithmetic.
def _check_code(typed: str):
    """(invitation or None, refused page or None) for a typed or linked short code."""
    cfg = current_app.config
    addr = request.remote_addr or "unknown"
    allowed, slowed = code_check_allowed(
        db.session, "survey-code", addr, free=cfg["SURVEY_CODE_MAX_FAILURES"],
        window=timedelta(hours=cfg["SURVEY_CODE_WINDOW_HOURS"]), burst=cfg["SURVEY_CODE_BURST"],
        refill=timedelta(minutes=cfg["SURVEY_CODE_REFILL_MINUTES"]))
    if not allowed:
        return None, _too_many_tries()
    try:
        invitation = invitations.find_invitation_by_code(db.session, typed)
    except invitations.InvitationNotFound:
        # Only a well-formed code is a guess; a typo of the wrong shape teaches nothing.
        if invitations.clean_code(typed) is not None:
            note_code_check(db.session, "survey-code", addr, found=False, slowed=slowed)
        return None, None
    if slowed:
        note_code_check(db.session, "survey-code", addr, found=True, slowed=True)
    return invitation, None


def _too_many_tries():
    minutes = current_app.config["SURVEY_CODE_REFILL_MINUTES"]
    return render_template("errors/error.html", code=429, title=_("Please wait a few minutes"),
                           text=_("Many codes have been tried from here. Please wait %(minutes)s minutes "
                                  "and type the code again, or ask the person who gave you the card "
                                  "for help.", minutes=minutes)), 429


@bp.route("", methods=["GET", "POST"])
@public
def enter_code():
    """Where a respondent types the short code printed on their card (``/s``).

    The form posts, so a typed code never travels in an address (addresses reach
    access logs). An old bookmark with ``?code=`` still works.
    """
    source = request.form if request.method == "POST" else request.args
    typed = (source.get("code") or "").strip()[:40]
    error = None
    if "code" in source:
        invitation, refused = _check_code(typed)
        if refused is not None:
            return refused
        if invitation is not None:
            return redirect(url_for("survey.start", token=invitation.token), code=303)
        error = (_("Please type the code from your card: 8 letters and numbers, such as ACDE-FG34.")
                 if not typed else
                 _("We could not find that code. Please check it against your card and try again."))
    return render_template("fieldwork/survey/code.html", idef=None, typed=typed, error=error,
                           state="code", **_footer()), (422 if error else 200)


@bp.get("/c/<code>")
@public
def by_code(code: str):
    """A short address for the card: ``/s/c/ACDE-FG34`` opens the survey."""
    invitation, refused = _check_code(code)
    if refused is not None:
        return refused
    if invitation is None:
        return _ended("unknown")
    return redirect(url_for("survey.start", token=invitation.token))


def _load(token: str, *, allow_submitted: bool = False):
    """(invitation, instrument, response) or a ready error page."""
    try:
        invitation, response = invitations.find_survey(db.session, token, allow_submitted=allow_submitted)
    except invitations.InvitationNotFound:
        return None, _ended("unknown")
    except invitations.InvitationEnded as exc:
        return None, _ended(exc.reason, responses.instrument_for_role(exc.invitation.role).audience,
                            exc.invitation)
    responses.ensure_synced(db.session)
    if response is not None:
        keep_response_language(response.language)
    idef = responses.definition_of(response) if response is not None else \
        responses.instrument_for_role(invitation.role)
    # The instrument in the page's language (its words only: ids and types are the same).
    return (invitation, in_language(idef, current_language()), response), None


def _common(invitation, idef, **extra):
    return {"token": invitation.token, "idef": idef, "audience": idef.audience,
            "child": idef.audience == "child", "sections": idef.sections, "state": "answering",
            **_footer(invitation, can_withdraw=invitation.submitted_at is None), **extra}


@bp.route("/<token>", methods=["GET", "POST"])
@public
def start(token: str):
    """The consent (and, for a child, assent) step; then on to the first questions."""
    loaded, error = _load(token)
    if error:
        return error
    invitation, idef, response = loaded
    if response is not None and request.method == "GET":
        # Someone coming back to the link (not Back from page 1: that button is not shown).
        return render_template("fieldwork/survey/welcome_back.html",
                               **_common(invitation, idef, response=response, step=1,
                                         resume=_first_unanswered_step(idef, response)))
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        child = invitation.role is RespondentRole.CHILD
        if child and form.get("consent") != "yes":
            errors["consent"] = _("A parent or carer needs to tick this box before you start.")
        if child and form.get("assent") != "yes":
            errors["assent"] = _("Tick this box if you want to answer the questions.")
        if not child and form.get("consent") != "yes":
            errors["consent"] = _("Please tick this box to say you agree to take part.")
        if form.get("mode") not in ("self", "assisted"):
            errors["mode"] = (_("Please choose who is filling this in.") if not child
                              else _("Please choose: on your own, or with help."))
        if not errors:
            try:
                surveys.begin_survey(db.session, invitation,
                                     consent_by="parent" if child else "self", assent=child,
                                     mode=ResponseMode(form["mode"]), language=current_language())
            except invitations.InvitationEnded as exc:
                return _ended(exc.reason, idef.audience)
            return redirect(url_for("survey.step", token=token, step=1))
    return render_template("fieldwork/survey/consent.html", **_common(
        invitation, idef, errors=errors, form=form, step=0)), (422 if errors else 200)


@bp.route("/<token>/<int:step>", methods=["GET", "POST"])
@public
def step(token: str, step: int):
    """One section of questions. Next and Back both keep what was typed."""
    loaded, error = _load(token)
    if error:
        return error
    invitation, idef, response = loaded
    if response is None:
        return redirect(url_for("survey.start", token=token))
    if not 1 <= step <= len(idef.sections):
        return redirect(url_for("survey.step", token=token, step=1))
    section = idef.sections[step - 1]
    errors: dict[str, str] = {}
    if request.method == "POST":
        going_back = request.form.get("go") == "back"
        items = []
        for q in section["questions"]:
            text, value = question_type(q["type"]).from_form(q, request.form, q["key"])
            items.append({"key": q["key"], "text": text, "value": value})
        try:
            cleaned = responses.clean_answers(response, items, idef)
        except responses.AnswersInvalid as exc:
            errors = exc.errors
        else:
            if not going_back:
                for item, q in zip(cleaned, section["questions"]):
                    if q.get("required") and question_type(q["type"]).is_empty(item["text"], item["value"]):
                        errors[q["key"]] = q.get("required_message") or _("Please answer this question.")
            # Show what was kept: words in "something else" tick its box.
            items = [{**item, "text": c["text"], "value": c["value"]} for item, c in zip(items, cleaned)]
        if not errors:
            try:
                responses.save_answers(db.session, "respondent", response, items,
                                       language=current_language(), shown=idef)
            except responses.ResponseLocked:
                return _ended("submitted", idef.audience)
            if going_back and step > 1:
                target = url_for("survey.step", token=token, step=step - 1)
            elif going_back:
                # Page 1 shows no Back button; an old form asking for it returns to page 1.
                target = url_for("survey.step", token=token, step=1)
            elif step < len(idef.sections):
                target = url_for("survey.step", token=token, step=step + 1)
            else:
                target = url_for("survey.check", token=token)
            return redirect(target)
        values = display_values(idef, {i["key"]: i for i in items})
    else:
        values = display_values(idef, responses.shown_answers(db.session, response))
    return render_template("fieldwork/survey/step.html", **_common(
        invitation, idef, section=section, step=step, values=values, errors=errors,
        response=response, server_now=int(time.time() * 1000))), (422 if errors else 200)


def _first_unanswered_step(idef, response) -> int:
    """The first page with a question still unanswered (the check page when none is)."""
    missing = set(responses.unanswered(db.session, response))
    for i, section in enumerate(idef.sections, 1):
        if any(q["key"] in missing for q in section["questions"]):
            return i
    return len(idef.sections) + 1


@bp.post("/<token>/<int:step>/save")
@public
def save_step(token: str, step: int):
    """Keep a page's answers as they change, before Next is pressed (the page's script
    posts the form here a moment after each change, and once more when the page is left).

    The body is the page's own form plus ``seq`` (milliseconds on the server's clock):
    an older save never overwrites a newer one. Answers 200 with ``saved``/``stale``,
    422 with ``errors`` (nothing saved), 410 once the survey has been sent.
    """
    loaded, error = _load(token)
    if error:
        return jsonify(error=_("This survey can no longer be changed.")), error[1]
    invitation, idef, response = loaded
    if response is None or not 1 <= step <= len(idef.sections):
        return jsonify(error=_("Start the survey first.")), 409
    seq = request.form.get("seq", "")
    items = []
    for q in idef.sections[step - 1]["questions"]:
        text, value = question_type(q["type"]).from_form(q, request.form, q["key"])
        items.append({"key": q["key"], "text": text, "value": value,
                      "seq": int(seq) if seq.isdigit() and len(seq) < 16 else None})
    try:
        report = responses.save_answers(db.session, "respondent", response, items,
                                        language=current_language(), shown=idef)
    except responses.ResponseLocked:
        return jsonify(error=_("This survey has been sent and can no longer be changed.")), 410
    except responses.AnswersInvalid as exc:
        return jsonify(errors=exc.errors), 422
    return jsonify(saved=report.saved, stale=report.stale)


@bp.route("/<token>/check", methods=["GET", "POST"])
@public
def check(token: str):
    """Look over the answers, then send them (once: sending again changes nothing)."""
    loaded, error = _load(token, allow_submitted=request.method == "POST")
    if error:
        return error
    invitation, idef, response = loaded
    if response is None:
        return redirect(url_for("survey.start", token=token))
    missing: list[str] = []
    empty = False
    if request.method == "POST":
        try:
            surveys.submit_survey(db.session, invitation)
        except surveys.SurveyEmpty:
            empty = True
        except surveys.SurveyIncomplete as exc:
            missing = exc.missing
        except invitations.InvitationEnded as exc:
            return _ended(exc.reason, idef.audience)
        else:
            return redirect(url_for("survey.thanks", token=token))
    values = display_values(idef, responses.shown_answers(db.session, response))
    return render_template("fieldwork/survey/check.html", **_common(
        invitation, idef, values=values, missing=missing, empty=empty, step=len(idef.sections) + 1,
        response=response)), (422 if missing or empty else 200)


@bp.get("/<token>/thanks")
@public
def thanks(token: str):
    loaded, error = _load(token, allow_submitted=True)
    if error:
        return error
    invitation, idef, response = loaded
    if invitation.submitted_at is None or response is None or response.status is not ResponseStatus.COMPLETE:
        return redirect(url_for("survey.start", token=token))
    return render_template("fieldwork/survey/thanks.html", **{
        **_common(invitation, idef, step=None), "state": "sent"})


@bp.route("/<token>/withdraw", methods=["GET", "POST"])
@public
def withdraw(token: str):
    """Stop taking part: everything answered through this link is deleted, once confirmed.
    After sending, the research team does it on request (the footer says how)."""
    loaded, error = _load(token)
    if error:
        return error
    invitation, idef, _response = loaded
    if request.method == "POST" and request.form.get("confirm") == "yes":
        try:
            withdrawal.withdraw_by_link(db.session, invitation)
        except withdrawal.NotWithdrawable:
            # Sent or withdrawn meanwhile: the page for the link as it now is says which.
            _, ended = _load(token)
            return ended or _ended("submitted", idef.audience, invitation)
        return _ended("withdrawn", idef.audience, invitation, status=200)
    return render_template("fieldwork/survey/withdraw.html", **{
        **_common(invitation, idef, step=None), "withdraw_url": None})


@bp.get("/privacy")
@bp.get("/<token>/privacy")
@public
def privacy(token: str | None = None):
    """How respondents' answers are looked after, in words a child can read. From a
    survey link it names that round's contact and the day its answers are deleted."""
    invitation = idef = None
    if token is not None:
        loaded, error = _load(token, allow_submitted=True)
        if error:
            return error
        invitation, idef, _response = loaded
    context = _common(invitation, idef, step=None) if invitation is not None else \
        {"idef": None, "child": False, "sections": None, "state": "privacy", **_footer()}
    return render_template("fieldwork/survey/privacy.html", **{
        **context, "retain_until": invitation.round.retain_until if invitation is not None else None,
        "state": "privacy"})
