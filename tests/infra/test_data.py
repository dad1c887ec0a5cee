"""The data stack: the table's contract with the service and reaper, the private blob bucket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.infra.helpers import as_list, only_resource, resources_of_type, statements

Templates = Callable[[str], dict[str, Any]]


def _table(cdk_template_json: Templates, stage: str) -> dict[str, Any]:
    return only_resource(cdk_template_json(f"Spito-{stage}-Data"), "AWS::DynamoDB::Table")


def _logical_id_containing(template: dict[str, Any], fragment: str) -> str:
    (logical_id,) = [str(key) for key in template["Resources"] if fragment in key]
    return logical_id


def _blob_bucket(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (entry,) = [
        (logical_id, bucket)
        for logical_id, bucket in resources_of_type(template, "AWS::S3::Bucket").items()
        if "Blobs" in logical_id
    ]
    return entry


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_table_is_keyed_by_id_and_expires_items_on_expires_at(
    stage: str, cdk_template_json: Templates
) -> None:
    properties = _table(cdk_template_json, stage)["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_table_streams_new_and_old_images_for_the_reaper(
    stage: str, cdk_template_json: Templates
) -> None:
    properties = _table(cdk_template_json, stage)["Properties"]
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_table_is_on_demand_encrypted_and_point_in_time_recoverable(
    stage: str, cdk_template_json: Templates
) -> None:
    properties = _table(cdk_template_json, stage)["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_prod_table_is_retained_and_deletion_protected(cdk_template_json: Templates) -> None:
    table = _table(cdk_template_json, "prod")
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True


def test_dev_table_is_deleted_with_its_stack(cdk_template_json: Templates) -> None:
    table = _table(cdk_template_json, "dev")
    assert table["DeletionPolicy"] == "Delete"
    assert table["Properties"].get("DeletionProtectionEnabled") is not True


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_blob_bucket_blocks_public_access_and_is_encrypted(
    stage: str, cdk_template_json: Templates
) -> None:
    _, bucket = _blob_bucket(cdk_template_json(f"Spito-{stage}-Data"))
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_blob_bucket_denies_every_request_without_tls(
    stage: str, cdk_template_json: Templates
) -> None:
    template = cdk_template_json(f"Spito-{stage}-Data")
    bucket_id, _ = _blob_bucket(template)
    (policy,) = [
        p
        for p in resources_of_type(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    denies = [
        s
        for s in statements(policy["Properties"]["PolicyDocument"])
        if s["Effect"] == "Deny" and s["Action"] == "s3:*"
    ]
    assert [s["Condition"] for s in denies] == [{"Bool": {"aws:SecureTransport": "false"}}]
    assert denies[0]["Principal"] == {"AWS": "*"}


@pytest.mark.parametrize(("stage", "policy"), [("dev", "Delete"), ("prod", "Retain")])
def test_blob_bucket_removal_follows_the_stage(
    stage: str, policy: str, cdk_template_json: Templates
) -> None:
    _, bucket = _blob_bucket(cdk_template_json(f"Spito-{stage}-Data"))
    assert bucket["DeletionPolicy"] == policy


def test_blob_bucket_logs_access_to_the_access_log_bucket(cdk_template_json: Templates) -> None:
    _, bucket = _blob_bucket(cdk_template_json("Spito-prod-Data"))
    logging = bucket["Properties"]["LoggingConfiguration"]
    assert "AccessLogs" in logging["DestinationBucketName"]["Ref"]


def test_service_policy_grants_item_actions_on_the_table_and_object_actions_on_the_bucket(
    cdk_template_json: Templates,
) -> None:
    template = cdk_template_json("Spito-prod-Data")
    policy = template["Resources"][_logical_id_containing(template, "ServiceAccess")]["Properties"][
        "PolicyDocument"
    ]
    table_id = next(iter(resources_of_type(template, "AWS::DynamoDB::Table")))
    bucket_id, _ = _blob_bucket(template)
    grants = {tuple(sorted(as_list(s["Action"]))): s["Resource"] for s in statements(policy)}
    assert grants == {
        (
            "dynamodb:ConditionCheckItem",
            "dynamodb:DeleteItem",
            "dynamodb:DescribeTable",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ): {"Fn::GetAtt": [table_id, "Arn"]},
        ("s3:DeleteObject", "s3:GetObject", "s3:PutObject"): {
            "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/*"]]
        },
    }
