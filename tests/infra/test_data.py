"""The data stack: the table's contract with the service and reaper, the private blob bucket."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.fixtures.cdk_app import REPO_ROOT

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

Templates = Callable[[str], "Template"]
STAGES = ["dev", "prod"]
REMOVAL = {"dev": "Delete", "prod": "Retain"}
SERVICE_DIR = REPO_ROOT / "service"
# boto3 client methods on a table or bucket, each with the IAM action it needs.
DATA_CALLS = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "batch_get_item": "dynamodb:BatchGetItem",
    "batch_write_item": "dynamodb:BatchWriteItem",
    "transact_get_items": "dynamodb:GetItem",
    "transact_write_items": "dynamodb:ConditionCheckItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "describe_table": "dynamodb:DescribeTable",
    "get_object": "s3:GetObject",
    "head_object": "s3:GetObject",
    "put_object": "s3:PutObject",
    "copy_object": "s3:PutObject",
    "delete_object": "s3:DeleteObject",
    "delete_objects": "s3:DeleteObject",
    "list_objects_v2": "s3:ListBucket",
}


def _data(cdk_template: Templates, stage: str) -> Template:
    return cdk_template(f"Spito-{stage}-Data")


def _logical_id(template: Template, resource_type: str, fragment: str) -> str:
    (logical_id,) = [key for key in template.find_resources(resource_type) if fragment in key]
    return logical_id


@pytest.mark.parametrize("stage", STAGES)
def test_table_is_keyed_by_id_and_expires_items_on_expires_at(
    stage: str, cdk_template: Templates
) -> None:
    _data(cdk_template, stage).has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    )


@pytest.mark.parametrize("stage", STAGES)
def test_table_streams_new_and_old_images_for_the_reaper(
    stage: str, cdk_template: Templates
) -> None:
    _data(cdk_template, stage).has_resource_properties(
        "AWS::DynamoDB::Table", {"StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"}}
    )


@pytest.mark.parametrize("stage", STAGES)
def test_table_is_on_demand_encrypted_and_point_in_time_recoverable(
    stage: str, cdk_template: Templates
) -> None:
    _data(cdk_template, stage).has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "SSESpecification": {"SSEEnabled": True},
            "PointInTimeRecoverySpecification": {
                "PointInTimeRecoveryEnabled": True,
                "RecoveryPeriodInDays": 3,  # docs/DATA-LIFECYCLE.md: deleted data lingers that long
            },
        },
    )


def test_prod_table_is_retained_and_deletion_protected(cdk_template: Templates) -> None:
    _data(cdk_template, "prod").has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"DeletionProtectionEnabled": True},
        },
    )


def test_dev_table_is_deleted_with_its_stack(cdk_template: Templates) -> None:
    _data(cdk_template, "dev").has_resource(
        "AWS::DynamoDB::Table",
        {"DeletionPolicy": "Delete", "Properties": {"DeletionProtectionEnabled": False}},
    )


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("bucket", ["Blobs", "AccessLogs"])
def test_data_buckets_block_public_access_and_are_sse_s3_owner_enforced(
    stage: str, bucket: str, cdk_template: Templates
) -> None:
    template = _data(cdk_template, stage)
    (properties,) = [
        resource["Properties"]
        for logical_id, resource in template.find_resources("AWS::S3::Bucket").items()
        if bucket in logical_id
    ]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
    }
    assert properties["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }


@pytest.mark.parametrize("stage", STAGES)
def test_blob_bucket_denies_every_request_without_tls(stage: str, cdk_template: Templates) -> None:
    from aws_cdk.assertions import Match

    template = _data(cdk_template, stage)
    bucket_id = _logical_id(template, "AWS::S3::Bucket", "Blobs")
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": bucket_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Principal": {"AWS": "*"},
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


@pytest.mark.parametrize("stage", STAGES)
def test_blob_bucket_is_versioned_and_keeps_deleted_bodies_as_long_as_the_table_recovers(
    stage: str, cdk_template: Templates
) -> None:
    from aws_cdk.assertions import Match

    _data(cdk_template, stage).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"NoncurrentVersionExpiration": {"NoncurrentDays": 3}})]
                )
            },
        },
    )


@pytest.mark.parametrize("stage", STAGES)
def test_data_buckets_removal_follows_the_stage(stage: str, cdk_template: Templates) -> None:
    template = _data(cdk_template, stage)
    buckets = template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 2
    assert {bucket["DeletionPolicy"] for bucket in buckets.values()} == {REMOVAL[stage]}


def _auto_deleted_buckets(template: Template) -> set[str]:
    return {
        resource["Properties"]["BucketName"]["Ref"]
        for resource in template.find_resources("Custom::S3AutoDeleteObjects").values()
    }


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("layer", ["Data", "Api", "Edge"])
def test_buckets_deleted_with_their_stack_are_emptied_first_and_retained_ones_kept(
    stage: str, layer: str, cdk_template: Templates
) -> None:
    # CloudFormation deletes only empty buckets: a non-empty one ends a destroy in DELETE_FAILED.
    template = cdk_template(f"Spito-{stage}-{layer}")
    buckets = template.find_resources("AWS::S3::Bucket")
    deleted = {name for name, bucket in buckets.items() if bucket["DeletionPolicy"] == "Delete"}
    assert buckets
    assert _auto_deleted_buckets(template) == deleted


def test_blob_bucket_logs_access_to_the_access_log_bucket(cdk_template: Templates) -> None:
    template = _data(cdk_template, "prod")
    log_bucket = _logical_id(template, "AWS::S3::Bucket", "AccessLogs")
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LoggingConfiguration": {
                "DestinationBucketName": {"Ref": log_bucket},
                "LogFilePrefix": "blobs/",
            }
        },
    )


def _actions_the_service_needs() -> set[str]:
    """The IAM actions behind every DynamoDB and S3 call in the service's code."""
    calls = re.compile(rf"\.({'|'.join(DATA_CALLS)})\(")
    return {
        DATA_CALLS[call]
        for path in SERVICE_DIR.rglob("*.py")
        for call in calls.findall(path.read_text())
    }


