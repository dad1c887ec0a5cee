"""Each reusable construct refuses a prop that cannot work, at construction, with a message
naming the prop and the fix; and ApiFleet derives the instance's environment from its own props.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.infra.test_api_variants import ENV, _add_fleet

if TYPE_CHECKING:
    from aws_cdk import Stack


def _stack(**stack_props: Any) -> Stack:
    from aws_cdk import App, Stack

    return Stack(App(), "Props", **stack_props)


def _refused(match: str, **fleet_props: Any) -> None:
    with pytest.raises(ValueError, match=match):
        _add_fleet(_stack(env=ENV), **fleet_props)


def test_an_x86_instance_type_with_the_arm64_wheelhouse_is_refused() -> None:
    from aws_cdk import aws_ec2 as ec2

    _refused(
        r"ApiFleet: instance_type is x86_64 but wheelhouse has wheels for another architecture "
        r"\(.*aarch64.*\); pass the wheelhouse for x86_64",
        instance_type=ec2.InstanceType("t3.small"),
    )


def test_an_arm64_instance_type_with_the_x86_wheelhouse_is_refused() -> None:
    from infra.service_bundle import wheelhouse_dir

    _refused(
        r"instance_type is arm64 but wheelhouse has wheels for another architecture",
        wheelhouse=wheelhouse_dir("x86_64"),
    )


@pytest.mark.parametrize(("low", "high"), [(2, 2), (3, 2)])
def test_a_capacity_with_no_room_to_roll_is_refused(low: int, high: int) -> None:
    _refused(
        rf"ApiFleet: min_capacity={low} max_capacity={high} leaves no room to roll the fleet.*"
        rf"pass max_capacity of at least {low + 1}",
        min_capacity=low,
        max_capacity=high,
    )


def test_a_fleet_of_no_instances_is_refused() -> None:
    _refused(r"ApiFleet: min_capacity=0 leaves no instance; pass 1 or more", min_capacity=0)


@pytest.mark.parametrize("port", [0, -1, 65536])
def test_a_service_port_outside_the_tcp_range_is_refused(port: int) -> None:
    _refused(
        rf"ApiFleet: service_port={port} is not a TCP port; pass a port in 1\.\.65535",
        service_port=port,
    )


@pytest.mark.parametrize("value", ["two words", "line\nSPITO_TABLE=other", "tab\t", " "])
def test_a_setting_with_whitespace_is_refused(value: str) -> None:
    _refused(
        r"ApiFleet: service_settings=.* has whitespace in its value; pass a value without",
        service_settings={"SPITO_PUBLIC_URL": value},
    )


@pytest.mark.parametrize("name", ["spito_workers", "SPITO WORKERS", "1X", ""])
def test_a_setting_name_an_env_file_cannot_hold_is_refused(name: str) -> None:
    _refused(
        r"has a name an env file cannot hold; use upper-case letters",
        service_settings={name: "2"},
    )


@pytest.mark.parametrize("name", ["AWS_REGION", "SPITO_BIND_HOST", "SPITO_TABLE", "SPITO_BUCKET"])
def test_a_setting_the_fleet_derives_is_refused(name: str) -> None:
    _refused(
        rf"ApiFleet: service_settings sets {name}, which the fleet derives from its own props",
        service_settings={name: "x"},
    )


def test_a_service_dir_without_the_lock_is_refused(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("")
    _refused(
        rf"ApiFleet: service_dir='{re.escape(str(tmp_path))}' has no requirements\.lock; pass "
        "the directory of Spito's service package",
        service_dir=tmp_path,
    )


def test_a_str_service_dir_and_wheelhouse_are_taken_as_paths() -> None:
    from aws_cdk.assertions import Template

    from infra.api_fleet import SERVICE_DIR
    from infra.service_bundle import wheelhouse_dir

    stack = _stack(env=ENV)
    _add_fleet(stack, service_dir=str(SERVICE_DIR), wheelhouse=str(wheelhouse_dir("arm64")))
    Template.from_stack(stack).resource_count_is("AWS::AutoScaling::AutoScalingGroup", 1)


def _env_file(stack: Stack) -> str:
    """The user data's env file, as text (tokens as their JSON)."""
    import json

    from aws_cdk.assertions import Template

    (template,) = Template.from_stack(stack).find_resources("AWS::EC2::LaunchTemplate").values()
    user_data = json.dumps(template["Properties"]["LaunchTemplateData"]["UserData"])
    return user_data.split("SPITO_ENV")[1]


def test_the_fleet_binds_every_address_in_the_stacks_region_with_its_table_and_bucket() -> None:
    stack = _stack(env=ENV)
    _add_fleet(stack, service_settings={"SPITO_WORKERS": "3"})
    env_file = _env_file(stack)
    for line in [
        "AWS_REGION=eu-west-1",
        "SPITO_BIND_HOST=0.0.0.0",
        "SPITO_TABLE=spito-table",
        "SPITO_BUCKET=spito-blobs",
        "SPITO_CLIENT_IP_POSITION=2",
        "SPITO_WORKERS=3",
        "PORT=8080",
    ]:
        assert f"\\n{line}\\n" in env_file, (line, env_file)


