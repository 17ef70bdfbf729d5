"""Thin commands over the same functions the tests call: init-db, ingest, reindex, demo, serve.

The top of the stack: it builds the app (`portal.app`) and drives `ingest` and `search_index`; nothing imports it.
"""

from __future__ import annotations

import socket
import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup

from ingest.runner import record_index_failure, run_ingest
from portal.app import create_app
from portal.database import upgrade_database
from portal.resources import demo_data_folder
from search_index.indexer import IndexBusy, IndexReport, rebuild, update_index

DEMO_SOURCE = "Demo set (real published OCDS)"


def ingest_and_index(app: Flask, location: str, source: str | None) -> int:
    result = run_ingest(app.extensions["portal.sessions"], location, source_name=source)
    c = result.counts
    click.echo(
        f"run {result.run_id} {result.status}: {c.files} files, {c.releases_seen} releases read, "
        f"{c.releases_new} new, {c.releases_unchanged} unchanged, {c.conflicts} republished with other content, "
        f"{c.processes_compiled} processes compiled, {len(c.notes) + c.notes_dropped} data-quality notes"
    )
    for error in result.errors:
        click.echo(f"error: {error}", err=True)
    sessions = app.extensions["portal.sessions"]
    try:
        report = update_index(sessions, app.config["INDEX_DIR"])
    except IndexBusy as error:  # the data is committed and queued: the next update indexes it
        record_index_failure(sessions, result.run_id, str(error))
        click.echo(f"error: {error}", err=True)
        return 1
    except Exception as error:  # the data is committed; the run must not say "succeeded" over a stale index
        record_index_failure(sessions, result.run_id, f"{type(error).__name__}: {error}")
        raise
    click.echo(f"search index: {report.indexed} processes updated")
    echo_index_report(report)
    return 1 if result.errors else 0


def echo_index_report(report: IndexReport) -> None:
    for field, count in report.values_left_out.items():
        click.echo(f"search index: {count} processes without a sortable {field} (value out of range)")
    for ocid, why in report.skipped.items():
        click.echo(f"search index: {ocid} not indexed, kept queued: {why}", err=True)
    if report.kept_queued:
        click.echo("search index: a rebuild is running; it will take these changes in before it swaps")


cli = FlaskGroup(create_app=create_app, add_default_commands=False, help="The open procurement portal.")


@cli.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema."""
    upgrade_database(current_app.config["DATABASE_URL"])
    click.echo(f"database ready: {current_app.extensions['portal.engine'].url.render_as_string()}")


@cli.command("ingest")
@click.argument("location")
@click.option("--source", help="A name for the source (defaults to the location).")
def ingest(location: str, source: str | None) -> None:
    """Load OCDS from a file, folder or URL, then update the search index."""
    sys.exit(ingest_and_index(current_app, location, source))


@cli.command("reindex")
@click.option("--procs", default=1, show_default=True, help="Writer processes for the build.")
def reindex(procs: int) -> None:
    """Rebuild the search index from the database."""
    report = IndexReport()
    try:
        count = rebuild(
            current_app.extensions["portal.sessions"], current_app.config["INDEX_DIR"], procs=procs, report=report
        )
    except IndexBusy as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"search index rebuilt: {count} processes")
    echo_index_report(report)


@cli.command("demo")
def demo() -> None:
    """Set up the database and load the bundled demo data (safe to run again)."""
    upgrade_database(current_app.config["DATABASE_URL"])
    sys.exit(ingest_and_index(current_app, str(demo_data_folder()), DEMO_SOURCE))


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    """Serve the portal with Werkzeug's threaded server (in production, run gunicorn on `portal.wsgi:app`)."""
    from werkzeug.serving import run_simple

    if not port_is_free(host, port):
        raise click.ClickException(
            f"port {port} on {host} is already in use: stop what uses it, or choose another port "
            f"(make run PORT=8000, or portal serve --port 8000)"
        )
    click.echo(f"serving http://{host}:{port}/ (Ctrl+C stops it)")
    run_simple(host, port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]  # Werkzeug's LocalProxy


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def main() -> None:
    cli()
