"""The distribution as synthesized: behaviours, origins, headers, viewers, logs (dev and prod)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra import edge_headers
from infra.api_fleet import ORIGIN_VERIFY_HEADER
from infra.routing import ROUTES, matches
from tests.edge.cases import ROUTING_CASES, RoutingCase
from tests.edge.templates import (
    behaviours,
    distribution_config,
    logical_id,
    only,
    origin,
    origin_kinds,
    resources,
)

EDGE_STACKS = ["Spito-dev-Edge", "Spito-prod-Edge"]
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS managed cache policy id
TemplateJson = Callable[[str], dict[str, Any]]


@pytest.fixture(params=EDGE_STACKS)
def edge(request: pytest.FixtureRequest, cdk_template_json: TemplateJson) -> dict[str, Any]:
    template: dict[str, Any] = cdk_template_json(request.param)
    return template


@pytest.fixture
def config(edge: dict[str, Any]) -> dict[str, Any]:
    return distribution_config(edge)


def test_behaviours_are_the_routing_table_in_order(config: dict[str, Any]) -> None:
    kinds = origin_kinds(config)
    generated = [(b["PathPattern"], kinds[b["TargetOriginId"]]) for b in config["CacheBehaviors"]]
    assert generated == [(route.pattern, route.origin.value) for route in ROUTES]
    assert kinds[config["DefaultCacheBehavior"]["TargetOriginId"]] == "spa"


@pytest.mark.parametrize("case", ROUTING_CASES, ids=lambda case: case.path)
def test_cloudfront_sends_each_path_of_the_table_to_its_origin(
    config: dict[str, Any], case: RoutingCase
) -> None:
    kinds = origin_kinds(config)
    chosen = next(
        (b for b in config["CacheBehaviors"] if matches(b["PathPattern"], case.path)),
        config["DefaultCacheBehavior"],
    )
    assert kinds[chosen["TargetOriginId"]] == case.origin


def test_api_behaviours_cache_nothing_and_allow_every_method(config: dict[str, Any]) -> None:
    api = behaviours(config, "api")
    assert len(api) == sum(1 for route in ROUTES if route.origin.value == "api")
    for behaviour in api:
        assert behaviour["CachePolicyId"] == CACHING_DISABLED
        assert set(behaviour["AllowedMethods"]) == {
            *("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")
        }
        assert "FunctionAssociations" not in behaviour


def test_api_forwards_viewer_host_scheme_queries_and_the_services_headers(
    edge: dict[str, Any], config: dict[str, Any]
) -> None:
    policy_id = logical_id(edge, "AWS::CloudFront::OriginRequestPolicy")
    policy = only(edge, "AWS::CloudFront::OriginRequestPolicy")["OriginRequestPolicyConfig"]
    assert policy["HeadersConfig"] == {
        "HeaderBehavior": "whitelist",
        "Headers": ["Host", "CloudFront-Forwarded-Proto", "Content-Type", "X-Delete-Token"],
    }
    assert policy["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert policy["CookiesConfig"] == {"CookieBehavior": "none"}
    for behaviour in behaviours(config, "api"):
        assert behaviour["OriginRequestPolicyId"] == {"Ref": policy_id}


def test_api_origin_sends_the_secret_header_as_a_secrets_manager_reference(
    config: dict[str, Any],
) -> None:
    (header,) = origin(config, "api")["OriginCustomHeaders"]
    assert header["HeaderName"] == ORIGIN_VERIFY_HEADER
    parts = header["HeaderValue"]["Fn::Join"][1]
    assert parts[0] == "{{resolve:secretsmanager:"
    assert parts[-1] == ":SecretString:::}}"
    assert "Fn::GetStackOutput" in parts[1]  # the secret's ARN from the fleet's stack


def test_without_a_domain_cloudfront_reaches_the_alb_over_http(config: dict[str, Any]) -> None:
    custom = origin(config, "api")["CustomOriginConfig"]
    assert custom["OriginProtocolPolicy"] == "http-only"


def test_spa_is_read_through_origin_access_control(
    edge: dict[str, Any], config: dict[str, Any]
) -> None:
    spa = origin(config, "spa")
    oac_id = logical_id(edge, "AWS::CloudFront::OriginAccessControl")
    assert spa["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert spa["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    oac = only(edge, "AWS::CloudFront::OriginAccessControl")["OriginAccessControlConfig"]
    assert oac["OriginAccessControlOriginType"] == "s3"
    assert oac["SigningBehavior"] == "always"


def test_spa_behaviours_run_the_fallback_function_and_allow_only_reads(
    edge: dict[str, Any], config: dict[str, Any]
) -> None:
    function_id = logical_id(edge, "AWS::CloudFront::Function")
    for behaviour in behaviours(config, "spa"):
        assert behaviour["FunctionAssociations"] == [
            {
                "EventType": "viewer-request",
                "FunctionARN": {"Fn::GetAtt": [function_id, "FunctionARN"]},
            }
        ]
        assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    function = only(edge, "AWS::CloudFront::Function")
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"


def test_spa_cache_lets_the_files_cache_control_decide(
    edge: dict[str, Any], config: dict[str, Any]
) -> None:
    policy_id = logical_id(edge, "AWS::CloudFront::CachePolicy")
    policy = only(edge, "AWS::CloudFront::CachePolicy")["CachePolicyConfig"]
    assert policy["MinTTL"] == 0  # index.html's no-cache is honoured
    assert policy["MaxTTL"] == 365 * 24 * 3600  # hashed assets' one year is honoured
    encodings = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert encodings["EnableAcceptEncodingGzip"] is True
    assert encodings["EnableAcceptEncodingBrotli"] is True
    for behaviour in behaviours(config, "spa"):
        assert behaviour["CachePolicyId"] == {"Ref": policy_id}


def test_every_behaviour_redirects_http_compresses_and_adds_security_headers(
    edge: dict[str, Any], config: dict[str, Any]
) -> None:
    policy_id = logical_id(edge, "AWS::CloudFront::ResponseHeadersPolicy")
    for behaviour in [*config["CacheBehaviors"], config["DefaultCacheBehavior"]]:
        assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behaviour["Compress"] is True
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": policy_id}


def test_security_headers_policy(edge: dict[str, Any]) -> None:
    policy = only(edge, "AWS::CloudFront::ResponseHeadersPolicy")
    headers = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": 2 * 365 * 24 * 3600,
        "IncludeSubdomains": True,
        "Override": True,
    }
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert headers["ReferrerPolicy"] == {
        "ReferrerPolicy": "strict-origin-when-cross-origin",
        "Override": True,
    }
    csp = headers["ContentSecurityPolicy"]
    assert csp["ContentSecurityPolicy"] == edge_headers.CONTENT_SECURITY_POLICY
    assert "connect-src 'self'" in csp["ContentSecurityPolicy"]
    assert "unsafe-inline" not in csp["ContentSecurityPolicy"]
    assert csp["Override"] is False  # the service's raw paste CSP is stricter and wins


def test_viewers_get_http2_http3_ipv6_and_the_configured_price_class(
    config: dict[str, Any],
) -> None:
    assert config["HttpVersion"] == "http2and3"
    assert config["IPV6Enabled"] is True
    assert config["PriceClass"] == "PriceClass_100"
    assert config["DefaultRootObject"] == "index.html"


def test_without_a_domain_the_cloudfront_name_is_used(config: dict[str, Any]) -> None:
    assert "Aliases" not in config
    assert "ViewerCertificate" not in config


def test_standard_logs_go_to_an_acl_enabled_bucket_that_expires_them(
    edge: dict[str, Any], config: dict[str, Any]
) -> None:
    log_bucket_id = config["Logging"]["Bucket"]["Fn::GetAtt"][0]
    assert config["Logging"]["Prefix"] == "cloudfront/"
    bucket = edge["Resources"][log_bucket_id]["Properties"]
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_web_acl_is_attached_only_where_the_config_enables_it(
    cdk_template_json: TemplateJson,
) -> None:
    assert "WebACLId" not in distribution_config(cdk_template_json("Spito-dev-Edge"))
    prod = distribution_config(cdk_template_json("Spito-prod-Edge"))
    assert prod["WebACLId"]["Fn::GetStackOutput"]["StackName"] == "Spito-prod-EdgeGlobal"
    assert prod["WebACLId"]["Fn::GetStackOutput"]["Region"] == "us-east-1"


def test_outputs_name_the_public_url_and_the_distribution(edge: dict[str, Any]) -> None:
    assert {"PublicUrl", "DistributionId", "DistributionDomainName", "WebAppBucketName"} <= set(
        edge["Outputs"]
    )


def test_one_distribution_per_stage(edge: dict[str, Any]) -> None:
    assert len(resources(edge, "AWS::CloudFront::Distribution")) == 1
