"""Thin commands over the same functions the tests call: init-db, ingest, reindex, demo, sources, vendors,
accounts, audit, serve.

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
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.health import probe_sources
from ingest.jobs import SourceRun, due_sources, run_source
from ingest.runner import record_index_failure, run_ingest
from ingest.sources import SourceConfigError, find_source, load_sources
from portal.app import create_app
from portal.database import upgrade_database
from portal.domain.accounts import AccountError, create_account
from portal.domain.audit import verify_chain, verify_checkpoint
from portal.domain.checkpoints import ensure_checkpoint
from portal.domain.concerns import purge_contacts, take_unsent
from portal.domain.downloads import write_downloads
from portal.domain.entity_flags import refresh_entity_flags
from portal.domain.redflags import FlagReport, recompute_changed_flags, recompute_flags
from portal.domain.vendor_figures import refresh_after_load, refresh_totals
from portal.domain.vendors import (
    ResolveReport,
    VendorError,
    merge_vendors,
    reopen_review,
    resolve_all,
    settle_review,
    split_vendor,
    undo_decision,
)
from portal.models import IngestRun, Party, Source, SourceState, VendorDecision, VendorReview
from portal.privacy import AnonymousRequestHandler
from portal.resources import demo_data_folder, demo_sources_file
from portal.vocabulary import EntityKind, ReviewStatus, Role
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
    failed = after_loading(app, [result.run_id])
    return 1 if result.errors or failed else 0


def after_loading(app: Flask, run_ids: list[int]) -> int:
    """What follows every load: the parties it added join their entities, the red flags of the processes it
    changed are recomputed, then the search index takes the changes (with their flags). The data is committed
    by then; an index that cannot be updated fails the runs, which say why; flags that cannot be computed fail
    the command but not the index update."""
    sessions = app.extensions["portal.sessions"]
    with sessions.begin() as session:
        echo_resolution(resolve_all(session, incremental=True))
    with sessions.begin() as session:
        click.echo(f"vendor totals: {refresh_after_load(session)} entities refreshed")
    flags_failed = 0
    try:
        with sessions.begin() as session:
            flag_report = recompute_changed_flags(session)
            echo_flags(flag_report)
            count_entity_flags(session, flag_report)
    except Exception as error:  # the data is committed: the index must still take it; flags wait for a recompute
        click.echo(
            f"error: red flags not recomputed ({type(error).__name__}: {error}); run `portal flags recompute`", err=True
        )
        flags_failed = 1
    try:
        report = update_index(sessions, app.config["INDEX_DIR"])
    except IndexBusy as error:  # the changes stay queued: the next update indexes them
        for run_id in run_ids:
            record_index_failure(sessions, run_id, str(error))
        click.echo(f"error: {error}", err=True)
        return 1
    except Exception as error:
        for run_id in run_ids:
            record_index_failure(sessions, run_id, f"{type(error).__name__}: {error}")
        raise
    click.echo(f"search index: {report.indexed} processes updated")
    echo_index_report(report)
    with sessions() as session:
        files = write_downloads(session, app.config["DOWNLOADS_DIR"])
    click.echo(f"downloads: {', '.join(f'{f.name} ({f.size} bytes)' for f in files)}")
    return flags_failed


def count_entity_flags(session: Session, report: FlagReport | None) -> None:
    """The flag counts of the buyers and suppliers of the processes whose flags were rewritten (all of them
    after a full computation), in the flags' transaction."""
    if report is None:
        return
    counted = refresh_entity_flags(session, process_ids=report.written_ids if report.update else None)
    click.echo(f"red flags: counts of {counted} buyers and suppliers refreshed")


def echo_flags(report: FlagReport | None) -> None:
    if report is None:
        return
    if not report.update:
        click.echo(f"red flags: {report.written} processes rewritten, {sum(report.fired.values())} flags fired in all")
        return
    click.echo(f"red flags: {report.written} processes rewritten ({report.read} read)")
    if report.fences_moved:
        click.echo(
            f"red flags: the data-set fences were computed before {report.since:.0%} of the processes changed; "
            "run `portal flags recompute` (nightly) to compute them again"
        )


def echo_index_report(report: IndexReport) -> None:
    for field, count in report.values_left_out.items():
        click.echo(f"search index: {count} processes without a sortable {field} (value out of range)")
    for ocid, why in report.skipped.items():
        click.echo(f"search index: {ocid} not indexed, kept queued: {why}", err=True)
    if report.kept_queued:
        click.echo("search index: a rebuild is running; it will take these changes in before it swaps")


