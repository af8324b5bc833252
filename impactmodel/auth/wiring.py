"""The accounts part in the app: its pages, commands and navigation links."""
from __future__ import annotations

from flask import Flask

from impactmodel.auth import cli, login_manager, views
from impactmodel.web import add_nav_link


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.register_blueprint(views.bp)
    add_nav_link(app, "auth.users", "Accounts", 90)
    add_nav_link(app, "auth.change_password", "Your password", 95)
    app.cli.add_command(cli.user)
