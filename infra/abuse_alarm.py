"""An alarm on items held after reports: operators hear of them without polling spito-admin.

The service writes one log line with the message `HELD_LOG_MESSAGE` each time reports hold an
item (service/reports_api.py); a metric filter on the service's log group counts them as
`ItemsHeld` in the stage's own namespace `Spito/<stage>`, and the alarm tells the alarm topic
when an hour holds at least `held_per_hour` of them, and again when an hour passes without any.
A held item stays offline until an operator decides (docs/OPERATIONS.md#abuse), so the alarm
asks for a review, not for a fix. Metric filters publish only when a log event matches; hours
without one have no data, which counts as "not breaching":
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

# The service's log line, as service/reports_api.py writes it (its test reads the real line).
HELD_LOG_MESSAGE = "item held after reports"
NAMESPACE = "Spito"
METRIC_NAME = "ItemsHeld"


def metric_namespace(stage: str) -> str:
    """`Spito/<stage>`: a metric is its namespace, name and dimensions within an account and
    region, and a metric filter's dimensions are fields of the log event, not constants
    (AWS::Logs::MetricFilter MetricTransformation, Dimensions: "The fields to use as dimensions";
    CloudWatch Logs User Guide, "Publishing dimensions with metrics from values in JSON or
    space-delimited log events"); so stages sharing an account and region keep their counts
    apart by namespace, and one stage's held items never set off another's alarm."""
    if not stage or not stage.replace("-", "").isalnum():
        raise ValueError(f"HeldItemsAlarm: stage={stage!r} must be letters, digits and '-'")
    return f"{NAMESPACE}/{stage}"


class HeldItemsAlarm(Construct):
    """The metric filter counting held items, and the alarm on their count per hour.

    Props (keyword-only): `stage` (names the metric's namespace), `log_group` (the service's),
    `topic` (where the alarm goes), `held_per_hour` (1 or more).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        log_group: logs.ILogGroup,
        topic: sns.ITopic,
        held_per_hour: int = 1,
    ) -> None:
        super().__init__(scope, construct_id)
        namespace = metric_namespace(stage)
        if held_per_hour < 1:
            raise ValueError(f"held_per_hour={held_per_hour}: use 1 or more held items per hour")
        metric_filter = logs.MetricFilter(
            self,
            "HeldItems",
            log_group=log_group,
            metric_namespace=namespace,
            metric_name=METRIC_NAME,
            filter_pattern=logs.FilterPattern.string_value("$.message", "=", HELD_LOG_MESSAGE),
            metric_value="1",
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "Alarm",
            metric=metric_filter.metric(statistic="Sum", period=Duration.hours(1)),
            threshold=held_per_hour,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"Spito: {held_per_hour} or more items held after reports in an hour; review "
                "them with spito-admin reports --pending (docs/OPERATIONS.md#abuse)"
            ),
        )
        self.alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        self.alarm.add_ok_action(cloudwatch_actions.SnsAction(topic))
