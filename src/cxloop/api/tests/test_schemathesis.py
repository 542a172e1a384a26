"""Property-based: requests generated from the OpenAPI document never get a 500.

schemathesis is a development dependency; its pytest plugin does not support pytest 9 yet,
so the operations are driven with plain hypothesis here.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from cxloop.api.tests.conftest import make_token

EXAMPLES_PER_OPERATION = 30


def _operations():
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    return [result.ok() for result in schema.get_all_operations()]


@pytest.fixture
def keep_test_connection():
    # Like Django's test client: the WSGI handler must not close the connection that holds
    # the test's transaction (PostgreSQL would then answer "connection is closed").
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_generated_requests_never_500(owner, keep_test_connection):
    headers = {"Authorization": f"Bearer {make_token(owner)}"}
    operations = _operations()
    assert len(operations) == 57
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        run()