def echo_resolution(reports: list[ResolveReport]) -> None:
    for r in reports:
        if r.parties:
            click.echo(
                f"{r.kind}s: {r.parties} parties resolved into {r.vendors} entities ({r.merged_parties} merged, "
                f"{r.created} new, {r.retired} moved), {r.reviews} pairs for review"
            )


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
    failed = ingest_and_index(current_app, str(demo_data_folder()), DEMO_SOURCE)
    failed |= run_sources_and_index(current_app, load_sources(demo_sources_file()))
    # The loads above updated the red flags incrementally, against fences computed from the first of them: with
    # everything loaded, compute them over the whole set, and rebuild the small index so search shows them.
    sessions = current_app.extensions["portal.sessions"]
    with sessions.begin() as session:
        report = recompute_flags(session)
        echo_flags(report)
        count_entity_flags(session, report)
    rebuild(sessions, current_app.config["INDEX_DIR"])
    click.echo("search index: rebuilt with the red flags over the whole demo set")
    sys.exit(failed)


def describe_run(result: SourceRun) -> str:
    c = result.counts
    line = (
        f"{result.source}: run {result.run_id} {result.status}: {result.fetched} fetched"
        + (f" of the publisher's {result.publisher_total}" if result.publisher_total is not None else "")
        + f", {c.releases_new} new releases, {c.releases_unchanged} unchanged, {c.processes_compiled} processes"
        f" compiled, {result.rejected} rows not mapped, {result.duplicates} duplicate rows"
    )
    if result.gone:
        line += f", {result.gone} no longer published"
    return line


def run_sources_and_index(app: Flask, sources: list) -> int:
    failed, run_ids = 0, []
    for config in sources:
        result = run_source(app.extensions["portal.sessions"], config)
        click.echo(describe_run(result))
        for error in result.errors:
            click.echo(f"error: {error}", err=True)
        failed |= 1 if result.errors else 0
        run_ids.append(result.run_id)
    return failed | after_loading(app, run_ids)


@cli.group("sources")
def sources() -> None:
    """Configured sources (the sources file, PORTAL_SOURCES_FILE): run, status, check."""


def _configured(path: str | None) -> list:
    try:
        return load_sources(path or current_app.config["SOURCES_FILE"])
    except SourceConfigError as error:
        raise click.ClickException(str(error)) from None


@sources.command("run")
@click.argument("name", required=False)
@click.option("--file", "path", help="A sources file (defaults to PORTAL_SOURCES_FILE).")
@click.option("--due", is_flag=True, help="Only the sources whose schedule says they are due (for cron).")
def sources_run(name: str | None, path: str | None, due: bool) -> None:
    """Run one configured source, or all of them, resuming each from its cursor; then update the index."""
    configured = _configured(path)
    try:
        chosen = [find_source(configured, name)] if name else configured
    except SourceConfigError as error:
        raise click.ClickException(str(error)) from None
    if due:
        with current_app.extensions["portal.sessions"]() as session:
            chosen = due_sources(session, chosen)
        if not chosen:
            click.echo("no source is due")
    sys.exit(run_sources_and_index(current_app, chosen))


@sources.command("status")
def sources_status() -> None:
    """Each source's licence, cursor and last run, from the database."""
    with current_app.extensions["portal.sessions"]() as session:
        for source in session.scalars(select(Source).order_by(Source.name)):
            state = session.get(SourceState, source.id)
            run = session.scalars(
                select(IngestRun).where(IngestRun.source_id == source.id).order_by(IngestRun.id.desc())
            ).first()
            click.echo(f"{source.name} ({source.kind}) {source.location}")
            if state is not None:
                click.echo(
                    f"  licence: {state.licence}" + (f"; attribution: {state.attribution}" if state.attribution else "")
                )
                click.echo(
                    f"  cursor: {json.dumps(state.cursor, sort_keys=True)}; publisher total: {state.publisher_total}"
                )
            if run is not None:
                click.echo(
                    f"  last run {run.id}: {run.status}, {run.releases_new} new releases, "
                    f"started {run.started_at:%Y-%m-%d %H:%M} UTC"
                )
                if run.error:
                    click.echo(f"  error: {run.error.splitlines()[0]}")


