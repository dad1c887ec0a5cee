"""What every Spito stack shares: a concrete environment and pinned availability zones."""

from __future__ import annotations

from aws_cdk import Environment
from constructs import Construct

from infra.config import SpitoConfig
from infra.zoned_stack import ZonedStack


class SpitoStack(ZonedStack):
    """A stack in the config's account and region whose zones come from the config.

    Pinning the zones (instead of a context lookup) keeps synth offline and deterministic.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: SpitoConfig,
        description: str,
        cross_region_references: bool = False,
        region: str | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=region or config.region),
            description=description,
            termination_protection=config.retain_data,
            cross_region_references=cross_region_references,
            availability_zones=config.availability_zones,
        )
