"""Spito's CDK app: reads the config for the chosen stage and wires the stacks together."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass

from aws_cdk import App, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import CONTEXT_KEY, STAGE_CONTEXT_KEY, ConfigError, SpitoConfig, load_config
from stacks.api_stack import ApiStack
from stacks.data_stack import DataStack
from stacks.network_stack import NetworkStack


@dataclass(frozen=True)
class SpitoStacks:
    """The stacks of one stage, for other stacks (and tests) to reach into."""

    network: NetworkStack
    data: DataStack
    api: ApiStack


def add_stage(app: App, config: SpitoConfig) -> SpitoStacks:
    """Add every stack of one stage to `app`."""
    prefix = f"Spito-{config.stage}"
    network = NetworkStack(app, f"{prefix}-Network", config=config)
    data = DataStack(app, f"{prefix}-Data", config=config)
    api = ApiStack(
        app,
        f"{prefix}-Api",
        config=config,
        vpc=network.vpc,
        table=data.table,
        blob_bucket=data.blob_bucket,
        data_access_policy=data.data.service_access_policy,
    )
    for stack in (network, data, api):
        Tags.of(stack).add("project", "spito")
        Tags.of(stack).add("stage", config.stage)
    return SpitoStacks(network=network, data=data, api=api)


def build(app: App, configs: Iterable[SpitoConfig]) -> list[SpitoStacks]:
    """Add every stage in `configs` to `app` and check it all with cdk-nag at synth."""
    stages = [add_stage(app, config) for config in configs]
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stages


def read_config(app: App) -> SpitoConfig:
    context = {
        CONTEXT_KEY: app.node.try_get_context(CONTEXT_KEY),
        STAGE_CONTEXT_KEY: app.node.try_get_context(STAGE_CONTEXT_KEY),
    }
    return load_config(context)


def main() -> None:
    app = App()
    try:
        config = read_config(app)
    except ConfigError as error:
        sys.exit(str(error))
    build(app, [config])
    app.synth()


if __name__ == "__main__":
    main()
