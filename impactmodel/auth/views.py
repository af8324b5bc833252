from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from wtforms.fields.choices import SelectChoice

from impactmodel.access import public, requires
from impactmodel.auth import services
from impactmodel.auth.forms import LoginForm, PasswordChangeForm, UserForm
from impactmodel.auth.models import Role, User
from impactmodel.consortium.models import Authority
from impactmodel.db import db

bp = Blueprint("auth", __name__)


@bp.context_processor
def _password_policy() -> dict:
    return {"min_password_length": services.MIN_PASSWORD_LENGTH}


def _safe_next(target: str | None) -> str:
    # Only same-site paths, so a crafted link cannot send someone elsewhere after log-in.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("consortium.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        addr = request.remote_addr or "unknown"
        if services.throttled(db.session, form.email.data, addr):
            return render_template("auth/login.html", form=form, throttled=True,
                                   minutes=current_app.config["LOGIN_WINDOW_MINUTES"]), 429
        user = services.authenticate(db.session, form.email.data, form.password.data, addr)
        if user is None:
            form.password.errors.append("That e-mail address and password do not match an "
                                        "active account.")
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form, throttled=False)


@bp.post("/logout")
@requires()
def logout():
    # Server-side, so a copy of this session's cookie stops working too.
    services.sign_out(db.session, current_user)
    logout_user()
    flash("You have signed out.")
    return redirect(url_for("auth.login"))


@bp.get("/admin/users")
@requires("can_manage_users")
def users():
    rows = db.session.scalars(sa.select(User).order_by(User.role, User.email)).all()
    return render_template("auth/users.html", users=rows)


def _fill_choices(form: UserForm) -> None:
    authorities = db.session.scalars(sa.select(Authority).order_by(Authority.name)).all()
    form.authority_id.choices = [SelectChoice(0, "—")] + [SelectChoice(a.id, a.name) for a in authorities]
    form.assigned.choices = [SelectChoice(a.id, a.name) for a in authorities]


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires("can_manage_users")
def new_user():
    form = UserForm()
    _fill_choices(form)
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(
                f"Set a first password of at least {services.MIN_PASSWORD_LENGTH} characters.")
        else:
            try:
                services.create_user(db.session, current_user, email=form.email.data,
                                     name=form.name.data or "", role=Role(form.role.data),
                                     password=form.password.data,
                                     authority_id=form.authority_id.data or None,
                                     assigned_authority_ids=form.assigned.data)
            except services.PasswordRejected as exc:
                db.session.rollback()
                form.password.errors.append(str(exc))
            except services.AccountError as exc:
                db.session.rollback()
                form.email.errors.append(str(exc))
            else:
                flash(f"Account created for {form.email.data}.")
                return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@requires("can_manage_users")
def edit_user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    _fill_choices(form)
    if request.method == "GET":
        form.role.data = user.role.value
        form.authority_id.data = user.authority_id or 0
        form.assigned.data = [a.id for a in user.assigned_authorities]
    form.email.data = user.email  # e-mail addresses are not edited here
    if form.validate_on_submit():
        try:
            services.update_user(db.session, current_user, user, name=form.name.data or "",
                                 role=Role(form.role.data), active=form.active.data,
                                 authority_id=form.authority_id.data or None,
                                 assigned_authority_ids=form.assigned.data,
                                 password=form.password.data or None)
        except services.PasswordRejected as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        except services.AccountError as exc:
            db.session.rollback()
            form.role.errors.append(str(exc))
        else:
            if user.id == current_user.id:
                login_user(user)  # an administrator's new password ends their other sessions only
            flash(f"Saved {user.email}.")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user)


@bp.route("/account/password", methods=["GET", "POST"])
@requires()
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        purpose = f"current-password:{current_user.id}"
        addr = request.remote_addr or "unknown"
        limit = current_app.config["LOGIN_MAX_FAILURES"]
        if services.guesses_throttled(db.session, purpose, addr, limit):
            return render_template("auth/password.html", form=form, throttled=True,
                                   minutes=current_app.config["LOGIN_WINDOW_MINUTES"]), 429
        try:
            services.change_own_password(db.session, current_user, current=form.current.data,
                                         new=form.new.data)
        except services.PasswordRejected as exc:
            db.session.rollback()
            form.new.errors.append(str(exc))
        except services.WrongPassword as exc:
            db.session.rollback()
            services.note_failed_guess(db.session, purpose, addr)
            form.current.errors.append(str(exc))
        else:
            login_user(current_user._get_current_object())  # this session goes on; others end
            flash("Your password has been changed. Any other sessions of yours have ended.")
            return redirect(url_for("consortium.home"))
    return render_template("auth/password.html", form=form, throttled=False)
