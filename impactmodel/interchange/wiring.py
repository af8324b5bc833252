"""The imports and exports part in the app: its pages, commands and navigation links."""
from __future__ import annotations

from flask import Flask

from impactmodel.interchange import cli, tables, views
from impactmodel.web import add_nav_link, add_round_link


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    add_nav_link(app, "interchange.upload", "Import", 70)
    add_round_link(app, "interchange.responses_page", "Raw responses",
                   "Every answer, one row per respondent and one column per question (CSV or XLSX), "
                   "with a data dictionary.", 60)
    app.cli.add_command(cli.import_group)
    app.cli.add_command(cli.export_group)
    cli.export_group.add_command(tables.export_table)