@sources.command("check")
@click.option("--file", "path", help="A sources file (defaults to PORTAL_SOURCES_FILE).")
def sources_check(path: str | None) -> None:
    """Probe every configured source: up, down, slow, moved, short, drifted or refused."""
    with current_app.extensions["portal.sessions"]() as session:
        probes = probe_sources(session, _configured(path))
    for probe in probes:
        total = f", publisher total {probe.total}" if probe.total is not None else ""
        click.echo(f"{probe.health.value:8} {probe.source} ({probe.seconds:.2f} s{total}): {probe.detail}")
    sys.exit(0 if all(p.health == "up" for p in probes) else 1)


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
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Werkzeug's LocalProxy
    # Log lines without the client's address (portal.privacy).
    run_simple(host, port, app, threaded=True, request_handler=AnonymousRequestHandler)


@cli.group("concerns")
def concerns() -> None:
    """Residents' concerns: deleting their emails on schedule."""


@concerns.command("purge")
def concerns_purge() -> None:
    """Delete the emails (and unsent notifications) of concerns closed more than PORTAL_CONCERN_EMAIL_DAYS days
    ago. Safe to run at any time, from cron too: it deletes only what is due."""
    days = current_app.config["CONCERN_EMAIL_DAYS"]
    with current_app.extensions["portal.sessions"].begin() as session:
        purged = purge_contacts(session, days=days)
    click.echo(f"{purged} email(s) deleted (concerns closed more than {days} days ago)")


@concerns.command("mail")
@click.option(
    "--mbox",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The mail file to append to (default: mail/outbox.mbox in the instance folder).",
)
def concerns_mail(mbox: Path | None) -> None:
    """Write the notifications waiting in the outbox to a mail file (mbox) and mark them sent: in development, the
    stand-in for a mail server. The file holds residents' emails: it is mail, never a log; delete it when read."""
    import mailbox
    from email.message import EmailMessage

    path = mbox or Path(current_app.instance_path) / "mail" / "outbox.mbox"
    path.parent.mkdir(parents=True, exist_ok=True)
    with current_app.extensions["portal.sessions"].begin() as session:
        messages = take_unsent(session)
        box = mailbox.mbox(str(path))
        try:
            for message in messages:
                mail = EmailMessage()
                mail["To"] = message.recipient
                mail["From"] = "portal@localhost"
                mail["Subject"] = message.subject
                mail.set_content(message.body)
                box.add(mail)
            box.flush()
        finally:
            box.close()
    click.echo(f"{len(messages)} message(s) written to {path}")


@cli.group("vendors")
def vendors() -> None:
    """Suppliers and buyers as entities: resolve, review, merge and split by hand, undo."""


@vendors.command("resolve")
@click.option("--incremental", is_flag=True, help="Only parties not yet resolved, and the entities they touch.")
def vendors_resolve(incremental: bool) -> None:
    """Resolve every party into entities by the rules in portal/domain/vendor_rules.toml."""
    with current_app.extensions["portal.sessions"].begin() as session:
        echo_resolution(resolve_all(session, incremental=incremental))
    if not incremental:
        _refresh_all_totals()


@vendors.command("totals")
def vendors_totals() -> None:
    """Compute again every entity's stored totals (vendor pages read them; each load refreshes those it touched)."""
    _refresh_all_totals()


def _refresh_all_totals() -> None:
    with current_app.extensions["portal.sessions"].begin() as session:
        for kind in (EntityKind.SUPPLIER, EntityKind.BUYER):
            click.echo(f"vendor totals: {refresh_totals(session, kind=kind)} {kind}s refreshed")
        click.echo(f"red flags: counts of {refresh_entity_flags(session)} buyers and suppliers refreshed")


@vendors.command("merge")
@click.argument("vendor_ids", nargs=-1, type=int, required=True)
@click.option("--by", required=True, help="Who decides (recorded with the decision).")
@click.option("--reason", default="", help="Why, in a sentence.")
def vendors_merge(vendor_ids: tuple[int, ...], by: str, reason: str) -> None:
    """Merge two or more entities into one (recorded; `portal vendors undo` reverses it)."""
    with current_app.extensions["portal.sessions"].begin() as session:
        try:
            decision = merge_vendors(session, vendor_ids=vendor_ids, by=by, reason=reason)
        except VendorError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"decision {decision.id}: merged parties {decision.party_ids}")


