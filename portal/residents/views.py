"""Residents' concerns: the form on every process page (no account), the public list of a process's concerns with
their timelines and answers (and its JSON twin and Atom feed), the privacy page; and, behind officials' sign-in,
the moderation queue (moderators) and the answer form (publishers of the buyer's department, or moderators for an
answer received by other means).

Abuse is kept out by: CSRF on the form (the app's CSRFProtect), a honeypot field, a body size limit, limits per
client and per tender (`portal.privacy`: the client is an HMAC of its address, never the address), and resident
text escaped everywhere, its links made clickable only once a moderator published it.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape
from werkzeug.wrappers import Response as AnyResponse

from portal.db import get_session
from portal.domain.concerns import (
    MAX_EMAIL,
    MAX_TEXT,
    MIN_TEXT,
    PUBLIC,
    ConcernError,
    answer_concern,
    answerer,
    buyer_responsiveness,
    department_concerns,
    get_concern,
    may_answer,
    moderate,
    moderation_queue,
    open_concerns,
    public_concerns,
    raise_concern,
)
from portal.domain.publishing import NotAllowed, NotFoundError
from portal.domain.redflags import fired_flags_of
from portal.models import Account, Concern, ConcernContact, Process
from portal.privacy import RateLimiter, Refusal, client_address, make_limiter
from portal.render import error_response, page_route, render
from portal.security import current_account, requires
from portal.vocabulary import ConcernCategory, ConcernStatus, ModerationAction, Role

blueprint = Blueprint("residents", __name__)
# Bytes of a concern form: 5,000 characters of four UTF-8 bytes each, percent-encoded (60,000), and the rest.
MAX_BODY = 64 * 1024
HONEYPOT = "website"  # a field people never see nor fill; a bot that fills it is answered as if it had succeeded
FEED_ENTRIES = 50


@blueprint.errorhandler(NotAllowed)
def _not_allowed(_error: NotAllowed) -> AnyResponse:
    return error_response(403, show_detail=False)


@blueprint.errorhandler(NotFoundError)
def _not_found(_error: NotFoundError) -> AnyResponse:
    return error_response(404, show_detail=False)


# ---------------------------------------------------------------------------------------------------------------
# Words.


def category_labels() -> dict[str, str]:
    return {
        ConcernCategory.SPECIFICATION: _("The specification favours one vendor"),
        ConcernCategory.TOO_LITTLE_TIME: _("Too little time to bid"),
        ConcernCategory.PRICE: _("The price looks wrong"),
        ConcernCategory.CONFLICT_OF_INTEREST: _("Conflict of interest"),
        ConcernCategory.DELIVERY: _("Delivery is not happening"),
        ConcernCategory.OTHER: _("Something else"),
    }


def status_labels() -> dict[str, str]:
    return {
        ConcernStatus.RECEIVED: _("received"),
        ConcernStatus.PUBLISHED: _("published"),
        ConcernStatus.REJECTED: _("not published"),
        ConcernStatus.ANSWERED: _("answered"),
        ConcernStatus.RESOLVED: _("resolved"),
        ConcernStatus.REFERRED: _("referred"),
    }


def concern_messages() -> dict[str, str]:
    return {
        "bad category": _("Choose what the concern is about."),
        "too short": _("Say a little more: at least %(n)s characters.", n=MIN_TEXT),
        "too long": _("That is too long: at most %(n)s characters.", n=MAX_TEXT),
        "bad email": _("That does not look like an email address. Leave it empty if you do not want to hear back."),
        "bad flags": _("The indicators cited cannot be read."),
        "not in queue": _("This concern has been moderated already."),
        "not open": _("This concern is not open."),
        "not awaiting answer": _("This concern is not waiting for an answer."),
        "reason needed": _("Give the reason: the author is told of it."),
        "answer needed": _("Write the answer."),
    }


def refusal_message(refusal: Refusal) -> str:
    if refusal.per == "client":
        return _(
            "Too many concerns from your connection: at most %(n)s in 24 hours. Please try again tomorrow.",
            n=refusal.limit,
        )
    return _(
        "This process has received too many concerns today (at most %(n)s in 24 hours). Please try again tomorrow.",
        n=refusal.limit,
    )


# ---------------------------------------------------------------------------------------------------------------
# Resident text on pages.

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def resident_text(text: str | None, *, links: bool = False) -> Markup:
    """A resident's (or an answer's) text as HTML: always escaped; with `links`, http(s) addresses become links
    that leave the site marked as such. Links are made only on published text: a moderator reads it first."""
    if not text:
        return Markup("")
    if not links:
        return escape(text)
    parts, last = [], 0
    for found in _URL.finditer(text):
        url = found.group(0).rstrip(".,;:!?)")
        end = found.start() + len(url)
        parts.append(escape(text[last : found.start()]))
        parts.append(Markup('<a href="{0}" rel="nofollow noopener external">{0}</a>').format(url))
        last = end
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


# ---------------------------------------------------------------------------------------------------------------
# What the pages show.


def concern_data(concern: Concern) -> dict[str, Any]:
    """A published concern as anyone may see it: never its author's email (nor, anywhere, their address)."""
    answered = concern.answer is not None
    return {
        "id": concern.id,
        "ocid": concern.ocid,
        "category": concern.category,
        "text": concern.text,
        "flags": concern.flags,
        "status": concern.status,
        "answer_due": concern.answer_due,
        "timeline": [{"status": e.status, "at": e.at} for e in concern.events if e.status != ConcernStatus.REJECTED],
        "answer": {
            "text": concern.answer,
            "at": concern.answered_at,
            "by_other_means": concern.answer_by_other_means,
        }
        if answered
        else None,
    }


