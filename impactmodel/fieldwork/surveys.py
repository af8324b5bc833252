"""A survey answered through its link: consent, the respondent made on first use, and submitting once."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from impactmodel.audit import record
from impactmodel.consortium.models import Respondent
from impactmodel.db import utcnow
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork.invitations import InvitationEnded
from impactmodel.fieldwork.models import Invitation, Response, ResponseMode, ResponseStatus
from impactmodel.fieldwork.responses import (FieldworkError, answered_count, answers_of, check_language,
                                             current_version, instrument_for_role, mark_complete, missing_required, retrying,
                                             save_answers)


class SurveyIncomplete(FieldworkError):
    """Required questions are unanswered. ``missing``: question keys in instrument order."""

    def __init__(self, missing: list[str]):
        super().__init__(f"unanswered required questions: {', '.join(missing)}")
        self.missing = missing


class SurveyEmpty(SurveyIncomplete):
    """Nothing is answered: a survey may skip any question, but not all of them."""

    def __init__(self):
        super().__init__([])


def survey_response(session: Session, invitation: Invitation) -> Response | None:
    """The response begun through this invitation, if any."""
    if invitation.respondent_id is None:
        return None
    return session.scalar(sa.select(Response).where(Response.respondent_id == invitation.respondent_id)
                          .order_by(Response.id).limit(1))


def begin_survey(session: Session, invitation: Invitation, *, consent_by: str,
                 assent: bool = False, mode: ResponseMode | str = ResponseMode.SELF,
                 language: str = "en") -> Response:
    """Record consent and start the invitation's response (the respondent is made now).

    ``consent_by``: ``"self"`` (a parent, or staff) or ``"parent"`` (a parent or carer for
    a child, who must also ``assent``). ``mode``: ``self`` or ``assisted``. Opening the
    link again, or in a second tab, returns the same response. ``language``: the one the
    respondent reads (``impactmodel.languages``). Commits.
    """
    mode = ResponseMode(mode)
    check_language(language)
    if mode is ResponseMode.INTERVIEW:
        raise FieldworkError("a survey link is answered by the respondent, alone or with help")
    if invitation.role is RespondentRole.CHILD and (consent_by != "parent" or not assent):
        raise FieldworkError("a child takes part with a parent's or carer's consent and their own assent")
    if invitation.role is not RespondentRole.CHILD and consent_by != "self":
        raise FieldworkError("consent must be given by the respondent")
    version = current_version(session, instrument_for_role(invitation.role).key)
    invitation_id = invitation.id

    def work() -> Response:
        inv = session.get(Invitation, invitation_id, populate_existing=True)
        if inv.withdrawn_at is not None:
            raise InvitationEnded(inv, "withdrawn")
        if inv.submitted_at is not None:
            raise InvitationEnded(inv, "submitted")
        if inv.respondent_id is None:
            # The reference comes from the invitation, so two tabs opening the same link
            # at once collide on the unique reference rather than making two people.
            respondent = Respondent(round_id=inv.round_id, authority_id=inv.authority_id,
                                    reference=f"{inv.role.value}-link-{inv.id}", role=inv.role,
                                    key_group_id=inv.key_group_id, case_id=inv.case_id)
            session.add(respondent)
            session.flush()
            claimed = session.execute(sa.update(Invitation).where(
                Invitation.id == inv.id, Invitation.respondent_id.is_(None)).values(
                respondent_id=respondent.id), execution_options={"synchronize_session": False})
            if not claimed.rowcount:
                raise IntegrityError("invitation already claimed", None, Exception())
            # The row now holds what was written: no need to read it back.
            set_committed_value(inv, "respondent_id", respondent.id)
            set_committed_value(inv, "respondent", respondent)
        else:
            # Someone begun before (another tab, or the link opened again) has a response.
            existing = survey_response(session, inv)
            if existing is not None:
                session.commit()
                return existing
        now = utcnow()
        response = Response(respondent_id=inv.respondent_id, instrument_version_id=version.id,
                            mode=mode, consent_by=consent_by, consented_at=now, language=language,
                            assented_at=now if assent else None, started_at=now)
        session.add(response)
        session.flush()
        record(session, "respondent", "survey.begin", "response", response.id,
               invitation_id=inv.id, round_id=inv.round_id, authority_id=inv.authority_id,
               language=language)
        session.commit()
        return response
    # ``invitation`` is the row ``work`` read and brought up to date (the session's one copy).
    return retrying(session, work)


def submit_survey(session: Session, invitation: Invitation, answers: dict[str, dict] | None = None,
                  *, consent_by: str | None = None, assent: bool = True,
                  mode: ResponseMode | str = ResponseMode.SELF) -> Response:
    """Submit the invitation's survey: once. Idempotent: a second submit returns the same
    response and stores nothing.

    Parameters
    ----------
    answers : optional ``{question_key: {"text": ..., "value": ...}}`` saved first (the
        demo-data generator fills a whole survey in one call). Begins the survey if need be,
        with ``consent_by`` (default ``"parent"`` for a child, ``"self"`` otherwise).

    Raises SurveyIncomplete (required questions unanswered; nothing submitted), its
    subclass SurveyEmpty (no question answered at all), AnswersInvalid, InvitationEnded
    (expired).
    """
    session.refresh(invitation)
    if invitation.submitted_at is not None:
        return survey_response(session, invitation)
    response = survey_response(session, invitation)
    if response is None:
        if answers is None:
            missing = missing_required_keys(invitation.role)
            raise SurveyIncomplete(missing) if missing else SurveyEmpty()
        response = begin_survey(session, invitation,
                                consent_by=consent_by or ("parent" if invitation.role is RespondentRole.CHILD
                                                          else "self"),
                                assent=assent, mode=mode)
    if answers:
        if response.status is ResponseStatus.IN_PROGRESS:
            save_answers(session, "respondent", response,
                         [{"key": k, **v} for k, v in answers.items()])
    if response.status is ResponseStatus.IN_PROGRESS:
        answers = answers_of(session, response)
        missing = missing_required(session, response, answers)
        if missing:
            raise SurveyIncomplete(missing)
        if not answered_count(session, response, answers):
            raise SurveyEmpty()
    invitation_id = invitation.id

    def work() -> bool:
        # Claim the submission first: of two racing requests only one matches.
        now = utcnow()
        claimed = session.execute(sa.update(Invitation).where(
            Invitation.id == invitation_id, Invitation.submitted_at.is_(None),
            Invitation.withdrawn_at.is_(None)).values(
            submitted_at=now), execution_options={"synchronize_session": False})
        if claimed.rowcount:
            mark_complete(session, "respondent", response)
            record(session, "respondent", "survey.submit", "invitation", invitation_id,
                   response_id=response.id, round_id=invitation.round_id,
                   authority_id=invitation.authority_id)
            set_committed_value(invitation, "submitted_at", now)
        elif session.get(Invitation, invitation_id, populate_existing=True).withdrawn_at is not None:
            session.rollback()
            raise InvitationEnded(invitation, "withdrawn")
        session.commit()
        return bool(claimed.rowcount)
    if not retrying(session, work):
        # Sent by another request meanwhile: read the invitation and response as it left them.
        session.refresh(invitation)
        session.refresh(response)
    return response


def missing_required_keys(role: RespondentRole) -> list[str]:
    return [k for k, q in instrument_for_role(role).questions.items() if q.get("required")]
