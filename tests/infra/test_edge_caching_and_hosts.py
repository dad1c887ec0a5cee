"""The edge compresses API answers without caching them, and tells the fleet its own names.

1. API behaviours: a cache policy that puts a normalized Accept-Encoding (gzip, br) in the cache
   key, so CloudFront compresses (it compresses only what a cache policy lets it cache), with a
   default and minimum TTL of 0 so only what the service marks cacheable could be kept (it marks
   nothing: tests/service/test_edge_caching.py), and everything a GET answer varies by in the key.
2. The Edge stack publishes the distribution's name (and the domain's) in an SSM parameter whose
   name the fleet gets in its environment, with ssm:GetParameter on that parameter only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from infra.config import load_config
from infra.routing import ROUTES, Origin
from tests.infra.test_config import context

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

Templates = Callable[[str], "Template"]
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
API_PATTERNS = {route.pattern for route in ROUTES if route.origin is Origin.API}


def _api_behaviours(edge: Template) -> list[dict[str, Any]]:
    (distribution,) = edge.find_resources("AWS::CloudFront::Distribution").values()
    behaviours = distribution["Properties"]["DistributionConfig"]["CacheBehaviors"]
    api = [b for b in behaviours if b["PathPattern"] in API_PATTERNS]
    assert {b["PathPattern"] for b in api} == API_PATTERNS
    return api


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_api_behaviours_compress_behind_a_policy_that_caches_only_what_the_service_allows(
    stage: str, cdk_template: Templates
) -> None:
    edge = cdk_template(f"Spito-{stage}-Edge")
    api = _api_behaviours(edge)
    policy_ids = {json_key(b["CachePolicyId"]) for b in api}
    assert CACHING_DISABLED not in policy_ids
    (policy_ref,) = policy_ids
    assert all(b["Compress"] is True for b in api)
    policy = edge.to_json()["Resources"][policy_ref]
    config = policy["Properties"]["CachePolicyConfig"]
    assert (config["MinTTL"], config["DefaultTTL"]) == (0, 0)
    assert 0 < config["MaxTTL"] <= 30
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["EnableAcceptEncodingGzip"] is True
    assert key["EnableAcceptEncodingBrotli"] is True
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    assert key["HeadersConfig"]["HeaderBehavior"] == "whitelist"
    assert {h.lower() for h in key["HeadersConfig"]["Headers"]} == {
        "host",
        "accept",
        "x-delete-token",
    }


def json_key(value: Any) -> str:
    """The logical id a {"Ref": ...} names (a managed policy's id as is)."""
    return str(value["Ref"]) if isinstance(value, dict) else str(value)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_edge_publishes_the_distributions_name_for_the_fleet(
    stage: str, cdk_template: Templates
) -> None:
    edge = cdk_template(f"Spito-{stage}-Edge")
    (distribution_id,) = edge.find_resources("AWS::CloudFront::Distribution")
    edge.has_resource_properties(
        "AWS::SSM::Parameter",
        {
            "Name": f"/spito/{stage}/public-hosts",
            "Type": "String",
            "Tier": "Standard",
            # One name: the CDK writes the join of one element as the element itself.
            "Value": {"Fn::GetAtt": [distribution_id, "DomainName"]},
        },
    )


def test_with_a_domain_the_parameter_also_names_the_domains_hosts(
    domain_template: Templates,
) -> None:
    edge = domain_template("Spito-prod-Edge")
    (distribution_id,) = edge.find_resources("AWS::CloudFront::Distribution")
    (parameter,) = edge.find_resources("AWS::SSM::Parameter").values()
    assert parameter["Properties"]["Value"] == {
        "Fn::Join": [
            ",",
            [
                {"Fn::GetAtt": [distribution_id, "DomainName"]},
                "spito.example.com,api.spito.example.com",
            ],
        ]
    }


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_fleet_is_told_the_parameter_and_may_read_only_it(
    stage: str, cdk_template: Templates
) -> None:
    api = cdk_template(f"Spito-{stage}-Api")
    (template,) = api.find_resources("AWS::EC2::LaunchTemplate").values()
    user_data = str(template["Properties"]["LaunchTemplateData"]["UserData"])
    assert f"SPITO_PUBLIC_HOSTS_PARAMETER=/spito/{stage}/public-hosts" in user_data
    ssm_statements = [
        statement
        for policy in api.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "ssm:" in str(statement["Action"])
    ]
    assert len(ssm_statements) == 1
    (statement,) = ssm_statements
    assert statement["Action"] == "ssm:GetParameter"
    # The stage's account and region are concrete: the ARN is a literal, one parameter.
    config = load_config(context(), stage)
    assert statement["Resource"] == (
        f"arn:aws:ssm:{config.region}:{config.account}:parameter/spito/{stage}/public-hosts"
    )


def test_prod_without_nat_reaches_ssm_through_its_interface_endpoint(
    cdk_template: Templates,
) -> None:
    network = cdk_template("Spito-prod-Network")
    endpoints = network.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    )
    ssm = [
        endpoint["Properties"]
        for endpoint in endpoints.values()
        if str(endpoint["Properties"]["ServiceName"]).endswith(".ssm")
    ]
    assert len(ssm) == 1
    assert ssm[0]["PrivateDnsEnabled"] is True
