from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from email_validator import EmailNotValidError, validate_email
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from impactmodel.auth.models import Role


def email_address(form, field) -> None:
    """A well-formed address; ``.test`` domains (the demo's) are accepted too.

    No DNS look-up: the server may have no route to the internet.
    """
    try:
        field.data = validate_email(field.data or "", check_deliverability=False,
                                    test_environment=True).normalized
    except EmailNotValidError:
        raise ValidationError("Enter an e-mail address such as name@example.org.") from None


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter your e-mail address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class UserForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter an e-mail address."),
                                                     email_address])
    name = StringField("Name", validators=[Length(max=120)])
    role = SelectField("Role", choices=[SelectChoice(r.value, r.label) for r in Role])
    authority_id = SelectField("Authority (for an authority contact)", coerce=int,
                               validators=[Optional()])
    assigned = SelectMultipleField("Authorities assigned (for a researcher)", coerce=int)
    active = BooleanField("Account active", default=True)
    password = PasswordField("Password", validators=[Optional(), Length(min=10, message=
                                                     "Use at least 10 characters.")])
