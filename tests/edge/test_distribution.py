"""The distribution as synthesized: behaviours, origins, headers, viewers, logs (dev and prod)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra import edge_headers
from infra.routing import API_FORWARDED_HEADERS, ROUTES, Origin
from tests.edge.cases import ROUTING_CASES, RoutingCase
from tests.edge.templates import (
    DISTRIBUTION,
    Templates,
    api_origin,
    api_origin_port,
    api_vpc_origin,
    behaviour_for,
    distribution_config,
    imported,
    logical_id,
    only,
    origin_id,
    written_across_regions,
)

EDGE_STACKS = ["Spito-dev-Edge", "Spito-prod-Edge"]
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]


@pytest.fixture(params=EDGE_STACKS)
def edge(request: pytest.FixtureRequest, cdk_template: Templates) -> Template:
    return cdk_template(request.param)


def _has_distribution(template: Template, config: dict[str, Any]) -> None:
    template.has_resource_properties(
        DISTRIBUTION, {"DistributionConfig": Match.object_like(config)}
    )


def _behaviours(template: Template, origin: Origin, **properties: object) -> list[object]:
    """A `Match` for the cache behaviour of every route to `origin`, with `properties`."""
    return [
        Match.object_like({"PathPattern": route.pattern, **properties})
        for route in ROUTES
        if route.origin is origin
    ]


def test_behaviours_are_the_routing_table_in_order(edge: Template) -> None:
    ids = {origin: origin_id(edge, origin.value) for origin in Origin}
    expected = [
        Match.object_like({"PathPattern": route.pattern, "TargetOriginId": ids[route.origin]})
        for route in ROUTES
    ]
    _has_distribution(
        edge,
        {
            "CacheBehaviors": expected,
            "DefaultCacheBehavior": Match.object_like({"TargetOriginId": ids[Origin.SPA]}),
        },
    )


@pytest.mark.parametrize("case", ROUTING_CASES, ids=lambda case: case.path)
def test_cloudfront_sends_each_path_of_the_table_to_its_origin(
    edge: Template, case: RoutingCase
) -> None:
    assert behaviour_for(edge, case.path)["TargetOriginId"] == origin_id(edge, case.origin)


def _cache_policy(edge: Template, name: str) -> str:
    """The logical id of the distribution's cache policy `name` ("Spa" or "Api")."""
    (policy_id,) = [
        logical
        for logical in edge.find_resources("AWS::CloudFront::CachePolicy")
        if f"{name}CachePolicy" in logical
    ]
    return policy_id


def test_api_behaviours_use_the_api_cache_policy_allow_every_method_and_run_no_function(
    edge: Template,
) -> None:
    # Not CachingDisabled, behind which CloudFront neither compresses nor forwards
    # Accept-Encoding; what the API policy caches: tests/infra/test_edge_caching_and_hosts.py.
    api = _behaviours(
        edge,
        Origin.API,
        CachePolicyId={"Ref": _cache_policy(edge, "Api")},
        AllowedMethods=ALL_METHODS,
        FunctionAssociations=Match.absent(),
    )
    _has_distribution(edge, {"CacheBehaviors": Match.array_with(api)})


