"""CSV imports and exports (CONTRACTS.md §3), on the command line and on the web."""
from flask import Flask


def init_app(app: Flask) -> None:
    from impactmodel.interchange import cli, tables, views
    from impactmodel.web import add_nav_link
    app.register_blueprint(views.bp)
    add_nav_link(app, "interchange.upload", "Import", 70)
    app.cli.add_command(cli.import_group)
    app.cli.add_command(cli.export_group)
    cli.export_group.add_command(tables.export_table)
