"""What the fleet does in variants the two stages don't cover: a certificate's HTTPS listener,
an alarm e-mail, and a change of service code rolling the fleet.

The constructs are synthesized in a small app of their own, once per session, on an imported
VPC (no cdk-nag here: the session synth runs it over the real stacks).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures.cdk_app import (
    REPO_ROOT,
    cdk_context,
    synthesized_once,
    template_json_loader,
    template_loader,
)

if TYPE_CHECKING:
    from aws_cdk import Stack
    from aws_cdk.assertions import Template

CERTIFICATE_ARN = (
    "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
)
ALARM_EMAIL = "ops@example.com"
ASSET_KEY = re.compile(r"([0-9a-f]{64})\.zip")
Templates = Callable[[str], "Template"]
ENV = {"account": "111111111111", "region": "eu-west-1"}


def _add_fleet(stack: Stack, **variant: Any) -> None:
    """The fleet on an imported VPC, with small fixed props and `variant` on top."""
    from aws_cdk import Duration, RemovalPolicy
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sns as sns

    from infra.api_fleet import ApiFleet
    from infra.service_bundle import wheelhouse_dir

    props: dict[str, Any] = {
        "vpc": ec2.Vpc.from_vpc_attributes(
            stack,
            "Vpc",
            vpc_id="vpc-0123456789abcdef0",
            availability_zones=["eu-west-1a", "eu-west-1b"],
            public_subnet_ids=["subnet-0000000000000000a", "subnet-0000000000000000b"],
            private_subnet_ids=["subnet-0000000000000000c", "subnet-0000000000000000d"],
        ),
        "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        "table": dynamodb.Table.from_table_name(stack, "Table", "spito-table"),
        "blob_bucket": s3.Bucket.from_bucket_name(stack, "Blobs", "spito-blobs"),
        "data_access_policy": iam.ManagedPolicy.from_managed_policy_name(stack, "Data", "data"),
        "notification_topic": sns.Topic.from_topic_arn(
            stack, "Topic", "arn:aws:sns:eu-west-1:111111111111:alarms"
        ),
        "instance_type": ec2.InstanceType("t4g.small"),
        "ami_id": "ami-0123456789abcdef0",
        "min_capacity": 1,
        "max_capacity": 2,
        "cpu_target_percent": 60,
        "requests_per_target_per_minute": 1000,
        "health_check_grace": Duration.minutes(5),
        "signal_timeout": Duration.minutes(15),
        "root_volume_gib": 8,
        "service_port": 8080,
        "log_retention": logs.RetentionDays.ONE_MONTH,
        "removal_policy": RemovalPolicy.DESTROY,
        "deletion_protection": False,
        "wheelhouse": wheelhouse_dir("arm64"),
    }
    ApiFleet(stack, "Api", **{**props, **variant})


def _synthesize(outdir: Path) -> None:
    from aws_cdk import RemovalPolicy
    from aws_cdk import Stack as CdkStack
    from aws_cdk import aws_certificatemanager as acm

    from app import new_app
    from infra.monitoring import AlarmTopic

    changed_service = outdir.parent / f"{outdir.name}.service"
    shutil.rmtree(changed_service, ignore_errors=True)
    shutil.copytree(
        REPO_ROOT / "service", changed_service, ignore=shutil.ignore_patterns("__pycache__")
    )
    with (changed_service / "settings.py").open("a") as settings:
        settings.write("\n# a change of service code\n")

    app = new_app(context=cdk_context(), outdir=str(outdir))
    _add_fleet(CdkStack(app, "Original", env=ENV))
    _add_fleet(CdkStack(app, "Changed", env=ENV), service_dir=changed_service)
    https = CdkStack(app, "HttpsFleet", env=ENV)
    _add_fleet(
        https,
        listeners=("https",),
        certificate=acm.Certificate.from_certificate_arn(https, "Alb", CERTIFICATE_ARN),
    )
    topic = CdkStack(app, "Topic", env=ENV)
    AlarmTopic(topic, "AlarmTopic", email=ALARM_EMAIL, removal_policy=RemovalPolicy.DESTROY)
    app.synth()


@pytest.fixture(scope="session")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    outdir = synthesized_once(tmp_path_factory, "cdk.variants.out", _synthesize)
    return template_loader(template_json_loader(outdir))


def _asset_hashes(template: Template) -> set[str]:
    (launch_template,) = template.find_resources("AWS::EC2::LaunchTemplate").values()
    user_data = launch_template["Properties"]["LaunchTemplateData"]["UserData"]
    return set(ASSET_KEY.findall(json.dumps(user_data)))


def test_changing_a_service_file_changes_the_launch_template(
    variant: Templates, cdk_template: Templates
) -> None:
    shipped = _asset_hashes(cdk_template("Spito-dev-Api"))
    assert len(shipped) == 1
    assert _asset_hashes(variant("Original")) == shipped  # same code, same asset, same template
    changed = _asset_hashes(variant("Changed"))
    assert len(changed) == 1
    assert changed != shipped


def test_with_a_certificate_the_listener_is_https_with_a_tls13_policy(variant: Templates) -> None:
    from aws_cdk.assertions import Match

    variant("HttpsFleet").has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Protocol": "HTTPS",
            "Port": 443,
            "Certificates": [{"CertificateArn": CERTIFICATE_ARN}],
            "SslPolicy": Match.string_like_regexp("^ELBSecurityPolicy-TLS13-"),
        },
    )


def test_with_only_an_https_listener_there_is_no_port_80_and_no_ingress_yet(
    variant: Templates,
) -> None:
    template = variant("HttpsFleet")
    listeners = template.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()
    assert [listener["Properties"]["Port"] for listener in listeners] == [443]
    # The ALB's group is opened by the edge (infra/vpc_origin.py), to CloudFront's group only.
    assert not [
        rule
        for rule in template.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["FromPort"] in (80, 443)
    ]


@pytest.mark.parametrize(
    ("listeners", "with_certificate"), [(("https",), False), (("http",), True), ((), False)]
)
def test_a_listener_set_that_does_not_fit_the_certificate_is_refused(
    listeners: tuple[str, ...], with_certificate: bool
) -> None:
    from aws_cdk import App
    from aws_cdk import Stack as CdkStack
    from aws_cdk import aws_certificatemanager as acm

    stack = CdkStack(App(), "Refused", env=ENV)
    certificate = (
        acm.Certificate.from_certificate_arn(stack, "Alb", CERTIFICATE_ARN)
        if with_certificate
        else None
    )
    with pytest.raises(ValueError, match="ApiFleet: "):
        _add_fleet(stack, listeners=listeners, certificate=certificate)


def test_a_configured_alarm_email_is_subscribed_to_the_alarm_topic(variant: Templates) -> None:
    template = variant("Topic")
    template.resource_count_is("AWS::SNS::Subscription", 1)
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": ALARM_EMAIL}
    )


def test_without_an_alarm_email_nothing_is_subscribed(cdk_template: Templates) -> None:
    cdk_template("Spito-dev-Api").resource_count_is("AWS::SNS::Subscription", 0)


def test_a_service_dir_without_the_service_is_refused_with_the_path(tmp_path: Path) -> None:
    from aws_cdk import App
    from aws_cdk import Stack as CdkStack

    (tmp_path / "settings.py").write_text("")  # no __main__.py: not the service package
    with pytest.raises(ValueError, match=rf"service_dir='{tmp_path}' has no __main__.py"):
        _add_fleet(CdkStack(App(), "Misplaced", env=ENV), service_dir=tmp_path)
