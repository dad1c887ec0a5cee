"""Spito's Lambda side jobs: the end-to-end canary and the large-paste reaper."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.canary import Canary
from infra.config import SpitoConfig
from infra.reaper import BlobDeletePolicy, Reaper
from stacks.base import SpitoStack
from stacks.conversions import retention


class JobsStack(SpitoStack):
    """The canary (needs the public URL, so it deploys after the edge) and the reaper (reads the
    table's stream, deletes from the blob bucket), both alarming to the fleet's alarm topic.

    In a stack of their own so their code deploys without touching the data or the fleet.

    Attributes: `canary`, `reaper`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: SpitoConfig,
        public_url: str,
        table: dynamodb.ITable,
        blob_bucket: s3.IBucket,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"Spito {config.stage}: the end-to-end canary and the large-paste reaper",
        )
        log_retention = retention(config.monitoring.log_retention_days)
        self.canary = Canary(
            self,
            "Canary",
            public_url=public_url,
            interval=Duration.minutes(config.monitoring.canary_interval_minutes),
            alarm_topic=alarm_topic,
            log_retention=log_retention,
        )
        # In the bucket's stack, so the policy names the bucket by a local reference.
        blob_delete = BlobDeletePolicy(
            Stack.of(blob_bucket), "ReaperBlobDelete", bucket=blob_bucket
        )
        self.reaper = Reaper(
            self,
            "Reaper",
            table=table,
            blob_delete=blob_delete,
            alarm_topic=alarm_topic,
            log_retention=log_retention,
        )
        CfnOutput(self, "CanaryFunctionName", value=self.canary.function.function_name)
        CfnOutput(self, "CanaryLogGroup", value=self.canary.log_group.log_group_name)
        CfnOutput(self, "ReaperFailedBatchesQueueUrl", value=self.reaper.failed_batches.queue_url)
