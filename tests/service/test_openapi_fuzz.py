"""schemathesis drives every operation of the OpenAPI document with valid and invalid input.

The service must never answer 5xx and must match its own document (status codes, content
types, response schemas). The document is the one served at /openapi.json (checked first);
it is loaded in-process so operations can be listed at collection time. schemathesis's own
pytest plugin does not run under pytest 9, so its strategies are driven with hypothesis.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation

from service.openapi import openapi_document
from service.settings import Settings

# The local stack's service runs with the default limits, which shape the document.
DOCUMENT = openapi_document(Settings.from_env({"SPITO_TABLE": "t", "SPITO_BUCKET": "b"}))
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
Operation = APIOperation[Any, Any, Any, Any]


def _cases() -> list[tuple[Operation, GenerationMode]]:
    """Every operation with valid input; those that take input also with invalid input."""
    cases = []
    for result in SCHEMA.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid document fails here
        cases.append((operation, GenerationMode.POSITIVE))
        if operation.path_parameters or operation.body or operation.headers:
            cases.append((operation, GenerationMode.NEGATIVE))
    return cases


def test_served_document_is_the_one_fuzzed(http: httpx.Client) -> None:
    assert http.get("/openapi.json").json() == DOCUMENT


@pytest.mark.parametrize(
    ("operation", "mode"), _cases(), ids=lambda value: getattr(value, "label", None) or value.value
)
def test_operation_conforms_to_the_document_without_server_errors(
    operation: Operation, mode: GenerationMode, base_url: str
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Case[Any]) -> None:
        case.call_and_validate(base_url=base_url)

    check()