def concerns_context(ocid: str) -> dict[str, Any]:
    """What the concerns partial of a process page needs (also a template global, so the process page's view need
    not know of it)."""
    db = get_session()
    who = answerer(db, ocid)
    return {
        "ocid": ocid,
        # The red flags that fired on this process: a concern may cite them.
        "flags": [(flag.code, flag.title) for flag in fired_flags_of(db, ocid)],
        "concerns": public_concerns(db, ocid),
        "department": who.department,
        "has_publisher": who.has_publisher,
        "categories": category_labels(),
        "statuses": status_labels(),
        "min_text": MIN_TEXT,
        "max_text": MAX_TEXT,
        "max_email": MAX_EMAIL,
        "email_days": current_app.config["CONCERN_EMAIL_DAYS"],
        "answer_days": current_app.config["CONCERN_ANSWER_DAYS"],
        "honeypot": HONEYPOT,
    }


def _process_title(ocid: str) -> str | None:
    process = get_session().query(Process).filter(Process.ocid == ocid).first()
    if process is None:
        raise NotFoundError(f"no process {ocid!r}")
    return process.title


def _concerns_page(
    ocid: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    title = _process_title(ocid)
    context = concerns_context(ocid)
    data = {"ocid": ocid, "concerns": [concern_data(c) for c in context["concerns"]]}
    return render(
        "residents/concerns.html",
        data,
        status=status,
        title=title,
        concerns_ctx=context,
        concern_errors=errors or {},
        concern_values=values or {},
        refusal=refusal,
    )


@page_route(blueprint, "/process/<ocid:ocid>/concerns")
def concerns(ocid: str) -> Response:
    return _concerns_page(ocid)


def limiter() -> RateLimiter:
    found = current_app.extensions.get("portal.limiter")
    if found is None:
        found = make_limiter(
            redis_url=current_app.config.get("REDIS_URL"),
            client_limit=current_app.config["CONCERN_CLIENT_LIMIT"],
            tender_limit=current_app.config["CONCERN_TENDER_LIMIT"],
        )
        current_app.extensions["portal.limiter"] = found
    return found


@blueprint.post("/process/<ocid:ocid>/concerns")
def raise_concern_view(ocid: str) -> AnyResponse:
    if request.content_length is not None and request.content_length > MAX_BODY:
        abort(413)
    _process_title(ocid)  # 404 before anything is counted
    form = request.form
    if form.get(HONEYPOT):
        # Answered as a success, so that the bot learns nothing; nothing is stored or counted.
        flash(_("Thank you: your concern was received. A moderator reads it before it is published."))
        return redirect(url_for("residents.concerns", ocid=ocid), code=303)
    values = {k: form.get(k, "") for k in ("category", "text", "email")}
    db = get_session()
    try:
        concern = raise_concern(
            db,
            ocid=ocid,
            category=form.get("category", ""),
            text=form.get("text", ""),
            email=form.get("email") or None,
            flags=form.getlist("flags") or None,
            citable={flag.code for flag in fired_flags_of(db, ocid)},
        )
    except ConcernError as problem:
        db.rollback()
        return _concerns_page(
            ocid, errors={problem.field: concern_messages()[problem.reason]}, values=values, status=422
        )
    address = client_address(
        request.remote_addr, request.headers.get("X-Forwarded-For"), current_app.config["TRUSTED_PROXIES"]
    )
    refused = limiter().check(address=address, ocid=ocid)
    if refused is not None:
        db.rollback()
        return _concerns_page(ocid, values=values, refusal=refusal_message(refused), status=429)
    db.commit()
    flash(
        _(
            "Thank you: your concern was received (number %(id)s). A moderator reads it before it is published.",
            id=concern.id,
        )
    )
    return redirect(url_for("residents.concerns", ocid=ocid), code=303)


def atom_id(name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'open-procurement-portal/concerns/{name}')}"