def test_api_forwards_viewer_host_scheme_queries_and_the_services_headers(
    edge: Template,
) -> None:
    policy_id = logical_id(edge, "AWS::CloudFront::OriginRequestPolicy")
    edge.has_resource_properties(
        "AWS::CloudFront::OriginRequestPolicy",
        {
            "OriginRequestPolicyConfig": Match.object_like(
                {
                    "HeadersConfig": {
                        "HeaderBehavior": "whitelist",
                        "Headers": list(API_FORWARDED_HEADERS),
                    },
                    "QueryStringsConfig": {"QueryStringBehavior": "all"},
                    "CookiesConfig": {"CookieBehavior": "none"},
                }
            )
        },
    )
    api = _behaviours(edge, Origin.API, OriginRequestPolicyId={"Ref": policy_id})
    _has_distribution(edge, {"CacheBehaviors": Match.array_with(api)})


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_api_origin_is_a_vpc_origin_to_the_alb_of_the_fleet_stack(
    cdk_template: Templates, stage: str
) -> None:
    edge, api = cdk_template(f"Spito-{stage}-Edge"), cdk_template(f"Spito-{stage}-Api")
    alb_id = logical_id(api, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert imported(api, api_vpc_origin(edge)["Arn"]) == {"Ref": alb_id}
    assert imported(api, api_origin(edge)["DomainName"]) == {"Fn::GetAtt": [alb_id, "DNSName"]}
    assert "OriginCustomHeaders" not in api_origin(edge)


def test_without_a_domain_cloudfront_reaches_the_alb_over_http_on_its_one_listener(
    cdk_template: Templates,
) -> None:
    for stage in ("dev", "prod"):
        edge, api = cdk_template(f"Spito-{stage}-Edge"), cdk_template(f"Spito-{stage}-Api")
        assert api_vpc_origin(edge)["OriginProtocolPolicy"] == "http-only"
        edge.resource_count_is("AWS::CloudFront::VpcOrigin", 1)
        _, listener = only(api, "AWS::ElasticLoadBalancingV2::Listener")
        assert listener["Properties"]["Port"] == api_origin_port(edge) == 80


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_alb_admits_only_cloudfronts_vpc_origin_group_on_the_port_cloudfront_uses(
    cdk_template: Templates, stage: str
) -> None:
    edge, api = cdk_template(f"Spito-{stage}-Edge"), cdk_template(f"Spito-{stage}-Api")
    network = cdk_template(f"Spito-{stage}-Network")
    lookup_id, lookup = only(edge, "Custom::AWS")
    call = lookup["Properties"]["Create"]["Fn::Join"][1]
    # {"service":"EC2","action":"describeSecurityGroups", filters on the VPC and the group name}
    assert '"action":"describeSecurityGroups"' in call[0]
    assert imported(network, call[1]) == {"Ref": logical_id(network, "AWS::EC2::VPC")}
    assert '"Values":["CloudFront-VPCOrigins-Service-SG"]' in call[2]
    rule_id, rule = only(edge, "AWS::EC2::SecurityGroupIngress")
    properties = rule["Properties"]
    (alb_group,) = [
        key
        for key, group in api.find_resources("AWS::EC2::SecurityGroup").items()
        if group["Properties"]["GroupDescription"].startswith("Spito ALB")
    ]
    assert imported(api, properties["GroupId"]) == {"Fn::GetAtt": [alb_group, "GroupId"]}
    assert properties["SourceSecurityGroupId"] == {
        "Fn::GetAtt": [lookup_id, "SecurityGroups.0.GroupId"]
    }
    assert (properties["FromPort"], properties["ToPort"]) == (api_origin_port(edge),) * 2
    # The distribution moves onto the port only once it is admitted.
    _, distribution = only(edge, DISTRIBUTION)
    assert rule_id in distribution["DependsOn"]


def test_the_security_group_lookup_waits_for_the_vpc_origin_that_creates_the_group(
    edge: Template,
) -> None:
    (vpc_origin_id,) = edge.find_resources("AWS::CloudFront::VpcOrigin")
    _, lookup = only(edge, "Custom::AWS")
    assert vpc_origin_id in lookup["DependsOn"]


def test_spa_is_read_through_origin_access_control(edge: Template) -> None:
    oac_id = logical_id(edge, "AWS::CloudFront::OriginAccessControl")
    edge.has_resource_properties(
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": Match.object_like(
                {"OriginAccessControlOriginType": "s3", "SigningBehavior": "always"}
            )
        },
    )
    spa_origin = Match.object_like(
        {
            "Id": origin_id(edge, "spa"),
            "OriginAccessControlId": {"Fn::GetAtt": [oac_id, "Id"]},
            "S3OriginConfig": {"OriginAccessIdentity": ""},
        }
    )
    _has_distribution(edge, {"Origins": Match.array_with([spa_origin])})


def test_only_app_routes_run_the_fallback_function(edge: Template) -> None:
    function_id = logical_id(edge, "AWS::CloudFront::Function")
    fallback = [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [function_id, "FunctionARN"]}}
    ]
    expected = [
        Match.object_like(
            {
                "PathPattern": route.pattern,
                "FunctionAssociations": fallback if route.spa_fallback else Match.absent(),
            }
        )
        for route in ROUTES
    ]
    assert any(route.spa_fallback for route in ROUTES)
    assert not all(route.spa_fallback for route in ROUTES if route.origin is Origin.SPA)
    _has_distribution(
        edge,
        {
            "CacheBehaviors": expected,
            # The default behaviour gets only "/", which the default root object serves.
            "DefaultCacheBehavior": Match.object_like({"FunctionAssociations": Match.absent()}),
            "DefaultRootObject": "index.html",
        },
    )
    edge.has_resource_properties(
        "AWS::CloudFront::Function",
        {"FunctionConfig": Match.object_like({"Runtime": "cloudfront-js-2.0"})},
    )


def test_spa_behaviours_allow_only_reads(edge: Template) -> None:
    spa = _behaviours(edge, Origin.SPA, AllowedMethods=["GET", "HEAD"])
    _has_distribution(
        edge,
        {
            "CacheBehaviors": Match.array_with(spa),
            "DefaultCacheBehavior": Match.object_like({"AllowedMethods": ["GET", "HEAD"]}),
        },
    )


