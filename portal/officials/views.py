"""Officials' pages: sign-in, accounts (administrators), award notices and amendments (publishers); and the
public audit trail, its checkpoints and the releases published here.

Every form is CSRF-protected (Flask-WTF's CSRFProtect, for the whole app). Each write is authorised beside it:
a publisher publishes for their own department only, whatever the form says; a forged department or process is
refused with 403. The audit entry of a change commits in the same transaction as the change.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response as AnyResponse  # a page, or a redirect

from ingest.published import SOURCE_NAME, store_release
from portal.db import get_session
from portal.domain.accounts import (
    AccountError,
    SignInRefused,
    authenticate,
    change_password,
    create_account,
    create_department,
    enable_totp,
    end_sessions,
    new_totp_secret,
    remove_account,
    totp_uri,
)
from portal.domain.audit import recent_entries, verify_chain
from portal.domain.checkpoints import checkpoint_files, read_checkpoint
from portal.domain.ocds import canonical_json, loads
from portal.domain.publishing import (
    NotAllowed,
    NotFoundError,
    Prepared,
    amendable_notice,
    latest_notices,
    notice_from_release,
    notice_history,
    prepare_amendment,
    prepare_award,
    publishing_department,
    record_notice,
    release_schema_errors,
    stored_release,
)
from portal.domain.vendor_figures import find_vendors, refresh_for_processes
from portal.domain.vendors import (
    VendorError,
    merge_vendors,
    recent_decisions,
    reopen_review,
    review_queue,
    settle_review,
    split_vendor,
    undo_decision,
    vendor_parties,
)
from portal.models import Account, Department, Package, Process, PublishedNotice, Release, Source, Vendor, utcnow
from portal.officials.forms import (
    DOCUMENT_ROWS,
    SUPPLIER_ROWS,
    finding_messages,
    method_labels,
    notice_values,
    optional_int,
    read_notice,
    role_labels,
)
from portal.render import error_response, page_route, render
from portal.security import current_account, requires, sign_in, sign_out_here
from portal.vocabulary import EntityKind, ReviewStatus, Role
from search_index.indexer import IndexBusy, update_index

blueprint = Blueprint("officials", __name__)
INDEX_WAIT = 5.0  # seconds a publication waits for the search index; past that it is indexed by the next update
TOTP_PENDING = "totp_pending"  # the secret shown for setup, kept in the session until a code confirms it


@blueprint.errorhandler(NotAllowed)
def _not_allowed(_error: NotAllowed) -> AnyResponse:
    return error_response(403, show_detail=False)


@blueprint.errorhandler(NotFoundError)
def _not_found(_error: NotFoundError) -> AnyResponse:
    return error_response(404, show_detail=False)


def account_messages() -> dict[str, str]:
    return {
        "password too short": _("The password must be at least 12 characters long."),
        "password contains username": _("The password must not contain the username."),
        "bad username": _("A username is 2 to 63 lower-case letters, digits, dots, dashes or underscores."),
        "username taken": _("That username is taken."),
        "publisher needs department": _("A publisher belongs to a department: choose one."),
        "department incomplete": _("A department needs a name, an identifier scheme and an identifier."),
        "department exists": _("A department has that name already."),
        "last administrator": _("The last administrator cannot be removed."),
        "current password wrong": _("The current password is wrong."),
        "code wrong": _("That code is wrong or expired: try the current one."),
    }


def _me() -> Account:
    account = current_account()
    assert account is not None  # views reach here through `requires`
    return account


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (`//evil`, `https://evil`)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("officials.dashboard")


# ---------------------------------------------------------------------------------------------------------------
# Signing in and out.


@blueprint.route("/officials/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page() -> Any:
    error, status = None, 200
    if request.method == "POST":
        db = get_session()
        try:
            account = authenticate(
                db,
                username=request.form.get("username", ""),
                password=request.form.get("password", ""),
                code=request.form.get("code") or None,
            )
        except SignInRefused as refused:
            db.commit()  # the failure counts towards the lock-out
            status = 401
            error = {
                "credentials": _("Wrong username or password."),
                "locked": _("Too many failed attempts: this account is locked for a while. Try again later."),
                "code needed": _("Enter the code from your authenticator app."),
                "code": _("That code is wrong or expired."),
            }[refused.reason]
        else:
            db.commit()
            sign_in(account)
            return redirect(_safe_next(request.args.get("next")))
    page = render_template("officials/sign_in.html", error=error, username=request.form.get("username", ""))
    return Response(page, status=status, mimetype="text/html")


@blueprint.post("/officials/sign-out")
def sign_out() -> AnyResponse:
    """Sign out everywhere: every session of the account ends, not only this browser's cookie."""
    account = current_account()
    if account is not None:
        db = get_session()
        end_sessions(db, account, actor_id=account.id)
        db.commit()
    sign_out_here()
    return redirect(url_for("public.home"))


