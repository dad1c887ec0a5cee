"""The jobs stack as synthesized by the app (shared session synth): snapshot and each property."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from ci.pr_diff.suppressions import template_suppressions
from infra.canary import METRIC_DIMENSION, METRIC_NAMESPACE
from infra.cfn_lint import ignore_check
from infra.data import RECOVERY_DAYS
from infra.job_function import RUNTIME
from infra.reaper import TTL_BLOB_REMOVAL_PATTERN
from tests.infra.helpers import as_list, only_resource, resources_of_type, statements
from tests.infra.normalize import normalized

Templates = Callable[[str], dict[str, Any]]
STAGES = ("dev", "prod")
JOBS = "Spito-dev-Jobs"
DATA = "Spito-dev-Data"


def _resource(template: dict[str, Any], resource_type: str, id_prefix: str) -> dict[str, Any]:
    (resource,) = [
        resource
        for logical_id, resource in resources_of_type(template, resource_type).items()
        if logical_id.startswith(id_prefix)
    ]
    return resource


def _logical_id(template: dict[str, Any], resource_type: str, id_prefix: str) -> str:
    (logical_id,) = [
        logical_id
        for logical_id in resources_of_type(template, resource_type)
        if logical_id.startswith(id_prefix)
    ]
    return logical_id


def _published(templates: Templates, reference: dict[str, Any]) -> Any:
    """What a cross-stack reference (`Fn::ImportValue` of `<stack>:<export>`) reads."""
    name = reference["Fn::ImportValue"]
    producer = templates(name.split(":", 1)[0])
    (value,) = [
        output["Value"]
        for output in producer["Outputs"].values()
        if output.get("Export", {}).get("Name") == name
    ]
    return value


def _is_the_alarm_topic(templates: Templates, reference: dict[str, Any]) -> bool:
    """Whether `reference` is the SNS topic of the API stack, where every Spito alarm goes."""
    api = templates("Spito-dev-Api")
    topic = _published(templates, reference)
    return bool(
        reference["Fn::ImportValue"].startswith("Spito-dev-Api:")
        and api["Resources"][topic["Ref"]]["Type"] == "AWS::SNS::Topic"
    )


@pytest.mark.parametrize("stage", STAGES)
def test_jobs_template_matches_snapshot(
    stage: str, cdk_template_json: Templates, snapshot: SnapshotAssertion
) -> None:
    template = normalized(cdk_template_json(f"Spito-{stage}-Jobs"))
    assert template == snapshot(extension_class=JSONSnapshotExtension)


def test_functions_run_the_newest_python_the_cdk_knows_on_arm64(
    cdk_template_json: Templates,
) -> None:
    pythons = [
        getattr(lambda_.Runtime, name) for name in dir(lambda_.Runtime) if "PYTHON_3_" in name
    ]
    newest = max(pythons, key=lambda runtime: int(runtime.name.split(".")[1])).name
    functions = resources_of_type(cdk_template_json(JOBS), "AWS::Lambda::Function").values()
    assert RUNTIME.name == newest
    assert [(f["Properties"]["Runtime"], f["Properties"]["Architectures"]) for f in functions] == [
        (newest, ["arm64"])
    ] * 2


def test_functions_are_outside_any_vpc_and_log_to_their_own_group_with_retention(
    cdk_template_json: Templates,
) -> None:
    template = cdk_template_json(JOBS)
    for name in ("CanaryJob", "ReaperJob"):
        function = _resource(template, "AWS::Lambda::Function", f"{name}Function")["Properties"]
        log_group_id = _logical_id(template, "AWS::Logs::LogGroup", f"{name}Logs")
        assert "VpcConfig" not in function
        assert function["LoggingConfig"] == {"LogGroup": {"Ref": log_group_id}}
        assert template["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 30


def test_each_cfn_lint_ignore_of_the_jobs_carries_its_reason_for_the_pr_diff(
    cdk_template_json: Templates,
) -> None:
    template = cdk_template_json(JOBS)
    # Read as `make diff` reads them, so the reason reaches the pull-request comment. (This
    # synth has no construct paths, so each is named by its logical id.)
    ignores = {
        (item.where, item.rule): item.reason
        for item in template_suppressions(template)
        if item.tool == "cfn-lint"
    }
    assert set(ignores) == {
        (_logical_id(template, "AWS::Lambda::Function", f"{job}JobFunction"), "W3005")
        for job in ("Canary", "Reaper")
    }
    assert all("DependsOn" in reason for reason in ignores.values()), ignores


def test_cfn_lint_ignores_accumulate_per_resource_and_each_needs_a_reason() -> None:
    queue = sqs.Queue(Stack(), "Queue")
    ignore_check(queue, "W3005", "first reason")
    ignore_check(queue, "I3011", "second reason")
    resource = queue.node.default_child
    assert isinstance(resource, sqs.CfnQueue)
    assert resource.get_metadata("cfn-lint") == {
        "config": {"ignore_checks": ["W3005", "I3011"]},
        "reasons": {"W3005": "first reason", "I3011": "second reason"},
    }
    with pytest.raises(ValueError, match=r"W3045 on .*/Queue needs a reason"):
        ignore_check(queue, "W3045", " ")


def test_deployed_packages_hold_only_the_handlers(cdk_out: Path) -> None:
    manifest = json.loads((cdk_out / f"{JOBS}.assets.json").read_text())
    packaged = [
        sorted(path.name for path in (cdk_out / asset["source"]["path"]).iterdir())
        for asset in manifest["files"].values()
        if asset["source"].get("packaging") == "zip"
    ]
    assert packaged == [["handler.py"], ["handler.py"]]


def test_canary_role_may_only_write_its_own_log_group_which_carries_its_metrics(
    cdk_template_json: Templates,
) -> None:
    # The metrics are Embedded Metric Format log lines: no cloudwatch:PutMetricData needed.
    template = cdk_template_json(JOBS)
    role = _resource(template, "AWS::IAM::Role", "CanaryJobRole")["Properties"]
    policy = _resource(template, "AWS::IAM::Policy", "CanaryJobRole")["Properties"]
    log_group_id = _logical_id(template, "AWS::Logs::LogGroup", "CanaryJobLogs")
    assert "ManagedPolicyArns" not in role
    assert statements(policy["PolicyDocument"]) == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
        }
    ]


def test_canary_runs_on_the_configured_schedule_without_retries(
    cdk_template_json: Templates,
) -> None:
    template = cdk_template_json(JOBS)
    function_id = _logical_id(template, "AWS::Lambda::Function", "CanaryJobFunction")
    rule = only_resource(template, "AWS::Events::Rule")["Properties"]
    invoke_config = only_resource(template, "AWS::Lambda::EventInvokeConfig")["Properties"]
    assert rule["ScheduleExpression"] == "rate(5 minutes)"
    assert [target["Arn"] for target in rule["Targets"]] == [{"Fn::GetAtt": [function_id, "Arn"]}]
    assert invoke_config["FunctionName"] == {"Ref": function_id}
    assert invoke_config["MaximumRetryAttempts"] == 0


def test_canary_targets_the_public_url_of_the_edge(cdk_template_json: Templates) -> None:
    function = _resource(cdk_template_json(JOBS), "AWS::Lambda::Function", "CanaryJobFunction")
    url = function["Properties"]["Environment"]["Variables"]["SPITO_CANARY_URL"]
    (scheme, domain) = url["Fn::Join"][1]
    assert scheme == "https://"
    assert _published(cdk_template_json, domain)["Fn::GetAtt"][1] == "DomainName"
    assert domain["Fn::ImportValue"].startswith("Spito-dev-Edge:")


def test_canary_alarm_fires_on_two_failed_or_missing_runs_of_three_to_the_topic(
    cdk_template_json: Templates,
) -> None:
    template = cdk_template_json(JOBS)
    function_id = _logical_id(template, "AWS::Lambda::Function", "CanaryJobFunction")
    alarm = _resource(template, "AWS::CloudWatch::Alarm", "CanaryFailingAlarm")["Properties"]
    assert {key: alarm[key] for key in ("Namespace", "MetricName", "Dimensions")} == {
        "Namespace": METRIC_NAMESPACE,
        "MetricName": "Success",
        "Dimensions": [{"Name": METRIC_DIMENSION, "Value": {"Ref": function_id}}],
    }
    assert (alarm["Statistic"], alarm["Period"]) == ("Minimum", 300)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert (alarm["DatapointsToAlarm"], alarm["EvaluationPeriods"]) == (2, 3)
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["OKActions"] == alarm["AlarmActions"]
    assert [_is_the_alarm_topic(cdk_template_json, a) for a in alarm["AlarmActions"]] == [True]


def test_reaper_reads_the_table_stream_through_the_ttl_filter(
    cdk_template_json: Templates,
) -> None:
    template = cdk_template_json(JOBS)
    mapping = only_resource(template, "AWS::Lambda::EventSourceMapping")["Properties"]
    (pattern,) = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert pattern == TTL_BLOB_REMOVAL_PATTERN
    stream = _published(cdk_template_json, mapping["EventSourceArn"])
    assert stream["Fn::GetAtt"][1] == "StreamArn"
    assert stream["Fn::GetAtt"][0].startswith("DataTable")


def test_reaper_reports_batch_item_failures_and_sends_given_up_batches_to_its_queue(
    cdk_template_json: Templates,
) -> None:
    template = cdk_template_json(JOBS)
    mapping = only_resource(template, "AWS::Lambda::EventSourceMapping")["Properties"]
    queue_id = _logical_id(template, "AWS::SQS::Queue", "ReaperFailedBatches")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 5
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}
    }


def test_reaper_queue_is_encrypted_and_refuses_plain_http(cdk_template_json: Templates) -> None:
    template = cdk_template_json(JOBS)
    queue = only_resource(template, "AWS::SQS::Queue")["Properties"]
    (deny,) = statements(
        only_resource(template, "AWS::SQS::QueuePolicy")["Properties"]["PolicyDocument"]
    )
    assert queue["KmsMasterKeyId"] == "alias/aws/sqs"
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 60 * 60
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_reaper_queue_alarm_fires_on_the_first_message_to_the_topic(
    cdk_template_json: Templates,
) -> None:
    template = cdk_template_json(JOBS)
    queue_id = _logical_id(template, "AWS::SQS::Queue", "ReaperFailedBatches")
    alarm = _resource(template, "AWS::CloudWatch::Alarm", "ReaperFailedBatchesAlarm")["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["EvaluationPeriods"] == 1
    assert [_is_the_alarm_topic(cdk_template_json, a) for a in alarm["AlarmActions"]] == [True]


def test_reaper_alarms_when_it_falls_six_hours_behind_the_stream(
    cdk_template_json: Templates,
) -> None:
    template = cdk_template_json(JOBS)
    function_id = _logical_id(template, "AWS::Lambda::Function", "ReaperJobFunction")
    alarm = _resource(template, "AWS::CloudWatch::Alarm", "ReaperFallingBehindAlarm")["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/Lambda",
        "IteratorAge",
        "Maximum",
    )
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "GreaterThanThreshold",
        6 * 60 * 60 * 1000,
    )
    assert (alarm["EvaluationPeriods"], alarm["Period"]) == (3, 300)
    assert [_is_the_alarm_topic(cdk_template_json, a) for a in alarm["AlarmActions"]] == [True]


def test_reaper_role_reads_one_stream_sends_to_its_queue_and_writes_its_logs(
    cdk_template_json: Templates,
) -> None:
    template = cdk_template_json(JOBS)
    policy = _resource(template, "AWS::IAM::Policy", "ReaperJobRole")["Properties"]
    granted = {
        " ".join(sorted(as_list(statement["Action"]))): statement["Resource"]
        for statement in statements(policy["PolicyDocument"])
    }
    stream = granted.pop("dynamodb:DescribeStream dynamodb:GetRecords dynamodb:GetShardIterator")
    queue_id = _logical_id(template, "AWS::SQS::Queue", "ReaperFailedBatches")
    log_group_id = _logical_id(template, "AWS::Logs::LogGroup", "ReaperJobLogs")
    assert _published(cdk_template_json, stream)["Fn::GetAtt"][1] == "StreamArn"
    assert granted == {
        "logs:CreateLogStream logs:PutLogEvents": {"Fn::GetAtt": [log_group_id, "Arn"]},
        "sqs:GetQueueAttributes sqs:GetQueueUrl sqs:SendMessage": {"Fn::GetAtt": [queue_id, "Arn"]},
        # ListStreams has no resource-level permissions (acknowledged in infra/reaper.py).
        "dynamodb:ListStreams": "*",
    }


def test_reaper_may_only_delete_objects_of_the_blob_bucket(cdk_template_json: Templates) -> None:
    role = _resource(cdk_template_json(JOBS), "AWS::IAM::Role", "ReaperJobRole")["Properties"]
    (attached,) = role["ManagedPolicyArns"]
    policy_id = _published(cdk_template_json, attached)["Ref"]
    policy = cdk_template_json(DATA)["Resources"][policy_id]["Properties"]
    bucket_id = _logical_id(cdk_template_json(DATA), "AWS::S3::Bucket", "DataBlobs")
    assert statements(policy["PolicyDocument"]) == [
        {
            "Action": "s3:DeleteObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/*"]]},
        }
    ]


def test_reaper_is_told_the_blob_bucket_name(cdk_template_json: Templates) -> None:
    function = _resource(cdk_template_json(JOBS), "AWS::Lambda::Function", "ReaperJobFunction")
    bucket = function["Properties"]["Environment"]["Variables"]["SPITO_BLOB_BUCKET"]
    assert _published(cdk_template_json, bucket)["Ref"].startswith("DataBlobs")


def test_a_reaped_body_stays_recoverable_as_long_as_the_table(cdk_template_json: Templates) -> None:
    bucket = _resource(cdk_template_json(DATA), "AWS::S3::Bucket", "DataBlobs")["Properties"]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": RECOVERY_DAYS}
