"""Spito's API fleet behind CloudFront in another CDK app, from Spito's wheel alone.

`pip install spito-*.whl`, set SPITO_FLEET_WHEELS to a folder holding `arm64/`, the fleet's
wheelhouse (`make wheelhouse` in a Spito checkout fills .tools/fleet-wheels), then
`npx aws-cdk synth`: no credentials and no lookups (the zones are named in a ZonedStack).
cdk-nag's AwsSolutions pack and Spito's AWS runtime rules run as validation plugins.
"""

from aws_cdk import Acknowledgment, App, Duration, Environment, RemovalPolicy, Validations
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from cdk_nag import AwsSolutionsChecks
from spito.infra.api_fleet import ApiFleet
from spito.infra.data import DataStore
from spito.infra.monitoring import AlarmTopic
from spito.infra.network import Network
from spito.infra.runtime_rules import AwsRuntimeRules
from spito.infra.service_bundle import wheelhouse_dir
from spito.infra.vpc_origin import PrivateApiOrigin
from spito.infra.zoned_stack import ZonedStack

ZONES = ["eu-central-1a", "eu-central-1b"]

app = App()
stack = ZonedStack(
    app,
    "Reused",
    env=Environment(account="123456789012", region="eu-central-1"),
    availability_zones=ZONES,
)
data = DataStore(stack, "Data", removal_policy=RemovalPolicy.DESTROY, deletion_protection=False)
network = Network(
    stack,
    "Network",
    cidr="10.9.0.0/16",
    availability_zones=ZONES,
    nat_gateways=0,
    interface_endpoints=["logs", "cloudformation", "ssm", "ssmmessages", "ec2messages"],
    data_buckets=[data.blob_bucket],
    flow_log_retention=logs.RetentionDays.ONE_WEEK,
    removal_policy=RemovalPolicy.DESTROY,
)
topic = AlarmTopic(stack, "Alarms", email=None, removal_policy=RemovalPolicy.DESTROY)
fleet = ApiFleet(
    stack,
    "Api",
    vpc=network.vpc,
    vpc_subnets=network.private_subnets,
    # The fleet derives its environment (region, bind address, table, bucket) from these.
    table=data.table,
    blob_bucket=data.blob_bucket,
    data_access_policy=data.service_access_policy,
    notification_topic=topic.topic,
    instance_type=ec2.InstanceType("t4g.small"),
    wheelhouse=wheelhouse_dir("arm64"),
    ami_id="ami-0123456789abcdef0",
    min_capacity=1,
    max_capacity=2,
    cpu_target_percent=60,
    requests_per_target_per_minute=1000,
    health_check_grace=Duration.minutes(5),
    signal_timeout=Duration.minutes(15),
    root_volume_gib=8,
    service_port=8080,
    log_retention=logs.RetentionDays.ONE_MONTH,
    removal_policy=RemovalPolicy.DESTROY,
    deletion_protection=False,
)
# CloudFront reaches the internal ALB through a VPC origin, the only way in.
origin = PrivateApiOrigin(
    stack,
    "ApiOrigin",
    load_balancer=fleet.load_balancer,
    load_balancer_security_group=fleet.load_balancer_security_group,
    vpc_id=network.vpc.vpc_id,
    listeners=["http"],
    protocol="http",
    read_timeout=Duration.seconds(30),
    lookup_log_group=logs.LogGroup(
        stack,
        "OriginLookup",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    ),
)
# The service marks every answer no-store and gzips it itself; a cache policy with Accept-Encoding
# (which CachingDisabled never forwards) lets that reach viewers while CloudFront keeps nothing.
# What a GET answer varies by is in the key, so a briefly kept error only meets the same request.
api_cache = cloudfront.CachePolicy(
    stack,
    "ApiCache",
    min_ttl=Duration.seconds(0),
    default_ttl=Duration.seconds(0),
    max_ttl=Duration.seconds(30),
    header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Accept", "X-Delete-Token"),
    query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
    enable_accept_encoding_gzip=True,
    enable_accept_encoding_brotli=True,
)
cdn = cloudfront.Distribution(
    stack,
    "Cdn",
    default_behavior=cloudfront.BehaviorOptions(
        origin=origin.origin,
        viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
        cache_policy=api_cache,
        origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    ),
)
cdn.node.add_dependency(*origin.admissions)
for finding, reason in {
    "AwsSolutions-CFR1": "A public URL shortener serves every country.",
    "AwsSolutions-CFR2": "This example leaves WAF out; Spito's own edge stack adds one.",
    "AwsSolutions-CFR3": "This example keeps no CloudFront access logs; Spito's edge does.",
    "AwsSolutions-CFR4": "The distribution's default *.cloudfront.net certificate: no domain here.",
}.items():
    Validations.of(cdn).acknowledge(Acknowledgment(id=finding, reason=reason))
# cdk-nag 3 is a validation plugin: `Aspects.of(app).add(AwsSolutionsChecks())` fails at synth.
Validations.of(app).add_plugins(AwsSolutionsChecks(app), AwsRuntimeRules())
app.synth()