@blueprint.get("/officials/")
@requires()
def dashboard() -> str:
    account = _me()
    db = get_session()
    notices = latest_notices(db, department_id=account.department_id) if account.role == Role.PUBLISHER else []
    return render_template(
        "officials/dashboard.html",
        account=account,
        notices=notices,
        titles=_titles(db, [n.ocid for n in notices]),
        roles=role_labels(),
    )


def _titles(db: Any, ocids: list[str]) -> dict[str, str | None]:
    if not ocids:
        return {}
    rows = db.execute(select(Process.ocid, Process.title).where(Process.ocid.in_(ocids)))
    return {ocid: title for ocid, title in rows}


@blueprint.route("/officials/password", methods=["GET", "POST"])
@requires()
def password() -> Any:
    account, error = _me(), None
    if request.method == "POST":
        db = get_session()
        if request.form.get("new", "") != request.form.get("again", ""):
            error = _("The two new passwords differ.")
        else:
            try:
                change_password(
                    db, account, current=request.form.get("current", ""), new=request.form["new"], actor_id=account.id
                )
            except AccountError as problem:
                error = account_messages()[problem.reason]
            else:
                db.commit()
                sign_in(account)  # every other session ended with the old version; this one goes on
                flash(_("Password changed. Every other session of this account has ended."))
                return redirect(url_for("officials.dashboard"))
    page = render_template("officials/password.html", error=error)
    return Response(page, status=422 if error else 200, mimetype="text/html")


@blueprint.route("/officials/second-factor", methods=["GET", "POST"])
@requires()
def second_factor() -> Any:
    account, error = _me(), None
    secret = session.get(TOTP_PENDING) or new_totp_secret()
    session[TOTP_PENDING] = secret
    if request.method == "POST":
        db = get_session()
        try:
            enable_totp(db, account, secret=secret, code=request.form.get("code", ""))
        except AccountError as problem:
            error = account_messages()[problem.reason]
        else:
            db.commit()
            session.pop(TOTP_PENDING, None)
            sign_in(account)
            flash(_("Second factor on: signing in now asks for a code."))
            return redirect(url_for("officials.dashboard"))
    uri = totp_uri(account, secret, _("Open procurement portal"))
    page = render_template("officials/second_factor.html", account=account, secret=secret, uri=uri, error=error)
    return Response(page, status=422 if error else 200, mimetype="text/html")


# ---------------------------------------------------------------------------------------------------------------
# Accounts and departments (administrators).


def _accounts_page(error: str | None = None, values: dict | None = None) -> AnyResponse:
    db = get_session()
    page = render_template(
        "officials/accounts.html",
        accounts=list(db.scalars(select(Account).order_by(Account.active.desc(), Account.username))),
        departments=list(db.scalars(select(Department).order_by(Department.name))),
        roles=role_labels(),
        error=error,
        values=values or {},
    )
    return Response(page, status=422 if error else 200, mimetype="text/html")


@blueprint.get("/officials/accounts")
@requires(Role.ADMINISTRATOR)
def accounts() -> AnyResponse:
    return _accounts_page()


