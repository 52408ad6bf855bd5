"""Schemathesis against the project's own OpenAPI schema, in-process (WSGI): for every operation, generated valid and
invalid requests never get a server error, and every answer conforms to the schema (status code, content type,
body).

CI runs a bounded number of examples per operation (``FUZZ_EXAMPLES``, default 12). A longer run:
``FUZZ_EXAMPLES=500 make test PYTEST_ARGS="tests/backoffice/test_api_fuzz.py -p no:randomly"``.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.agents.factories import StaffUserFactory
from tests.backoffice.world import build_shop_world

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# Loaded at collection time from the project's own schema endpoint (no database needed to build it).
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: the request signals must not close the test's connection (its transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(db):
    # Two shops with one object of every kind, so that generated ids sometimes hit real rows of either shop.
    build_shop_world("Fuzz shop A")
    build_shop_world("Fuzz shop B")
    token = Token.objects.create(user=StaffUserFactory())
    return {"Authorization": f"Token {token.key}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
def test_api_never_fails_and_matches_its_schema(case, auth_headers):
    case.call_and_validate(headers=auth_headers, checks=CHECKS)
