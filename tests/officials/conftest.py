"""Factories for officials' tests: departments, accounts, a signed-in client, and a notice form as filled in."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher

from portal.domain import accounts
from portal.vocabulary import Role
from tests.conftest import make_app

PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/officials/sign-in") -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return TOKEN.search(page.get_data(as_text=True)).group(1)


def sign_in(client, username: str, password: str = PASSWORD, code: str | None = None):
    data = {"csrf_token": csrf_token(client), "username": username, "password": password}
    if code:
        data["code"] = code
    return client.post("/officials/sign-in", data=data)


def notice_form(token: str, department_id: int, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "department_id": str(department_id),
        "ocid": "",
        "title": "Resurfacing of rue Sainte-Catherine",
        "description": "Asphalt and markings, 2.4 km",
        "amount": "1250000.50",
        "currency": "CAD",
        "award_date": "2026-10-01",
        "method": "open",
        "supplier_name_1": "Pavages Laurentiens inc.",
        "supplier_scheme_1": "CA-BN",
        "supplier_id_1": "123456789",
        "contract_amount": "1250000.50",
        "contract_signed": "2026-10-15",
        "contract_start": "2026-11-01",
        "contract_end": "2027-06-30",
        "document_title_1": "Award decision",
        "document_url_1": "https://example.org/decisions/2026-10-01.pdf",
        "action": "publish",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


@pytest.fixture
def app(database_url, tmp_path):
    """The app of tests/conftest.py, with its checkpoints in the test's own folder."""
    app = make_app(database_url, tmp_path, CHECKPOINT_DIR=str(tmp_path / "checkpoints"))
    yield app
    app.extensions["portal.engine"].dispose()


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """argon2id still, with the smallest cost: the tests check what is hashed and when, not how slowly."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


class Officials:
    """Two departments, a publisher in each, an administrator and a moderator."""

    def __init__(self, sessions) -> None:
        with sessions() as session, session.begin():
            roads = accounts.create_department(
                session, name="Roads", scheme="CITY-ORG", identifier="roads", actor_id=None
            )
            parks = accounts.create_department(
                session, name="Parks", scheme="CITY-ORG", identifier="parks", actor_id=None
            )
            self.roads, self.parks = roads.id, parks.id
            for username, role, department in (
                ("admin", Role.ADMINISTRATOR, None),
                ("roads", Role.PUBLISHER, roads.id),
                ("parks", Role.PUBLISHER, parks.id),
                ("moderator", Role.MODERATOR, None),
            ):
                accounts.create_account(
                    session,
                    username=username,
                    name=username.title(),
                    role=role,
                    password=PASSWORD,
                    department_id=department,
                    actor_id=None,
                )


@pytest.fixture
def officials(sessions) -> Officials:
    return Officials(sessions)


@pytest.fixture
def signed_in(app, officials):
    """A client signed in as one of the officials' usernames."""

    def make(username: str):
        client = app.test_client()
        response = sign_in(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


def publish(client, department_id: int, **changes: str):
    token = csrf_token(client, "/officials/notices/new")
    return client.post("/officials/notices/new", data=notice_form(token, department_id, **changes))