def test_spa_cache_lets_the_files_cache_control_decide(edge: Template) -> None:
    policy_id = _cache_policy(edge, "Spa")
    config = edge.to_json()["Resources"][policy_id]["Properties"]["CachePolicyConfig"]
    assert config["MinTTL"] == 0  # index.html's no-cache is honoured
    assert config["MaxTTL"] == 365 * 24 * 3600  # hashed assets' one year is honoured
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert (key["EnableAcceptEncodingGzip"], key["EnableAcceptEncodingBrotli"]) == (True, True)
    spa = _behaviours(edge, Origin.SPA, CachePolicyId={"Ref": policy_id})
    _has_distribution(
        edge,
        {
            "CacheBehaviors": Match.array_with(spa),
            "DefaultCacheBehavior": Match.object_like({"CachePolicyId": {"Ref": policy_id}}),
        },
    )


def test_every_behaviour_redirects_http_compresses_and_adds_security_headers(
    edge: Template,
) -> None:
    policy_id = logical_id(edge, "AWS::CloudFront::ResponseHeadersPolicy")
    every = Match.object_like(
        {
            "ViewerProtocolPolicy": "redirect-to-https",
            "Compress": True,
            "ResponseHeadersPolicyId": {"Ref": policy_id},
        }
    )
    _has_distribution(
        edge, {"CacheBehaviors": [every] * len(ROUTES), "DefaultCacheBehavior": every}
    )


def test_security_headers_policy(edge: Template) -> None:
    csp = edge_headers.CONTENT_SECURITY_POLICY
    assert "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp
    edge.has_resource_properties(
        "AWS::CloudFront::ResponseHeadersPolicy",
        {
            "ResponseHeadersPolicyConfig": Match.object_like(
                {
                    "SecurityHeadersConfig": {
                        "StrictTransportSecurity": {
                            "AccessControlMaxAgeSec": 2 * 365 * 24 * 3600,
                            "IncludeSubdomains": True,
                            "Override": True,
                        },
                        "ContentTypeOptions": {"Override": True},
                        "FrameOptions": {"FrameOption": "DENY", "Override": True},
                        "ReferrerPolicy": {
                            "ReferrerPolicy": "strict-origin-when-cross-origin",
                            "Override": True,
                        },
                        # Not overriding: the service's raw paste CSP is stricter and wins.
                        "ContentSecurityPolicy": {"ContentSecurityPolicy": csp, "Override": False},
                    }
                }
            )
        },
    )


def test_viewers_get_http2_http3_ipv6_and_the_configured_price_class(edge: Template) -> None:
    _has_distribution(
        edge, {"HttpVersion": "http2and3", "IPV6Enabled": True, "PriceClass": "PriceClass_100"}
    )


def test_without_a_domain_the_cloudfront_name_is_used(edge: Template) -> None:
    _has_distribution(edge, {"Aliases": Match.absent(), "ViewerCertificate": Match.absent()})


def test_standard_logs_go_to_an_acl_enabled_bucket_that_expires_them(edge: Template) -> None:
    log_bucket_id, _ = only(
        edge,
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    # CloudFront's standard logging writes with ACLs.
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]},
                    "LifecycleConfiguration": {
                        "Rules": [{"ExpirationInDays": 90, "Status": "Enabled"}]
                    },
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                }
            )
        },
    )
    logging = {
        "Bucket": {"Fn::GetAtt": [log_bucket_id, "RegionalDomainName"]},
        "Prefix": "cloudfront/",
    }
    _has_distribution(edge, {"Logging": logging})


def test_no_web_acl_where_the_config_disables_it(cdk_template: Templates) -> None:
    _has_distribution(cdk_template("Spito-dev-Edge"), {"WebACLId": Match.absent()})


def test_web_acl_comes_from_us_east_1_through_a_strong_cross_region_reference(
    cdk_template: Templates,
) -> None:
    edge, edge_global = cdk_template("Spito-prod-Edge"), cdk_template("Spito-prod-EdgeGlobal")
    web_acl_arn = distribution_config(edge)["WebACLId"]
    reader_id, reader = only(edge, "Custom::CrossRegionExportReader")
    reader_id_used, parameter = web_acl_arn["Fn::GetAtt"]
    assert reader_id_used == reader_id
    assert parameter in reader["Properties"]["ReaderProps"]["imports"]
    web_acl_id = logical_id(edge_global, "AWS::WAFv2::WebACL")
    assert written_across_regions(edge_global, web_acl_arn) == {"Fn::GetAtt": [web_acl_id, "Arn"]}


def test_outputs_name_the_public_url_and_the_distribution(edge: Template) -> None:
    distribution_id = logical_id(edge, DISTRIBUTION)
    edge.has_output("DistributionId", {"Value": {"Ref": distribution_id}})
    edge.has_output(
        "DistributionDomainName", {"Value": {"Fn::GetAtt": [distribution_id, "DomainName"]}}
    )
    edge.has_output(
        "PublicUrl",
        {
            "Value": {
                "Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}]]
            }
        },
    )
    edge.has_output("WebAppBucketName", {"Value": {"Ref": Match.any_value()}})


def test_one_distribution_per_stage(edge: Template) -> None:
    edge.resource_count_is(DISTRIBUTION, 1)
