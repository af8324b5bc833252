"""The indicators part in the app: its pages, commands and navigation links."""
from __future__ import annotations

from flask import Flask

from impactmodel.indicators import cli, views, vocabulary
from impactmodel.interchange.cli import export_group, import_group
from impactmodel.web import add_round_link


def init_app(app: Flask) -> None:
    # A broken vocabulary stops the app here, with the reason, not halfway through an import.
    vocabulary.load()
    app.register_blueprint(views.bp)
    add_round_link(app, "indicators.consortium", "Quantitative indicators",
                   "Looked-after children, safeguarding, CAF, key stage 3 attendance and exclusions, "
                   "well-being: across authorities and against the confidence index.", 50)
    import_group.add_command(cli.import_indicators)
    export_group.add_command(cli.export_indicators)
