"""Alarms on what users feel, sent to an encrypted, TLS-only topic, and a dashboard of the same."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.infra.helpers import only_resource, resources_of_type, statements

Templates = Callable[[str], dict[str, Any]]


def _metric_names(alarm: dict[str, Any]) -> set[str]:
    properties = alarm["Properties"]
    if "MetricName" in properties:
        return {properties["MetricName"]}
    return {
        query["MetricStat"]["Metric"]["MetricName"]
        for query in properties["Metrics"]
        if "MetricStat" in query
    }


@pytest.fixture(scope="module")
def api(cdk_template_json: Templates) -> dict[str, Any]:
    return cdk_template_json("Spito-dev-Api")


def test_alarms_cover_5xx_unhealthy_hosts_latency_and_throttles(api: dict[str, Any]) -> None:
    alarms = resources_of_type(api, "AWS::CloudWatch::Alarm")
    watched = {frozenset(_metric_names(alarm)) for alarm in alarms.values()}
    assert {
        frozenset({"RequestCount", "HTTPCode_ELB_5XX_Count"}),
        frozenset({"HTTPCode_Target_5XX_Count"}),
        frozenset({"UnHealthyHostCount"}),
        frozenset({"TargetResponseTime"}),
        frozenset({"ReadThrottleEvents", "WriteThrottleEvents"}),
    } <= watched


def test_latency_alarm_watches_p99(api: dict[str, Any]) -> None:
    (alarm,) = [
        a
        for a in resources_of_type(api, "AWS::CloudWatch::Alarm").values()
        if _metric_names(a) == {"TargetResponseTime"}
    ]
    assert alarm["Properties"]["ExtendedStatistic"] == "p99"


def test_fleet_alarms_notify_the_alarm_topic(api: dict[str, Any]) -> None:
    topic_id = next(iter(resources_of_type(api, "AWS::SNS::Topic")))
    fleet_alarms = [
        alarm
        for logical_id, alarm in resources_of_type(api, "AWS::CloudWatch::Alarm").items()
        if logical_id.startswith("Alarms")
    ]
    assert len(fleet_alarms) == 5
    for alarm in fleet_alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


def test_alarm_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use(
    api: dict[str, Any],
) -> None:
    topic = only_resource(api, "AWS::SNS::Topic")["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = api["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    services = [s.get("Principal", {}).get("Service") for s in statements(key["KeyPolicy"])]
    assert "cloudwatch.amazonaws.com" in services


def test_alarm_topic_refuses_publishing_without_tls(api: dict[str, Any]) -> None:
    policy = only_resource(api, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    denies = [s for s in statements(policy) if s["Effect"] == "Deny"]
    assert [s["Condition"] for s in denies] == [{"Bool": {"aws:SecureTransport": "false"}}]


def test_dashboard_shows_the_alarmed_metrics(api: dict[str, Any]) -> None:
    dashboard = only_resource(api, "AWS::CloudWatch::Dashboard")["Properties"]
    body = json.dumps(dashboard["DashboardBody"])
    for metric in (
        "HTTPCode_ELB_5XX_Count",
        "HTTPCode_Target_5XX_Count",
        "UnHealthyHostCount",
        "TargetResponseTime",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
    ):
        assert metric in body
