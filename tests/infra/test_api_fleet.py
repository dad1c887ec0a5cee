"""The API fleet: an ALB only CloudFront can use, and a locked-down, self-healing EC2 fleet."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from infra.api_fleet import ORIGIN_VERIFY_HEADER
from tests.infra.helpers import as_list, only_resource, resources_of_type, statements

Templates = Callable[[str], dict[str, Any]]
STAGES = ["dev", "prod"]
USER_DATA_LIMIT_BYTES = 16 * 1024
# Upper bound for what a deploy-time token (table name, bucket, stack name...) expands to.
LONGEST_TOKEN_VALUE = 255


def _api(cdk_template_json: Templates, stage: str) -> dict[str, Any]:
    return cdk_template_json(f"Spito-{stage}-Api")


def _logical_id(template: dict[str, Any], resource_type: str, fragment: str) -> str:
    (logical_id,) = [key for key in resources_of_type(template, resource_type) if fragment in key]
    return logical_id


def _alb_attributes(template: dict[str, Any]) -> dict[str, Any]:
    alb = only_resource(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    return {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}


@pytest.mark.parametrize("stage", STAGES)
def test_alb_is_internet_facing_in_the_public_subnets(
    stage: str, cdk_template_json: Templates
) -> None:
    alb = only_resource(
        _api(cdk_template_json, stage), "AWS::ElasticLoadBalancingV2::LoadBalancer"
    )["Properties"]
    assert alb["Scheme"] == "internet-facing"
    assert alb["Subnets"]
    assert all("publicSubnet" in json.dumps(subnet) for subnet in alb["Subnets"])


@pytest.mark.parametrize("stage", STAGES)
def test_alb_drops_invalid_headers_and_mitigates_desync(
    stage: str, cdk_template_json: Templates
) -> None:
    attributes = _alb_attributes(_api(cdk_template_json, stage))
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] in {"defensive", "strictest"}


@pytest.mark.parametrize("stage", STAGES)
def test_alb_writes_access_logs_to_an_sse_s3_bucket(
    stage: str, cdk_template_json: Templates
) -> None:
    template = _api(cdk_template_json, stage)
    attributes = _alb_attributes(template)
    assert attributes["access_logs.s3.enabled"] == "true"
    bucket_id = attributes["access_logs.s3.bucket"]["Ref"]
    encryption = template["Resources"][bucket_id]["Properties"]["BucketEncryption"]
    (rule,) = encryption["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


@pytest.mark.parametrize(("stage", "protected"), [("dev", "false"), ("prod", "true")])
def test_alb_deletion_protection_follows_the_stage(
    stage: str, protected: str, cdk_template_json: Templates
) -> None:
    assert (
        _alb_attributes(_api(cdk_template_json, stage))["deletion_protection.enabled"] == protected
    )


@pytest.mark.parametrize("stage", STAGES)
def test_alb_security_group_admits_only_the_cloudfront_prefix_list_on_one_port(
    stage: str, cdk_template_json: Templates
) -> None:
    template = _api(cdk_template_json, stage)
    group_id = _logical_id(template, "AWS::EC2::SecurityGroup", "AlbSecurityGroup")
    group = template["Resources"][group_id]["Properties"]
    assert "SecurityGroupIngress" not in group  # no inline rules, in particular no CIDR
    ingress = [
        rule["Properties"]
        for rule in resources_of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    assert len(ingress) == 1
    (rule,) = ingress
    assert rule["FromPort"] == rule["ToPort"] == 80
    lookup_id = _logical_id(template, "Custom::AWS", "CloudFrontPrefixList")
    assert rule["SourcePrefixListId"] == {"Fn::GetAtt": [lookup_id, "PrefixLists.0.PrefixListId"]}
    assert "CidrIp" not in rule


def test_prefix_list_is_resolved_at_deploy_time_by_its_cloudfront_name(
    cdk_template_json: Templates,
) -> None:
    lookup = only_resource(_api(cdk_template_json, "dev"), "Custom::AWS")["Properties"]
    call = json.loads(lookup["Create"])
    assert call["action"] == "describeManagedPrefixLists"
    assert call["parameters"]["Filters"] == [
        {"Name": "prefix-list-name", "Values": ["com.amazonaws.global.cloudfront.origin-facing"]}
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_listener_answers_403_unless_a_rule_matches(
    stage: str, cdk_template_json: Templates
) -> None:
    listener = only_resource(
        _api(cdk_template_json, stage), "AWS::ElasticLoadBalancingV2::Listener"
    )["Properties"]
    assert listener["DefaultActions"] == [
        {
            "Type": "fixed-response",
            "FixedResponseConfig": {
                "StatusCode": "403",
                "ContentType": "text/plain",
                "MessageBody": "Forbidden",
            },
        }
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_only_requests_with_the_secret_origin_header_are_forwarded(
    stage: str, cdk_template_json: Templates
) -> None:
    template = _api(cdk_template_json, stage)
    (rule,) = [
        r["Properties"]
        for r in resources_of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    ]
    assert [action["Type"] for action in rule["Actions"]] == ["forward"]
    (condition,) = rule["Conditions"]
    assert condition["Field"] == "http-header"
    assert condition["HttpHeaderConfig"]["HttpHeaderName"] == ORIGIN_VERIFY_HEADER
    secret_id = _logical_id(template, "AWS::SecretsManager::Secret", "OriginSecret")
    assert condition["HttpHeaderConfig"]["Values"] == [
        {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]]}
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_origin_secret_is_generated_by_secrets_manager_not_written_in_the_template(
    stage: str, cdk_template_json: Templates
) -> None:
    template = _api(cdk_template_json, stage)
    secret = only_resource(template, "AWS::SecretsManager::Secret")["Properties"]
    assert "SecretString" not in secret
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32


@pytest.mark.parametrize("stage", STAGES)
def test_instances_require_imdsv2_encrypted_gp3_and_no_key_pair(
    stage: str, cdk_template_json: Templates
) -> None:
    template = _api(cdk_template_json, stage)
    data = only_resource(template, "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert "KeyName" not in data
    (root,) = data["BlockDeviceMappings"]
    assert root["Ebs"]["Encrypted"] is True
    assert root["Ebs"]["VolumeType"] == "gp3"


def test_instances_run_amazon_linux_2023_on_graviton(cdk_template_json: Templates) -> None:
    template = _api(cdk_template_json, "dev")
    data = only_resource(template, "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    assert data["InstanceType"] == "t4g.small"
    image_parameter = template["Parameters"][data["ImageId"]["Ref"]]
    assert image_parameter["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert image_parameter["Default"].startswith("/aws/service/ami-amazon-linux-latest/al2023-ami")
    assert image_parameter["Default"].endswith("-arm64")


@pytest.mark.parametrize("stage", STAGES)
def test_fleet_runs_in_the_private_subnets_with_elb_health_checks(
    stage: str, cdk_template_json: Templates
) -> None:
    group = only_resource(_api(cdk_template_json, stage), "AWS::AutoScaling::AutoScalingGroup")[
        "Properties"
    ]
    assert group["VPCZoneIdentifier"]
    assert all("privateSubnet" in json.dumps(subnet) for subnet in group["VPCZoneIdentifier"])
    assert group["HealthCheckType"] == "ELB"
    assert group["HealthCheckGracePeriod"] > 0


def test_prod_fleet_spreads_at_least_two_instances_over_three_zones(
    cdk_template_json: Templates,
) -> None:
    group = only_resource(_api(cdk_template_json, "prod"), "AWS::AutoScaling::AutoScalingGroup")[
        "Properties"
    ]
    assert int(group["MinSize"]) >= 2
    assert len(group["VPCZoneIdentifier"]) == 3


def test_target_group_checks_healthz(cdk_template_json: Templates) -> None:
    target_group = only_resource(
        _api(cdk_template_json, "dev"), "AWS::ElasticLoadBalancingV2::TargetGroup"
    )["Properties"]
    assert target_group["HealthCheckPath"] == "/healthz"
    assert target_group["Matcher"] == {"HttpCode": "200"}


def test_a_lost_instance_is_taken_out_within_about_ten_seconds(
    cdk_template_json: Templates,
) -> None:
    target_group = only_resource(
        _api(cdk_template_json, "dev"), "AWS::ElasticLoadBalancingV2::TargetGroup"
    )["Properties"]
    detection = target_group["HealthCheckIntervalSeconds"] * target_group["UnhealthyThresholdCount"]
    assert detection <= 10


@pytest.mark.parametrize("stage", STAGES)
def test_updates_roll_one_instance_at_a_time_gated_on_signals_without_capacity_drop(
    stage: str, cdk_template_json: Templates
) -> None:
    group = only_resource(_api(cdk_template_json, stage), "AWS::AutoScaling::AutoScalingGroup")
    rolling = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["WaitOnResourceSignals"] is True
    assert rolling["MaxBatchSize"] == 1
    assert int(rolling["MinInstancesInService"]) == int(group["Properties"]["DesiredCapacity"])
    assert int(group["Properties"]["MaxSize"]) > int(group["Properties"]["DesiredCapacity"])
    assert group["CreationPolicy"]["ResourceSignal"]["Count"] == int(group["Properties"]["MinSize"])


def test_fleet_uses_the_latest_launch_template_version(cdk_template_json: Templates) -> None:
    template = _api(cdk_template_json, "dev")
    group = only_resource(template, "AWS::AutoScaling::AutoScalingGroup")["Properties"]
    template_id = next(iter(resources_of_type(template, "AWS::EC2::LaunchTemplate")))
    assert group["LaunchTemplate"]["Version"] == {
        "Fn::GetAtt": [template_id, "LatestVersionNumber"]
    }


def test_fleet_scales_on_cpu_and_on_requests_per_target(cdk_template_json: Templates) -> None:
    policies = resources_of_type(_api(cdk_template_json, "dev"), "AWS::AutoScaling::ScalingPolicy")
    metrics = {
        p["Properties"]["TargetTrackingConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]
        for p in policies.values()
    }
    assert metrics == {"ASGAverageCPUUtilization", "ALBRequestCountPerTarget"}


def test_fleet_notifies_the_alarm_topic_of_launches_and_terminations(
    cdk_template_json: Templates,
) -> None:
    template = _api(cdk_template_json, "dev")
    group = only_resource(template, "AWS::AutoScaling::AutoScalingGroup")["Properties"]
    (notification,) = group["NotificationConfigurations"]
    topic_id = next(iter(resources_of_type(template, "AWS::SNS::Topic")))
    assert notification["TopicARN"] == {"Ref": topic_id}
    assert {"autoscaling:EC2_INSTANCE_LAUNCH", "autoscaling:EC2_INSTANCE_TERMINATE"} <= set(
        notification["NotificationTypes"]
    )


def test_instances_accept_only_the_alb_on_the_service_port(cdk_template_json: Templates) -> None:
    template = _api(cdk_template_json, "dev")
    instance_group = _logical_id(template, "AWS::EC2::SecurityGroup", "InstanceSecurityGroup")
    alb_group = _logical_id(template, "AWS::EC2::SecurityGroup", "AlbSecurityGroup")
    assert "SecurityGroupIngress" not in template["Resources"][instance_group]["Properties"]
    ingress = [
        rule["Properties"]
        for rule in resources_of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [instance_group, "GroupId"]}
    ]
    assert ingress == [
        {
            "Description": "the service port from the ALB",
            "FromPort": 8080,
            "GroupId": {"Fn::GetAtt": [instance_group, "GroupId"]},
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [alb_group, "GroupId"]},
            "ToPort": 8080,
        }
    ]


def _instance_role(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    role_id = _logical_id(template, "AWS::IAM::Role", "InstanceRole")
    return role_id, template["Resources"][role_id]["Properties"]


def test_instance_role_has_only_session_manager_and_the_data_access_policy(
    cdk_template_json: Templates,
) -> None:
    _, role = _instance_role(_api(cdk_template_json, "dev"))
    managed = [json.dumps(arn) for arn in role["ManagedPolicyArns"]]
    assert len(managed) == 2
    assert any("AmazonSSMManagedInstanceCore" in arn for arn in managed)
    assert any("DataServiceAccess" in arn for arn in managed)


def test_instance_role_reads_exactly_its_asset_and_writes_exactly_its_log_group(
    cdk_template_json: Templates,
) -> None:
    template = _api(cdk_template_json, "dev")
    role_id, _ = _instance_role(template)
    (policy,) = [
        p["Properties"]
        for p in resources_of_type(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    grants = {
        tuple(sorted(as_list(s["Action"]))): s["Resource"]
        for s in statements(policy["PolicyDocument"])
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
    }


def test_service_log_group_has_retention(cdk_template_json: Templates) -> None:
    template = _api(cdk_template_json, "prod")
    log_group = template["Resources"][_logical_id(template, "AWS::Logs::LogGroup", "ServiceLogs")]
    assert log_group["Properties"]["RetentionInDays"] == 90


def _user_data_parts(template: dict[str, Any]) -> list[Any]:
    data = only_resource(template, "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    parts: list[Any] = data["UserData"]["Fn::Base64"]["Fn::Join"][1]
    return parts


@pytest.mark.parametrize("stage", STAGES)
def test_user_data_stays_under_16_kib_raw(stage: str, cdk_template_json: Templates) -> None:
    parts = _user_data_parts(_api(cdk_template_json, stage))
    size = sum(
        len(part.encode()) if isinstance(part, str) else LONGEST_TOKEN_VALUE for part in parts
    )
    assert size < USER_DATA_LIMIT_BYTES


def test_user_data_fetches_the_service_asset_and_signals_the_fleet(
    cdk_template_json: Templates,
) -> None:
    template = _api(cdk_template_json, "dev")
    text = "".join(p if isinstance(p, str) else "<token>" for p in _user_data_parts(template))
    group_id = next(iter(resources_of_type(template, "AWS::AutoScaling::AutoScalingGroup")))
    assert "--bundle s3://cdk-hnb659fds-assets-111111111111-eu-west-1/" in text
    assert f"--stack Spito-dev-Api --resource {group_id} --region eu-west-1" in text
    assert "cfn-signal" in text  # the embedded bootstrap script signals after /healthz


@pytest.mark.parametrize("stage", STAGES)
def test_stack_outputs_name_the_alb_and_the_service_log_group(
    stage: str, cdk_template_json: Templates
) -> None:
    outputs = _api(cdk_template_json, stage)["Outputs"]
    assert {"AlbDnsName", "ServiceLogGroup"} <= set(outputs)
    data_outputs = cdk_template_json(f"Spito-{stage}-Data")["Outputs"]
    assert {"TableName", "BlobBucketName"} <= set(data_outputs)
