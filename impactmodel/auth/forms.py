from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from email_validator import EmailNotValidError, validate_email
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

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
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")],
                             render_kw={"autocomplete": "current-password"})


class UserForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter an e-mail address."),
                                                     email_address])
    name = StringField("Name", validators=[Length(max=120)])
    # New accounts start with the least privilege: an analyst sees no authority by name
    # and changes nothing.
    role = SelectField("Role", choices=[SelectChoice(r.value, r.label) for r in Role],
                       default=Role.ANALYST.value)
    authority_id = SelectField("Authority (for an authority contact)", coerce=int,
                               validators=[Optional()])
    assigned = SelectMultipleField("Authorities assigned (for a researcher)", coerce=int)
    active = BooleanField("Account active", default=True)
    # Length and strength are checked by services.check_password, with the account's details.
    # "new-password": a browser must not fill in the administrator's own password here.
    password = PasswordField("Password", validators=[Optional()],
                             render_kw={"autocomplete": "new-password"})


class PasswordChangeForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password.")],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField("New password", validators=[DataRequired("Enter a new password.")],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again", validators=[
        DataRequired("Enter the new password again."),
        EqualTo("new", message="The two new passwords differ.")],
        render_kw={"autocomplete": "new-password"})
