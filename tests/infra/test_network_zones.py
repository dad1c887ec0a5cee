"""A reused Network synthesizes with no context lookup: `missing` stays empty in manifest.json
(what the CDK CLI would otherwise answer with AWS calls), in an environment-agnostic stack and in
a ZonedStack with an explicit account and region; a plain explicit-env Stack is refused with the
fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ZONES = ["eu-central-1a", "eu-central-1b"]
ENV = {"account": "123456789012", "region": "eu-central-1"}


def _network(stack: Any) -> None:
    from aws_cdk import RemovalPolicy
    from aws_cdk import aws_logs as logs

    from infra.network import Network

    Network(
        stack,
        "Network",
        cidr="10.9.0.0/16",
        availability_zones=ZONES,
        nat_gateways=1,
        interface_endpoints=["logs"],
        data_buckets=[],
        flow_log_retention=logs.RetentionDays.ONE_WEEK,
        removal_policy=RemovalPolicy.DESTROY,
    )


def _missing(outdir: Path, make_stack: Any) -> list[Any]:
    from aws_cdk import App

    app = App(outdir=str(outdir))
    _network(make_stack(app))
    app.synth()
    manifest = json.loads((outdir / "manifest.json").read_text())
    return list(manifest.get("missing", []))


def test_a_network_in_an_environment_agnostic_stack_needs_no_lookup(tmp_path: Path) -> None:
    from aws_cdk import Stack

    assert _missing(tmp_path, lambda app: Stack(app, "Agnostic")) == []


def test_a_network_in_a_zoned_stack_with_an_explicit_env_needs_no_lookup(tmp_path: Path) -> None:
    from infra.zoned_stack import ZonedStack

    def make(app: Any) -> Any:
        return ZonedStack(app, "Zoned", env=ENV, availability_zones=ZONES)

    assert _missing(tmp_path, make) == []


def test_a_network_in_a_plain_stack_with_an_explicit_env_is_refused_with_the_fix() -> None:
    from aws_cdk import App, Stack

    with pytest.raises(
        ValueError,
        match=r"Network: stack Plain has an explicit account and region, so ec2.Vpc would look "
        r"its availability zones up at synth .* build it as ZonedStack\(\.\.\., "
        r"availability_zones=\['eu-central-1a', 'eu-central-1b'\]\)",
    ):
        _network(Stack(App(), "Plain", env=ENV))


def test_a_plain_stack_whose_context_answers_the_lookup_is_accepted(tmp_path: Path) -> None:
    from aws_cdk import App, Stack

    from infra.zoned_stack import AZ_CONTEXT_KEY

    key = AZ_CONTEXT_KEY.format(**ENV)
    app = App(outdir=str(tmp_path), context={key: ZONES})
    _network(Stack(app, "Answered", env=ENV))
    assert (
        json.loads((Path(app.synth().directory) / "manifest.json").read_text()).get("missing", [])
        == []
    )


@pytest.mark.parametrize("zones", [[], "eu-central-1a"])
def test_a_zoned_stack_without_zone_names_is_refused(zones: Any) -> None:
    from aws_cdk import App

    from infra.zoned_stack import ZonedStack

    with pytest.raises(ValueError, match=r"ZonedStack: availability_zones=.* must list the zones"):
        ZonedStack(App(), "Zoned", env=ENV, availability_zones=zones)
