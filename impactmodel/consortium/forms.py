from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from impactmodel.consortium import context


class RoundForm(FlaskForm):
    name = StringField("Round name", validators=[DataRequired("Give the round a name, such as "
                                                              "'Round 2 (2008-09)'."), Length(max=80)])


class ParticipationForm(FlaskForm):
    # list= ties the field to the page's <datalist> of existing names (no script needed).
    authority = StringField("Authority name", validators=[DataRequired("Enter the authority's "
                                                                       "name."), Length(max=120)],
                            render_kw={"list": "authority-names", "autocomplete": "off"})
    locality = StringField("Locality studied", validators=[Length(max=120)])


class RenameAuthorityForm(FlaskForm):
    name = StringField("New name", validators=[DataRequired("Enter the authority's new name."),
                                               Length(max=120, message="An authority's name has at "
                                                                       "most 120 characters.")])


class MergeAuthorityForm(FlaskForm):
    """Step one names the authority to merge into; step two repeats it with ``confirmed``."""

    into = SelectField("Merge into", validators=[DataRequired("Choose the authority to merge into.")],
                       validate_choice=True)
    confirmed = HiddenField()


class RemoveParticipationForm(FlaskForm):
    """Empty until confirmed: then carries the counts the administrator was shown."""

    confirmed = HiddenField()


class ContextForm(FlaskForm):
    """An authority's context in a round; an empty field clears that value."""

    authority_type = SelectField("Type of authority", choices=[SelectChoice("", "Not recorded")] + [
        SelectChoice(k, v) for k, v in context.AUTHORITY_TYPES.items()], validators=[Optional()])
    children = IntegerField("Children aged 0-19", validators=[Optional(), NumberRange(
        1, context.CHILDREN_MAX, f"Children aged 0-19: a whole number from 1 to {context.CHILDREN_MAX}.")])
    integrated_since = IntegerField("Integrated since (year)", validators=[Optional(), NumberRange(
        context.EARLIEST_YEAR, context.LATEST_YEAR,
        f"The year integration began: from {context.EARLIEST_YEAR} to {context.LATEST_YEAR}.")])
