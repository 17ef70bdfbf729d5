"""The open procurement portal: a Flask app over OCDS data loaded by `ingest` and searched through `search_index`."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from flask import Flask

__version__ = "0.1.0"


def templates_folder() -> str:
    """The top-level `templates/` package, found the same way in a checkout and in an installed wheel."""
    return str(files("templates"))


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings (environment, then `config`), database, search index, security, blueprints, CLI."""
    app = Flask(__name__, template_folder=templates_folder(), instance_relative_config=True)
    from portal.config import default_settings

    app.config.update(default_settings(app.instance_path))
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from portal import db, security
    from portal.cli import register_commands
    from portal.public.views import blueprint as public
    from portal.templating import register_filters
    from search_index.query import SearchIndex

    db.init_app(app)
    app.extensions["portal.search"] = SearchIndex(app.config["INDEX_DIR"])
    security.init_app(app)
    register_filters(app)
    app.register_blueprint(public)
    register_commands(app)
    return app
