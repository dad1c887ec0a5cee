"""Config values (plain JSON types) as the CDK's enums."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from infra.config import LOG_RETENTION_DAYS, SpitoConfig


def retention(days: int) -> logs.RetentionDays:
    """The retention for a day count `infra.config` has already checked."""
    return logs.RetentionDays[LOG_RETENTION_DAYS[days]]


def removal_policy(config: SpitoConfig) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
