"""Integration confidence scores and the consortium comparison (docs/METHODOLOGY.md)."""
from flask import Flask


def init_app(app: Flask) -> None:
    from impactmodel.scoring import cli, views
    from impactmodel.web import add_nav_link
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.score)
    add_nav_link(app, "scoring.index", "Scores", 40)
