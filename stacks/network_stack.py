"""The VPC Spito's fleet runs in."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import SpitoConfig
from infra.network import Network
from stacks.base import SpitoStack
from stacks.conversions import removal_policy, retention


class NetworkStack(SpitoStack):
    """The network: VPC, subnets, NAT, endpoints and flow logs. Attribute: `vpc`.

    `data_buckets` are the buckets the fleet may use through the S3 endpoint (the Data stack's).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: SpitoConfig,
        data_buckets: Sequence[s3.IBucket],
    ) -> None:
        super().__init__(
            scope, construct_id, config=config, description=f"Spito {config.stage}: network"
        )
        self.network = Network(
            self,
            "Network",
            cidr=config.network.cidr,
            availability_zones=config.availability_zones,
            nat_gateways=config.network.nat_gateways,
            interface_endpoints=config.network.interface_endpoints,
            data_buckets=data_buckets,
            flow_log_retention=retention(config.network.flow_log_retention_days),
            removal_policy=removal_policy(config),
        )
        self.vpc = self.network.vpc
