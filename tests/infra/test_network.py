"""The network: subnets over the pinned zones, NAT per stage, endpoints, flow logs, default SG."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from infra.config import EGRESS_FREE_ENDPOINTS, ConfigError, load_config
from infra.data import SERVICE_TABLE_ACTIONS
from tests.infra.test_config import context

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

Templates = Callable[[str], "Template"]
ASSET_BUCKET = "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"
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


@pytest.mark.parametrize(("stage", "count"), [("dev", 1), ("prod", 0)])
def test_nat_gateways_follow_the_stage(stage: str, count: int, cdk_template: Templates) -> None:
    _network(cdk_template, stage).resource_count_is("AWS::EC2::NatGateway", count)


def _routes_of_private_subnets(template: Template) -> list[dict[str, Any]]:
    tables = {
        json.dumps(association["Properties"]["RouteTableId"])
        for association in template.find_resources("AWS::EC2::SubnetRouteTableAssociation").values()
        if "private" in json.dumps(association["Properties"]["SubnetId"])
    }
    return [
        route["Properties"]
        for route in template.find_resources("AWS::EC2::Route").values()
        if json.dumps(route["Properties"]["RouteTableId"]) in tables
    ]


def test_without_nat_the_fleets_subnets_have_no_route_out_of_the_vpc(
    cdk_template: Templates,
) -> None:
    template = _network(cdk_template, "prod")
    assert len(template.find_resources("AWS::EC2::RouteTable")) == 6  # 3 public, 3 private
    assert _routes_of_private_subnets(template) == []
    # The internet gateway stays, for CloudFront's VPC origins, routed from public subnets only.
    template.resource_count_is("AWS::EC2::InternetGateway", 1)
    (gateway,) = template.find_resources("AWS::EC2::InternetGateway")
    routed = [
        route
        for route in template.find_resources("AWS::EC2::Route").values()
        if route["Properties"].get("GatewayId") == {"Ref": gateway}
    ]
    assert len(routed) == 3
    assert all("public" in json.dumps(route["Properties"]["RouteTableId"]) for route in routed)


def test_with_nat_the_fleets_subnets_route_out_through_it_only(cdk_template: Templates) -> None:
    routes = _routes_of_private_subnets(_network(cdk_template, "dev"))
    assert routes
    assert all(
        set(route) == {"DestinationCidrBlock", "NatGatewayId", "RouteTableId"} for route in routes
    )


def test_the_s3_endpoint_admits_only_the_al2023_repositories_the_asset_and_the_data(
    cdk_template: Templates,
) -> None:
    for stage in STAGES:
        template = _network(cdk_template, stage)
        (endpoint,) = [
            e
            for e in template.find_resources("AWS::EC2::VPCEndpoint").values()
            if ".s3" in json.dumps(e["Properties"]["ServiceName"])
        ]
        statements = {
            statement["Sid"]: (statement["Action"], statement["Resource"])
            for statement in endpoint["Properties"]["PolicyDocument"]["Statement"]
        }
        assert all(
            s["Effect"] == "Allow" for s in endpoint["Properties"]["PolicyDocument"]["Statement"]
        )
        assert statements["AmazonLinuxRepositories"] == (
            "s3:GetObject",
            "arn:aws:s3:::al2023-repos-eu-west-1-de612dc2/*",
        )
        assert statements["ServiceAsset"] == (
            "s3:GetObject",
            {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{ASSET_BUCKET}/*"},
        )
        actions, data = statements.pop("SpitoData")
        assert sorted(actions) == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
        assert "DataBlobs" in json.dumps(data)
        assert set(statements) == {"AmazonLinuxRepositories", "ServiceAsset"}


def test_the_dynamodb_endpoint_admits_only_the_item_calls_on_this_accounts_tables(
    cdk_template: Templates,
) -> None:
    # Without a policy a gateway endpoint allows every call to every table, another account's
    # included: credentials brought onto an instance could copy data out through it.
    for stage in STAGES:
        template = _network(cdk_template, stage)
        (endpoint,) = [
            e
            for e in template.find_resources("AWS::EC2::VPCEndpoint").values()
            if ".dynamodb" in json.dumps(e["Properties"]["ServiceName"])
        ]
        (statement,) = endpoint["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"AWS": "*"}
        assert sorted(statement["Action"]) == sorted(SERVICE_TABLE_ACTIONS)
        assert statement["Resource"] == {
            "Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*"
        }


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


def test_prod_has_private_dns_endpoints_for_all_an_instance_calls_in_the_private_subnets(
    cdk_template: Templates,
) -> None:
    from aws_cdk.assertions import Match

    template = _network(cdk_template, "prod")
    assert _endpoint_services(template, "Interface") == {
        f"com.amazonaws.eu-west-1.{name}" for name in EGRESS_FREE_ENDPOINTS
    }
    private_subnets = [
        {"Ref": logical_id}
        for logical_id in template.find_resources(
            "AWS::EC2::Subnet", {"Properties": {"MapPublicIpOnLaunch": False}}
        )
    ]
    for name in EGRESS_FREE_ENDPOINTS:
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
    from aws_cdk import App, Environment, RemovalPolicy
    from aws_cdk import aws_logs as logs

    from infra.network import Network
    from infra.zoned_stack import ZonedStack

    stack = ZonedStack(
        App(),
        "Probe",
        env=Environment(account="111111111111", region="eu-west-1"),
        availability_zones=zones,
    )
    try:
        Network(
            stack,
            "Network",
            cidr=cidr,
            availability_zones=zones,
            nat_gateways=1,
            interface_endpoints=(),
            data_buckets=(),
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
