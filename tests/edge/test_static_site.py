"""The web app's bucket and its deployment, as synthesized."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra import edge_headers
from tests.edge.templates import distribution_config, logical_id, resources

TemplateJson = Callable[[str], dict[str, Any]]


@pytest.fixture
def edge(cdk_template_json: TemplateJson) -> dict[str, Any]:
    template: dict[str, Any] = cdk_template_json("Spito-dev-Edge")
    return template


def _spa_bucket(edge: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    config = distribution_config(edge)
    (spa,) = [o for o in config["Origins"] if "S3OriginConfig" in o]
    bucket_id: str = spa["DomainName"]["Fn::GetAtt"][0]
    return bucket_id, edge["Resources"][bucket_id]["Properties"]


def _spa_bucket_statements(edge: dict[str, Any]) -> list[dict[str, Any]]:
    bucket_id, _ = _spa_bucket(edge)
    (policy,) = [
        p for p in resources(edge, "AWS::S3::BucketPolicy") if p["Bucket"] == {"Ref": bucket_id}
    ]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def test_spa_bucket_is_private_encrypted_and_owner_enforced(edge: dict[str, Any]) -> None:
    _, bucket = _spa_bucket(edge)
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "WebsiteConfiguration" not in bucket


def test_spa_bucket_is_versioned_and_expires_old_versions(edge: dict[str, Any]) -> None:
    _, bucket = _spa_bucket(edge)
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}


def test_spa_bucket_refuses_requests_without_tls(edge: dict[str, Any]) -> None:
    (deny,) = [s for s in _spa_bucket_statements(edge) if s["Effect"] == "Deny"]
    assert deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_only_this_distribution_may_read_the_spa_bucket(edge: dict[str, Any]) -> None:
    distribution_id = logical_id(edge, "AWS::CloudFront::Distribution")
    allows = [s for s in _spa_bucket_statements(edge) if s["Effect"] == "Allow"]
    assert {s["Action"] for s in allows} == {"s3:GetObject", "s3:ListBucket"}
    for statement in allows:
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        source_arn = statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]
        assert source_arn[-1] == {"Ref": distribution_id}


def test_spa_bucket_access_logs_go_to_the_log_bucket(edge: dict[str, Any]) -> None:
    _, bucket = _spa_bucket(edge)
    assert bucket["LoggingConfiguration"]["LogFilePrefix"] == "s3/spa/"


def _deployments(edge: dict[str, Any]) -> dict[str, dict[str, Any]]:
    every = resources(edge, "Custom::CDKBucketDeployment")
    return {"assets" if d.get("Include") == ["assets/*"] else "root": d for d in every}


def test_hashed_assets_are_cached_for_a_year_and_kept_across_deploys(
    edge: dict[str, Any],
) -> None:
    assets = _deployments(edge)["assets"]
    assert assets["Exclude"] == ["*"]
    assert assets["SystemMetadata"] == {"cache-control": edge_headers.HASHED_ASSET_CACHE_CONTROL}
    assert "max-age=31536000" in assets["SystemMetadata"]["cache-control"]
    assert assets["Prune"] is False


def test_index_and_root_files_are_revalidated_and_pruned(edge: dict[str, Any]) -> None:
    root = _deployments(edge)["root"]
    assert root["Exclude"] == ["assets/*"]
    assert root["SystemMetadata"] == {"cache-control": "no-cache"}
    assert root["Prune"] is True


def test_deploy_invalidates_the_distribution_after_the_assets_are_in(
    edge: dict[str, Any],
) -> None:
    distribution_id = logical_id(edge, "AWS::CloudFront::Distribution")
    root = _deployments(edge)["root"]
    assert root["DistributionId"] == {"Ref": distribution_id}
    assert root["DistributionPaths"] == ["/*"]
    (root_id,) = [
        key
        for key, res in edge["Resources"].items()
        if res["Type"] == "Custom::CDKBucketDeployment" and res["Properties"] is root
    ]
    (assets_id,) = [
        key
        for key, res in edge["Resources"].items()
        if res["Type"] == "Custom::CDKBucketDeployment" and key != root_id
    ]
    assert assets_id in edge["Resources"][root_id]["DependsOn"]


def test_cache_control_rule_matches_the_deployment_split() -> None:
    assert edge_headers.spa_cache_control("assets/index-1a2b.js") == (
        edge_headers.HASHED_ASSET_CACHE_CONTROL
    )
    assert edge_headers.spa_cache_control("/index.html") == "no-cache"
    assert edge_headers.spa_cache_control("favicon.ico") == "no-cache"
