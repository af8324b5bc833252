"""impactmodel: evaluate how well children's services are integrated (NFER impact model)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True,
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    from impactmodel import config as defaults
    app.config.from_mapping(defaults.DEFAULTS)
    app.config.from_prefixed_env("IMPACTMODEL")
    if config:
        app.config.from_mapping(config)
    defaults.finish(app)

    from impactmodel import access, cli, inputs, jobs, languages, logs, models, web  # noqa: F401  (models: every mapped class)
    from impactmodel.auth import init_app as init_auth
    from impactmodel.coding import init_app as init_coding
    from impactmodel.consortium import init_app as init_consortium
    from impactmodel.db import db
    from impactmodel.fieldwork import init_app as init_fieldwork
    from impactmodel.indicators import init_app as init_indicators
    from impactmodel.interchange import init_app as init_interchange
    from impactmodel.scoring import init_app as init_scoring

    if app.config["PROXY_FIX_X_FOR"]:
        # Behind a reverse proxy: trust that many X-Forwarded-* hops for client address and scheme.
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = int(app.config["PROXY_FIX_X_FOR"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    db.init_app(app)
    logs.init_app(app)     # survey tokens never reach the request log
    access.init_app(app)   # before CSRF, so a refused user hears "refused", not "bad token"
    inputs.init_app(app)   # then text no database stores is refused, before any view
    languages.init_app(app)  # respondents' pages in their language
    web.init_app(app)
    jobs.init_app(app)
    for init in (init_auth, init_consortium, init_fieldwork, init_coding, init_scoring,
                 init_interchange, init_indicators, cli.init_app):
        init(app)
    return app
