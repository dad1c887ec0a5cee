"""Alarms on what users feel, sent to an encrypted, TLS-only topic, and a dashboard of the same."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from infra.config import load_config
from tests.infra.test_config import context

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

Templates = Callable[[str], "Template"]
STAGES = ["dev", "prod"]
ACCOUNTS = {"dev": "111111111111", "prod": "222222222222"}
REMOVAL = {"dev": "Delete", "prod": "Retain"}


def _api(cdk_template: Templates, stage: str = "dev") -> Template:
    return cdk_template(f"Spito-{stage}-Api")


def _metric_names(alarm: dict[str, Any]) -> set[str]:
    properties = alarm["Properties"]
    if "MetricName" in properties:
        return {properties["MetricName"]}
    return {
        query["MetricStat"]["Metric"]["MetricName"]
        for query in properties["Metrics"]
        if "MetricStat" in query
    }


def _alarm_watching(template: Template, metric_names: set[str]) -> dict[str, Any]:
    (alarm,) = [
        alarm
        for alarm in template.find_resources("AWS::CloudWatch::Alarm").values()
        if _metric_names(alarm) == metric_names
    ]
    return alarm


def test_alarms_cover_5xx_unhealthy_hosts_latency_and_throttles(cdk_template: Templates) -> None:
    alarms = _api(cdk_template).find_resources("AWS::CloudWatch::Alarm")
    watched = {frozenset(_metric_names(alarm)) for alarm in alarms.values()}
    assert {
        frozenset({"RequestCount", "HTTPCode_ELB_5XX_Count"}),
        frozenset({"HTTPCode_Target_5XX_Count"}),
        frozenset({"UnHealthyHostCount"}),
        frozenset({"TargetResponseTime"}),
        frozenset({"ReadThrottleEvents", "WriteThrottleEvents"}),
    } <= watched


def test_latency_alarm_watches_p99_against_the_configured_threshold(
    cdk_template: Templates,
) -> None:
    alarm = _alarm_watching(_api(cdk_template), {"TargetResponseTime"})
    assert alarm["Properties"]["ExtendedStatistic"] == "p99"
    expected = load_config(context(), "dev").monitoring.p99_latency_seconds
    assert alarm["Properties"]["Threshold"] == expected


def test_target_5xx_alarm_uses_the_configured_count(cdk_template: Templates) -> None:
    alarm = _alarm_watching(_api(cdk_template), {"HTTPCode_Target_5XX_Count"})
    expected = load_config(context(), "dev").monitoring.target_5xx_per_5_minutes
    assert alarm["Properties"]["Threshold"] == expected
    assert alarm["Properties"]["Period"] == 300


def test_fleet_alarms_notify_the_alarm_topic_on_alarm_and_recovery(
    cdk_template: Templates,
) -> None:
    template = _api(cdk_template)
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    fleet_alarms = [
        alarm
        for logical_id, alarm in template.find_resources("AWS::CloudWatch::Alarm").items()
        if logical_id.startswith("Alarms")
    ]
    assert len(fleet_alarms) == 5
    for alarm in fleet_alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]


@pytest.mark.parametrize("stage", STAGES)
def test_alarm_topic_is_encrypted_with_a_rotated_key_that_follows_the_stage(
    stage: str, cdk_template: Templates
) -> None:
    template = _api(cdk_template, stage)
    (key_id,) = template.find_resources(
        "AWS::KMS::Key",
        {
            "DeletionPolicy": REMOVAL[stage],
            "UpdateReplacePolicy": REMOVAL[stage],
            "Properties": {"EnableKeyRotation": True},
        },
    )
    template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}
    )


@pytest.mark.parametrize("stage", STAGES)
def test_cloudwatch_may_use_the_topic_key_only_for_this_accounts_alarms(
    stage: str, cdk_template: Templates
) -> None:
    account = ACCOUNTS[stage]
    (key,) = _api(cdk_template, stage).find_resources("AWS::KMS::Key").values()
    cloudwatch = [
        statement
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if statement["Principal"].get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert cloudwatch == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:eu-west-1:{account}:alarm:*"},
            },
        }
    ]


def _key_policy(template: Template) -> list[dict[str, Any]]:
    (key,) = template.find_resources("AWS::KMS::Key").values()
    statements: list[dict[str, Any]] = key["Properties"]["KeyPolicy"]["Statement"]
    return statements


@pytest.mark.parametrize("stage", STAGES)
def test_topic_key_policy_names_no_principal_that_may_not_exist_yet(
    stage: str, cdk_template: Templates
) -> None:
    # KMS refuses a key policy naming a missing principal; service-linked roles appear only
    # once the account first uses their service (the first deploy in a fresh account).
    principals = json.dumps([s["Principal"] for s in _key_policy(_api(cdk_template, stage))])
    assert "aws-service-role" not in principals


@pytest.mark.parametrize("stage", STAGES)
def test_auto_scaling_may_use_the_topic_key_through_sns_as_its_service_linked_role(
    stage: str, cdk_template: Templates
) -> None:
    account = ACCOUNTS[stage]
    role = (
        f"arn:aws:iam::{account}:role/aws-service-role/autoscaling.amazonaws.com/"
        "AWSServiceRoleForAutoScaling"
    )
    assert {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {
            "ArnEquals": {"aws:PrincipalArn": role},
            "StringEquals": {
                "kms:CallerAccount": account,
                "kms:ViaService": "sns.eu-west-1.amazonaws.com",
            },
        },
    } in _key_policy(_api(cdk_template, stage))


@pytest.mark.parametrize("stage", STAGES)
def test_alarm_topic_policy_lets_this_accounts_alarms_publish(
    stage: str, cdk_template: Templates
) -> None:
    # The topic policy replaces SNS's default one: without this Allow every alarm action fails.
    account = ACCOUNTS[stage]
    template = _api(cdk_template, stage)
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    (policy,) = template.find_resources("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {
        "Sid": "CloudWatchAlarmsOfThisAccountPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": {"Ref": topic_id},
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:eu-west-1:{account}:alarm:*"},
        },
    } in statements


def test_alarm_topic_refuses_publishing_without_tls(cdk_template: Templates) -> None:
    from aws_cdk.assertions import Match

    _api(cdk_template).has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_dashboard_shows_the_alarmed_metrics(cdk_template: Templates) -> None:
    (dashboard,) = _api(cdk_template).find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "HTTPCode_ELB_5XX_Count",
        "HTTPCode_Target_5XX_Count",
        "UnHealthyHostCount",
        "TargetResponseTime",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
    ):
        assert metric in body