@blueprint.post("/officials/accounts")
@requires(Role.ADMINISTRATOR)
def create_account_view() -> AnyResponse:
    db = get_session()
    form = request.form
    try:
        role = Role(form.get("role", ""))
    except ValueError:
        abort(400)
    try:
        create_account(
            db,
            username=form.get("username", ""),
            name=form.get("name", ""),
            role=role,
            password=form.get("password", ""),
            department_id=optional_int(form.get("department_id")),
            actor_id=_me().id,
        )
    except AccountError as problem:
        db.rollback()
        return _accounts_page(account_messages()[problem.reason], {k: v for k, v in form.items() if k != "password"})
    db.commit()
    flash(_("Account %(username)s created.", username=form.get("username", "").strip().lower()))
    return redirect(url_for("officials.accounts"))


@blueprint.post("/officials/departments")
@requires(Role.ADMINISTRATOR)
def create_department_view() -> AnyResponse:
    db = get_session()
    form = request.form
    try:
        create_department(
            db,
            name=form.get("name", ""),
            scheme=form.get("scheme", ""),
            identifier=form.get("identifier", ""),
            actor_id=_me().id,
        )
    except AccountError as problem:
        db.rollback()
        return _accounts_page(account_messages()[problem.reason])
    db.commit()
    flash(_("Department %(name)s created.", name=form.get("name", "").strip()))
    return redirect(url_for("officials.accounts"))


def _account(account_id: int) -> Account:
    account = get_session().get(Account, account_id)
    if account is None:
        abort(404)
    return account


@blueprint.post("/officials/accounts/<int:account_id>/remove")
@requires(Role.ADMINISTRATOR)
def remove_account_view(account_id: int) -> AnyResponse:
    db = get_session()
    account = _account(account_id)
    try:
        remove_account(db, account, actor_id=_me().id)
    except AccountError as problem:
        db.rollback()
        return _accounts_page(account_messages()[problem.reason])
    db.commit()
    flash(_("Account %(username)s removed; its sessions have ended.", username=account.username))
    return redirect(url_for("officials.accounts"))


@blueprint.post("/officials/accounts/<int:account_id>/password")
@requires(Role.ADMINISTRATOR)
def reset_password_view(account_id: int) -> AnyResponse:
    db = get_session()
    account = _account(account_id)
    try:
        change_password(db, account, current=None, new=request.form.get("password", ""), actor_id=_me().id)
    except AccountError as problem:
        db.rollback()
        return _accounts_page(account_messages()[problem.reason])
    db.commit()
    flash(_("New password set for %(username)s; their sessions have ended.", username=account.username))
    return redirect(url_for("officials.accounts"))


# ---------------------------------------------------------------------------------------------------------------
# Vendor entities (administrators): the CLI's `portal vendors merge/split/undo/settle`, as a page. Each action
# calls the same domain function as the command, which appends it to the audit trail in the same transaction.


def _vendor_kind(value: str | None) -> EntityKind:
    try:
        return EntityKind(value or EntityKind.SUPPLIER)
    except ValueError:
        abort(400)


def _vendors_page(error: str | None = None) -> AnyResponse:
    db = get_session()
    args = request.args if request.method == "GET" else request.form
    kind = _vendor_kind(args.get("kind"))
    q = args.get("q", "").strip()[:200]
    chosen = optional_int(args.get("vendor"))
    selected = db.get(Vendor, chosen) if chosen is not None and 0 < chosen < 2**31 else None
    page = render_template(
        "officials/vendors.html",
        q=q,
        kind=kind,
        kinds={EntityKind.SUPPLIER: _("suppliers"), EntityKind.BUYER: _("buyers")},
        found=find_vendors(db, q=q, kind=kind) if q else [],
        selected=selected,
        parties=vendor_parties(db, selected.id) if selected is not None and selected.merged_into_id is None else [],
        queue=review_queue(db),
        settled=review_queue(db, status=ReviewStatus.KEPT_APART, limit=20),
        decisions=recent_decisions(db),
        error=error,
    )
    return Response(page, status=422 if error else 200, mimetype="text/html")


def _vendor_refused(problem: VendorError) -> AnyResponse:
    get_session().rollback()
    return _vendors_page(_("That cannot be done: %(detail)s", detail=str(problem)))


def _back_to_vendors(**args: Any) -> AnyResponse:
    kept: dict[str, Any] = {k: v for k in ("q", "kind") if (v := request.form.get(k))}
    return redirect(url_for("officials.vendors", **kept, **args))


