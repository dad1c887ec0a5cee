"""The API fleet: an internal ALB only CloudFront's VPC origin reaches, and a locked-down,
self-healing EC2 fleet."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

Templates = Callable[[str], "Template"]
STAGES = ["dev", "prod"]
REMOVAL = {"dev": "Delete", "prod": "Retain"}
LOG_RETENTION_DAYS = {"dev": 30, "prod": 90}
USER_DATA_LIMIT_BYTES = 16 * 1024
# Upper bound for what a deploy-time token (table name, bucket, stack name...) expands to.
LONGEST_TOKEN_VALUE = 255


def _api(cdk_template: Templates, stage: str) -> Template:
    return cdk_template(f"Spito-{stage}-Api")


def _logical_id(template: Template, resource_type: str, fragment: str) -> str:
    (logical_id,) = [key for key in template.find_resources(resource_type) if fragment in key]
    return logical_id


def _only(template: Template, resource_type: str) -> dict[str, Any]:
    (resource,) = template.find_resources(resource_type).values()
    return resource


def _alb_attribute(template: Template, key: str, value: Any) -> None:
    from aws_cdk.assertions import Match

    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {"LoadBalancerAttributes": Match.array_with([{"Key": key, "Value": value}])},
    )


@pytest.mark.parametrize("stage", STAGES)
def test_alb_is_internal_in_the_private_subnets(stage: str, cdk_template: Templates) -> None:
    template = _api(cdk_template, stage)
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internal"}
    )
    subnets = _only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]["Subnets"]
    assert len(subnets) >= 2
    assert all("privateSubnet" in json.dumps(subnet) for subnet in subnets)


@pytest.mark.parametrize("stage", STAGES)
def test_alb_drops_invalid_headers_and_mitigates_desync(
    stage: str, cdk_template: Templates
) -> None:
    template = _api(cdk_template, stage)
    _alb_attribute(template, "routing.http.drop_invalid_header_fields.enabled", "true")
    _alb_attribute(template, "routing.http.desync_mitigation_mode", "defensive")


@pytest.mark.parametrize("stage", STAGES)
def test_alb_writes_access_logs_to_an_sse_s3_bucket(stage: str, cdk_template: Templates) -> None:
    template = _api(cdk_template, stage)
    bucket_id = _logical_id(template, "AWS::S3::Bucket", "AlbAccessLogs")
    _alb_attribute(template, "access_logs.s3.enabled", "true")
    _alb_attribute(template, "access_logs.s3.bucket", {"Ref": bucket_id})
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": REMOVAL[stage],
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                }
            },
        },
    )


@pytest.mark.parametrize(("stage", "protected"), [("dev", "false"), ("prod", "true")])
def test_alb_deletion_protection_follows_the_stage(
    stage: str, protected: str, cdk_template: Templates
) -> None:
    _alb_attribute(_api(cdk_template, stage), "deletion_protection.enabled", protected)


@pytest.mark.parametrize("stage", STAGES)
def test_alb_security_group_admits_nothing_of_its_own(stage: str, cdk_template: Templates) -> None:
    """Its only ingress is CloudFront's VPC-origin group, added by the edge (tests/edge)."""
    from aws_cdk.assertions import Match

    template = _api(cdk_template, stage)
    group_id = _logical_id(template, "AWS::EC2::SecurityGroup", "AlbSecurityGroup")
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupDescription": Match.string_like_regexp("^Spito ALB"),
            "SecurityGroupIngress": Match.absent(),
        },
    )
    ingress = template.find_resources(
        "AWS::EC2::SecurityGroupIngress",
        {"Properties": {"GroupId": {"Fn::GetAtt": [group_id, "GroupId"]}}},
    )
    assert ingress == {}


@pytest.mark.parametrize("stage", STAGES)
def test_no_stack_keeps_an_origin_secret_or_looks_up_a_prefix_list(
    stage: str, cdk_template_json: Callable[[str], dict[str, Any]]
) -> None:
    for name in ("Api", "Edge"):
        text = json.dumps(cdk_template_json(f"Spito-{stage}-{name}"))
        assert "AWS::SecretsManager::Secret" not in text
        assert "secretsmanager" not in text
        assert "describeManagedPrefixLists" not in text


