"""Thin commands over the same functions the tests call: init-db, ingest, reindex, demo, serve, accounts, audit.

The top of the stack: it builds the app (`portal.app`) and drives `ingest` and `search_index`; nothing imports it.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

from ingest.runner import record_index_failure, run_ingest
from portal.app import create_app
from portal.database import upgrade_database
from portal.domain.accounts import AccountError, create_account
from portal.domain.audit import verify_chain, verify_checkpoint
from portal.domain.checkpoints import ensure_checkpoint
from portal.resources import demo_data_folder
from portal.vocabulary import Role
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


def create_command_line_app() -> Flask:
    """The app for commands: those that serve nothing need no secret key (`serve` checks for one itself)."""
    return create_app({"COMMAND_LINE": True})


cli = FlaskGroup(create_app=create_command_line_app, add_default_commands=False, help="The open procurement portal.")


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

    trusted = current_app.config.get("DEVELOPMENT") or current_app.config.get("TESTING")
    if current_app.config.get("SECRET_KEY_GENERATED") and not trusted:
        raise click.ClickException(
            "PORTAL_SECRET_KEY is not set: set it (the same for every worker), or PORTAL_DEVELOPMENT=1 on a "
            "developer's machine (`make run` does)"
        )
    if not port_is_free(host, port):
        raise click.ClickException(
            f"port {port} on {host} is already in use: stop what uses it, or choose another port "
            f"(make run PORT=8000, or portal serve --port 8000)"
        )
    click.echo(f"serving http://{host}:{port}/ (Ctrl+C stops it)")
    run_simple(host, port, current_app._get_current_object(), threaded=True)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


accounts = AppGroup("accounts", help="Officials' accounts.")
cli.add_command(accounts)


@accounts.command("create-admin")
@click.argument("username")
@click.option("--name", default="", help="The person's name, as shown to other officials.")
@click.password_option(help="Asked for when not given (12 characters or more).")
def create_admin(username: str, name: str, password: str) -> None:
    """Create an administrator account: the first one, or another when every administrator is locked out."""
    with current_app.extensions["portal.sessions"]() as session, session.begin():
        try:
            account = create_account(
                session, username=username, name=name, role=Role.ADMINISTRATOR, password=password, actor_id=None
            )
        except AccountError as error:
            raise click.ClickException(f"{error.reason}") from None
        click.echo(f"administrator {account.username} created (account {account.id})")


audit = AppGroup("audit", help="The audit trail: verify it, checkpoint its head.")
cli.add_command(audit)


@audit.command("verify")
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A checkpoint file kept from /audit/checkpoints/ (repeatable): its head entry must still be there.",
)
def audit_verify(checkpoints: tuple[str, ...]) -> None:
    """Verify the whole hash chain, and any kept checkpoints; exit 1 and say where it breaks."""
    with current_app.extensions["portal.sessions"]() as session:
        report = verify_chain(session)
        problems = [f"entry {b.seq}: {b.problem}" for b in report.breaks]
        if report.more_breaks:
            problems.append(f"{report.more_breaks} more breaks")
        for path in checkpoints:
            with open(path, encoding="utf-8") as stream:
                kept = json.load(stream)
            problem = verify_checkpoint(session, kept)
            if problem:
                problems.append(f"checkpoint {path}: {problem}")
    for problem in problems:
        click.echo(f"broken: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"audit chain intact: {report.entries} entries, head {report.head_seq or 0} {report.head_hash or '-'}")


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Write today's checkpoint of the chain head (run daily from cron); the site serves it and lists it in its
    Atom feed. A day's checkpoint is written once."""
    with current_app.extensions["portal.sessions"]() as session:
        if not verify_chain(session).intact:
            raise click.ClickException("the chain does not verify: no checkpoint written (run `portal audit verify`)")
        path = ensure_checkpoint(session, Path(current_app.config["CHECKPOINT_DIR"]))
    click.echo(f"checkpoint written: {path}" if path else "today's checkpoint exists already")


def main() -> None:
    cli()
