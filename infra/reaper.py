"""The reaper: a Lambda function that deletes the S3 body of each large paste TTL removed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .job_function import JobFunction
from .nag import acknowledge
from .props import check_range

SOURCE = Path(__file__).resolve().parent.parent / "lambda_src" / "reaper"
BLOB_KEY_ATTRIBUTE = "blob_key"

# Only removals made by DynamoDB's TTL process (not deletes through the API, which the service
# handles itself) of items whose body lives in S3. Lambda evaluates this before invoking, so the
# function runs only for records it has work for. The handler checks the same again.
TTL_BLOB_REMOVAL_PATTERN: dict[str, Any] = {
    "eventName": ["REMOVE"],
    "userIdentity": {"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]},
    "dynamodb": {"OldImage": {BLOB_KEY_ATTRIBUTE: {"S": [{"exists": True}]}}},
}


class BlobDeletePolicy(Construct):
    """A managed policy allowing only `s3:DeleteObject` on the objects of `bucket`.

    Create it in the bucket's stack and hand it to `Reaper`: the policy then names the bucket by
    a local reference, so its one unavoidable wildcard (object ARNs are granted by pattern) is
    acknowledged by the bucket's own logical id, and the reaper's stack only attaches it.
    Version-less deletes only: on a versioned bucket they leave a delete marker, and the bucket's
    lifecycle expires the old version later, so a wrong delete stays recoverable for a while.

    Attributes: `bucket`, `policy`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, bucket: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        resource = bucket.node.default_child
        if Stack.of(bucket) is not Stack.of(self) or not isinstance(resource, s3.CfnBucket):
            raise ValueError("BlobDeletePolicy: create it in the stack that defines the bucket")
        self.bucket = bucket
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="Spito reaper: delete the objects of the blob bucket, nothing else",
            statements=[
                iam.PolicyStatement(
                    actions=["s3:DeleteObject"], resources=[bucket.arn_for_objects("*")]
                )
            ],
        )
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(resource)}.Arn>/*]",
            "The reaper deletes whichever paste body a TTL removal names: object ARNs can only "
            "be granted by pattern. The action is s3:DeleteObject alone, on this one bucket.",
        )


class Reaper(Construct):
    """A function on the table's stream that deletes the S3 bodies of pastes TTL removed.

    Without it, every expired large paste would leave its object behind and the bucket would
    grow forever. It reads the stream through an event filter (`TTL_BLOB_REMOVAL_PATTERN`),
    reports batch item failures so a failed record is retried without redoing the ones before
    it, splits failing batches, and after `retry_attempts` sends the failed batch's description
    to an SQS queue; an alarm tells `alarm_topic` as soon as that queue holds anything, and
    another when the function falls more than `max_lag_hours` behind the stream (records older
    than the stream's 24 h retention would be lost without reaching the queue).

    Its role may only read this table's stream, delete objects in the blob bucket (through
    `blob_delete`, a `BlobDeletePolicy`), send to its queue and write its own log group.

    Attributes: `function`, `role`, `log_group`, `failed_batches` (the queue),
    `failed_batches_alarm`, `falling_behind_alarm`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        blob_delete: BlobDeletePolicy,
        alarm_topic: sns.ITopic,
        log_retention: logs.RetentionDays,
        retry_attempts: int = 5,
        batch_size: int = 100,
        max_lag_hours: int = 6,
    ) -> None:
        super().__init__(scope, construct_id)
        # The stream event source's limits (AWS Lambda API Reference, CreateEventSourceMapping:
        # BatchSize up to 10,000 for DynamoDB streams; MaximumRetryAttempts up to 10,000).
        check_range("Reaper", "batch_size", batch_size, 1, 10_000, "a DynamoDB stream batch")
        check_range("Reaper", "retry_attempts", retry_attempts, 0, 10_000, "Lambda's retries")
        if not 1 <= max_lag_hours <= 12:
            raise ValueError("Reaper: max_lag_hours must be 1..12, well inside the 24 h stream")
        if table.table_stream_arn is None:
            raise ValueError("Reaper: the table needs a stream (NEW_AND_OLD_IMAGES)")
        job = JobFunction(
            self,
            "Job",
            source=SOURCE,
            description="Deletes the S3 body of each large paste DynamoDB's TTL removed",
            environment={"SPITO_BLOB_BUCKET": blob_delete.bucket.bucket_name},
            timeout=Duration.minutes(1),
            log_retention=log_retention,
        )
        self.function, self.role, self.log_group = job.function, job.role, job.log_group
        self.role.add_managed_policy(blob_delete.policy)
        self.failed_batches = sqs.Queue(
            self,
            "FailedBatches",
            # AWS-managed KMS key: its key policy lets the function's role send, no grant needed.
            encryption=sqs.QueueEncryption.KMS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.function.add_event_source(
            event_sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=batch_size,
                filters=[lambda_.FilterCriteria.filter(TTL_BLOB_REMOVAL_PATTERN)],
                report_batch_item_failures=True,
                bisect_batch_on_error=True,
                retry_attempts=retry_attempts,
                on_failure=event_sources.SqsDlq(self.failed_batches),
            )
        )
        self.failed_batches_alarm = cloudwatch.Alarm(
            self,
            "FailedBatchesAlarm",
            metric=self.failed_batches.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                "Spito: the reaper gave up on stream records; their paste bodies are still in S3 "
                "(docs/OPERATIONS.md: the reaper)"
            ),
        )
        # Records older than the stream's 24 h retention vanish without reaching the queue, so a
        # reaper that stopped keeping up (throttled, disabled) must be noticed well before that.
        self.falling_behind_alarm = cloudwatch.Alarm(
            self,
            "FallingBehindAlarm",
            metric=self.function.metric(
                "IteratorAge", period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=Duration.hours(max_lag_hours).to_milliseconds(),
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"Spito: the reaper is more than {max_lag_hours} h behind the table's stream; "
                "records older than 24 h are lost (docs/OPERATIONS.md: the reaper)"
            ),
        )
        for alarm in (self.failed_batches_alarm, self.falling_behind_alarm):
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))
            alarm.add_ok_action(cloudwatch_actions.SnsAction(alarm_topic))
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "dynamodb:ListStreams, which Lambda needs to read a table's stream, has no "
            "resource-level permissions; reading records (DescribeStream, GetRecords, "
            "GetShardIterator) is granted on this one stream only.",
        )
        acknowledge(
            self.failed_batches,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter destination of the reaper's stream; "
            "nothing consumes it, so a dead-letter queue behind it would never receive anything.",
        )
