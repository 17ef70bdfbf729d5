"""The Flask app factory: settings, database, search index, security, templates and blueprints.

Kept out of `portal/__init__.py`, so that importing `portal.models` or `portal.domain` loads no Flask.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from portal import db, render, security, templating
from portal.config import default_settings
from portal.officials.views import blueprint as officials
from portal.public.methodology import blueprint as methodology
from portal.public.openapi import blueprint as api
from portal.public.sources import blueprint as sources
from portal.public.views import blueprint as public
from portal.residents import views as residents
from portal.resources import templates_folder
from portal.vendors.views import blueprint as vendors
from search_index.query import SearchIndex


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings (environment, then `config`), database, search index, security, languages,
    the renderer (formats, error pages, ocids in URLs), blueprints."""
    app = Flask("portal", template_folder=str(templates_folder()), instance_relative_config=True)
    app.config.update(default_settings(app.instance_path))
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    app.extensions["portal.search"] = SearchIndex(app.config["INDEX_DIR"])
    security.init_app(app)
    templating.init_app(app)
    render.init_app(app)
    app.register_blueprint(public)
    app.register_blueprint(sources)
    app.register_blueprint(vendors)
    app.register_blueprint(officials)
    app.register_blueprint(residents.blueprint)
    residents.init_app(app)
    app.register_blueprint(methodology)
    app.register_blueprint(api)
    return app
