from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class RoundForm(FlaskForm):
    name = StringField("Round name", validators=[DataRequired("Give the round a name, such as "
                                                              "'Round 2 (2008-09)'."), Length(max=80)])


class ParticipationForm(FlaskForm):
    authority = StringField("Authority name", validators=[DataRequired("Enter the authority's "
                                                                       "name."), Length(max=120)])
    locality = StringField("Locality studied", validators=[Length(max=120)])