def _form_ids(name: str) -> list[int]:
    ids = [optional_int(v) for v in request.form.getlist(name)]
    if any(i is None or not 0 < i < 2**31 for i in ids):
        abort(400)
    return [i for i in ids if i is not None]


@blueprint.get("/officials/vendors")
@requires(Role.ADMINISTRATOR)
def vendors() -> AnyResponse:
    """Search entities, see the review queue, merge, split, undo."""
    return _vendors_page()


@blueprint.post("/officials/vendors/merge")
@requires(Role.ADMINISTRATOR)
def merge_vendors_view() -> AnyResponse:
    account, db = _me(), get_session()
    try:
        decision = merge_vendors(
            db,
            vendor_ids=_form_ids("vendor_ids"),
            by=account.username,
            reason=request.form.get("reason", "").strip(),
            actor_id=account.id,
        )
    except VendorError as problem:
        return _vendor_refused(problem)
    db.commit()
    flash(_("Merged (decision %(id)s). Undo it below if it was wrong.", id=decision.id))
    return _back_to_vendors()


@blueprint.post("/officials/vendors/<int:vendor_id>/split")
@requires(Role.ADMINISTRATOR)
def split_vendor_view(vendor_id: int) -> AnyResponse:
    account, db = _me(), get_session()
    try:
        decision = split_vendor(
            db,
            vendor_id=vendor_id,
            party_ids=_form_ids("party_ids"),
            by=account.username,
            reason=request.form.get("reason", "").strip(),
            actor_id=account.id,
        )
    except VendorError as problem:
        return _vendor_refused(problem)
    db.commit()
    flash(_("Split off (decision %(id)s). Undo it below if it was wrong.", id=decision.id))
    return _back_to_vendors(vendor=vendor_id)


@blueprint.post("/officials/vendors/decisions/<int:decision_id>/undo")
@requires(Role.ADMINISTRATOR)
def undo_vendor_decision(decision_id: int) -> AnyResponse:
    account, db = _me(), get_session()
    try:
        undo_decision(db, decision_id=decision_id, actor_id=account.id)
    except VendorError as problem:
        return _vendor_refused(problem)
    db.commit()
    flash(_("Decision %(id)s undone.", id=decision_id))
    return _back_to_vendors()


@blueprint.post("/officials/vendors/reviews/<int:review_id>/settle")
@requires(Role.ADMINISTRATOR)
def settle_vendor_review(review_id: int) -> AnyResponse:
    account, db = _me(), get_session()
    try:
        outcome = ReviewStatus(request.form.get("outcome", ""))
    except ValueError:
        abort(400)
    try:
        review = settle_review(
            db,
            review_id=review_id,
            status=outcome,
            by=account.username,
            reason=request.form.get("reason", "").strip(),
            actor_id=account.id,
        )
    except VendorError as problem:
        return _vendor_refused(problem)
    db.commit()
    if review.decision_id:
        flash(_("Merged (decision %(id)s). Undo it below if it was wrong.", id=review.decision_id))
    else:
        flash(_("Kept apart: the pair leaves the queue."))
    return _back_to_vendors()


@blueprint.post("/officials/vendors/reviews/<int:review_id>/reopen")
@requires(Role.ADMINISTRATOR)
def reopen_vendor_review(review_id: int) -> AnyResponse:
    account, db = _me(), get_session()
    try:
        reopen_review(db, review_id=review_id, actor_id=account.id)
    except VendorError as problem:
        return _vendor_refused(problem)
    db.commit()
    flash(_("The pair is back in the queue."))
    return _back_to_vendors()


# ---------------------------------------------------------------------------------------------------------------
# Publishing.


def _own_processes(db: Any, account: Account) -> list[tuple[str, str | None]]:
    ocids = db.scalars(
        select(PublishedNotice.ocid).where(PublishedNotice.department_id == account.department_id).distinct()
    ).all()
    titles = _titles(db, list(ocids))
    return sorted(((ocid, titles.get(ocid)) for ocid in ocids), key=lambda pair: pair[0])


