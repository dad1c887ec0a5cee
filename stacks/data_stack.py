"""Spito's stateful resources, in a stack of their own so the fleet can be replaced freely."""

from __future__ import annotations

from aws_cdk import CfnOutput
from constructs import Construct

from infra.config import SpitoConfig
from infra.data import DataStore
from stacks.base import SpitoStack
from stacks.conversions import removal_policy


class DataStack(SpitoStack):
    """The table (with its stream) and the blob bucket. Attributes: `table`, `blob_bucket`."""

    def __init__(self, scope: Construct, construct_id: str, *, config: SpitoConfig) -> None:
        super().__init__(
            scope, construct_id, config=config, description=f"Spito {config.stage}: data"
        )
        self.data = DataStore(
            self,
            "Data",
            removal_policy=removal_policy(config),
            deletion_protection=config.data.deletion_protection,
        )
        self.table = self.data.table
        self.blob_bucket = self.data.blob_bucket
        CfnOutput(self, "TableName", value=self.table.table_name)
        CfnOutput(self, "BlobBucketName", value=self.blob_bucket.bucket_name)
