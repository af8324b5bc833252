from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from impactmodel.coding.services import MAX_MEMO


class MemoForm(FlaskForm):
    text = TextAreaField("Memo", validators=[DataRequired("Write the memo first."),
                                             Length(max=MAX_MEMO, message=f"A memo is at most {MAX_MEMO} characters.")])
