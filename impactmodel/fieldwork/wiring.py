"""The fieldwork part in the app: its pages, commands and navigation links."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from impactmodel.fieldwork import (cli, privacy_cli, safeguarding, safeguarding_views, survey_views, views,
                                   withdrawal_views)
from impactmodel.fieldwork.instrument_translations import load_translations
from impactmodel.fieldwork.instruments import INSTRUMENTS_DIR, load
from impactmodel.web import add_nav_link, add_round_link


def init_app(app: Flask) -> None:
    # Validated at start-up: a broken instrument file stops the app with a clear message.
    folder = Path(app.config.get("INSTRUMENTS_DIR") or INSTRUMENTS_DIR)
    app.extensions["impactmodel.instruments"] = load(folder)
    app.extensions["impactmodel.instrument_translations"] = load_translations(
        app.extensions["impactmodel.instruments"], folder)
    # The safeguarding word list too: answers are never saved unchecked against a broken one.
    safeguarding.rules()
    app.register_blueprint(views.bp)
    app.register_blueprint(survey_views.bp)
    app.register_blueprint(withdrawal_views.bp)
    app.register_blueprint(safeguarding_views.bp)
    app.jinja_env.globals["safeguarding_waiting"] = safeguarding_views.open_flags_for_current_user
    app.cli.add_command(cli.invite)
    app.cli.add_command(cli.instruments_group)
    privacy_cli.init_app(app)
    add_nav_link(app, "fieldwork.index", "Fieldwork", 20)
    add_nav_link(app, "fieldwork.invitations", "Survey links", 25)
    add_nav_link(app, "safeguarding.index", "Safeguarding", 27)
    add_round_link(app, "fieldwork.index", "Interviews",
                   "Run and resume structured interviews with staff.", 10, param="round")
    add_round_link(app, "fieldwork.invitations", "Survey links",
                   "Links and QR codes for parents', carers' and children's surveys.", 15,
                   param="round")
