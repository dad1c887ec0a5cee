"""The API: an ALB that only CloudFront can use, in front of an auto-scaling EC2 fleet."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra import target_health
from infra.cdk_providers import skip_provider_function_checks
from infra.checkov import skip_check
from infra.data import private_bucket
from infra.nag import acknowledge

# The service package sits beside infra/, in the repository and in an installed wheel alike.
SERVICE_DIR = Path(__file__).resolve().parent.parent / "service"
BOOTSTRAP_SCRIPT = Path(__file__).resolve().parent / "bootstrap" / "fleet_bootstrap.sh"
# The edge sends this header with the secret's value; the ALB forwards nothing without it.
ORIGIN_VERIFY_HEADER = "X-Spito-Origin-Verify"
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
# Kept out of the asset: they change the hash without changing what runs.
SERVICE_ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", "tests"]


class ApiFleet(Construct):
    """An internet-facing ALB reachable only from CloudFront, and the EC2 fleet it forwards to.

    The ALB's security group admits CloudFront's origin-facing prefix list (resolved at deploy time)
    on one port, and its listener forwards only requests carrying `ORIGIN_VERIFY_HEADER` with the
    value of an accepted origin secret; anything else gets a fixed 403. The fleet runs Amazon
    Linux 2023 in private subnets with IMDSv2, an encrypted root volume and no key pair (Session
    Manager only); user data installs the service asset and signals CloudFormation after
    `/healthz` answers (the creation waits for `min_capacity` signals). A change of launch
    template rolls the fleet one instance at a time, each replacement launched first and gated on
    its own signal, with every instance the group has at the time kept in service. The desired
    capacity is left to target tracking: a template value would reset a scaled-out fleet on every
    deploy (aws-cdk #5215).

    The secret is rotated by bumping `origin_secret_generation`: the listener accepts the current
    and the previous generation, so the edge can switch to the new one after this stack deploys.

    Attributes: `load_balancer`, `listener`, `target_group`, `auto_scaling_group`, `role`,
    `origin_secret` (the current generation), `accepted_origin_secrets`, `log_group`,
    `access_log_bucket`, `service_asset`, `user_data`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        data_access_policy: iam.IManagedPolicy,
        notification_topic: sns.ITopic,
        instance_type: ec2.InstanceType,
        cpu_type: ec2.AmazonLinuxCpuType,
        min_capacity: int,
        max_capacity: int,
        cpu_target_percent: int,
        requests_per_target_per_minute: int,
        health_check_grace: Duration,
        signal_timeout: Duration,
        root_volume_gib: int,
        service_port: int,
        service_environment: Mapping[str, str],
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        deletion_protection: bool,
        certificate: acm.ICertificate | None = None,
        origin_secret_generation: int = 1,
        access_log_days: int = 90,
        service_dir: Path = SERVICE_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        if not (service_dir / "__main__.py").is_file():
            raise ValueError(
                f"ApiFleet: service_dir {service_dir} has no __main__.py; pass the directory of "
                "Spito's service package (the default is the one installed beside infra)"
            )
        # The current generation's secret, which CloudFront sends, and the one before it, which
        # the listener still accepts: between this stack's deploy and the edge's, CloudFront
        # still sends the old value.
        self.accepted_origin_secrets = [
            self._origin_secret(generation)
            for generation in (origin_secret_generation, origin_secret_generation - 1)
            if generation >= 1
        ]
        self.origin_secret = self.accepted_origin_secrets[0]
        for previous in self.accepted_origin_secrets[1:]:
            # The edge imported this ARN until now; dropping the export before the edge deploys
            # would fail this stack's update ("export ... in use").
            Stack.of(self).export_value(previous.secret_arn)
        self.log_group = logs.LogGroup(
            self, "ServiceLogs", retention=log_retention, removal_policy=removal_policy
        )
        skip_check(
            self.log_group,
            "CKV_AWS_158",
            "CloudWatch Logs encrypts every log group at rest; a customer key would change only "
            "the key, not who can read the logs (IAM on the log group decides that).",
        )
        self.access_log_bucket = self._alb_log_bucket(removal_policy, access_log_days)
        self.load_balancer, self.listener = self._load_balancer(
            vpc=vpc,
            certificate=certificate,
            deletion_protection=deletion_protection,
            lookup_log_group=logs.LogGroup(
                self,
                "PrefixListLookupLogs",
                retention=log_retention,
                removal_policy=removal_policy,
            ),
        )
        self.service_asset = s3_assets.Asset(
            self, "ServiceCode", path=str(service_dir), exclude=SERVICE_ASSET_EXCLUDES
        )
        self.role = self._instance_role(data_access_policy)
        instance_security_group = ec2.SecurityGroup(
            self,
            "InstanceSecurityGroup",
            vpc=vpc,
            description="Spito instances: the service port from the ALB, HTTPS out",
            allow_all_outbound=False,
        )
        # AWS APIs, the OS repositories and PyPI (for the hash-locked install) are all HTTPS.
        instance_security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS out")
        self.user_data = ec2.UserData.for_linux()
        launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=cpu_type),
            instance_type=instance_type,
            role=self.role,
            security_group=instance_security_group,
            user_data=self.user_data,
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            detailed_monitoring=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        root_volume_gib,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        encrypted=True,
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        self.auto_scaling_group = autoscaling.AutoScalingGroup(
            self,
            "Fleet",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            launch_template=launch_template,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            health_checks=autoscaling.HealthChecks.with_additional_checks(
                additional_types=[autoscaling.AdditionalHealthCheckType.ELB],
                grace_period=health_check_grace,
            ),
            signals=autoscaling.Signals.wait_for_min_capacity(timeout=signal_timeout),
            # Each replacement is launched first and counts only once it signals after /healthz;
            # CloudFormation rolls the update back if one doesn't within the timeout.
            update_policy=autoscaling.UpdatePolicy.rolling_update(
                max_batch_size=1,
                wait_on_resource_signals=True,
                pause_time=signal_timeout,
            ),
            notifications=[
                autoscaling.NotificationConfiguration(
                    topic=notification_topic, scaling_events=autoscaling.ScalingEvents.ALL
                )
            ],
            group_metrics=[autoscaling.GroupMetrics.all()],
        )
        self._keep_every_instance_in_service_while_rolling()
        self._add_user_data(service_port=service_port, environment=service_environment)
        instance_security_group.add_ingress_rule(
            self.load_balancer.connections.security_groups[0],
            ec2.Port.tcp(service_port),
            "the service port from the ALB",
        )
        self.load_balancer.connections.security_groups[0].add_egress_rule(
            instance_security_group, ec2.Port.tcp(service_port), "to the fleet"
        )
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "Targets",
            vpc=vpc,
            port=service_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.auto_scaling_group],
            deregistration_delay=Duration.seconds(30),
            # Numbers in a CDK-free module: the fault harness's HAProxy checks with the same.
            health_check=elbv2.HealthCheck(
                path=target_health.PATH,
                healthy_http_codes=target_health.HEALTHY_HTTP_CODES,
                interval=Duration.seconds(target_health.INTERVAL_SECONDS),
                timeout=Duration.seconds(target_health.TIMEOUT_SECONDS),
                healthy_threshold_count=target_health.HEALTHY_THRESHOLD,
                unhealthy_threshold_count=target_health.UNHEALTHY_THRESHOLD,
            ),
        )
        self.listener.add_target_groups(
            "FromCloudFront",
            priority=1,
            target_groups=[self.target_group],
            conditions=[
                elbv2.ListenerCondition.http_header(
                    ORIGIN_VERIFY_HEADER,
                    # {{resolve:secretsmanager:...}} dynamic references, not the values.
                    [s.secret_value.unsafe_unwrap() for s in self.accepted_origin_secrets],
                )
            ],
        )
        self.auto_scaling_group.scale_on_cpu_utilization(
            "CpuTarget", target_utilization_percent=cpu_target_percent
        )
        self.auto_scaling_group.scale_on_request_count(
            "RequestsTarget", target_requests_per_minute=requests_per_target_per_minute
        )

    def _origin_secret(self, generation: int) -> secretsmanager.Secret:
        """The origin header value of one generation, a construct id of its own.

        A new generation is a new resource, so CloudFormation creates its secret and then deletes
        the secret two generations back; generation 1 keeps the id it had before generations
        existed, so no stage replaces its secret by upgrading.
        """
        secret = secretsmanager.Secret(
            self,
            "OriginSecret" if generation == 1 else f"OriginSecretGeneration{generation}",
            description=f"Value of the origin header CloudFront sends and the ALB requires "
            f"(generation {generation})",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48
            ),
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "CloudFormation resolves the value into CloudFront's origin header and the ALB's "
            "listener rule only when each deploys, so a rotation Lambda would change it behind "
            "both and fail every API request. It is rotated by deploy instead: bumping "
            "spito.edge.origin_secret_generation creates a new secret, the listener accepts the "
            "new and the previous one, and the edge switches to the new one (README: Rotating the "
            "origin secret).",
        )
        skip_check(
            secret,
            "CKV_AWS_149",
            "Only CloudFormation reads this value, at deploy; the AWS-managed Secrets Manager "
            "key protects it without a key policy to keep in step.",
        )
        return secret

    def _keep_every_instance_in_service_while_rolling(self) -> None:
        """No capacity drop at any fleet size: all of the group's instances at the time stay in
        service (a share, unlike MinInstancesInService's fixed count, which a scaled-out fleet
        would drop to). The L2's rolling_update() has no option for it, hence the override."""
        group = self.auto_scaling_group.node.default_child
        assert isinstance(group, autoscaling.CfnAutoScalingGroup)
        group.add_override("UpdatePolicy.AutoScalingRollingUpdate.MinActiveInstancesPercent", 100)

    def _alb_log_bucket(self, removal_policy: RemovalPolicy, access_log_days: int) -> s3.Bucket:
        bucket = private_bucket(
            self,
            "AlbAccessLogs",
            removal_policy=removal_policy,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(access_log_days))],
        )
        skip_check(
            bucket,
            "CKV_AWS_18",
            "This bucket receives the ALB's access logs; logging its own access would need "
            "another bucket.",
        )
        skip_check(
            bucket,
            "CKV_AWS_21",
            "Access logs are written once and expire; versions would only double their storage.",
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "This bucket receives the ALB's access logs; logging access to the log "
            "bucket itself would need yet another bucket, without end.",
        )
        return bucket

    def _load_balancer(
        self,
        *,
        vpc: ec2.IVpc,
        certificate: acm.ICertificate | None,
        deletion_protection: bool,
        lookup_log_group: logs.ILogGroup,
    ) -> tuple[elbv2.ApplicationLoadBalancer, elbv2.ApplicationListener]:
        port = 443 if certificate else 80
        security_group = ec2.SecurityGroup(
            self,
            "AlbSecurityGroup",
            vpc=vpc,
            description="Spito ALB: only the CloudFront origin-facing prefix list, on one port",
            allow_all_outbound=False,
        )
        # The prefix list counts as ~55 rules of the 60 a security group may hold: one port only.
        security_group.add_ingress_rule(
            ec2.Peer.prefix_list(self._cloudfront_prefix_list_id(lookup_log_group)),
            ec2.Port.tcp(port),
            "CloudFront origin-facing",
        )
        load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_group=security_group,
            drop_invalid_header_fields=True,
            desync_mitigation_mode=elbv2.DesyncMitigationMode.DEFENSIVE,
            deletion_protection=deletion_protection,
        )
        load_balancer.log_access_logs(self.access_log_bucket, prefix="alb")
        forbidden = elbv2.ListenerAction.fixed_response(
            403, content_type="text/plain", message_body="Forbidden"
        )
        if certificate:
            listener = load_balancer.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
                ssl_policy=elbv2.SslPolicy.TLS13_RES,
                default_action=forbidden,
                open=False,
            )
        else:
            listener = load_balancer.add_listener(
                "Http",
                port=80,
                protocol=elbv2.ApplicationProtocol.HTTP,
                default_action=forbidden,
                open=False,
            )
            for check in ("CKV_AWS_2", "CKV_AWS_103"):
                skip_check(
                    listener,
                    check,
                    "No domain is configured, so there is no certificate the ALB could present: "
                    "only CloudFront's addresses reach this port, and only with the secret header. "
                    "Configure spito.domain for HTTPS with a TLS 1.3 policy.",
                )
        return load_balancer, listener

    def _cloudfront_prefix_list_id(self, log_group: logs.ILogGroup) -> str:
        """Ask EC2 for the prefix list's id when the stack deploys: ids differ per region."""
        lookup = cr.AwsCustomResource(
            self,
            "CloudFrontPrefixList",
            on_update=cr.AwsSdkCall(
                service="EC2",
                action="describeManagedPrefixLists",
                parameters={
                    "Filters": [{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST]}]
                },
                physical_resource_id=cr.PhysicalResourceId.of(CLOUDFRONT_PREFIX_LIST),
                output_paths=["PrefixLists.0.PrefixListId"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
            # The stage's retention and removal policy, not the provider's 2 years and RETAIN.
            log_group=log_group,
        )
        acknowledge(
            lookup.node.find_child("CustomResourcePolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "ec2:DescribeManagedPrefixLists supports no resource-level permissions.",
        )
        skip_check(
            log_group,
            "CKV_AWS_158",
            "The CDK provider logs one SDK call per deploy; CloudWatch Logs encrypts it at rest.",
        )
        provider = Stack.of(self).node.find_child(
            "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        )
        skip_provider_function_checks(provider)
        acknowledge(
            provider.node.find_child("ServiceRole"),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "The CDK's AwsCustomResource provider writes only its own logs with this policy.",
        )
        return lookup.get_response_field("PrefixLists.0.PrefixListId")

    def _instance_role(self, data_access_policy: iam.IManagedPolicy) -> iam.Role:
        role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Spito API instances: the table's items, the bucket's objects, the logs",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore"),
                data_access_policy,
            ],
        )
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]",
            "Session Manager replaces SSH and needs this policy; AWS keeps it in step "
            "with the SSM agent's API.",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[
                    self.service_asset.bucket.arn_for_objects(self.service_asset.s3_object_key)
                ],
            )
        )
        self.log_group.grant_write(role)
        return role

    def _add_user_data(self, *, service_port: int, environment: Mapping[str, str]) -> None:
        stack = Stack.of(self)
        asg_logical_id = stack.get_logical_id(
            self.auto_scaling_group.node.default_child  # type: ignore[arg-type]
        )
        env_lines = [
            f"{key}={value}" for key, value in {**environment, "PORT": str(service_port)}.items()
        ]
        script = BOOTSTRAP_SCRIPT.read_text()
        self.user_data.add_commands(
            "set -euo pipefail",
            "install -d -m 0700 /run/spito-bootstrap",
            "cat > /run/spito-bootstrap/service.env <<'SPITO_ENV'",
            *env_lines,
            "SPITO_ENV",
            "cat > /run/spito-bootstrap/fleet_bootstrap.sh <<'SPITO_BOOTSTRAP'",
            script.rstrip("\n"),
            "SPITO_BOOTSTRAP",
            "exec bash /run/spito-bootstrap/fleet_bootstrap.sh"
            f" --bundle s3://{self.service_asset.s3_bucket_name}/{self.service_asset.s3_object_key}"
            " --env-file /run/spito-bootstrap/service.env"
            f" --log-group {self.log_group.log_group_name}"
            f" --stack {stack.stack_name} --resource {asg_logical_id} --region {stack.region}",
        )
