"""Fieldwork: instruments as data, researcher-run interviews, survey links for parents and children."""
from __future__ import annotations

from pathlib import Path

from flask import Flask


def init_app(app: Flask) -> None:
    from impactmodel.fieldwork import cli, survey_views, views
    from impactmodel.fieldwork.instrument_translations import load_translations
    from impactmodel.fieldwork.instruments import INSTRUMENTS_DIR, load
    from impactmodel.web import add_nav_link, add_round_link
    # Validated at start-up: a broken instrument file stops the app with a clear message.
    folder = Path(app.config.get("INSTRUMENTS_DIR") or INSTRUMENTS_DIR)
    app.extensions["impactmodel.instruments"] = load(folder)
    app.extensions["impactmodel.instrument_translations"] = load_translations(
        app.extensions["impactmodel.instruments"], folder)
    app.register_blueprint(views.bp)
    app.register_blueprint(survey_views.bp)
    app.cli.add_command(cli.invite)
    app.cli.add_command(cli.instruments_group)
    add_nav_link(app, "fieldwork.index", "Fieldwork", 20)
    add_nav_link(app, "fieldwork.invitations", "Survey links", 25)
    add_round_link(app, "fieldwork.index", "Interviews",
                   "Run and resume structured interviews with staff.", 10, param="round")
    add_round_link(app, "fieldwork.invitations", "Survey links",
                   "Links and QR codes for parents', carers' and children's surveys.", 15,
                   param="round")
