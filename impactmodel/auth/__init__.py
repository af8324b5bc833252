"""Accounts, log-in and roles."""
from __future__ import annotations

from flask import Flask
from flask_login import LoginManager

from impactmodel.db import db

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str):
    from impactmodel.auth.models import User
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def init_app(app: Flask) -> None:
    from impactmodel.auth import cli, views
    login_manager.init_app(app)
    from impactmodel.web import add_nav_link
    app.register_blueprint(views.bp)
    add_nav_link(app, "auth.users", "Accounts", 90)
    app.cli.add_command(cli.user)
