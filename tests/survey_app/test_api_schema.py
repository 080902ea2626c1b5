"""schemathesis against /api/v1/openapi.json, in process through the app's WSGI
interface, on SQLite and PostgreSQL, with a valid token and without one: no 500, every
status, header and body as the document describes (schemathesis' default checks), for
random ids and for a fielded wave (so that parameters reach the estimation).

The operations are driven through their hypothesis strategies rather than schemathesis'
pytest plugin (its parametrize() reads a private pytest attribute gone in pytest 9)."""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode

from .test_admin import accounts, fielded  # noqa: F401  (fixtures)

REAL_WAVE = {"questionnaire_id": "acsi-retail", "wave": "2026Q4"}


def exercise(app, headers, examples: int, mode: GenerationMode, real_wave: bool = False) -> list[int]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 5
    statuses = []
    for operation in operations:
        options = {"generation_mode": mode}
        if real_wave and "{wave}" in operation.path:
            options["path_parameters"] = REAL_WAVE
            if operation.path.endswith("/indices"):
                options["query"] = {"boot": 5}  # the seed varies; a fit per example stays quick
        @given(case=operation.as_strategy(**options))
        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call_and_validate(headers=headers)
            statuses.append(response.status_code)
        check()
    return statuses


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_with_token(app, accounts, mode):
    statuses = exercise(app, {"Authorization": f"Bearer {accounts['token']}"}, 20, mode)
    assert len(statuses) > 30 and 200 in statuses


def test_api_on_a_fielded_wave(app, accounts, fielded):
    # Positive data only: every request is a real estimation or export (the negative mode's
    # unknown parameters and wrong types are refused before the wave is read, as above).
    statuses = exercise(app, {"Authorization": f"Bearer {accounts['token']}"}, 5, GenerationMode.POSITIVE,
                        real_wave=True)
    assert 200 in statuses


def test_api_without_token(app, accounts):
    statuses = exercise(app, {}, 8, GenerationMode.POSITIVE)
    assert set(statuses) == {401}
