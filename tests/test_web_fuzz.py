"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis): valid and
invalid requests to every operation; no 5xx, and every answer matches the documented schema,
status codes and content type. Bounded: a few examples per operation.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from .fakes import FakeSpotify
from .test_web_api import AUTH, TOKEN, fake_extract

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    from trackmood.sources import spotify
    from trackmood.web import create_app

    mp = pytest.MonkeyPatch()
    # remote and heavy sources stand in: Spotify and ReccoBeats are the local fake, audio analysis
    # is fake_extract; the web layer is what is fuzzed
    fake = FakeSpotify().start()
    fake.add_track(name="x")
    for key, value in fake.env().items():
        mp.setenv(key, value)
    mp.setenv("TRACKMOOD_RETRY_BACKOFF", "0.01")
    mp.setattr(spotify, "token_cache_path", lambda kind: tmp_path_factory.mktemp("tok") / "t")
    app = create_app(
        store_path=tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite",
        max_upload_mb=1,
        max_rows=200,
        max_files=3,
        audio_analyser=fake_extract,
        token=TOKEN,
        allowed_hosts=["testserver"],  # the name schemathesis reaches the app by, in-process
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(modes=["positive", "negative"])
    # 413 (too many files/rows/bytes) is a right answer to an invalid request too
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    yield schema
    mp.undo()
    fake.stop()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_api_never_fails_on_any_input(case):
    # the token for writes, as the page sends it (the Host is one the app serves)
    case.headers = {**(case.headers or {}), **AUTH}  # whatever was generated for the header
    response = case.call_and_validate(checks=CHECKS)
    assert response.status_code not in (403, 421), response.text[:200]  # reached the routes
