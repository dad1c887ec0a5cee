"""The CloudFront Function as shipped in the template, run under Node on the table of paths, and
the object CloudFront serves for each web app path: the behaviour's function (if it has one) and
the default root object, as the template says."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.edge.cases import ROUTING_CASES, SPA_CASES, RoutingCase
from tests.edge.templates import Templates, behaviour_for, distribution_config, only

HARNESS = Path(__file__).with_name("run_cloudfront_function.mjs")
FILE_WITHOUT_EXTENSION = "/assets/no-extension"


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
def edge(cdk_template: Templates) -> Template:
    return cdk_template("Spito-dev-Edge")


@pytest.fixture(scope="module")
def shipped_code(edge: Template) -> str:
    code: str = only(edge, "AWS::CloudFront::Function")[1]["Properties"]["FunctionCode"]
    return code


@pytest.fixture(scope="module")
def handled(shipped_code: str) -> dict[str, dict[str, Any]]:
    """What the shipped handler returns for every path of the table, run once under Node."""
    node = shutil.which("node")
    assert node is not None, "node is required (Node 20+, see docs/CONTRIBUTING.md)"
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


def served_object(edge: Template, handled: dict[str, dict[str, Any]], path: str) -> str:
    """The object CloudFront asks the bucket for: the URI after the behaviour's function, if it
    has one, and "/" replaced by the default root object."""
    has_function = "FunctionAssociations" in behaviour_for(edge, path)
    uri = str(handled[path]["uri"]) if has_function else path
    root_object = distribution_config(edge).get("DefaultRootObject")
    return f"/{root_object}" if uri == "/" and root_object else uri


@pytest.mark.parametrize("case", SPA_CASES, ids=lambda case: case.path)
def test_cloudfront_serves_index_for_app_routes_and_files_as_named(
    edge: Template, handled: dict[str, dict[str, Any]], case: RoutingCase
) -> None:
    assert served_object(edge, handled, case.path) == case.spa_key


def test_assets_skip_the_function_which_would_turn_a_missing_file_into_the_app(
    edge: Template, handled: dict[str, dict[str, Any]]
) -> None:
    assert handled[FILE_WITHOUT_EXTENSION]["uri"] == "/index.html"  # what the function would do
    assert served_object(edge, handled, FILE_WITHOUT_EXTENSION) == FILE_WITHOUT_EXTENSION


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
