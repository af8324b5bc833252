"""Staff forms: starting an interview, creating survey links."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from impactmodel.enums import STAFF_ROLES, RespondentRole
from impactmodel.fieldwork.invitations import MAX_INVITATIONS
from impactmodel.fieldwork.responses import CASE_REF_RE



class _Where(FlaskForm):
    round_id = SelectField("Round", coerce=int, validators=[DataRequired("Choose a round.")])
    authority_id = SelectField("Authority", coerce=int,
                               validators=[DataRequired("Choose an authority.")])
    key_group = SelectField("Key group", validators=[Optional()])
    case = StringField("Case pseudonym (optional)", validators=[
        Optional(), Length(max=40), Regexp(CASE_REF_RE, message="Use letters, digits, spaces and - _ . / only: "
                                                               "a pseudonym such as LAC-03.")])

    def set_choices(self, rounds, authorities, key_groups: list[tuple[str, str]]) -> None:
        self.round_id.choices = [SelectChoice(r.id, r.name) for r in rounds]
        self.authority_id.choices = [SelectChoice(a.id, a.name) for a in authorities]
        self.key_group.choices = [SelectChoice("", "None (the authority as a whole)")] + [
            SelectChoice(code, label) for code, label in key_groups]


class StartInterviewForm(_Where):
    role = SelectField("Who is being interviewed", choices=[
        SelectChoice(r.value, r.label) for r in STAFF_ROLES])
    reference = StringField("Interviewee reference (optional)", validators=[
        Optional(), Length(max=64), Regexp(r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$",
                                           message="Use letters, digits, spaces and - _ . only.")])
    consent = BooleanField("The interviewee has read the information sheet and agrees to take part",
                           validators=[DataRequired("Record the interviewee's consent before you start.")])


class InvitationForm(_Where):
    role = SelectField("Who will answer", choices=[
        SelectChoice(RespondentRole.PARENT.value, RespondentRole.PARENT.label),
        SelectChoice(RespondentRole.CHILD.value, RespondentRole.CHILD.label)] + [
        SelectChoice(r.value, f"{r.label} (self-completion)") for r in STAFF_ROLES])
    count = IntegerField("Number of links", default=10, validators=[
        InputRequired("Say how many links to make."),
        NumberRange(1, MAX_INVITATIONS, f"Make from 1 to {MAX_INVITATIONS} links at a time.")])
