"""The rounds and authorities part in the app: its pages, commands and navigation links."""
from __future__ import annotations

from flask import Flask

from impactmodel.consortium import cli, views
from impactmodel.web import add_nav_link, add_round_link


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.round_group)
    app.cli.add_command(cli.authority_group)
    add_nav_link(app, "consortium.home", "Rounds", 10)
    add_nav_link(app, "consortium.authorities", "Authorities", 85)
    add_round_link(app, "consortium.context_page", "Authority context",
                   "Each authority's type, children aged 0-19 and the year integration began.", 80)
