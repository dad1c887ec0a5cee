"""The network: subnets over the pinned zones, NAT per stage, endpoints, flow logs, default SG."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.infra.helpers import only_resource, resources_of_type

Templates = Callable[[str], dict[str, Any]]
ZONES = {"dev": ["eu-west-1a", "eu-west-1b"], "prod": ["eu-west-1a", "eu-west-1b", "eu-west-1c"]}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_public_and_private_subnets_cover_exactly_the_pinned_zones(
    stage: str, cdk_template_json: Templates
) -> None:
    subnets = resources_of_type(cdk_template_json(f"Spito-{stage}-Network"), "AWS::EC2::Subnet")
    by_kind: dict[bool, list[str]] = {True: [], False: []}
    for subnet in subnets.values():
        properties = subnet["Properties"]
        by_kind[properties["MapPublicIpOnLaunch"]].append(properties["AvailabilityZone"])
    assert sorted(by_kind[True]) == ZONES[stage]
    assert sorted(by_kind[False]) == ZONES[stage]


@pytest.mark.parametrize(("stage", "count"), [("dev", 1), ("prod", 3)])
def test_nat_gateways_follow_the_stage(
    stage: str, count: int, cdk_template_json: Templates
) -> None:
    template = cdk_template_json(f"Spito-{stage}-Network")
    assert len(resources_of_type(template, "AWS::EC2::NatGateway")) == count


def _endpoint_services(template: dict[str, Any], endpoint_type: str) -> set[str]:
    services = set()
    for endpoint in resources_of_type(template, "AWS::EC2::VPCEndpoint").values():
        properties = endpoint["Properties"]
        if properties.get("VpcEndpointType", "Gateway") == endpoint_type:
            name = properties["ServiceName"]
            services.add(name if isinstance(name, str) else str(name["Fn::Join"][1][-1]))
    return services


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_s3_and_dynamodb_are_reached_through_gateway_endpoints(
    stage: str, cdk_template_json: Templates
) -> None:
    services = _endpoint_services(cdk_template_json(f"Spito-{stage}-Network"), "Gateway")
    assert {service.rsplit(".", 1)[-1] for service in services} == {"s3", "dynamodb"}


def test_prod_has_private_endpoints_for_logs_and_session_manager(
    cdk_template_json: Templates,
) -> None:
    services = _endpoint_services(cdk_template_json("Spito-prod-Network"), "Interface")
    assert services == {
        "com.amazonaws.eu-west-1.logs",
        "com.amazonaws.eu-west-1.ssm",
        "com.amazonaws.eu-west-1.ssmmessages",
        "com.amazonaws.eu-west-1.ec2messages",
    }


def test_dev_pays_for_no_interface_endpoints(cdk_template_json: Templates) -> None:
    assert _endpoint_services(cdk_template_json("Spito-dev-Network"), "Interface") == set()


def test_interface_endpoints_use_private_dns(cdk_template_json: Templates) -> None:
    endpoints = resources_of_type(cdk_template_json("Spito-prod-Network"), "AWS::EC2::VPCEndpoint")
    interface = [
        e for e in endpoints.values() if e["Properties"].get("VpcEndpointType") == "Interface"
    ]
    assert interface
    assert all(e["Properties"]["PrivateDnsEnabled"] is True for e in interface)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_flow_logs_capture_all_traffic_into_a_log_group_with_retention(
    stage: str, cdk_template_json: Templates
) -> None:
    template = cdk_template_json(f"Spito-{stage}-Network")
    flow_log = only_resource(template, "AWS::EC2::FlowLog")["Properties"]
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    (group_id,) = resources_of_type(template, "AWS::Logs::LogGroup")
    assert flow_log["LogGroupName"] == {"Ref": group_id}
    assert template["Resources"][group_id]["Properties"]["RetentionInDays"] > 0


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_default_security_group_is_stripped_of_its_rules(
    stage: str, cdk_template_json: Templates
) -> None:
    template = cdk_template_json(f"Spito-{stage}-Network")
    restrict = only_resource(template, "Custom::VpcRestrictDefaultSG")["Properties"]
    (vpc_id,) = resources_of_type(template, "AWS::EC2::VPC")
    assert restrict["DefaultSecurityGroupId"] == {"Fn::GetAtt": [vpc_id, "DefaultSecurityGroup"]}
