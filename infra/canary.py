"""The canary: a scheduled Lambda function that uses Spito through its public URL, like a user."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from .job_function import JobFunction
from .props import check_https_url

SOURCE = Path(__file__).resolve().parent.parent / "lambda_src" / "canary"
# Must match lambda_src/canary/handler.py, which publishes the metrics (Embedded Metric Format).
METRIC_NAMESPACE = "Spito/Canary"
METRIC_DIMENSION = "FunctionName"
STEPS = ("CreateLink", "FollowLink", "CreatePaste", "ReadPaste", "DeleteLink", "DeletePaste")
# Per request; six requests must fit in the function's timeout with room to spare.
REQUEST_TIMEOUT_SECONDS = 5


class Canary(Construct):
    """Every `interval`, a function creates a link and a paste through `public_url`, checks the
    redirect and the paste's bytes, and deletes both; its alarm tells `alarm_topic` when runs fail.

    This is the check that sees what users see: DNS, CloudFront, the ALB, the fleet, DynamoDB and
    S3 together. The function publishes `Success` (1/0) and a latency per step as CloudWatch
    metrics by printing them in Embedded Metric Format, so its role needs no CloudWatch
    permission at all: it can only write its own log group. It runs outside any VPC, its timeout
    (60 s) is shorter than the shortest interval, and a failed run is not retried (the next
    scheduled run is the retry).

    The alarm fires when 2 of the last 3 intervals had a failed run or no run at all (a canary
    that stops reporting is treated as failing), and tells the topic again when it recovers.

    Attributes: `function`, `role`, `log_group`, `rule`, `success_metric`, `alarm`.
    `STEPS` names the steps; each has a `<Step>Latency` metric (milliseconds) beside `Success`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        public_url: str,
        interval: Duration,
        alarm_topic: sns.ITopic,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        check_https_url("Canary", "public_url", public_url)
        if interval.to_minutes() < 1:
            raise ValueError("Canary: interval must be at least one minute")
        job = JobFunction(
            self,
            "Job",
            source=SOURCE,
            description="Checks Spito end to end through its public URL",
            environment={
                "SPITO_CANARY_URL": public_url,
                "SPITO_CANARY_TIMEOUT_SECONDS": str(REQUEST_TIMEOUT_SECONDS),
            },
            timeout=Duration.seconds(REQUEST_TIMEOUT_SECONDS * len(STEPS) + 30),
            log_retention=log_retention,
        )
        self.function, self.role, self.log_group = job.function, job.role, job.log_group
        self.function.configure_async_invoke(retry_attempts=0, max_event_age=interval)
        self.rule = events.Rule(
            self,
            "Schedule",
            description="Runs the Spito canary",
            schedule=events.Schedule.rate(interval),
            # A run that starts an interval late only overlaps the next one: drop it instead.
            targets=[
                targets.LambdaFunction(self.function, max_event_age=interval, retry_attempts=2)
            ],
        )
        self.success_metric = cloudwatch.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name="Success",
            dimensions_map={METRIC_DIMENSION: self.function.function_name},
            statistic="Minimum",
            period=interval,
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "FailingAlarm",
            metric=self.success_metric,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_description=(
                "Spito: the end-to-end canary failed (or did not run) in 2 of the last 3 periods; "
                "users are probably affected (docs/OPERATIONS.md: the canary)"
            ),
        )
        self.alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))
        self.alarm.add_ok_action(cloudwatch_actions.SnsAction(alarm_topic))
