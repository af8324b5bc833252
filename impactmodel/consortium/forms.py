from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length


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
