"""schemathesis against the served OpenAPI document: every operation answers as documented, never a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow  # fuzzing every operation: the full lane's

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(app):
    """The document as GET /api/openapi.json serves it, driving the WSGI app directly (no sockets)."""
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_document(case):
    # The WSGI transport does not decode Content-Encoding; compression has its own tests (test_static_assets.py).
    case.call_and_validate(checks=CHECKS, headers={"Accept-Encoding": "identity"})


def test_the_document_covers_every_route(app, api_schema):
    documented = {(path, method.upper()) for path, item in api_schema.raw_schema["paths"].items() for method in item}
    served = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served == documented
