"""The network: subnets over the pinned zones, NAT per stage, endpoints, flow logs, default SG."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from infra.config import ConfigError, load_config
from tests.infra.test_config import context

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

Templates = Callable[[str], "Template"]
ZONES = {"dev": ["eu-west-1a", "eu-west-1b"], "prod": ["eu-west-1a", "eu-west-1b", "eu-west-1c"]}
REMOVAL = {"dev": "Delete", "prod": "Retain"}
FLOW_LOG_RETENTION_DAYS = {"dev": 30, "prod": 90}
STAGES = ["dev", "prod"]


def _network(cdk_template: Templates, stage: str) -> Template:
    return cdk_template(f"Spito-{stage}-Network")


@pytest.mark.parametrize("stage", STAGES)
def test_each_pinned_zone_gets_a_public_slash_24_and_a_private_slash_20_inside_the_vpc_range(
    stage: str, cdk_template: Templates
) -> None:
    template = _network(cdk_template, stage)
    vpc_range = ipaddress.ip_network(load_config(context(), stage).network.cidr)
    for public, prefix in ((True, 24), (False, 20)):
        subnets = template.find_resources(
            "AWS::EC2::Subnet", {"Properties": {"MapPublicIpOnLaunch": public}}
        )
        assert sorted(s["Properties"]["AvailabilityZone"] for s in subnets.values()) == ZONES[stage]
        for subnet in subnets.values():
            block = ipaddress.ip_network(subnet["Properties"]["CidrBlock"])
            assert block.prefixlen == prefix
            assert block.subnet_of(vpc_range)  # type: ignore[arg-type]


@pytest.mark.parametrize(("stage", "count"), [("dev", 1), ("prod", 3)])
def test_nat_gateways_follow_the_stage(stage: str, count: int, cdk_template: Templates) -> None:
    _network(cdk_template, stage).resource_count_is("AWS::EC2::NatGateway", count)


def _endpoint_services(template: Template, endpoint_type: str) -> set[str]:
    services = set()
    for endpoint in template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": endpoint_type}}
    ).values():
        name = endpoint["Properties"]["ServiceName"]
        services.add(name if isinstance(name, str) else str(name["Fn::Join"][1][-1]))
    return services


@pytest.mark.parametrize("stage", STAGES)
def test_s3_and_dynamodb_are_reached_through_gateway_endpoints(
    stage: str, cdk_template: Templates
) -> None:
    services = _endpoint_services(_network(cdk_template, stage), "Gateway")
    assert {service.rsplit(".", 1)[-1] for service in services} == {"s3", "dynamodb"}


def test_prod_has_private_dns_endpoints_for_logs_and_session_manager_in_the_private_subnets(
    cdk_template: Templates,
) -> None:
    from aws_cdk.assertions import Match

    template = _network(cdk_template, "prod")
    assert _endpoint_services(template, "Interface") == {
        f"com.amazonaws.eu-west-1.{name}" for name in ("logs", "ssm", "ssmmessages", "ec2messages")
    }
    private_subnets = [
        {"Ref": logical_id}
        for logical_id in template.find_resources(
            "AWS::EC2::Subnet", {"Properties": {"MapPublicIpOnLaunch": False}}
        )
    ]
    for name in ("logs", "ssm", "ssmmessages", "ec2messages"):
        template.has_resource_properties(
            "AWS::EC2::VPCEndpoint",
            {
                "ServiceName": f"com.amazonaws.eu-west-1.{name}",
                "VpcEndpointType": "Interface",
                "PrivateDnsEnabled": True,
                "SubnetIds": Match.array_equals(private_subnets),
            },
        )


def test_dev_pays_for_no_interface_endpoints(cdk_template: Templates) -> None:
    assert _endpoint_services(_network(cdk_template, "dev"), "Interface") == set()


@pytest.mark.parametrize("stage", STAGES)
def test_flow_logs_capture_all_traffic_into_a_log_group_that_follows_the_stage(
    stage: str, cdk_template: Templates
) -> None:
    template = _network(cdk_template, stage)
    (group_id,) = template.find_resources(
        "AWS::Logs::LogGroup",
        {
            "DeletionPolicy": REMOVAL[stage],
            "Properties": {"RetentionInDays": FLOW_LOG_RETENTION_DAYS[stage]},
        },
    )
    template.resource_count_is("AWS::Logs::LogGroup", 1)
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {
            "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": {"Ref": group_id},
        },
    )


@pytest.mark.parametrize("stage", STAGES)
def test_default_security_group_is_stripped_of_its_rules(
    stage: str, cdk_template: Templates
) -> None:
    template = _network(cdk_template, stage)
    (vpc_id,) = template.find_resources("AWS::EC2::VPC")
    template.has_resource_properties(
        "Custom::VpcRestrictDefaultSG",
        {"DefaultSecurityGroupId": {"Fn::GetAtt": [vpc_id, "DefaultSecurityGroup"]}},
    )


def _network_error(cidr: str, zones: list[str]) -> str | None:
    """What the Network construct raises laying out its subnets in `cidr` over `zones`, if any."""
    from aws_cdk import App, Environment, RemovalPolicy, Stack
    from aws_cdk import aws_logs as logs

    from infra.network import Network

    stack = Stack(App(), "Probe", env=Environment(account="111111111111", region="eu-west-1"))
    try:
        Network(
            stack,
            "Network",
            cidr=cidr,
            availability_zones=zones,
            nat_gateways=1,
            interface_endpoints=(),
            flow_log_retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
    except RuntimeError as error:
        return str(error)
    return None


def _config_error(cidr: str, zones: list[str]) -> ConfigError | None:
    overrides: dict[str, Any] = {
        "availability_zones": zones,
        "network": {"cidr": cidr, "nat_gateways": 1},
    }
    try:
        load_config(context(**overrides), "dev")
    except ConfigError as error:
        return error
    return None


@pytest.mark.parametrize("prefix", [16, 17, 18, 19])
@pytest.mark.parametrize("zone_count", [2, 3, 4, 6])
def test_config_accepts_exactly_the_ranges_the_network_can_lay_out(
    prefix: int, zone_count: int
) -> None:
    zones = [f"eu-west-1{letter}" for letter in "abcdef"[:zone_count]]
    cidr = f"10.40.0.0/{prefix}"
    config_error, network_error = _config_error(cidr, zones), _network_error(cidr, zones)
    assert (config_error is None) == (network_error is None), (config_error, network_error)
    if config_error is not None:
        assert config_error.key == "spito.network.cidr"
    if network_error is not None:
        assert "exceeds remaining space" in network_error
