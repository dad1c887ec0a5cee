"""The CloudFront Function as shipped in the template, run under Node on the table of paths."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.routing import spa_object_key
from tests.edge.cases import ROUTING_CASES, SPA_CASES, RoutingCase
from tests.edge.templates import only

HARNESS = Path(__file__).with_name("run_cloudfront_function.mjs")
TemplateJson = Callable[[str], dict[str, Any]]


def viewer_request(path: str) -> dict[str, Any]:
    """A viewer-request event shaped as CloudFront Functions (JS 2.0) receive it."""
    return {
        "version": "1.0",
        "context": {"eventType": "viewer-request", "distributionId": "EDFDVBD6EXAMPLE"},
        "viewer": {"ip": "198.51.100.7"},
        "request": {
            "method": "GET",
            "uri": path,
            "querystring": {"tab": {"value": "paste"}},
            "headers": {"host": {"value": "d111111abcdef8.cloudfront.net"}},
            "cookies": {},
        },
    }


@pytest.fixture(scope="module")
def shipped_code(cdk_template_json: TemplateJson) -> str:
    function = only(cdk_template_json("Spito-dev-Edge"), "AWS::CloudFront::Function")
    code: str = function["FunctionCode"]
    return code


@pytest.fixture(scope="module")
def handled(shipped_code: str) -> dict[str, dict[str, Any]]:
    """What the shipped handler returns for every path of the table, run once under Node."""
    node = shutil.which("node")
    assert node is not None, "node is required (Node 20+, see README)"
    paths = [case.path for case in ROUTING_CASES]
    completed = subprocess.run(
        [node, str(HARNESS)],
        input=json.dumps({"code": shipped_code, "events": [viewer_request(p) for p in paths]}),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return dict(zip(paths, json.loads(completed.stdout), strict=True))


@pytest.mark.parametrize("case", SPA_CASES, ids=lambda case: case.path)
def test_shipped_function_serves_index_for_app_routes_and_files_as_named(
    handled: dict[str, dict[str, Any]], case: RoutingCase
) -> None:
    assert handled[case.path]["uri"] == case.spa_key


@pytest.mark.parametrize("case", ROUTING_CASES, ids=lambda case: case.path)
def test_shipped_function_and_dev_router_agree(
    handled: dict[str, dict[str, Any]], case: RoutingCase
) -> None:
    assert handled[case.path]["uri"] == spa_object_key(case.path)


def test_shipped_function_keeps_method_query_and_headers(
    handled: dict[str, dict[str, Any]],
) -> None:
    original = viewer_request("/p/AbC123x")["request"]
    returned = handled["/p/AbC123x"]
    assert {key: returned[key] for key in ("method", "querystring", "headers")} == {
        key: original[key] for key in ("method", "querystring", "headers")
    }


def test_shipped_code_is_the_source_file(shipped_code: str) -> None:
    source = Path(__file__).resolve().parents[2] / "infra" / "edge_function" / "spa_fallback.js"
    assert shipped_code == source.read_text()
