"""When the service cannot be reached, CloudFront answers the web app's "unavailable" page: the
custom error responses as synthesized, the behaviour that serves the page, and the page itself in
the web app's deployed build."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.routing import ORIGIN_FAILURE_PAGE
from tests.edge.templates import DISTRIBUTION, Templates, behaviour_for, only, origin_id
from tests.fixtures.cdk_app import cdk_context

REPO = Path(__file__).resolve().parents[2]
WEB_DIST = REPO / "web" / "dist"
EDGE_STACKS = ["Spito-dev-Edge", "Spito-prod-Edge"]
# Every status the service answers itself (service/app.py, api.py, problems.py, http_server.py):
# none may be replaced, or the API's problem JSON would turn into the page on every path.
SERVICE_STATUSES = {400, 403, 404, 405, 409, 413, 415, 429, 500, 503}


@pytest.fixture(params=EDGE_STACKS)
def edge(request: pytest.FixtureRequest, cdk_template: Templates) -> Template:
    return cdk_template(request.param)


def _error_responses(edge: Template) -> list[dict[str, Any]]:
    config = only(edge, DISTRIBUTION)[1]["Properties"]["DistributionConfig"]
    responses: list[dict[str, Any]] = config.get("CustomErrorResponses", [])
    return responses


def test_origin_failures_answer_the_unavailable_page_with_their_own_status(
    edge: Template,
) -> None:
    edge.has_resource_properties(
        DISTRIBUTION,
        {
            "DistributionConfig": Match.object_like(
                {
                    "CustomErrorResponses": [
                        {
                            "ErrorCode": status,
                            "ResponseCode": status,
                            "ResponsePagePath": "/errors/unavailable.html",
                            "ErrorCachingMinTTL": 5,
                        }
                        for status in (502, 504)
                    ]
                }
            )
        },
    )


def test_no_status_the_service_answers_itself_is_replaced(edge: Template) -> None:
    replaced = {response["ErrorCode"] for response in _error_responses(edge)}
    assert replaced
    assert not replaced & SERVICE_STATUSES


def test_the_page_is_fetched_from_the_bucket_as_the_file_it_names(edge: Template) -> None:
    # Custom error pages are fetched through the behaviour their path matches: it must be the
    # bucket's, since the failing origin is the service; and no function may rewrite the path.
    behaviour = behaviour_for(edge, ORIGIN_FAILURE_PAGE)
    assert behaviour["TargetOriginId"] == origin_id(edge, "spa")
    assert "FunctionAssociations" not in behaviour
    assert behaviour["PathPattern"] == "/*.*"


def test_the_page_and_its_stylesheet_are_in_the_web_apps_build() -> None:
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(f"{WEB_DIST} is not built: run `make web`")
    page = (WEB_DIST / ORIGIN_FAILURE_PAGE.lstrip("/")).read_text()
    assert "Spito is briefly unavailable" in page
    assert '<link rel="stylesheet" href="/errors/error.css" />' in page
    assert "<script" not in page
    assert (WEB_DIST / "errors" / "error.css").is_file()


def test_the_deployment_uploads_the_page_from_the_web_apps_build(tmp_path: Path) -> None:
    """SpaDeployment over the real build: its asset holds the page, and the root files' pass
    (the one whose filters do not leave the page out) uploads that asset."""
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(f"{WEB_DIST} is not built: run `make web`")
    from aws_cdk import App, Environment, RemovalPolicy, Stack
    from aws_cdk import aws_cloudfront as cloudfront

    from infra.static_site import SpaBucket, SpaDeployment

    app = App(context=cdk_context(), outdir=str(tmp_path))  # the app's feature flags
    stack = Stack(app, "Site", env=Environment(account="123456789012", region="eu-west-1"))
    bucket = SpaBucket(
        stack, "Spa", removal_policy=RemovalPolicy.DESTROY, access_log_bucket=_log_bucket(stack)
    ).bucket
    distribution = cloudfront.Distribution.from_distribution_attributes(
        stack, "Cdn", distribution_id="E123", domain_name="d123.cloudfront.net"
    )
    SpaDeployment(stack, "Deploy", web_dist=WEB_DIST, bucket=bucket, distribution=distribution)
    app.synth()

    staged = [path.parent.parent for path in tmp_path.glob("asset.*/errors/unavailable.html")]
    assert len(staged) == 1
    asset_hash = staged[0].name.removeprefix("asset.")
    assert (staged[0] / "errors" / "unavailable.html").read_bytes() == (
        WEB_DIST / ORIGIN_FAILURE_PAGE.lstrip("/")
    ).read_bytes()
    template = Template.from_stack(stack)
    deployments = template.find_resources("Custom::CDKBucketDeployment")
    uploading = [
        properties
        for properties in (resource["Properties"] for resource in deployments.values())
        if _admits(properties, ORIGIN_FAILURE_PAGE.lstrip("/"))
    ]
    assert len(uploading) == 1
    assert any(asset_hash in str(key) for key in uploading[0]["SourceObjectKeys"])


def _admits(properties: dict[str, Any], key: str) -> bool:
    """Whether BucketDeployment's filters upload `key`: as `aws s3 sync`, a later filter wins."""
    filters = [("exclude", pattern) for pattern in properties.get("Exclude", [])]
    filters += [("include", pattern) for pattern in properties.get("Include", [])]
    admitted = True
    for kind, pattern in filters:
        if fnmatch.fnmatchcase(key, pattern):
            admitted = kind == "include"
    return admitted


def _log_bucket(stack: Any) -> Any:
    from aws_cdk import RemovalPolicy

    from infra.distribution import access_log_bucket

    return access_log_bucket(stack, "Logs", removal_policy=RemovalPolicy.DESTROY, retention_days=1)
