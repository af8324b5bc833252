from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class CodebookImportForm(FlaskForm):
    file = FileField("Codebook file (.csv, .xlsx or REFI-QDA .qdc)",
                     validators=[FileRequired("Choose a .csv, .xlsx or .qdc file.")])


class DrawForm(FlaskForm):
    round_id = SelectField("Round", coerce=int, validators=[DataRequired("Choose a round.")])
    second_coder_id = SelectField("Second coder", coerce=int,
                                  validators=[DataRequired("Choose the second coder.")])
    share = IntegerField("Share of coded answers (%)",
                         validators=[InputRequired("Give a share from 1 to 100."),
                                     NumberRange(1, 100, "Give a share from 1 to 100.")])
    seed = IntegerField("Random seed", validators=[InputRequired("Give a whole number."),
                                                   NumberRange(0, 2**31 - 1, "Give a whole number.")])

    def set_choices(self, rounds, coders) -> None:
        self.round_id.choices = [SelectChoice(r.id, r.name) for r in rounds]
        self.second_coder_id.choices = [SelectChoice(u.id, f"{u.name} ({u.role.label})") for u in coders]


class QdpxImportForm(FlaskForm):
    file = FileField("Project coded in another tool (.qdpx)", validators=[FileRequired("Choose a .qdpx file.")])
    coder = StringField("Whose codings (an account's e-mail or name; empty: yours)",
                        validators=[Length(max=254, message="At most 254 characters.")])
    check = BooleanField("Only check: show what would be imported, store nothing")
    leave_out_unplaced = BooleanField("Import the rest when some codings cannot be placed")


class ThresholdForm(FlaskForm):
    """A round's reliability threshold; empty clears it."""

    threshold = FloatField("Flag the round's scores when pooled multi-valued α is below", validators=[
        Optional(), NumberRange(0, 1, "Use a number from 0 to 1, such as 0.667.")])
