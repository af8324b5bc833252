"""The accounts part in the app: its pages, commands and navigation links."""
from __future__ import annotations

from flask import Flask
from flask_login import current_user

from impactmodel.auth import cli, login_manager, views
from impactmodel.web import add_nav_link


def init_app(app: Flask) -> None:
    # Templates read the signed-in user through the proxy, so a page that never asks
    # (a respondent's) never loads one; Flask-Login's context processor would on every page.
    login_manager.init_app(app, add_context_processor=False)
    app.jinja_env.globals["current_user"] = current_user
    app.register_blueprint(views.bp)
    add_nav_link(app, "auth.users", "Accounts", 90)
    add_nav_link(app, "auth.change_password", "Your password", 95)
    app.cli.add_command(cli.user)
