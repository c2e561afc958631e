"""Property-based tests of the API against its own OpenAPI schema (schemathesis).

Schemathesis generates valid and invalid requests from ``/openapi.json`` and checks
every response: no server error, a documented status code and content type, and a
body that matches the documented schema.  Once over small hand-made models, and once
over models trained by ``vbhc train`` (the registry adapter, scored by the compiled
fast path and by the scikit-learn pipelines themselves).  Examples are bounded to keep
each run under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from conftest import AUTH, TOKEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from serve_fakes import make_models

from vbhc.serve import PredictionService, create_app

app = create_app(PredictionService(make_models()), token=TOKEN)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_generated_requests_never_break_the_api(case):
    case.call_and_validate(headers=AUTH)


@pytest.fixture(scope="module", params=["compiled", "pipeline"])
def real_requests(request, real_models):
    """Generated requests (valid and invalid) for every operation of the API over the
    trained champions, scored by the compiled fast path or by the pipelines themselves."""
    models = real_models if request.param == "compiled" else [m.pipeline_only() for m in real_models]
    assert all(m.fast for m in models) is (request.param == "compiled")
    real = schemathesis.openapi.from_asgi("/openapi.json", create_app(PredictionService(models), token=TOKEN))
    operations = [result.ok() for result in real.get_all_operations()]
    return st.one_of([op.as_strategy(generation_mode=mode) for op in operations for mode in GenerationMode])


@pytest.mark.slow
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_requests_never_break_the_api_over_trained_models(real_requests, data):
    data.draw(real_requests).call_and_validate(headers=AUTH)
