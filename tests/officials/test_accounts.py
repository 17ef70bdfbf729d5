"""Signing in: argon2 hashes, lock-out, sessions that end everywhere at once, no fixation, CSRF on every form,
a second factor, roles, and the secret key that every worker shares."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from portal.app import create_app
from portal.cli import cli
from portal.config import SettingError
from portal.domain.accounts import MAX_FAILURES, SignInRefused, authenticate
from portal.models import Account, AuditEntry, utcnow
from tests.officials.conftest import PASSWORD, csrf_token, sign_in


def test_the_server_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_DEVELOPMENT", raising=False)
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite'}", "INDEX_DIR": str(tmp_path / "index")}
    with pytest.raises(SettingError, match="PORTAL_SECRET_KEY"):
        create_app(settings)
    monkeypatch.setenv("PORTAL_SECRET_KEY", "x" * 40)
    assert create_app(settings).config["SECRET_KEY"] == "x" * 40
    monkeypatch.setenv("PORTAL_SECRET_KEY", "too short")
    with pytest.raises(SettingError, match="at least 32"):
        create_app(settings)
    monkeypatch.delenv("PORTAL_SECRET_KEY")
    monkeypatch.setenv("PORTAL_DEVELOPMENT", "1")
    development = create_app(settings)
    assert development.config["SECRET_KEY_GENERATED"] and not development.config["SESSION_COOKIE_SECURE"]


def test_cookies_are_secure_outside_development(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_SECRET_KEY", "k" * 40)
    monkeypatch.delenv("PORTAL_DEVELOPMENT", raising=False)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite'}", "INDEX_DIR": str(tmp_path / "index")})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_passwords_are_stored_as_argon2id_hashes(officials, sessions):
    with sessions() as session:
        stored = session.scalars(select(Account.password_hash).where(Account.username == "roads")).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_signing_in_and_the_wrong_password(app, officials):
    client = app.test_client()
    wrong = sign_in(client, "roads", "not the password at all")
    assert wrong.status_code == 401
    assert "Wrong username or password." in wrong.get_data(as_text=True)
    unknown = sign_in(client, "nobody", PASSWORD)
    assert unknown.status_code == 401  # the same answer: no telling which usernames exist
    right = sign_in(client, "roads")
    assert right.status_code == 302 and right.headers["Location"] == "/officials/"
    assert client.get("/officials/").status_code == 200


def test_repeated_failures_lock_the_account(app, officials, sessions):
    client = app.test_client()
    for _ in range(MAX_FAILURES - 1):
        assert sign_in(client, "roads", "wrong password here").status_code == 401
    locked = sign_in(client, "roads", "wrong password here")
    assert "locked" in locked.get_data(as_text=True)
    # Locked: even the right password is refused, until the lock expires.
    refused = sign_in(client, "roads")
    assert refused.status_code == 401 and "locked" in refused.get_data(as_text=True)
    with sessions() as session, session.begin():
        with pytest.raises(SignInRefused, match="locked"):
            authenticate(session, username="roads", password=PASSWORD)
        later = utcnow() + timedelta(minutes=16)
        assert authenticate(session, username="roads", password=PASSWORD, now=later).username == "roads"
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.subject.like("account:%"))).all()
    assert "account locked" in actions


def test_a_session_from_before_sign_in_is_not_signed_in(app, officials):
    """Session fixation: a cookie handed out (or planted) before sign-in never becomes a signed-in session."""
    client = app.test_client()
    token = csrf_token(client)
    with client.session_transaction() as planted:
        planted["official"] = [999, 1]  # forged, and in any case unsigned by an account
        planted["planted"] = "by someone else"
    before = client.get_cookie("session").value
    response = client.post("/officials/sign-in", data={"csrf_token": token, "username": "roads", "password": PASSWORD})
    assert response.status_code == 302
    after = client.get_cookie("session").value
    assert after != before
    with client.session_transaction() as fresh:
        assert "planted" not in fresh and fresh["official"][0] != 999
    # The old cookie, replayed by whoever held it, opens nothing.
    attacker = app.test_client()
    attacker.set_cookie("session", before)
    assert attacker.get("/officials/").status_code == 302


def test_signing_out_ends_every_session_of_the_account(app, officials):
    office, laptop = app.test_client(), app.test_client()
    sign_in(office, "roads")
    sign_in(laptop, "roads")
    stolen = laptop.get_cookie("session").value
    assert laptop.get("/officials/").status_code == 200
    token = csrf_token(office, "/officials/")
    assert office.post("/officials/sign-out", data={"csrf_token": token}).status_code == 302
    assert laptop.get("/officials/").status_code == 302  # sent to sign in
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/officials/").status_code == 302


def test_a_password_change_ends_the_other_sessions(app, officials):
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, "parks")
    sign_in(elsewhere, "parks")
    token = csrf_token(here, "/officials/password")
    new = "a brand new long passphrase"
    response = here.post(
        "/officials/password", data={"csrf_token": token, "current": PASSWORD, "new": new, "again": new}
    )
    assert response.status_code == 302
    assert here.get("/officials/").status_code == 200  # this session goes on
    assert elsewhere.get("/officials/").status_code == 302
    assert sign_in(app.test_client(), "parks", new).status_code == 302


def test_removing_an_account_ends_its_sessions(app, officials, signed_in, sessions):
    publisher = signed_in("parks")
    admin = signed_in("admin")
    with sessions() as session:
        parks_id = session.scalars(select(Account.id).where(Account.username == "parks")).one()
    token = csrf_token(admin, "/officials/accounts")
    assert admin.post(f"/officials/accounts/{parks_id}/remove", data={"csrf_token": token}).status_code == 302
    assert publisher.get("/officials/").status_code == 302
    assert sign_in(app.test_client(), "parks").status_code == 401


def test_an_administrator_creates_a_publisher_with_a_department(app, officials, signed_in, sessions):
    admin = signed_in("admin")
    token = csrf_token(admin, "/officials/accounts")
    form = {"csrf_token": token, "username": "Water", "name": "Water Works", "role": "publisher", "password": PASSWORD}
    refused = admin.post("/officials/accounts", data=form)  # no department
    assert refused.status_code == 422
    created = admin.post("/officials/accounts", data={**form, "department_id": str(officials.roads)})
    assert created.status_code == 302
    with sessions() as session:
        account = session.scalars(select(Account).where(Account.username == "water")).one()
        assert account.role == "publisher" and account.department_id == officials.roads
    assert sign_in(app.test_client(), "water").status_code == 302


@pytest.mark.parametrize("username", ["roads", "moderator"])
def test_only_administrators_manage_accounts(signed_in, username):
    client = signed_in(username)
    assert client.get("/officials/accounts").status_code == 403
    token = csrf_token(client, "/officials/")
    form = {"csrf_token": token, "username": "x1", "role": "administrator", "password": PASSWORD}
    assert client.post("/officials/accounts", data=form).status_code == 403


def test_pages_for_officials_send_strangers_to_sign_in(client):
    for path in ("/officials/", "/officials/accounts", "/officials/notices/new", "/officials/password"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/officials/sign-in?next=")


def test_sign_in_never_redirects_to_another_site(app, officials):
    client = app.test_client()
    token = csrf_token(client)
    data = {"csrf_token": token, "username": "roads", "password": PASSWORD}
    response = client.post("/officials/sign-in?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/officials/"


def _post_routes(app) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())})


def test_every_post_without_a_csrf_token_is_refused(app, officials, signed_in):
    client = signed_in("admin")
    routes = _post_routes(app)
    assert "/officials/notices/new" in routes and "/officials/sign-in" in routes
    assert "/officials/vendors/merge" in routes and "/officials/vendors/reviews/<int:review_id>/settle" in routes
    for rule in routes:
        path = re.sub(r"<int:\w+>", "1", rule)
        for data in ({}, {"csrf_token": "forged"}):
            response = client.post(path, data=data)
            assert response.status_code == 400, (path, data, response.status_code)


def test_a_second_factor_is_asked_once_set_up(app, officials, signed_in, sessions):
    client = signed_in("roads")
    page = client.get("/officials/second-factor").get_data(as_text=True)
    secret = page.split("data-totp-secret>")[1].split("<")[0]
    token = csrf_token(client, "/officials/second-factor")
    wrong = client.post("/officials/second-factor", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 422
    code = pyotp.TOTP(secret).now()
    assert client.post("/officials/second-factor", data={"csrf_token": token, "code": code}).status_code == 302
    fresh = app.test_client()
    asked = sign_in(fresh, "roads")
    assert asked.status_code == 401 and "authenticator" in asked.get_data(as_text=True)
    assert sign_in(fresh, "roads", code=pyotp.TOTP(secret).now()).status_code == 302


def test_the_command_line_creates_the_first_administrator(app, sessions):
    runner = app.test_cli_runner()
    result = runner.invoke(
        cli, ["accounts", "create-admin", "root", "--name", "City IT"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    with sessions() as session:
        account = session.scalars(select(Account).where(Account.username == "root")).one()
        assert account.role == "administrator"
    assert sign_in(app.test_client(), "root").status_code == 302
    short = runner.invoke(cli, ["accounts", "create-admin", "root2", "--password", "short"])
    assert short.exit_code != 0


def test_commands_run_without_a_key_but_serve_refuses(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_DEVELOPMENT", raising=False)
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite'}", "INDEX_DIR": str(tmp_path / "index")}
    app = create_app({**settings, "COMMAND_LINE": True})
    assert app.test_cli_runner().invoke(cli, ["init-db"]).exit_code == 0
    refused = app.test_cli_runner().invoke(cli, ["serve", "--port", "1"])
    assert refused.exit_code != 0 and "PORTAL_SECRET_KEY is not set" in refused.output
