"""The application: defaults, IMPACTMODEL_* environment, then each part wires itself in."""
from __future__ import annotations

import functools
import gc

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from impactmodel import access, inputs, jobs, languages, logs, schema, web
from impactmodel import config as defaults
from impactmodel import models  # noqa: F401  (every mapped class, before the first query)
from impactmodel.analysis import wiring as analysis
from impactmodel.auth import wiring as auth
from impactmodel.coding import wiring as coding
from impactmodel.consortium import wiring as consortium
from impactmodel.db import db
from impactmodel.demo import cli as demo
from impactmodel.fieldwork import wiring as fieldwork
from impactmodel.indicators import wiring as indicators
from impactmodel.interchange import wiring as interchange
from impactmodel.paths import STATIC_DIR, TEMPLATES_DIR
from impactmodel.scoring import wiring as scoring


def create_app(config: dict | None = None) -> Flask:
    app = Flask("impactmodel", instance_relative_config=True,
                template_folder=str(TEMPLATES_DIR), static_folder=str(STATIC_DIR))
    app.config.from_mapping(defaults.DEFAULTS)
    app.config.from_prefixed_env("IMPACTMODEL")
    if config:
        app.config.from_mapping(config)
    defaults.finish(app)

    if app.config["PROXY_FIX_X_FOR"]:
        # Behind a reverse proxy: trust that many X-Forwarded-* hops for client address and scheme.
        hops = int(app.config["PROXY_FIX_X_FOR"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    db.init_app(app)
    logs.init_app(app)     # survey tokens never reach the request log
    access.init_app(app)   # before CSRF, so a refused user hears "refused", not "bad token"
    inputs.init_app(app)   # then text no database stores is refused, before any view
    languages.init_app(app)  # respondents' pages in their language
    web.init_app(app)
    jobs.init_app(app)
    for part in (auth, consortium, fieldwork, coding, scoring, interchange, indicators, analysis):
        part.init_app(app)
    schema.init_app(app)
    app.cli.add_command(demo.demo_data)
    _freeze_startup_objects()
    return app


@functools.cache
def _freeze_startup_objects() -> None:
    """Once a process: keep what its first app was built from (modules, classes, functions:
    about a quarter of a million objects, alive as long as the process) out of the cyclic
    garbage collector's full passes. Otherwise every few requests a full pass walks them
    all, a pause of a tenth of a second or more in the middle of some request. Garbage is
    collected first, so only what is still reachable is set aside."""
    gc.collect()
    gc.freeze()
