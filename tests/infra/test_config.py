"""The typed config: stages override the base, and bad values stop synth naming key and fix."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.config import EGRESS_FREE_ENDPOINTS, ConfigError, load_config
from tests.fixtures.cdk_app import FIXTURE_WEB_DIST

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


def context(stage: str = "dev", **stage_overrides: Any) -> dict[str, Any]:
    """cdk.json's context with `stage_overrides` merged into that stage."""
    ctx: dict[str, Any] = copy.deepcopy(json.loads(CDK_JSON.read_text())["context"])
    ctx["spito"]["stages"][stage].update(stage_overrides)
    return ctx


def error_for(**stage_overrides: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(context(**stage_overrides), "dev")
    return caught.value


def test_dev_uses_the_base_with_one_nat_gateway_and_no_interface_endpoints() -> None:
    config = load_config(context(), "dev")
    assert config.network.nat_gateways == 1
    assert config.network.interface_endpoints == ()
    assert config.data.removal_policy == "destroy"


def test_prod_overrides_the_base_for_an_egress_free_fleet_and_retention() -> None:
    config = load_config(context(), "prod")
    assert len(config.availability_zones) == 3
    assert config.network.nat_gateways == 0
    assert set(config.network.interface_endpoints) == set(EGRESS_FREE_ENDPOINTS)
    assert config.fleet.min_capacity >= 2
    assert config.data.removal_policy == "retain"
    assert config.data.deletion_protection is True


def test_prod_can_drop_deletion_protection_before_a_deliberate_destroy_and_keep_its_data() -> None:
    ctx = context("prod", data={"removal_policy": "retain", "deletion_protection": False})
    config = load_config(ctx, "prod")
    assert config.data.deletion_protection is False
    assert config.retain_data


def test_stage_comes_from_the_stage_context_key() -> None:
    ctx = context()
    ctx["stage"] = "prod"
    assert load_config(ctx).stage == "prod"


def test_nested_override_keeps_sibling_fields_from_the_base() -> None:
    config = load_config(context(fleet={"instance_type": "t4g.medium"}), "dev")
    assert config.fleet.instance_type == "t4g.medium"
    assert config.fleet.service_port == 8080


def test_unknown_stage_names_the_stage_key_and_the_known_stages() -> None:
    with pytest.raises(ConfigError, match=r"stage: unknown stage 'qa'.*one of: dev, prod"):
        load_config(context(), "qa")


def test_domain_without_hosted_zone_names_the_key_and_the_fix() -> None:
    error = error_for(domain={"domain_name": "spito.example.com"})
    assert error.key == "spito.domain.hosted_zone_id"
    assert "set hosted_zone_id" in str(error)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"account": "12345"}, "spito.account"),
        ({"region": "Ireland"}, "spito.region"),
        ({"availability_zones": ["eu-west-1a"]}, "spito.availability_zones"),
        ({"availability_zones": ["eu-west-1a", "us-east-1b"]}, "spito.availability_zones"),
        ({"network": {"nat_gateways": 3}}, "spito.network.nat_gateways"),
        ({"network": {"nat_gateways": -1}}, "spito.network.nat_gateways"),
        # Without NAT, cfn-signal, the log agent and Session Manager need their endpoints.
        (
            {"network": {"nat_gateways": 0, "interface_endpoints": ["logs", "ssm"]}},
            "spito.network.interface_endpoints",
        ),
        ({"network": {"interface_endpoints": ["sqs"]}}, "spito.network.interface_endpoints[0]"),
        ({"fleet": {"instance_type": "t3.small"}}, "spito.fleet.instance_type"),
        ({"fleet": {"min_capacity": 0}}, "spito.fleet.min_capacity"),
        ({"fleet": {"min_capacity": 3}}, "spito.fleet.max_capacity"),
        ({"fleet": {"min_capacity": "2"}}, "spito.fleet.min_capacity"),
        # Target tracking owns the desired capacity; a configured one would reset it every deploy.
        ({"fleet": {"desired_capacity": 2}}, "spito.fleet.desired_capacity"),
        ({"fleet": {"cpu_target_percent": 95}}, "spito.fleet.cpu_target_percent"),
        ({"fleet": {"instance_size": "large"}}, "spito.fleet.instance_size"),
        ({"service": {"paste_inline_max_bytes": 400_000}}, "spito.service.paste_inline_max_bytes"),
        ({"monitoring": {"log_retention_days": 10}}, "spito.monitoring.log_retention_days"),
        ({"monitoring": {"alarm_email": "ops"}}, "spito.monitoring.alarm_email"),
        (
            {"monitoring": {"target_5xx_per_5_minutes": -1}},
            "spito.monitoring.target_5xx_per_5_minutes",
        ),
        ({"fleet": None}, "spito.fleet"),
        ({"data": {"deletion_protection": True}}, "spito.data.deletion_protection"),
        ({"domain": {"hosted_zone_id": "Z123"}}, "spito.domain.domain_name"),
    ],
)
def test_invalid_value_is_reported_with_its_key_and_a_fix(
    overrides: dict[str, Any], key: str
) -> None:
    error = error_for(**overrides)
    assert error.key == key
    assert f"spito config: {key}: " in str(error)
    assert "Fix: " in str(error)