def _notice_page(
    *,
    mode: str,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    prepared: Prepared | None = None,
    schema: list[str] | None = None,
    notice: PublishedNotice | None = None,
    status: int = 200,
    published: dict | None = None,
) -> AnyResponse:
    account, db = _me(), get_session()
    department = publishing_department(db, account, None)
    page = render_template(
        "officials/notice_form.html",
        mode=mode,
        values=values,
        errors=errors or {},
        findings=finding_messages(prepared.findings) if prepared else [],
        release=json.dumps(loads(canonical_json(prepared.release)), indent=2, ensure_ascii=False) if prepared else None,
        schema_errors=schema or [],
        department=department,
        processes=_own_processes(db, account) if mode == "new" else [],
        methods=method_labels(),
        supplier_rows=range(1, SUPPLIER_ROWS + 1),
        document_rows=range(1, DOCUMENT_ROWS + 1),
        notice=notice,
        published=published,
    )
    return Response(page, status=status, mimetype="text/html")


def _update_index() -> None:
    """Make the publication searchable now; if the index is busy (a rebuild), the queue keeps it for later."""
    try:
        update_index(current_app.extensions["portal.sessions"], current_app.config["INDEX_DIR"], timeout=INDEX_WAIT)
    except IndexBusy:
        flash(_("The search index is being rebuilt: the notice will be searchable when the rebuild ends."))


def _submit(mode: str, prepared: Prepared, notice: PublishedNotice | None = None) -> AnyResponse:
    """Preview, or publish when nothing blocks and the warnings were confirmed."""
    values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "action", "confirm")}
    schema = release_schema_errors(prepared.release)
    confirmed = request.form.get("confirm") == "yes" or not prepared.findings
    if request.form.get("action") != "publish" or prepared.blocked or schema or not confirmed:
        status = 422 if (request.form.get("action") == "publish" and (prepared.blocked or schema)) else 200
        return _notice_page(mode=mode, values=values, prepared=prepared, schema=schema, notice=notice, status=status)
    db, account = get_session(), _me()
    department = publishing_department(db, account, None)
    stored = store_release(db, prepared.release, publisher_name=department.name)
    published = record_notice(db, account, prepared, release_checksum=stored.checksum)
    refresh_for_processes(db, [prepared.release["ocid"]])  # the vendor totals of its supplier and buyer
    db.commit()
    _update_index()
    flash(_("Published. The notice is on the process page and in the search."))
    return redirect(url_for("officials.notice", notice_id=published.id))


@blueprint.route("/officials/notices/new", methods=["GET", "POST"])
@requires(Role.PUBLISHER)
def new_notice() -> AnyResponse:
    if request.method == "GET":
        return _notice_page(mode="new", values={"currency": "CAD", "method": "open"})
    db, account = get_session(), _me()
    # Authorised before anything else is read: a forged department or process is refused, not corrected.
    department_id = optional_int(request.form.get("department_id"))
    publishing_department(db, account, department_id)
    ocid = request.form.get("ocid", "").strip() or None
    read = read_notice(request.form)
    if read.notice is None:
        return _notice_page(mode="new", values=read.values, errors=read.errors, status=422)
    prepared = prepare_award(
        db,
        account,
        read.notice,
        department_id=department_id,
        ocid=ocid,
        prefix=current_app.config["OCID_PREFIX"],
    )
    return _submit("new", prepared)


@blueprint.route("/officials/notices/<int:notice_id>/amend", methods=["GET", "POST"])
@requires(Role.PUBLISHER)
def amend_notice(notice_id: int) -> AnyResponse:
    db, account = get_session(), _me()
    earlier = amendable_notice(db, account, notice_id)
    if request.method == "GET":
        values = notice_values(notice_from_release(stored_release(db, earlier)))
        return _notice_page(mode="amend", values=values, notice=earlier)
    read = read_notice(request.form)
    if read.notice is None:
        return _notice_page(mode="amend", values=read.values, errors=read.errors, notice=earlier, status=422)
    prepared = prepare_amendment(
        db,
        account,
        notice_id,
        read.notice,
        reason=request.form.get("reason", ""),
        description=request.form.get("amendment_description", ""),
    )
    return _submit("amend", prepared, earlier)