@pytest.mark.parametrize("stage", STAGES)
def test_the_one_http_listener_forwards_everything_to_the_fleet(
    stage: str, cdk_template: Templates
) -> None:
    template = _api(cdk_template, stage)
    target_group = _logical_id(template, "AWS::ElasticLoadBalancingV2::TargetGroup", "Targets")
    template.resource_count_is("AWS::ElasticLoadBalancingV2::ListenerRule", 0)
    listener = _only(template, "AWS::ElasticLoadBalancingV2::Listener")["Properties"]
    assert (listener["Port"], listener["Protocol"]) == (80, "HTTP")
    assert listener["DefaultActions"] == [
        {"TargetGroupArn": {"Ref": target_group}, "Type": "forward"}
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_instances_require_imdsv2_encrypted_gp3_and_no_key_pair(
    stage: str, cdk_template: Templates
) -> None:
    from aws_cdk.assertions import Match

    _api(cdk_template, stage).has_resource_properties(
        "AWS::EC2::LaunchTemplate",
        {
            "LaunchTemplateData": Match.object_like(
                {
                    "MetadataOptions": Match.object_like(
                        {"HttpTokens": "required", "HttpPutResponseHopLimit": 1}
                    ),
                    "KeyName": Match.absent(),
                    "BlockDeviceMappings": [
                        {
                            "DeviceName": "/dev/xvda",
                            "Ebs": Match.object_like({"Encrypted": True, "VolumeType": "gp3"}),
                        }
                    ],
                }
            )
        },
    )


def test_instances_run_graviton_on_the_pinned_image(cdk_template: Templates) -> None:
    template = _api(cdk_template, "dev")
    data = _only(template, "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    assert data["InstanceType"] == "t4g.small"
    assert str(data["ImageId"]).startswith("ami-")  # a literal (tests/infra/test_pin_ami.py)


@pytest.mark.parametrize("stage", STAGES)
def test_fleet_runs_in_the_private_subnets_with_elb_health_checks(
    stage: str, cdk_template: Templates
) -> None:
    template = _api(cdk_template, stage)
    template.has_resource_properties(
        "AWS::AutoScaling::AutoScalingGroup",
        {"HealthCheckType": "ELB", "HealthCheckGracePeriod": 300},
    )
    group = _only(template, "AWS::AutoScaling::AutoScalingGroup")["Properties"]
    assert group["VPCZoneIdentifier"]
    assert all("privateSubnet" in json.dumps(subnet) for subnet in group["VPCZoneIdentifier"])


def test_prod_fleet_spreads_at_least_two_instances_over_three_zones(
    cdk_template: Templates,
) -> None:
    group = _only(_api(cdk_template, "prod"), "AWS::AutoScaling::AutoScalingGroup")["Properties"]
    assert int(group["MinSize"]) >= 2
    assert len(group["VPCZoneIdentifier"]) == 3


def test_target_group_checks_healthz(cdk_template: Templates) -> None:
    _api(cdk_template, "dev").has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"HealthCheckPath": "/healthz", "Matcher": {"HttpCode": "200"}},
    )


def test_a_lost_instance_is_taken_out_within_about_ten_seconds(cdk_template: Templates) -> None:
    target_group = _only(_api(cdk_template, "dev"), "AWS::ElasticLoadBalancingV2::TargetGroup")
    properties = target_group["Properties"]
    assert properties["HealthCheckIntervalSeconds"] * properties["UnhealthyThresholdCount"] <= 10