@pytest.mark.parametrize(
    ("cidr", "problem", "fix"),
    [
        ("999.1.1.1/16", "'999.1.1.1/16' is not an IP range", "use e.g. 10.40.0.0/16"),
        ("10.40.1.0/16", "10.40.1.0/16 has host bits set", "use 10.40.0.0/16"),
        ("fd00::/56", "fd00::/56 is not an IPv4 range of /16 or smaller", "use e.g. 10.40.0.0/16"),
        ("10.0.0.0/15", "10.0.0.0/15 is not an IPv4 range of /16 or smaller", "10.40.0.0/16"),
        # dev has 2 zones: a /24 and a /20 each need 8704 addresses, more than a /19's 8192.
        (
            "10.40.32.0/19",
            "holds 8192 addresses, but 2 zones",
            "use a /18 or larger, e.g. 10.40.0.0/18",
        ),
        ("10.40.0.0/22", "holds 1024 addresses", "use a /18 or larger, e.g. 10.40.0.0/18"),
    ],
)
def test_a_cidr_that_is_not_a_network_or_too_small_names_the_key_and_the_fix(
    cidr: str, problem: str, fix: str
) -> None:
    error = error_for(network={"cidr": cidr})
    assert error.key == "spito.network.cidr"
    message = str(error)
    assert problem in message.split(". Fix: ")[0]
    assert fix in message.split(". Fix: ")[1]


def test_a_cidr_just_large_enough_for_the_zones_is_accepted() -> None:
    # Three zones need 3 * (4096 + 256) = 13056 addresses: a /18 (16384) holds them.
    config = load_config(
        context(
            availability_zones=["eu-west-1a", "eu-west-1b", "eu-west-1c"],
            network={"cidr": "10.40.64.0/18", "nat_gateways": 1},
        ),
        "dev",
    )
    assert config.network.cidr == "10.40.64.0/18"


def test_more_zones_than_a_slash_16_can_hold_asks_for_fewer_zones() -> None:
    zones = [f"eu-west-1{letter}" for letter in "abcdefghijklmnop"]  # 16 * 4352 > 65536
    error = error_for(availability_zones=zones)
    assert error.key == "spito.network.cidr"
    assert "Fix: list at most 15 availability_zones" in str(error)


@pytest.mark.parametrize(
    ("spito", "key"),
    [
        ({"base": {}, "stages": {"dev": None}}, "spito.stages.dev"),
        ({"base": {}, "stages": {"dev": ["account"]}}, "spito.stages.dev"),
        ({"base": None, "stages": {"dev": {}}}, "spito.base"),
        ({"base": "eu-west-1", "stages": {"dev": {}}}, "spito.base"),
        ({"base": {}, "stages": ["dev"]}, "spito.stages"),
    ],
)
def test_a_base_or_stage_that_is_not_an_object_names_its_key(
    spito: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"spito": spito}, "dev")
    assert caught.value.key == key
    assert "expected an object" in str(caught.value)
    assert "Fix: write it as a JSON object" in str(caught.value)


def test_missing_spito_context_says_where_to_add_it() -> None:
    with pytest.raises(ConfigError, match=r"add .* under context in cdk.json"):
        load_config({}, "dev")


def test_invalid_stage_stops_the_app_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    ctx = context()
    ctx["stage"] = "qa"
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=CDK_JSON.parent,
        # How the CDK CLI hands context and the output directory to the app.
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps(ctx), "CDK_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "spito config: stage: unknown stage 'qa'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_fleet_wheelhouse_stops_the_app_naming_make_wheelhouse(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=CDK_JSON.parent,
        env={
            **os.environ,
            "CDK_CONTEXT_JSON": json.dumps({**context(), "spito:web_dist": str(FIXTURE_WEB_DIST)}),
            "CDK_OUTDIR": str(tmp_path / "out"),
            "SPITO_FLEET_WHEELS": str(tmp_path / "no-wheels"),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "no fleet wheelhouse in" in result.stderr
    assert "run `make wheelhouse`" in result.stderr
    assert "Traceback" not in result.stderr
