"""The API fleet behind its ALB, and the alarms that watch it."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.abuse_alarm import HeldItemsAlarm
from infra.api_fleet import SERVICE_DIR, ApiFleet
from infra.certificates import domain_names
from infra.config import SpitoConfig, origin_plan, pinned_ami
from infra.monitoring import AlarmTopic, FleetAlarms
from infra.public_hosts import ENVIRONMENT_VARIABLE, allow_reading_public_hosts, parameter_name
from infra.service_bundle import wheelhouse_dir
from stacks.base import SpitoStack
from stacks.conversions import removal_policy, retention

DAY_SECONDS = 24 * 60 * 60


def service_settings(config: SpitoConfig) -> dict[str, str]:
    """The service's tuning from the config (`service/settings.py`); the fleet derives the rest
    of the instance's environment (region, bind address, table, bucket: infra/api_fleet.py)."""
    limits = config.service
    return {
        "SPITO_WORKERS": str(limits.workers),
        "SPITO_PASTE_MAX_BYTES": str(limits.paste_max_bytes),
        "SPITO_PASTE_INLINE_MAX_BYTES": str(limits.paste_inline_max_bytes),
        "SPITO_EXPIRES_MAX_SECONDS": str(limits.expires_max_days * DAY_SECONDS),
        "SPITO_LINK_EXPIRES_DEFAULT_SECONDS": str(limits.link_expires_default_days * DAY_SECONDS),
        "SPITO_PASTE_EXPIRES_DEFAULT_SECONDS": str(limits.paste_expires_default_days * DAY_SECONDS),
        **public_host_environment(config),
        # The distribution's own name, written by the Edge stack after this one (a reference
        # would be a cycle): the service reads it at run time (infra/public_hosts.py).
        ENVIRONMENT_VARIABLE: parameter_name(config.stage),
    }


def public_host_environment(config: SpitoConfig) -> dict[str, str]:
    """With a custom domain: the service's URL and own names (it refuses to shorten them).

    Without one, the edge forwards the viewer's Host (the distribution's *.cloudfront.net name),
    which the service uses for its URLs and counts as its own.
    """
    domain_name = config.domain.domain_name
    if domain_name is None:
        return {}
    return {
        "SPITO_PUBLIC_URL": f"https://{domain_name}",
        "SPITO_PUBLIC_HOSTS": ",".join(domain_names(domain_name)),
    }


class ApiStack(SpitoStack):
    """ALB + fleet, the alarm topic, alarms and dashboard.

    Attributes for the other stacks: `load_balancer`, `alarm_topic`, `fleet`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: SpitoConfig,
        vpc: ec2.IVpc,
        fleet_subnets: ec2.SubnetSelection,
        table: dynamodb.ITable,
        blob_bucket: s3.IBucket,
        data_access_policy: iam.IManagedPolicy,
        certificate: acm.ICertificate | None = None,
        service_dir: Path = SERVICE_DIR,
    ) -> None:
        super().__init__(
            scope, construct_id, config=config, description=f"Spito {config.stage}: API fleet"
        )
        fleet_config = config.fleet
        alarm_topic = AlarmTopic(
            self,
            "AlarmTopic",
            email=config.monitoring.alarm_email,
            removal_policy=removal_policy(config),
        )
        self.alarm_topic = alarm_topic.topic
        self.fleet = ApiFleet(
            self,
            "Api",
            vpc=vpc,
            vpc_subnets=fleet_subnets,
            table=table,
            blob_bucket=blob_bucket,
            data_access_policy=data_access_policy,
            notification_topic=self.alarm_topic,
            instance_type=ec2.InstanceType(fleet_config.instance_type),
            ami_id=pinned_ami(config),
            min_capacity=fleet_config.min_capacity,
            max_capacity=fleet_config.max_capacity,
            cpu_target_percent=fleet_config.cpu_target_percent,
            requests_per_target_per_minute=fleet_config.requests_per_target_per_minute,
            health_check_grace=Duration.seconds(fleet_config.health_check_grace_seconds),
            signal_timeout=Duration.minutes(fleet_config.signal_timeout_minutes),
            root_volume_gib=fleet_config.root_volume_gib,
            service_port=fleet_config.service_port,
            service_settings=service_settings(config),
            log_retention=retention(config.monitoring.log_retention_days),
            removal_policy=removal_policy(config),
            deletion_protection=config.data.deletion_protection,
            listeners=origin_plan(config).listeners,
            certificate=certificate,
            service_dir=service_dir,
            wheelhouse=wheelhouse_dir(fleet_config.architecture),
        )
        allow_reading_public_hosts(self.fleet.role, stage=config.stage)
        self.load_balancer = self.fleet.load_balancer
        self.alarms = FleetAlarms(
            self,
            "Alarms",
            topic=self.alarm_topic,
            load_balancer=self.fleet.load_balancer,
            target_group=self.fleet.target_group,
            auto_scaling_group=self.fleet.auto_scaling_group,
            table=table,
            p99_latency_seconds=config.monitoring.p99_latency_seconds,
            alb_5xx_percent=config.monitoring.alb_5xx_percent,
            target_5xx_per_5_minutes=config.monitoring.target_5xx_per_5_minutes,
        )
        HeldItemsAlarm(
            self,
            "HeldItemsAlarm",
            stage=config.stage,
            log_group=self.fleet.log_group,
            topic=self.alarm_topic,
        )
        CfnOutput(self, "AlbDnsName", value=self.load_balancer.load_balancer_dns_name)
        CfnOutput(self, "ServiceLogGroup", value=self.fleet.log_group.log_group_name)
        CfnOutput(self, "AlarmTopicArn", value=self.alarm_topic.topic_arn)
