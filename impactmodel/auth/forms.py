from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from impactmodel.auth.models import Role


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter your e-mail address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class UserForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter an e-mail address."),
                                                     Email("Enter an e-mail address such as "
                                                           "name@example.org.")])
    name = StringField("Name", validators=[Length(max=120)])
    role = SelectField("Role", choices=[SelectChoice(r.value, r.label) for r in Role])
    authority_id = SelectField("Authority (for an authority contact)", coerce=int,
                               validators=[Optional()])
    assigned = SelectMultipleField("Authorities assigned (for a researcher)", coerce=int)
    active = BooleanField("Account active", default=True)
    password = PasswordField("Password", validators=[Optional(), Length(min=10, message=
                                                     "Use at least 10 characters.")])
