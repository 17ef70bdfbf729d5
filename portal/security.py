"""Security on by default: the secret key, session cookies, CSRF on every form, security headers, and who is
signed in.

Sessions are Flask's signed cookies. A signed cookie cannot be revoked by itself, so each holds its account's
session version: sign-out, a password change or an account's removal raises the version and every session of that
account ends at its next request. Signing in clears the session first, so no value planted before sign-in (a
fixated session) survives it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Flask, Response, abort, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from portal.config import SettingError
from portal.db import get_session
from portal.domain.accounts import SessionAccount, session_account
from portal.models import Account
from portal.vocabulary import Role

HEADERS = {
    # Pages use no inline script and load nothing from elsewhere.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
SESSION_KEY = "official"  # [account id, session version]
SESSION_HOURS = 8  # a signed-in session lasts a working day at most

csrf = CSRFProtect()


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if session.get(SESSION_KEY) is not None:
        response.headers["Cache-Control"] = "private, no-store"  # pages for a signed-in official are theirs only
    return response


def configure_secret(app: Flask) -> None:
    """The key that signs sessions and CSRF tokens must be the same in every worker, so it comes from
    `PORTAL_SECRET_KEY`; without it the app refuses to start, except in development, tests and commands that
    serve nothing (there a random key per process does no harm)."""
    if app.config.get("SECRET_KEY"):
        return
    if app.config.get("DEVELOPMENT") or app.config.get("TESTING") or app.config.get("COMMAND_LINE"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        app.config["SECRET_KEY_GENERATED"] = True
        return
    raise SettingError(
        "PORTAL_SECRET_KEY is required (the same in every worker), unless PORTAL_DEVELOPMENT=1 on a developer's "
        "machine; make one with `python -c 'import secrets; print(secrets.token_hex(32))'`"
    )


def current_account() -> Account | None:
    """The signed-in official, if the session is still valid; looked up once a request."""
    if "official" in g:
        return g.official
    account = None
    held = session.get(SESSION_KEY)
    if isinstance(held, list) and len(held) == 2:
        account = session_account(get_session(), SessionAccount(int(held[0]), int(held[1])))
        if account is None:
            session.pop(SESSION_KEY, None)  # ended elsewhere: sign-out, new password, removal
    g.official = account
    return account


def sign_in(account: Account) -> None:
    """Start a fresh session for the account: whatever the old cookie held (a CSRF token, a planted value) goes."""
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = [account.id, account.session_version]
    g.official = account


def sign_out_here() -> None:
    session.clear()
    g.official = None


def requires(*roles: Role) -> Callable:
    """A view for signed-in officials with one of these roles (any role when none is named): others are sent to
    sign in, or refused (403) when signed in with another role."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            account = current_account()
            if account is None:
                return redirect(url_for("officials.sign_in", next=request.full_path.rstrip("?")))
            if roles and account.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def init_app(app: Flask) -> None:
    configure_secret(app)
    development = bool(app.config.get("DEVELOPMENT") or app.config.get("TESTING"))
    app.config["SESSION_COOKIE_SECURE"] = not development  # over https only, outside development
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=SESSION_HOURS)
    app.config["WTF_CSRF_SSL_STRICT"] = True  # a POST over https must come from this site (Referer checked)
    csrf.init_app(app)
    app.after_request(_add_headers)
    app.jinja_env.globals["current_account"] = current_account
