"""Thin commands over the same functions the tests call: init-db, ingest, reindex, demo, serve."""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup


def _sessions():  # type: ignore[no-untyped-def]
    return current_app.extensions["portal.sessions"]


def upgrade_database(url: str) -> None:
    """Bring the schema to the latest migration (creating it on an empty database)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("portal").joinpath("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def demo_data_folder() -> Path:
    """The bundled demo set (real published records, see its SOURCES.md)."""
    return Path(str(files("portal").joinpath("demo_data")))


def ingest_and_index(app: Flask, location: str, source: str | None) -> int:
    from ingest.runner import run_ingest
    from search_index.indexer import apply_queue

    result = run_ingest(app.extensions["portal.sessions"], location, source_name=source)
    c = result.counts
    click.echo(
        f"run {result.run_id} {result.status}: {c.files} files, {c.releases_seen} releases read, "
        f"{c.releases_new} new, {c.releases_unchanged} unchanged, {c.conflicts} republished with other content, "
        f"{c.processes_compiled} processes compiled, {len(c.notes) + c.notes_dropped} data-quality notes"
    )
    for error in result.errors:
        click.echo(f"error: {error}", err=True)
    indexed = apply_queue(app.extensions["portal.sessions"], app.config["INDEX_DIR"])
    click.echo(f"search index: {indexed} processes updated")
    return 1 if result.errors else 0


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or upgrade the database schema."""
        upgrade_database(current_app.config["DATABASE_URL"])
        click.echo(f"database ready: {current_app.extensions['portal.engine'].url.render_as_string()}")

    @app.cli.command("ingest")
    @click.argument("location")
    @click.option("--source", help="A name for the source (defaults to the location).")
    def ingest(location: str, source: str | None) -> None:
        """Load OCDS from a file, folder or URL, then update the search index."""
        sys.exit(ingest_and_index(current_app, location, source))

    @app.cli.command("reindex")
    @click.option("--procs", default=1, show_default=True, help="Writer processes for the build.")
    def reindex(procs: int) -> None:
        """Rebuild the search index from the database."""
        from search_index.indexer import rebuild

        count = rebuild(_sessions(), current_app.config["INDEX_DIR"], procs=procs)
        click.echo(f"search index rebuilt: {count} processes")

    @app.cli.command("demo")
    def demo() -> None:
        """Set up the database and load the bundled demo data (safe to run again)."""
        upgrade_database(current_app.config["DATABASE_URL"])
        ingest_and_index(current_app, str(demo_data_folder()), "Demo set (real published OCDS)")

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True)
    def serve(host: str, port: int) -> None:
        """Serve the portal with Werkzeug's threaded server (in production, run gunicorn on `portal.wsgi:app`)."""
        from werkzeug.serving import run_simple

        run_simple(host, port, current_app._get_current_object(), threaded=True)


def main() -> None:
    from portal import create_app

    FlaskGroup(create_app=create_app, add_default_commands=False, help="The open procurement portal.")()
