"""The routing table and its CloudFront path-pattern matching, against the shared table of paths."""

from __future__ import annotations

import subprocess
import sys

import pytest

from infra.routing import ROUTES, Origin, Route, matches, origin_for, spa_object_key
from tests.edge.cases import ROUTING_CASES, SPA_CASES, RoutingCase


@pytest.mark.parametrize("case", ROUTING_CASES, ids=lambda case: case.path)
def test_table_sends_each_path_to_its_origin(case: RoutingCase) -> None:
    assert origin_for(case.path).value == case.origin


@pytest.mark.parametrize("case", SPA_CASES, ids=lambda case: case.path)
def test_spa_serves_index_for_app_routes_and_files_as_named(case: RoutingCase) -> None:
    assert spa_object_key(case.path) == case.spa_key


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/api/*", "/api/v1/links", True),
        ("/api/*", "/api/", True),
        ("/api/*", "/api", False),
        ("/api/*", "/API/v1", False),  # CloudFront patterns are case-sensitive
        ("/*.*", "/assets/a.js", True),  # * crosses slashes
        ("/?*", "/", False),  # ? needs exactly one character
        ("/?*", "/x", True),
        ("/healthz", "/healthz/", False),
        ("/a+b", "/a+b", True),  # regex metacharacters are literal
        ("/a+b", "/aab", False),
    ],
)
def test_patterns_match_like_cloudfront(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected


def test_every_pattern_is_distinct() -> None:
    # CloudFront rejects a distribution with two behaviours of the same path pattern.
    patterns = [route.pattern for route in ROUTES]
    assert len(patterns) == len(set(patterns))


def test_only_web_app_routes_can_fall_back_to_index() -> None:
    with pytest.raises(ValueError, match="only web app routes"):
        Route(pattern="/x/*", origin=Origin.API, why="test", spa_fallback=True)


@pytest.mark.parametrize("module", ["infra.routing", "infra.edge_headers", "devstack.edge_router"])
def test_what_the_dev_router_loads_imports_nothing_from_the_cdk(module: str) -> None:
    # The dev router shares these tables with the distribution without paying for jsii and Node.
    probe = (
        f"import sys, {module}; "
        "print(any(name.split('.')[0] in ('aws_cdk', 'jsii') for name in sys.modules))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert completed.stdout.strip() == "False"