@blueprint.get("/officials/notices/<int:notice_id>")
@requires(Role.PUBLISHER)
def notice(notice_id: int) -> str:
    db, account = get_session(), _me()
    found = db.get(PublishedNotice, notice_id)
    if found is None:
        abort(404)
    if found.department_id != account.department_id:
        raise NotAllowed(f"notice {notice_id} belongs to another department")
    history = notice_history(db, found)
    amended_by = db.scalar(select(PublishedNotice.id).where(PublishedNotice.amends_id == found.id))
    return render_template(
        "officials/notice.html",
        notice=found,
        history=[(n, notice_from_release(stored_release(db, n))) for n in history],
        amended_by=amended_by,
        title=_titles(db, [found.ocid]).get(found.ocid),
    )


# ---------------------------------------------------------------------------------------------------------------
# Public: the audit trail, its checkpoints, and the releases published here.


def _checkpoint_dir() -> Path:
    return Path(current_app.config["CHECKPOINT_DIR"])


def audit_data(report: Any, entries: list, checkpoints: list[str]) -> dict[str, Any]:
    return {
        "intact": report.intact,
        "entries": report.entries,
        "head": {"seq": report.head_seq, "hash": report.head_hash},
        "breaks": [{"seq": b.seq, "problem": b.problem} for b in report.breaks],
        "more_breaks": report.more_breaks,
        "recent": [
            {
                "seq": e.seq,
                "at": e.at,
                "actor_id": e.actor_id,
                "action": e.action,
                "subject": e.subject,
                "content_hash": e.content_hash,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in entries
        ],
        "checkpoints": [url_for("officials.checkpoint", day=day) for day in checkpoints],
        "feed": url_for("officials.checkpoint_feed"),
    }


@page_route(blueprint, "/audit")
def audit() -> AnyResponse:
    """The whole chain verified on every visit, its head, the latest entries and the checkpoints to keep."""
    db = get_session()
    report = verify_chain(db)
    entries = recent_entries(db, limit=50)
    days = checkpoint_files(_checkpoint_dir())
    data = audit_data(report, entries, days)
    return render("officials/audit.html", data, report=report, entries=entries, days=days)


@blueprint.get("/audit/checkpoints/<day>.json")
def checkpoint(day: str) -> AnyResponse:
    if day not in checkpoint_files(_checkpoint_dir()):
        abort(404)
    return send_from_directory(_checkpoint_dir(), f"{day}.json", mimetype="application/json")


def atom_id(name: str) -> str:
    """A stable Atom id that does not depend on the Host a request names (links in the feed are relative)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'open-procurement-portal/audit/{name}')}"


@blueprint.get("/audit/checkpoints.atom")
def checkpoint_feed() -> AnyResponse:
    """An Atom feed of the daily checkpoints, for anyone's feed reader or archive to keep."""
    days = checkpoint_files(_checkpoint_dir())[:60]
    entries = [(day, read_checkpoint(_checkpoint_dir(), day), atom_id(day)) for day in days]
    updated = entries[0][1]["taken_at"] if entries else datetime(2026, 1, 1).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = render_template(
        "officials/checkpoints_feed.html", entries=entries, updated=updated, feed_id=atom_id("checkpoints")
    )
    return Response(body, mimetype="application/atom+xml")


@blueprint.get("/published/releases.json")
def published_releases() -> AnyResponse:
    """Every release published on this portal, as one OCDS release package, exactly as stored."""
    db = get_session()
    rows = db.execute(
        select(Release.data, Package.loaded_at)
        .join(Package, Release.package_id == Package.id)
        .join(Source, Package.source_id == Source.id)
        .where(Source.name == SOURCE_NAME)
        .order_by(Release.id)
    ).all()
    published = max((loaded for _, loaded in rows), default=None) or utcnow()
    package = {
        # Relative, like every URL in the site's JSON: an absolute one would echo whatever Host was sent.
        "uri": url_for("officials.published_releases"),
        "version": "1.1",
        "publishedDate": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "publisher": {"name": SOURCE_NAME},
    }
    # Each release's stored text, spliced in as it is: parsing and writing it again could change a number's text.
    head = canonical_json(package)[:-1]
    return Response(f'{head},"releases":[{",".join(data for data, _ in rows)}]}}', mimetype="application/json")
