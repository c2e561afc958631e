"""Property-based tests of the API against its own OpenAPI schema (schemathesis).

Schemathesis generates valid and invalid requests from ``/openapi.json`` and checks
every response: no server error, a documented status code and content type, and a
body that matches the documented schema.  Examples are bounded to keep this under a
minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from conftest import AUTH, TOKEN
from hypothesis import HealthCheck, settings
from serve_fakes import make_models

from vbhc.serve import PredictionService, create_app

app = create_app(PredictionService(make_models()), token=TOKEN)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_generated_requests_never_break_the_api(case):
    case.call_and_validate(headers=AUTH)
