"""The web app's bucket and its deployment, as synthesized."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra import edge_headers
from tests.edge.templates import DISTRIBUTION, Templates, distribution_config, logical_id, only

DEPLOYMENT = "Custom::CDKBucketDeployment"


@pytest.fixture
def edge(cdk_template: Templates) -> Template:
    return cdk_template("Spito-dev-Edge")


def _spa_bucket_id(edge: Template) -> str:
    (spa,) = [o for o in distribution_config(edge)["Origins"] if "S3OriginConfig" in o]
    bucket_id: str = spa["DomainName"]["Fn::GetAtt"][0]
    return bucket_id


def _has_spa_bucket(edge: Template, properties: dict[str, Any]) -> None:
    """The bucket the distribution's S3 origin reads has (at least) `properties`."""
    matching = edge.find_resources("AWS::S3::Bucket", {"Properties": Match.object_like(properties)})
    assert _spa_bucket_id(edge) in matching


def _has_spa_bucket_statement(edge: Template, statement: dict[str, Any]) -> None:
    edge.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": _spa_bucket_id(edge)},
            "PolicyDocument": Match.object_like(
                {"Statement": Match.array_with([Match.object_like(statement)])}
            ),
        },
    )


def _deployment(edge: Template, **properties: Any) -> tuple[str, dict[str, Any]]:
    return only(edge, DEPLOYMENT, {"Properties": Match.object_like(properties)})


def test_spa_bucket_is_private_encrypted_owner_enforced_and_no_website(edge: Template) -> None:
    _has_spa_bucket(
        edge,
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "WebsiteConfiguration": Match.absent(),
        },
    )


def test_spa_bucket_is_versioned_and_expires_only_old_versions(edge: Template) -> None:
    # Current objects never expire: the live index.html may name an asset uploaded long ago.
    _has_spa_bucket(
        edge,
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                        "Status": "Enabled",
                    }
                ]
            },
        },
    )


def test_spa_bucket_refuses_requests_without_tls(edge: Template) -> None:
    _has_spa_bucket_statement(
        edge,
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:ListBucket"])
def test_only_this_distribution_may_read_the_spa_bucket(edge: Template, action: str) -> None:
    distribution_id = logical_id(edge, DISTRIBUTION)
    source_arn = Match.object_like({"Fn::Join": ["", Match.array_with([{"Ref": distribution_id}])]})
    _has_spa_bucket_statement(
        edge,
        {
            "Effect": "Allow",
            "Action": action,
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Condition": {"StringEquals": {"AWS:SourceArn": source_arn}},
        },
    )
    _, policy = only(
        edge,
        "AWS::S3::BucketPolicy",
        {"Properties": Match.object_like({"Bucket": {"Ref": _spa_bucket_id(edge)}})},
    )
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    # Besides CloudFront, only the CDK's auto-delete provider, which empties the bucket when a
    # stage that deletes its buckets is destroyed (CloudFormation deletes only empty buckets).
    allowed = {
        s["Action"]
        for s in statements
        if s["Effect"] == "Allow" and "CustomS3AutoDeleteObjects" not in json.dumps(s["Principal"])
    }
    assert allowed == {"s3:GetObject", "s3:ListBucket"}  # and nothing else


def test_spa_bucket_access_logs_go_to_the_log_bucket(edge: Template) -> None:
    log_bucket = Match.object_like({"Ref": Match.string_like_regexp("^AccessLogs")})
    _has_spa_bucket(
        edge,
        {"LoggingConfiguration": {"DestinationBucketName": log_bucket, "LogFilePrefix": "s3/spa/"}},
    )


def test_hashed_assets_are_cached_for_a_year_and_kept_across_deploys(edge: Template) -> None:
    assert "max-age=31536000" in edge_headers.HASHED_ASSET_CACHE_CONTROL
    _deployment(
        edge,
        Include=["assets/*"],
        Exclude=["*"],
        SystemMetadata={"cache-control": edge_headers.HASHED_ASSET_CACHE_CONTROL},
        Prune=False,
        # This pass invalidates nothing, so it carries no invalidation settings at all.
        DistributionId=Match.absent(),
        WaitForDistributionInvalidation=Match.absent(),
    )


def test_index_and_root_files_are_revalidated_pruned_and_invalidated(edge: Template) -> None:
    _deployment(
        edge,
        Include=Match.absent(),
        Exclude=["assets/*"],
        SystemMetadata={"cache-control": "no-cache"},
        Prune=True,
        DistributionId={"Ref": logical_id(edge, DISTRIBUTION)},
        DistributionPaths=["/*"],
        WaitForDistributionInvalidation=True,
    )


def test_root_files_are_deployed_after_the_assets_they_name(edge: Template) -> None:
    assets_id, _ = _deployment(edge, Include=["assets/*"])
    edge.has_resource(
        DEPLOYMENT,
        {
            "Properties": Match.object_like({"Exclude": ["assets/*"]}),
            "DependsOn": Match.array_with([assets_id]),
        },
    )


def test_cache_control_rule_matches_the_deployment_split() -> None:
    assert edge_headers.spa_cache_control("assets/index-1a2b.js") == (
        edge_headers.HASHED_ASSET_CACHE_CONTROL
    )
    assert edge_headers.spa_cache_control("/index.html") == "no-cache"
    assert edge_headers.spa_cache_control("favicon.ico") == "no-cache"