@pytest.mark.parametrize(
    ("props", "match"),
    [
        ({"availability_zones": ["eu-west-1a"]}, r"must name two zones or more"),
        ({"availability_zones": ["eu-west-1a", "eu-west-1a"]}, r"must name two zones or more"),
        ({"availability_zones": "eu-west-1a"}, r"must name two zones or more"),
        ({"nat_gateways": 3}, r"nat_gateways=3 must be 0 .* pass a number in 0\.\.2"),
        ({"nat_gateways": -1}, r"nat_gateways=-1 must be 0"),
    ],
)
def test_a_network_without_room_for_the_alb_or_with_more_nat_than_zones_is_refused(
    props: dict[str, Any], match: str
) -> None:
    from aws_cdk import RemovalPolicy
    from aws_cdk import aws_logs as logs

    from infra.network import Network

    with pytest.raises(ValueError, match=f"Network: .*{match}"):
        Network(
            _stack(env=ENV),
            "Network",
            **{
                "cidr": "10.9.0.0/16",
                "availability_zones": ["eu-west-1a", "eu-west-1b"],
                "nat_gateways": 0,
                "interface_endpoints": [],
                "data_buckets": [],
                "flow_log_retention": logs.RetentionDays.ONE_WEEK,
                "removal_policy": RemovalPolicy.DESTROY,
                **props,
            },
        )


@pytest.mark.parametrize("email", ["ops", "ops@example.com ", "a@b.c,d@e.f\n", ""])
def test_an_alarm_email_that_is_not_one_address_is_refused(email: str) -> None:
    from aws_cdk import RemovalPolicy

    from infra.monitoring import AlarmTopic

    with pytest.raises(ValueError, match=r"AlarmTopic: email=.* is not an e-mail address"):
        AlarmTopic(_stack(env=ENV), "Alarms", email=email, removal_policy=RemovalPolicy.DESTROY)


@pytest.mark.parametrize("as_str", [False, True])
def test_a_web_dist_without_index_html_is_refused_and_a_str_is_a_path(
    tmp_path: Path, as_str: bool
) -> None:
    from aws_cdk import aws_cloudfront as cloudfront
    from aws_cdk import aws_s3 as s3

    from infra.static_site import SpaDeployment

    stack = _stack(env=ENV)
    with pytest.raises(
        ValueError,
        match=rf"SpaDeployment: web_dist='{re.escape(str(tmp_path))}' has no index\.html; build "
        r"the web app first \(make web\)",
    ):
        SpaDeployment(
            stack,
            "Site",
            web_dist=str(tmp_path) if as_str else tmp_path,
            bucket=s3.Bucket.from_bucket_name(stack, "Web", "spito-web"),
            distribution=cloudfront.Distribution.from_distribution_attributes(
                stack, "Cdn", domain_name="d111111abcdef8.cloudfront.net", distribution_id="E1"
            ),
        )


@pytest.mark.parametrize(
    "url", ["http://spito.example.com", "https://", "spito.example.com", "https://a b"]
)
def test_a_canary_url_that_is_not_https_is_refused(url: str) -> None:
    from aws_cdk import Duration
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_sns as sns

    from infra.canary import Canary

    stack = _stack(env=ENV)
    with pytest.raises(ValueError, match=r"Canary: public_url=.* is not an https URL; pass e\.g\."):
        Canary(
            stack,
            "Canary",
            public_url=url,
            interval=Duration.minutes(5),
            alarm_topic=sns.Topic.from_topic_arn(
                stack, "Topic", "arn:aws:sns:eu-west-1:111111111111:alarms"
            ),
            log_retention=logs.RetentionDays.ONE_MONTH,
        )


@pytest.mark.parametrize(
    ("props", "match"),
    [
        ({"batch_size": 0}, r"batch_size=0 is outside 1\.\.10000"),
        ({"batch_size": 10_001}, r"batch_size=10001 is outside 1\.\.10000"),
        ({"retry_attempts": -1}, r"retry_attempts=-1 is outside 0\.\.10000"),
    ],
)
def test_a_reaper_batch_or_retry_count_lambda_refuses_is_refused(
    props: dict[str, Any], match: str
) -> None:
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sns as sns

    from infra.reaper import BlobDeletePolicy, Reaper

    stack = _stack(env=ENV)
    table = dynamodb.Table.from_table_attributes(
        stack,
        "Table",
        table_name="spito-table",
        table_stream_arn="arn:aws:dynamodb:eu-west-1:111111111111:table/spito-table/stream/x",
    )
    with pytest.raises(ValueError, match=f"Reaper: {match}"):
        Reaper(
            stack,
            "Reaper",
            table=table,
            blob_delete=BlobDeletePolicy(stack, "BlobDelete", bucket=s3.Bucket(stack, "Blobs")),
            alarm_topic=sns.Topic.from_topic_arn(
                stack, "Topic", "arn:aws:sns:eu-west-1:111111111111:alarms"
            ),
            log_retention=logs.RetentionDays.ONE_MONTH,
            **props,
        )