@pytest.mark.parametrize("stage", STAGES)
def test_updates_roll_one_signalled_instance_at_a_time_keeping_every_instance_in_service(
    stage: str, cdk_template: Templates
) -> None:
    from aws_cdk.assertions import Match

    template = _api(cdk_template, stage)
    group = _only(template, "AWS::AutoScaling::AutoScalingGroup")
    template.has_resource(
        "AWS::AutoScaling::AutoScalingGroup",
        {
            "UpdatePolicy": {
                "AutoScalingRollingUpdate": Match.object_like(
                    {
                        "MaxBatchSize": 1,
                        # A share of whatever the fleet runs, so a scaled-out fleet keeps it all.
                        "MinActiveInstancesPercent": 100,
                        "MinInstancesInService": Match.absent(),
                        "WaitOnResourceSignals": True,
                        "PauseTime": "PT15M",
                        # Target tracking must not move the count the update keeps.
                        "SuspendProcesses": Match.array_with(["AlarmNotification"]),
                    }
                ),
                "AutoScalingScheduledAction": {"IgnoreUnmodifiedGroupSizeProperties": True},
            },
            "CreationPolicy": {
                "ResourceSignal": {"Count": int(group["Properties"]["MinSize"]), "Timeout": "PT15M"}
            },
        },
    )
    # Room to launch a replacement before retiring an instance of a fleet at its minimum.
    assert int(group["Properties"]["MaxSize"]) > int(group["Properties"]["MinSize"])


@pytest.mark.parametrize("stage", STAGES)
def test_a_deploy_leaves_the_running_instance_count_to_target_tracking(
    stage: str, cdk_template: Templates
) -> None:
    from aws_cdk.assertions import Match

    # A DesiredCapacity in the template resets a scaled-out fleet on every deploy (aws-cdk #5215).
    _api(cdk_template, stage).has_resource_properties(
        "AWS::AutoScaling::AutoScalingGroup", {"DesiredCapacity": Match.absent()}
    )


def test_fleet_uses_the_latest_launch_template_version(cdk_template: Templates) -> None:
    template = _api(cdk_template, "dev")
    (template_id,) = template.find_resources("AWS::EC2::LaunchTemplate")
    template.has_resource_properties(
        "AWS::AutoScaling::AutoScalingGroup",
        {
            "LaunchTemplate": {
                "LaunchTemplateId": {"Ref": template_id},
                "Version": {"Fn::GetAtt": [template_id, "LatestVersionNumber"]},
            }
        },
    )


def test_fleet_scales_on_cpu_and_on_requests_per_target(cdk_template: Templates) -> None:
    from aws_cdk.assertions import Match

    template = _api(cdk_template, "dev")
    template.resource_count_is("AWS::AutoScaling::ScalingPolicy", 2)
    for metric, target in (("ASGAverageCPUUtilization", 60), ("ALBRequestCountPerTarget", 3000)):
        template.has_resource_properties(
            "AWS::AutoScaling::ScalingPolicy",
            {
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingConfiguration": Match.object_like(
                    {
                        "PredefinedMetricSpecification": Match.object_like(
                            {"PredefinedMetricType": metric}
                        ),
                        "TargetValue": target,
                    }
                ),
            },
        )


def test_fleet_notifies_the_alarm_topic_of_launches_and_terminations(
    cdk_template: Templates,
) -> None:
    from aws_cdk.assertions import Match

    template = _api(cdk_template, "dev")
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    template.has_resource_properties(
        "AWS::AutoScaling::AutoScalingGroup",
        {
            "NotificationConfigurations": [
                {
                    "TopicARN": {"Ref": topic_id},
                    "NotificationTypes": Match.array_with(
                        ["autoscaling:EC2_INSTANCE_LAUNCH", "autoscaling:EC2_INSTANCE_TERMINATE"]
                    ),
                }
            ]
        },
    )


def test_instances_accept_only_the_alb_on_the_service_port(cdk_template: Templates) -> None:
    from aws_cdk.assertions import Match

    template = _api(cdk_template, "dev")
    instance_group = _logical_id(template, "AWS::EC2::SecurityGroup", "InstanceSecurityGroup")
    alb_group = _logical_id(template, "AWS::EC2::SecurityGroup", "AlbSecurityGroup")
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupDescription": Match.string_like_regexp("^Spito instances"),
            "SecurityGroupIngress": Match.absent(),
        },
    )
    ingress = template.find_resources(
        "AWS::EC2::SecurityGroupIngress",
        {"Properties": {"GroupId": {"Fn::GetAtt": [instance_group, "GroupId"]}}},
    )
    assert [rule["Properties"] for rule in ingress.values()] == [
        {
            "Description": "the service port from the ALB",
            "FromPort": 8080,
            "GroupId": {"Fn::GetAtt": [instance_group, "GroupId"]},
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [alb_group, "GroupId"]},
            "ToPort": 8080,
        }
    ]


