"""The analysis part in the app: its pages, the matrix command and round links."""
from __future__ import annotations

from flask import Flask

from impactmodel.analysis import cli, views
from impactmodel.interchange.cli import export_group
from impactmodel.web import add_round_link


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    add_round_link(app, "analysis.round_cases", "Cases and memos",
                   "Each case's practitioner, parent and child side by side, with the levels they reach; "
                   "memos on authorities and cases.", 40)
    add_round_link(app, "analysis.retrieval_page", "Excerpts by code and framework matrix",
                   "Every excerpt coded to a code, by authority, role, key group and valence; the matrix "
                   "of authorities, cases or key groups by codes as a spreadsheet.", 45, param="round")
    export_group.add_command(cli.export_matrix)
