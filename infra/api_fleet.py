"""The API: an internal ALB that only CloudFront's VPC origin reaches, in front of an
auto-scaling EC2 fleet."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import jsii
from aws_cdk import (
    AssetHashType,
    BundlingOptions,
    DockerImage,
    Duration,
    ILocalBundling,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from constructs import Construct

from . import target_health
from .cfn_lint import ignore_check
from .checkov import skip_check
from .config import ORIGIN_PORTS, OriginProtocol
from .data import private_bucket
from .nag import acknowledge
from .props import (
    PropError,
    check_capacity,
    check_directory,
    check_environment,
    check_port,
    check_wheel_architecture,
)
from .service_bundle import LOCK_NAME, SERVICE_EXCLUDES, check_wheelhouse, stage_bundle

# The service package sits beside infra/, in the repository and in an installed wheel alike.
SERVICE_DIR = Path(__file__).resolve().parent.parent / "service"
BOOTSTRAP_SCRIPT = Path(__file__).resolve().parent / "bootstrap" / "fleet_bootstrap.sh"
# What `service_dir` must hold: the entry point and the lock the instances install from.
SERVICE_FILES = ("__main__.py", LOCK_NAME)
ARCHITECTURES = {
    ec2.InstanceArchitecture.ARM_64: "arm64",
    ec2.InstanceArchitecture.X86_64: "x86_64",
}


def fleet_environment(
    *, region: str, table_name: str, bucket_name: str, settings: Mapping[str, str]
) -> dict[str, str]:
    """The environment `service/settings.py` reads on an instance: what the fleet's place
    decides (below), then the service's tuning `settings` (limits, public URL...), which may
    not override it. A new derived variable is one more line here.
    """
    derived = {
        "AWS_REGION": region,
        # The ALB reaches the instance on its VPC address, never on loopback.
        "SPITO_BIND_HOST": "0.0.0.0",  # noqa: S104
        "SPITO_TABLE": table_name,
        "SPITO_BUCKET": bucket_name,
        # Behind CloudFront and the ALB, the client is the second address from the right.
        "SPITO_CLIENT_IP_POSITION": "2",
    }
    overridden = sorted(set(derived) & set(settings))
    if overridden:
        raise PropError(
            f"ApiFleet: service_settings sets {', '.join(overridden)}, which the fleet derives "
            "from its own props (the stack's region, table, blob_bucket); leave them out"
        )
    return {**derived, **settings}


class ApiFleet(Construct):
    """An internal ALB and the EC2 fleet it forwards to, both in `vpc_subnets` (private ones:
    with a NAT route or none, infra/network.py).

    The ALB has no public address: CloudFront reaches it through a VPC origin, and its security
    group starts with no ingress at all; the edge (infra/vpc_origin.py) admits CloudFront's
    VPC-origin security group on the listeners' ports. One listener per protocol in `listeners`
    (HTTP on 80, HTTPS on 443 with `certificate`), each forwarding everything to the fleet. The
    fleet runs Amazon Linux 2023 in the private subnets with IMDSv2, an encrypted root volume and
    no key pair (Session Manager only); user data installs the service asset (service/ and a
    wheelhouse for the fleet's platform, `wheelhouse`, installed with pip's index off: no
    internet needed) and signals CloudFormation once `/readyz` answers (the service reaches its
    table and bucket) and the ALB's check path has answered long enough for the target group to
    count it healthy (the creation waits for `min_capacity` signals). A change of launch template
    rolls the fleet one instance at a time, each replacement launched first and gated on its own
    signal, with every instance the group has at the time kept in service. The desired capacity
    is left to target tracking: a template value would reset a scaled-out fleet on every deploy
    (aws-cdk #5215).

    Props (keyword-only; each is checked at construction, infra/props.py):
    - `vpc`, `vpc_subnets`: where the ALB and the instances go (two zones or more; private).
    - `table`, `blob_bucket`: the service's data (`DataStore.table`, `.blob_bucket`); their names
      and the stack's region go into the instance's environment, with SPITO_BIND_HOST=0.0.0.0 so
      the ALB reaches it (`fleet_environment`).
    - `data_access_policy`: what the instances may do with that data
      (`DataStore.service_access_policy`).
    - `notification_topic`: where the group's scaling events go (`AlarmTopic.topic`).
    - `instance_type`: its architecture must match the wheelhouse's (arm64: t4g, m7g...).
    - `ami_id`: an Amazon Linux 2023 image of the stack's region and that architecture.
    - `min_capacity`, `max_capacity`: 1 <= min < max (room to roll one instance at a time).
    - `cpu_target_percent`, `requests_per_target_per_minute`: the target-tracking goals.
    - `health_check_grace`: how long a new instance's ELB health is ignored.
    - `signal_timeout`: how long CloudFormation waits for each instance's signal.
    - `root_volume_gib`: the encrypted gp3 root volume's size.
    - `service_port`: the port the service listens on and the ALB forwards to (1..65535).
    - `log_retention`, `removal_policy`, `deletion_protection`: the service log group's
      retention; what happens to the logs and ALB when the stack goes.
    - `wheelhouse`: the folder of wheels for the fleet's platform (`make wheelhouse`; a `str` is
      taken as a path), downloaded from `service_dir`'s requirements.lock.
    - `listeners`: the ALB's protocols, each once ("http", "https").
    - `certificate`: the HTTPS listener's certificate, with "https" only.
    - `access_log_days`: how long the ALB's access logs are kept.
    - `service_settings`: the service's tuning (`SPITO_WORKERS`, `SPITO_PUBLIC_URL`...,
      service/settings.py) as upper-case names and values without whitespace; not the variables
      the fleet derives.
    - `service_dir`: the service package to ship (holding __main__.py and requirements.lock);
      the default is the one installed beside the constructs.

    Attributes: `load_balancer`, `load_balancer_security_group`, `listeners` (by protocol),
    `target_group`, `auto_scaling_group`, `role`, `log_group`, `access_log_bucket`,
    `service_asset`, `user_data`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection,
        table: dynamodb.ITable,
        blob_bucket: s3.IBucket,
        data_access_policy: iam.IManagedPolicy,
        notification_topic: sns.ITopic,
        instance_type: ec2.InstanceType,
        ami_id: str,
        min_capacity: int,
        max_capacity: int,
        cpu_target_percent: int,
        requests_per_target_per_minute: int,
        health_check_grace: Duration,
        signal_timeout: Duration,
        root_volume_gib: int,
        service_port: int,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        deletion_protection: bool,
        wheelhouse: Path | str,
        listeners: Sequence[OriginProtocol] = ("http",),
        certificate: acm.ICertificate | None = None,
        access_log_days: int = 90,
        service_settings: Mapping[str, str] = MappingProxyType({}),
        service_dir: Path | str = SERVICE_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        owner = type(self).__name__
        service_dir = check_directory(
            owner,
            "service_dir",
            service_dir,
            SERVICE_FILES,
            fix="pass the directory of Spito's service package (the default is the one "
            "installed beside the constructs)",
        )
        check_capacity(owner, min_capacity=min_capacity, max_capacity=max_capacity)
        check_port(owner, "service_port", service_port)
        check_environment(owner, "service_settings", service_settings)
        # Up front, with the fix in the message, rather than from inside the asset's bundling.
        wheelhouse = Path(wheelhouse)
        wheels = check_wheelhouse(wheelhouse, service_dir / LOCK_NAME)
        check_wheel_architecture(owner, ARCHITECTURES[instance_type.architecture], wheels)
        environment = fleet_environment(
            region=Stack.of(self).region,
            table_name=table.table_name,
            bucket_name=blob_bucket.bucket_name,
            settings=service_settings,
        )
        if not listeners or len(set(listeners)) != len(listeners):
            raise ValueError(f"ApiFleet: listeners {list(listeners)} must name each protocol once")
        if ("https" in listeners) != (certificate is not None):
            raise ValueError(
                "ApiFleet: an HTTPS listener needs a certificate, and a certificate is only "
                "used by an HTTPS listener; pass both or neither"
            )
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
        self.load_balancer, self.load_balancer_security_group = self._load_balancer(
            vpc=vpc, vpc_subnets=vpc_subnets, deletion_protection=deletion_protection
        )
        self.service_asset = s3_assets.Asset(
            self,
            "ServiceCode",
            path=str(service_dir),
            exclude=list(SERVICE_EXCLUDES),
            # Laid out by this process (no container runs): service/ and the fleet's wheels.
            bundling=BundlingOptions(
                image=DockerImage.from_registry("spito/bundled-locally-never-pulled"),
                local=typing.cast(
                    ILocalBundling, _ServiceBundle(service_dir=service_dir, wheelhouse=wheelhouse)
                ),
            ),
            # The wheels are part of what runs: a new lock or wheel is a new asset.
            asset_hash_type=AssetHashType.OUTPUT,
        )
        self.role = self._instance_role(data_access_policy)
        instance_security_group = ec2.SecurityGroup(
            self,
            "InstanceSecurityGroup",
            vpc=vpc,
            description="Spito instances: the service port from the ALB, HTTPS out",
            allow_all_outbound=False,
        )
        # AWS APIs and the OS repositories (S3) are HTTPS; PyPI is not needed (wheels ship in
        # the asset). Without NAT only the VPC's endpoints answer (infra/network.py).
        instance_security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS out")
        self.user_data = ec2.UserData.for_linux()
        launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            # A literal id, never an SSM parameter CloudFormation re-reads at every update:
            # a new image reaches the fleet only through a config change the diff shows.
            machine_image=ec2.MachineImage.generic_linux({Stack.of(self).region: ami_id}),
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
            vpc_subnets=vpc_subnets,
            launch_template=launch_template,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            health_checks=autoscaling.HealthChecks.with_additional_checks(
                additional_types=[autoscaling.AdditionalHealthCheckType.ELB],
                grace_period=health_check_grace,
            ),
            signals=autoscaling.Signals.wait_for_min_capacity(timeout=signal_timeout),
            # Each replacement is launched first and counts only once it signals (after /readyz
            # and the ALB's check path answer); CloudFormation rolls the update back if one
            # doesn't within the timeout.
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
        self._add_user_data(service_port=service_port, environment=environment)
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
        self.listeners = {protocol: self._listener(protocol, certificate) for protocol in listeners}
        self.auto_scaling_group.scale_on_cpu_utilization(
            "CpuTarget", target_utilization_percent=cpu_target_percent
        )
        requests_policy = self.auto_scaling_group.scale_on_request_count(
            "RequestsTarget", target_requests_per_minute=requests_per_target_per_minute
        )
        ignore_check(
            requests_policy,
            "W3005",
            "aws-cdk-lib names the load balancer in the policy's ResourceLabel through a "
            "listener's ARN and also makes the policy DependsOn that listener; both order it "
            "after the listener, the second redundantly.",
        )

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
        self, *, vpc: ec2.IVpc, vpc_subnets: ec2.SubnetSelection, deletion_protection: bool
    ) -> tuple[elbv2.ApplicationLoadBalancer, ec2.SecurityGroup]:
        # No ingress here: the edge adds CloudFront's VPC-origin group once CloudFront has created
        # it (infra/vpc_origin.py); until then nothing at all reaches the ALB.
        security_group = ec2.SecurityGroup(
            self,
            "AlbSecurityGroup",
            vpc=vpc,
            description="Spito ALB: only the CloudFront VPC-origin group, on the listener ports",
            allow_all_outbound=False,
        )
        load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=vpc,
            internet_facing=False,
            vpc_subnets=vpc_subnets,
            security_group=security_group,
            drop_invalid_header_fields=True,
            desync_mitigation_mode=elbv2.DesyncMitigationMode.DEFENSIVE,
            deletion_protection=deletion_protection,
        )
        load_balancer.log_access_logs(self.access_log_bucket, prefix="alb")
        return load_balancer, security_group

    def _listener(
        self, protocol: OriginProtocol, certificate: acm.ICertificate | None
    ) -> elbv2.ApplicationListener:
        """Everything to the fleet: only CloudFront's VPC origin reaches the ALB at all."""
        if protocol == "https":
            assert certificate is not None  # checked in __init__
            return self.load_balancer.add_listener(
                "Https",
                port=ORIGIN_PORTS[protocol],
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
                ssl_policy=elbv2.SslPolicy.TLS13_RES,
                default_target_groups=[self.target_group],
                open=False,
            )
        listener = self.load_balancer.add_listener(
            "Http",
            port=ORIGIN_PORTS[protocol],
            protocol=elbv2.ApplicationProtocol.HTTP,
            default_target_groups=[self.target_group],
            open=False,
        )
        for check in ("CKV_AWS_2", "CKV_AWS_103"):
            skip_check(
                listener,
                check,
                "CloudFront's VPC origin is this listener's only client, over the VPC's own "
                "network: the ALB is internal and its group admits only CloudFront's VPC-origin "
                "group. Without a domain there is no certificate CloudFront could verify; with "
                "one, the HTTPS listener serves it (docs/ORIGIN-AND-EGRESS.md).",
            )
        return listener

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


@jsii.implements(ILocalBundling)
class _ServiceBundle:
    """Stages the service asset in this process: service/ and `wheelhouse` (infra/service_bundle).

    jsii hands the bundling options over as one positional struct, which the generated
    `ILocalBundling` protocol spells as keyword arguments; hence the cast where it is used.
    """

    def __init__(self, *, service_dir: Path, wheelhouse: Path) -> None:
        self._service_dir = service_dir
        self._wheelhouse = wheelhouse

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        del options  # nothing to configure: the layout is fixed
        stage_bundle(self._service_dir, self._wheelhouse, Path(output_dir))
        return True