@vendors.command("split")
@click.argument("vendor_id", type=int)
@click.argument("party_ids", nargs=-1, type=int, required=True)
@click.option("--by", required=True, help="Who decides (recorded with the decision).")
@click.option("--reason", default="", help="Why, in a sentence.")
def vendors_split(vendor_id: int, party_ids: tuple[int, ...], by: str, reason: str) -> None:
    """Split these parties off an entity into one of their own (recorded; `portal vendors undo` reverses it)."""
    with current_app.extensions["portal.sessions"].begin() as session:
        try:
            decision = split_vendor(session, vendor_id=vendor_id, party_ids=party_ids, by=by, reason=reason)
        except VendorError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"decision {decision.id}: parties {decision.party_ids} kept apart from {decision.apart_from}")


@vendors.command("undo")
@click.argument("decision_id", type=int)
def vendors_undo(decision_id: int) -> None:
    """Reverse a merge or split (the decision is kept, marked undone)."""
    with current_app.extensions["portal.sessions"].begin() as session:
        try:
            decision = undo_decision(session, decision_id=decision_id)
        except VendorError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"decision {decision.id} ({decision.action}) undone")


@vendors.command("decisions")
def vendors_decisions() -> None:
    """List the merges and splits made by hand."""
    with current_app.extensions["portal.sessions"]() as session:
        for d in session.scalars(select(VendorDecision).order_by(VendorDecision.id)):
            undone = f", undone {d.undone_at:%Y-%m-%d %H:%M}" if d.undone_at else ""
            click.echo(f"{d.id}\t{d.kind}\t{d.action}\t{d.party_ids}\tby {d.by}, {d.made_at:%Y-%m-%d %H:%M}{undone}")


@vendors.command("review")
@click.option("--limit", default=50, show_default=True)
def vendors_review(limit: int) -> None:
    """List pairs of parties the rules would not merge on their own."""
    with current_app.extensions["portal.sessions"]() as session:
        names = {}
        reviews = list(session.scalars(select(VendorReview).where(VendorReview.status == "open").limit(limit)))
        ids = {r.party_a for r in reviews} | {r.party_b for r in reviews}
        if ids:
            names = dict(session.execute(select(Party.id, Party.name).where(Party.id.in_(ids))).all())
        for r in reviews:
            click.echo(
                f"{r.id}\t{r.kind}\t{r.reason}\t{r.party_a} {names.get(r.party_a)!r}\t"
                f"{r.party_b} {names.get(r.party_b)!r}\t{r.detail}"
            )


@vendors.command("settle")
@click.argument("review_id", type=int)
@click.option("--merge", "outcome", flag_value=ReviewStatus.MERGED.value, help="Merge the pair's two entities.")
@click.option("--keep-apart", "outcome", flag_value=ReviewStatus.KEPT_APART.value, help="Close the review.")
@click.option("--by", required=True, help="Who decides (recorded with the review and any decision).")
@click.option("--reason", default="", help="Why, in a sentence.")
def vendors_settle(review_id: int, outcome: str | None, by: str, reason: str) -> None:
    """Settle a pair of the review queue (its number is the first column of `portal vendors review`)."""
    if outcome is None:
        raise click.UsageError("say --merge or --keep-apart")
    with current_app.extensions["portal.sessions"].begin() as session:
        try:
            review = settle_review(session, review_id=review_id, status=ReviewStatus(outcome), by=by, reason=reason)
        except VendorError as error:
            raise click.ClickException(str(error)) from None
        made = f" (decision {review.decision_id}; `portal vendors undo` reverses it)" if review.decision_id else ""
        click.echo(f"review {review.id}: {review.status}{made}")


@vendors.command("reopen")
@click.argument("review_id", type=int)
def vendors_reopen(review_id: int) -> None:
    """Put a pair kept apart back in the review queue."""
    with current_app.extensions["portal.sessions"].begin() as session:
        try:
            review = reopen_review(session, review_id=review_id)
        except VendorError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"review {review.id}: open again")


@cli.group("flags")
def flags() -> None:
    """Red flags: integrity indicators on every process."""


@flags.command("recompute")
def flags_recompute() -> None:
    """Compute every indicator over every process, and the data-set fences."""
    with current_app.extensions["portal.sessions"].begin() as session:
        report = recompute_flags(session)
        echo_flags(report)
        count_entity_flags(session, report)
    for code, count in report.fired.items():
        click.echo(f"  {code}: {count} processes ({report.seconds.get(code, 0)} s)")
    click.echo("the search index shows the new flags after `portal reindex`")


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
