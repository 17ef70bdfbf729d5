"""Fixtures for residents' concerns: the officials of tests/officials (two departments with a publisher each, a
moderator), a process published here by Roads (its buyer has a publisher), a Montréal process (its buyer has none),
and clients from a TEST-NET address, so that a search for the address cannot match 127.0.0.1 in a page's URLs."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from portal.models import Process
from tests.conftest import DEMO_DATA, make_app
from tests.officials.conftest import Officials, csrf_token, publish, sign_in
from tests.officials.conftest import cheap_hashes as cheap_hashes  # autouse: argon2id at its smallest cost

RESIDENT = "203.0.113.7"  # TEST-NET-3 (RFC 5737): appears in no URL, version number or data set
RESIDENT_V6 = "2001:db8:85a3:1:0:8a2e:370:7334"  # documentation prefix (RFC 3849)
EMAIL = "resident.watcher@example.org"
MONTREAL = (
    DEMO_DATA
    / "montreal"
    / ("ocds-a1234567-mt-063635891f001755a1637786dd047485f3dcfaf6-063635891f001755a1637786dd047485f3dcfaf6.json")
)
MONTREAL_OCID = "ocds-a1234567-mt-063635891f001755a1637786dd047485f3dcfaf6"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path, CHECKPOINT_DIR=str(tmp_path / "checkpoints"), CONCERN_CLIENT_LIMIT=3)
    yield app
    app.extensions["portal.engine"].dispose()


@pytest.fixture
def officials(sessions) -> Officials:
    return Officials(sessions)


@pytest.fixture
def signed_in(app, officials):
    def make(username: str):
        client = app.test_client()
        response = sign_in(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


@pytest.fixture
def roads_ocid(app, officials, signed_in, sessions) -> str:
    """A process Roads published here: its publisher answers concerns about it."""
    response = publish(signed_in("roads"), officials.roads)
    assert response.status_code == 302, response.get_data(as_text=True)
    with sessions() as session:
        return session.scalars(select(Process.ocid).where(Process.ocid.like("ocds-city00-%"))).one()


@pytest.fixture
def montreal_ocid(load) -> str:
    result = load(MONTREAL, "montreal")
    assert result.status == "succeeded", result.errors
    return MONTREAL_OCID


def client_from(app, address: str, **environ: str):
    """A test client whose requests come from `address` (and carry `environ`, e.g. HTTP_X_FORWARDED_FOR)."""
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": address, **environ})
    return client


@pytest.fixture
def resident(app):
    """A client from 203.0.113.7, as the site sees it."""
    return client_from(app, RESIDENT)


@pytest.fixture
def logs(caplog):
    """Every log record written while the test runs, at any level."""
    caplog.set_level(logging.DEBUG)
    return caplog


def raise_form(client, ocid: str, **changes: str | None) -> dict[str, str]:
    token = TOKEN.search(client.get(f"/process/{ocid}/concerns").get_data(as_text=True)).group(1)
    form = {
        "csrf_token": token,
        "category": "specification favours one vendor",
        "text": "The tender asks for a brand of asphalt only one local firm sells.",
        "email": EMAIL,
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def raise_concern(client, ocid: str, **changes: str | None):
    return client.post(f"/process/{ocid}/concerns", data=raise_form(client, ocid, **changes))


__all__ = ["client_from", "csrf_token", "raise_concern", "raise_form"]