def test_instance_role_has_only_session_manager_and_the_data_access_policy(
    cdk_template: Templates,
) -> None:
    template = _api(cdk_template, "dev")
    role_id = _logical_id(template, "AWS::IAM::Role", "InstanceRole")
    role = template.find_resources("AWS::IAM::Role")[role_id]["Properties"]
    managed = [json.dumps(arn) for arn in role["ManagedPolicyArns"]]
    assert len(managed) == 2
    assert any("AmazonSSMManagedInstanceCore" in arn for arn in managed)
    assert any("DataServiceAccess" in arn for arn in managed)
    assert "Policies" not in role


def test_instance_role_reads_its_asset_and_hosts_parameter_and_writes_its_log_group(
    cdk_template: Templates,
) -> None:
    template = _api(cdk_template, "dev")
    role_id = _logical_id(template, "AWS::IAM::Role", "InstanceRole")
    (policy,) = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    ).values()
    grants = {
        tuple(sorted(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])): s[
            "Resource"
        ]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    log_group = _logical_id(template, "AWS::Logs::LogGroup", "ServiceLogs")
    asset = grants.pop(("s3:GetObject",))
    assert isinstance(asset, str)
    assert asset.startswith("arn:aws:s3:::cdk-")
    assert asset.endswith(".zip")
    assert "*" not in asset
    assert grants == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): {"Fn::GetAtt": [log_group, "Arn"]},
        ("cloudformation:SignalResource",): {"Ref": "AWS::StackId"},
        # The one parameter the Edge stack publishes the stage's own names in (public_hosts.py).
        ("ssm:GetParameter",): (
            "arn:aws:ssm:eu-west-1:111111111111:parameter/spito/dev/public-hosts"
        ),
    }


@pytest.mark.parametrize("stage", STAGES)
def test_service_log_group_follows_the_stage_retention_and_removal(
    stage: str, cdk_template: Templates
) -> None:
    template = _api(cdk_template, stage)
    log_group = _logical_id(template, "AWS::Logs::LogGroup", "ServiceLogs")
    resource = template.find_resources("AWS::Logs::LogGroup")[log_group]
    assert resource["DeletionPolicy"] == REMOVAL[stage]
    assert resource["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS[stage]


def _user_data_parts(template: Template) -> list[Any]:
    data = _only(template, "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    parts: list[Any] = data["UserData"]["Fn::Base64"]["Fn::Join"][1]
    return parts


@pytest.mark.parametrize("stage", STAGES)
def test_user_data_stays_under_16_kib_raw(stage: str, cdk_template: Templates) -> None:
    parts = _user_data_parts(_api(cdk_template, stage))
    size = sum(
        len(part.encode()) if isinstance(part, str) else LONGEST_TOKEN_VALUE for part in parts
    )
    assert size < USER_DATA_LIMIT_BYTES


def test_user_data_fetches_the_service_asset_and_signals_the_fleet(
    cdk_template: Templates,
) -> None:
    template = _api(cdk_template, "dev")
    text = "".join(p if isinstance(p, str) else "<token>" for p in _user_data_parts(template))
    (group_id,) = template.find_resources("AWS::AutoScaling::AutoScalingGroup")
    assert "--bundle s3://cdk-hnb659fds-assets-111111111111-eu-west-1/" in text
    assert f"--stack Spito-dev-Api --resource {group_id} --region eu-west-1" in text
    assert "cfn-signal" in text  # the embedded bootstrap script signals after /healthz


@pytest.mark.parametrize("stage", STAGES)
def test_stack_outputs_name_the_alb_the_service_log_group_the_table_and_the_bucket(
    stage: str, cdk_template: Templates
) -> None:
    from aws_cdk.assertions import Match

    api = _api(cdk_template, stage)
    for output in ("AlbDnsName", "ServiceLogGroup", "AlarmTopicArn"):
        api.has_output(output, Match.any_value())
    data = cdk_template(f"Spito-{stage}-Data")
    for output in ("TableName", "BlobBucketName"):
        data.has_output(output, Match.any_value())
