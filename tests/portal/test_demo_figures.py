"""The demo set's figures, pinned: the home page's totals and each process's headline value and its basis, on
both databases. Changed from before the headline rule read tender statuses: ProzorRo's unsuccessful tender
ocds-be6bcu-UA-2016-06-07-000066-a (3,600 UAH) no longer counts, so UAH is 1,401,665.79 over 10 processes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from portal.domain.processes import home_figures
from portal.models import Process

HOME = [
    ("CAD", Decimal("130008.89"), 20),
    ("UAH", Decimal("1401665.79"), 10),
    ("MXN", Decimal("8216306.77"), 4),
    ("USD", Decimal("75464.96"), 1),
]

# ocid: (headline, currency, basis, statuses summed, values summed, of how many)
HEADLINES = {
    "OCDS-87SD3T-AD-SF-DRM-063-2015": ("1311264.00", "MXN", "contracts", "active", 1, 1),
    "OCDS-87SD3T-AD-SF-DRM-065-2015": ("75464.96", "USD", "contracts", "active", 1, 1),
    "OCDS-87SD3T-AD-SF-DRM-069-2015": ("5726826.50", "MXN", "contracts", "active", 1, 1),
    "OCDS-87SD3T-SEFIN-DRM-A-001-2016": ("984398.88", "MXN", "tender", "", 1, 1),
    "OCDS-87SD3T-SEFIN-DRM-AD-024-2016": ("193817.39", "MXN", "tender", "", 1, 1),
    "ocds-a1234567-mt-063635891f001755a1637786dd047485f3dcfaf6": ("8923.94", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-479ed54d04ef57f019dab7e6439d1f12871709a8": ("10786.27", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-5adcb283673490e8d8cd2da25f135ecd5457ac5a": ("2356.47", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-6d761037b67cb0cb8528be9979542657df81402a": ("8514.49", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-77ee6d9f9be828edc5cd0f760f48390dc550838d": ("1711.50", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-917a7969358742a42b8ed4f5ea4e6cb6f4e6279b": ("2000.68", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-9749286e499da9f51b3a8c04b72b45b284a1c583": ("2083.21", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-9792dc386f34ba1397f0a6a83f20ecf39ccd6a70": ("39370.31", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-9f23f127320f8155bb4732e1685bd498cbbffbbd": ("7473.36", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-a5014b811234d4f49800b717d45654c97ecd898e": ("4055.15", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-a9623c16d4d2c214a132e9ff5e5552145c92abac": ("1400.32", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-ac6b1c39783c0c5898228be8340d2218a60692c5": ("3547.81", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-b5e67e6ca716b4e47b0d1895978e3ff4ece057b8": ("92.39", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-bb81aae9508ce913e138c1f13fb37c8b369ded98": ("2887.16", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-ce3fdc49bab7800f299971b32c51c0212cb41268": ("13305.77", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-cf3441e56f93ed8ba552e2d0494d24f45b1b4372": ("2275.60", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-d61effe68b55639dcfe95a57e90e813eb9cdab97": ("4890.00", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-e860097a1e95d17d137aa66745bca5e6359205d0": ("2208.41", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-e9076056d6aa670f4bc3b44218be53012e82cc0f": ("1469.82", "CAD", "awards", "no status", 1, 1),
    "ocds-a1234567-mt-f1347447f284615c35a8380225723d11acf691aa": ("10656.23", "CAD", "awards", "no status", 1, 1),
    "ocds-be6bcu-UA-2016-06-02-000468-c": ("2910.00", "UAH", "contracts", "active", 1, 1),
    "ocds-be6bcu-UA-2016-06-07-000066-a": (None, None, None, None, None, None),
    "ocds-be6bcu-UA-2016-06-08-000504-c": ("2875.00", "UAH", "contracts", "active", 1, 1),
    "ocds-be6bcu-UA-2016-08-31-000670-b": ("69900.00", "UAH", "contracts", "active", 1, 1),
    "ocds-be6bcu-UA-2016-12-29-000657-c": ("1130184.00", "UAH", "awards", "active", 1, 1),
    "ocds-be6bcu-UA-2017-01-20-000582-a": ("84543.83", "UAH", "contracts", "active", 1, 1),
    "ocds-be6bcu-UA-2017-01-31-001299-b": ("10000.00", "UAH", "contracts", "active", 1, 1),
    "ocds-be6bcu-UA-2017-04-04-001419-b": ("6292.76", "UAH", "contracts", "active", 1, 1),
    "ocds-be6bcu-UA-2017-04-10-002020-b": ("8154.00", "UAH", "contracts", "active", 1, 1),
    "ocds-be6bcu-UA-2017-04-12-001619-b": ("43788.90", "UAH", "contracts", "active", 1, 1),
    "ocds-be6bcu-UA-2017-05-22-000501-b": ("43017.30", "UAH", "contracts", "active", 1, 1),
}


def test_home_totals_are_pinned(demo_app):
    with demo_app.extensions["portal.sessions"]() as session:
        figures = home_figures(session)
    assert figures.value_by_currency == HOME
    assert (figures.processes, figures.releases) == (36, 45)


def test_every_process_headline_and_basis_are_pinned(demo_app):
    with demo_app.extensions["portal.sessions"]() as session:
        found = {
            p.ocid: (
                str(p.value_amount) if p.value_amount is not None else None,
                p.value_currency,
                p.value_basis,
                p.value_statuses,
                p.value_count,
                p.value_of,
            )
            for p in session.scalars(select(Process))
        }
    assert found == HEADLINES


def test_the_process_page_says_what_its_headline_sums(demo_client):
    page = demo_client.get("/process/ocds-a1234567-mt-063635891f001755a1637786dd047485f3dcfaf6").get_data(as_text=True)
    assert "sum of its awards (no status published)" in page
    page = demo_client.get("/process/ocds-be6bcu-UA-2016-06-07-000066-a").get_data(as_text=True)
    assert "sum of its" not in page and "estimated value</span>" not in page