@blueprint.get("/process/<ocid:ocid>/concerns.atom")
def concerns_feed(ocid: str) -> Response:
    """Follow a process's concerns and answers without an account: one entry per published concern, updated when
    it is answered or closed."""
    title = _process_title(ocid)
    found = public_concerns(get_session(), ocid)[:FEED_ENTRIES]
    entries = [(c, atom_id(f"{c.id}"), max(e.at for e in c.events)) for c in found]
    updated = max((u for _, _, u in entries), default=None)
    body = render_template(
        "residents/concerns_feed.html",
        ocid=ocid,
        title=title,
        entries=entries,
        updated=(updated.strftime("%Y-%m-%dT%H:%M:%SZ") if updated else "2026-01-01T00:00:00Z"),
        feed_id=atom_id(f"process/{ocid}"),
        categories=category_labels(),
        statuses=status_labels(),
    )
    return Response(body, mimetype="application/atom+xml")


@page_route(blueprint, "/privacy")
def privacy() -> Response:
    config = current_app.config
    data = {
        "email_kept_days_after_closing": config["CONCERN_EMAIL_DAYS"],
        "addresses_stored": False,
        "rate_limit_counters_hours": 24,
        "concerns_per_client_per_day": config["CONCERN_CLIENT_LIMIT"],
        "concerns_per_process_per_day": config["CONCERN_TENDER_LIMIT"],
    }
    return render("residents/privacy.html", data, config=data)


# ---------------------------------------------------------------------------------------------------------------
# Officials: moderation and answers.


def _me() -> Account:
    account = current_account()
    assert account is not None  # views reach here through `requires`
    return account


@blueprint.get("/officials/concerns")
@requires(Role.MODERATOR, Role.PUBLISHER)
def queue() -> str:
    account, db = _me(), get_session()
    if account.role == Role.MODERATOR:
        waiting, published = moderation_queue(db), open_concerns(db)
    else:
        waiting, published = [], department_concerns(db, account.department_id or 0)
    return render_template(
        "residents/queue.html",
        account=account,
        waiting=waiting,
        published=published,
        categories=category_labels(),
        statuses=status_labels(),
    )


def _concern_page(concern: Concern, *, error: str | None = None, status: int = 200) -> AnyResponse:
    account, db = _me(), get_session()
    if account.role != Role.MODERATOR and concern.status not in PUBLIC:
        raise NotFoundError(f"concern {concern.id} is not public")  # the queue is for moderators only
    page = render_template(
        "residents/concern.html",
        account=account,
        concern=concern,
        who=answerer(db, concern.ocid),
        may_answer=may_answer(db, account, concern),
        has_contact=db.get(ConcernContact, concern.id) is not None,
        categories=category_labels(),
        statuses=status_labels(),
        error=error,
    )
    return Response(page, status=status, mimetype="text/html")


@blueprint.get("/officials/concerns/<int:concern_id>")
@requires(Role.MODERATOR, Role.PUBLISHER)
def concern(concern_id: int) -> AnyResponse:
    return _concern_page(get_concern(get_session(), concern_id))


@blueprint.post("/officials/concerns/<int:concern_id>/moderate")
@requires(Role.MODERATOR)
def moderate_view(concern_id: int) -> AnyResponse:
    db = get_session()
    try:
        action = ModerationAction(request.form.get("action", ""))
    except ValueError:
        abort(400)
    try:
        moderate(
            db,
            _me(),
            concern_id,
            action=action,
            text=request.form.get("text"),
            reason=request.form.get("reason"),
            answer_days=current_app.config["CONCERN_ANSWER_DAYS"],
        )
    except ConcernError as problem:
        db.rollback()
        return _concern_page(get_concern(db, concern_id), error=concern_messages()[problem.reason], status=422)
    db.commit()
    if action == ModerationAction.PUBLISH:
        flash(_("Concern %(id)s published.", id=concern_id))
    elif action == ModerationAction.REJECT:
        flash(_("Concern %(id)s rejected.", id=concern_id))
    elif action == ModerationAction.RESOLVE:
        flash(_("Concern %(id)s closed as resolved.", id=concern_id))
    else:
        flash(_("Concern %(id)s closed as referred.", id=concern_id))
    return redirect(url_for("residents.queue"))


@blueprint.post("/officials/concerns/<int:concern_id>/answer")
@requires(Role.MODERATOR, Role.PUBLISHER)
def answer_view(concern_id: int) -> AnyResponse:
    db = get_session()
    try:
        answered = answer_concern(db, _me(), concern_id, text=request.form.get("answer", ""))
    except ConcernError as problem:
        db.rollback()
        return _concern_page(get_concern(db, concern_id), error=concern_messages()[problem.reason], status=422)
    db.commit()
    flash(_("Answer published on the process page."))
    return redirect(url_for("residents.concerns", ocid=answered.ocid))


def init_app(app: Any) -> None:
    """Template helpers: the concerns partial of process pages, and resident text escaped (links once published)."""
    app.jinja_env.globals["concerns_for"] = concerns_context
    app.jinja_env.globals["buyer_concerns"] = lambda vendor_id: buyer_responsiveness(get_session(), vendor_id)
    app.jinja_env.filters["resident_text"] = resident_text
