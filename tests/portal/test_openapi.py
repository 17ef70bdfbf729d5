"""The API's OpenAPI document validates, and every documented operation answers as documented."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES = 8  # per operation: enough to reach each parameter, bounded for a shared two-core machine


def test_the_openapi_document_validates_and_the_api_page_lists_it(demo_client):
    document = demo_client.get("/api/openapi.json").get_json()
    validate(document)  # raises on an invalid document
    page = demo_client.get("/api").get_data(as_text=True)
    assert all(path in page for path in document["paths"]) and "/api/openapi.json" in page
    assert 'href="/api"' in demo_client.get("/").get_data(as_text=True)


@pytest.fixture
def api_schema(demo_app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", demo_app)


def test_every_documented_operation_answers_as_documented(api_schema):
    operations = list(api_schema.get_all_operations())
    assert len(operations) >= 10
    for result in operations:
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case):
            # Not positive_data_acceptance: a cursor is any string to the schema, and one the site did not
            # write is a documented 400.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