@pytest.mark.parametrize("stage", STAGES)
def test_service_policy_grants_exactly_the_actions_the_service_calls_on_its_table_and_bucket(
    stage: str, cdk_template: Templates
) -> None:
    template = _data(cdk_template, stage)
    table_id = _logical_id(template, "AWS::DynamoDB::Table", "Table")
    bucket_id = _logical_id(template, "AWS::S3::Bucket", "Blobs")
    (policy,) = [
        resource["Properties"]["PolicyDocument"]
        for logical_id, resource in template.find_resources("AWS::IAM::ManagedPolicy").items()
        if "ServiceAccess" in logical_id
    ]
    grants = {tuple(sorted(s["Action"])): s["Resource"] for s in policy["Statement"]}
    needed = _actions_the_service_needs()
    assert grants == {
        tuple(sorted(a for a in needed if a.startswith("dynamodb:"))): {
            "Fn::GetAtt": [table_id, "Arn"]
        },
        tuple(sorted(a for a in needed if a.startswith("s3:"))): {
            "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/*"]]
        },
    }
    assert needed == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
    }


@pytest.mark.parametrize("days", [0, 36])
def test_a_recovery_window_dynamodb_refuses_fails_at_synth_naming_the_range(days: int) -> None:
    from aws_cdk import App, RemovalPolicy, Stack

    from infra.data import DataStore

    with pytest.raises(ValueError, match=r"recovery_days=.* outside 1\.\.35"):
        DataStore(
            Stack(App(), "Scratch"),
            "Data",
            removal_policy=RemovalPolicy.DESTROY,
            deletion_protection=False,
            recovery_days=days,
        )


def test_data_lifecycle_page_states_the_recovery_window_the_stack_sets() -> None:
    from infra.data import RECOVERY_DAYS

    page = (REPO_ROOT / "docs" / "DATA-LIFECYCLE.md").read_text()
    stated = {int(days) for days in re.findall(r"\*\*(\d+) days\*\*", page)}
    assert stated == {RECOVERY_DAYS}, "docs/DATA-LIFECYCLE.md names another recovery window"
