"""The coding part in the app: its pages, commands and navigation links."""
from __future__ import annotations

from flask import Flask

from impactmodel import codebook
from impactmodel.coding import cli, tasks, views  # noqa: F401  (tasks: job handlers)
from impactmodel.interchange.cli import export_group, import_group
from impactmodel.web import add_nav_link, add_round_link


def init_app(app: Flask) -> None:
    # A broken codebook stops the app here, with the reason, not halfway through an import.
    with app.app_context():
        codebook.load()
    # Bootstrap resamples for the reliability report: pooled figures, and each code.
    app.config.setdefault("CODING_BOOTSTRAP_RESAMPLES", 1000)
    app.config.setdefault("CODING_BOOTSTRAP_RESAMPLES_PER_CODE", 400)
    app.register_blueprint(views.bp)
    add_nav_link(app, "coding.queue", "Coding", 30)
    add_nav_link(app, "coding.codebook", "Codebook", 35)
    add_nav_link(app, "coding.reliability_report", "Reliability", 40)
    add_round_link(app, "coding.queue", "Coding queue",
                   "Open answers waiting to be coded to the impact model.", 20, param="round")
    add_round_link(app, "coding.reliability_report", "Inter-coder reliability",
                   "Agreement between first and blind second coders, per code and overall.", 30,
                   param="round")
    export_group.add_command(cli.export_qdpx)
    import_group.add_command(cli.import_qdpx)
    app.cli.add_command(cli.codebook_group)
    app.cli.add_command(cli.suggest_group)
