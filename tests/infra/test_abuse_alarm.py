"""The alarm on items held after reports: what it counts, how often, and whom it tells; and that
the running service writes the very log line its metric filter counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from devstack.stack import ServiceProcess
from infra.abuse_alarm import HELD_LOG_MESSAGE, METRIC_NAME, HeldItemsAlarm
from tests.service.helpers import create_link

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

Templates = Callable[[str], "Template"]


def test_held_items_are_counted_per_hour_and_alarm_the_alarm_topic(
    cdk_template: Templates,
) -> None:
    template = cdk_template("Spito-dev-Api")
    (metric_filter,) = template.find_resources("AWS::Logs::MetricFilter").values()
    properties = metric_filter["Properties"]
    assert properties["FilterPattern"] == f'{{ $.message = "{HELD_LOG_MESSAGE}" }}'
    # The service's log group, as the stack's ServiceLogGroup output names it.
    service_log_group = template.to_json()["Outputs"]["ServiceLogGroup"]["Value"]
    assert properties["LogGroupName"] == service_log_group
    assert properties["MetricTransformations"] == [
        {"MetricName": METRIC_NAME, "MetricNamespace": "Spito/dev", "MetricValue": "1"}
    ]
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    (alarm,) = [
        alarm["Properties"]
        for alarm in template.find_resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == METRIC_NAME
    ]
    assert alarm["Namespace"] == "Spito/dev"
    assert alarm["Statistic"] == "Sum"
    assert alarm["Period"] == 3600
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    assert alarm["OKActions"] == [{"Ref": topic_id}]


def test_two_stages_in_one_account_and_region_count_their_held_items_apart() -> None:
    # A metric is (namespace, name, dimensions) per account and region: were both stages' filters
    # to publish the same one, a hold in one stage would alarm the other too.
    from aws_cdk import App, Environment, Stack
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_sns as sns
    from aws_cdk.assertions import Template

    app = App()
    env = Environment(account="111111111111", region="eu-west-1")
    stacks = []
    for stage in ("dev", "integ"):
        stack = Stack(app, f"Spito-{stage}-Api", env=env)
        HeldItemsAlarm(
            stack,
            "HeldItemsAlarm",
            stage=stage,
            log_group=logs.LogGroup(stack, "Logs"),
            topic=sns.Topic(stack, "Topic"),
        )
        stacks.append(stack)
    metrics = set()
    for stack in stacks:
        template = Template.from_stack(stack)
        (alarm,) = template.find_resources("AWS::CloudWatch::Alarm").values()
        (metric_filter,) = template.find_resources("AWS::Logs::MetricFilter").values()
        (published,) = metric_filter["Properties"]["MetricTransformations"]
        watched = (alarm["Properties"]["Namespace"], alarm["Properties"]["MetricName"])
        assert watched == (published["MetricNamespace"], published["MetricName"])
        metrics.add(watched)
    assert len(metrics) == 2


def test_the_service_logs_the_line_the_filter_counts_when_reports_hold_an_item(
    start_service: Callable[..., ServiceProcess],
) -> None:
    service = start_service(SPITO_REPORT_HOLD_THRESHOLD="1")
    with httpx.Client(base_url=service.url) as client:
        link = create_link(client)
        report = {"id": link["id"], "reason": "malware"}
        assert client.post("/api/v1/reports", json=report).status_code == 202
    service.stop()
    assert service.log is not None
    lines: list[dict[str, Any]] = []
    for line in service.log.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    assert [line for line in lines if line.get("message") == HELD_LOG_MESSAGE]
