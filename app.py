"""Spito's CDK app: reads the config for the chosen stage and wires the stacks together."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, CrossStackReferences, ReferenceStrength, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import (
    CONTEXT_KEY,
    DEFAULT_STAGE,
    STAGE_CONTEXT_KEY,
    ConfigError,
    SpitoConfig,
    load_config,
)
from infra.runtime_rules import AwsRuntimeRules
from infra.service_bundle import WheelhouseError
from stacks.api_stack import ApiStack
from stacks.certificate_stack import CertificateStack
from stacks.data_stack import DataStack
from stacks.edge_global_stack import EdgeGlobalStack, needs_edge_global_stack
from stacks.edge_stack import EdgeStack
from stacks.jobs_stack import JobsStack
from stacks.network_stack import NetworkStack

# The web app's build (`make web`); the context key lets tests synthesize against a fixture.
WEB_DIST = Path(__file__).resolve().parent / "web" / "dist"
WEB_DIST_CONTEXT_KEY = "spito:web_dist"


@dataclass(frozen=True)
class SpitoStacks:
    """The stacks of one stage, for other stacks (and tests) to reach into."""

    network: NetworkStack
    data: DataStack
    api: ApiStack
    edge: EdgeStack
    jobs: JobsStack
    certificate: CertificateStack | None  # only with a custom domain
    edge_global: EdgeGlobalStack | None  # only with a custom domain or the WAF


def add_stage(app: App, config: SpitoConfig) -> SpitoStacks:
    """Add every stack of one stage to `app`."""
    prefix = f"Spito-{config.stage}"
    data = DataStack(app, f"{prefix}-Data", config=config)
    network = NetworkStack(app, f"{prefix}-Network", config=config, data_buckets=[data.blob_bucket])
    certificate = (
        CertificateStack(app, f"{prefix}-Certificate", config=config)
        if config.domain.domain_name
        else None
    )
    api = ApiStack(
        app,
        f"{prefix}-Api",
        config=config,
        vpc=network.vpc,
        fleet_subnets=network.network.private_subnets,
        table=data.table,
        blob_bucket=data.blob_bucket,
        data_access_policy=data.data.service_access_policy,
        certificate=certificate.certificate if certificate else None,
    )
    edge_global = (
        EdgeGlobalStack(app, f"{prefix}-EdgeGlobal", config=config)
        if needs_edge_global_stack(config)
        else None
    )
    edge = EdgeStack(
        app,
        f"{prefix}-Edge",
        config=config,
        web_dist=Path(app.node.try_get_context(WEB_DIST_CONTEXT_KEY) or WEB_DIST),
        load_balancer=api.load_balancer,
        load_balancer_security_group=api.fleet.load_balancer_security_group,
        vpc_id=network.vpc.vpc_id,
        viewer_certificate=edge_global.viewer_certificate if edge_global else None,
        web_acl_arn=edge_global.web_acl_arn if edge_global else None,
    )
    jobs = JobsStack(
        app,
        f"{prefix}-Jobs",
        config=config,
        public_url=edge.public_url,
        table=data.table,
        blob_bucket=data.blob_bucket,
        alarm_topic=api.alarm_topic,
    )
    # The canary calls the public URL; with a custom domain that is no reference to the edge, but
    # it still must not run before the edge exists.
    jobs.add_stack_dependency(edge)
    stacks = SpitoStacks(
        network=network,
        data=data,
        api=api,
        edge=edge,
        jobs=jobs,
        certificate=certificate,
        edge_global=edge_global,
    )
    for stack in (network, data, api, edge, jobs, certificate, edge_global):
        if stack is not None:
            Tags.of(stack).add("project", "spito")
            Tags.of(stack).add("stage", config.stage)
    return stacks


def use_strong_references(app: App) -> None:
    """Make every cross-stack reference in `app` strong; call it before adding any stack.

    Strong means Fn::ImportValue within a region, and the CDK's ExportWriter/ExportReader (SSM
    parameters) from us-east-1. A weak Fn::GetStackOutput is resolved only when its consumer
    deploys, and the CDK CLI skips a stack whose template is unchanged, so a replaced ALB or
    certificate would silently never reach CloudFront. With strong references the producer's
    deploy fails instead ("export ... is in use"), at the price that replacing a referenced
    resource takes the CDK's two-step export migration. Set here rather than in cdk.json, so no
    context value can weaken it.
    """
    CrossStackReferences.of(app).consume(ReferenceStrength.STRONG)


def build(app: App, configs: Iterable[SpitoConfig]) -> list[SpitoStacks]:
    """Add every stage in `configs` to `app` and check it all at synth: cdk-nag's AwsSolutions
    pack, and the AWS runtime rules a real account enforces (infra/runtime_rules)."""
    use_strong_references(app)
    stages = [add_stage(app, config) for config in configs]
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), AwsRuntimeRules())
    return stages


def new_app(*, context: Mapping[str, Any] | None = None, outdir: str | None = None) -> App:
    """An App as Spito synthesizes it, with the CDK's built-in template validation off.

    That validation is cfn-lint's rule set run a second time (a WASM build inside aws-cdk-lib), and
    its start-up alone was most of an empty app's synth here (docs/BENCHMARKS.md). cfn-lint itself
    checks every template in `make synth`, `make test`, `make diff` and `make deploy`, with its
    exceptions in each resource's Metadata: one linter, and one way to silence a finding.
    """
    return App(
        context=dict(context) if context is not None else None,
        outdir=outdir,
        builtin_cloud_formation_validation=False,
    )


def read_configs(app: App) -> list[SpitoConfig]:
    """The config of each stage named by `-c stage=...`: one, or several separated by commas.

    Several stages in one app cost one synth instead of one each; `make diff` synthesizes every
    stage of cdk.json this way (`-c stage=dev,prod`), and their stack names never collide.
    """
    context = {CONTEXT_KEY: app.node.try_get_context(CONTEXT_KEY)}
    stages = str(app.node.try_get_context(STAGE_CONTEXT_KEY) or DEFAULT_STAGE).split(",")
    return [load_config(context, stage.strip()) for stage in stages]


def main() -> None:
    app = new_app()
    try:
        configs = read_configs(app)
        build(app, configs)
    except (ConfigError, WheelhouseError) as error:
        # What to fix, without a traceback: a config value, or `make wheelhouse`.
        sys.exit(str(error))
    app.synth()


if __name__ == "__main__":
    main()
