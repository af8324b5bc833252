"""The scoring part in the app: its pages, commands and navigation links."""
from __future__ import annotations

from flask import Flask

from impactmodel.scoring import cli, tasks, views  # noqa: F401  (tasks: job handlers)
from impactmodel.web import add_nav_link, add_round_link


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.score)
    add_nav_link(app, "scoring.index", "Scores", 40)
    add_round_link(app, "scoring.continuum", "Integration confidence",
                   "Authorities from 'early stage' to 'confident', with intervals.", 40)
    add_round_link(app, "scoring.report", "Round report",
                   "Impacts by level and group, Tables 1 and 2, change since the last round.", 45)
    add_round_link(app, "scoring.response_rates", "Response rates",
                   "Survey links sent, begun and sent back, by authority, role and key group.", 47)
