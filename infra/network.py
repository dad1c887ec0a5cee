"""The network the fleet runs in."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import DefaultStackSynthesizer, Fn, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .cdk_providers import skip_provider_function_checks
from .cfn_lint import ignore_check
from .checkov import skip_check
from .config import PRIVATE_SUBNET_PREFIX, PUBLIC_SUBNET_PREFIX, InterfaceEndpointName
from .data import SERVICE_TABLE_ACTIONS
from .nag import acknowledge
from .props import PropError
from .zoned_stack import zones_need_a_lookup

# Amazon Linux 2023's dnf repositories in a region (`format(region)`).
AL2023_REPOSITORY_BUCKET = "al2023-repos-{}-de612dc2"
# The CDK bootstrap's file asset bucket, as CloudFormation substitutes it (${AWS::AccountId}...).
CDK_ASSET_BUCKET = DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace(
    "${Qualifier}", DefaultStackSynthesizer.DEFAULT_QUALIFIER
)
INTERFACE_ENDPOINT_SERVICES: dict[InterfaceEndpointName, ec2.InterfaceVpcEndpointAwsService] = {
    "logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "cloudformation": ec2.InterfaceVpcEndpointAwsService.CLOUDFORMATION,
    "ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
    "ssmmessages": ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
    "ec2messages": ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
}


class Network(Construct):
    """A VPC over the given zones: a public /24 (NAT, if any) and a private /20 (internal ALB,
    fleet) in each.

    With `nat_gateways` of 1 or more the private subnets route to the internet through NAT; with
    0 they are isolated: no NAT gateway, and no route to the internet gateway from them. The
    public subnets and the internet gateway stay either way: CloudFront VPC origins need the VPC
    to have an internet gateway (CloudFront developer guide, "Restrict access with VPC origins";
    aws-cdk's VPC-origin integration test keeps one for the same reason), though nothing is
    placed in them without NAT. S3 and DynamoDB are reached through free gateway endpoints, so
    the data path never crosses NAT; the chosen interface endpoints keep the other AWS APIs the
    fleet calls private too. Flow logs go to a log group with retention, and the default security
    group allows nothing.

    Props (keyword-only, checked at construction):
    - `cidr`: the VPC's IPv4 range, room for a /24 and a /20 per zone.
    - `availability_zones`: two zones or more by name, each once. In a stack with an explicit
      account and region, build the stack as `ZonedStack` with these zones (infra/zoned_stack.py),
      or ec2.Vpc would look them up at synth; the Network refuses such a stack.
    - `nat_gateways`: 0 (isolated private subnets) up to one per zone.
    - `interface_endpoints`: the AWS APIs reached privately ("logs", "ssm"...; all five without
      NAT).
    - `data_buckets`: the buckets whose objects the S3 gateway endpoint admits.
    - `flow_log_retention`, `removal_policy`: the flow log group's retention and fate.

    Attributes: `vpc`, `private_subnets` (the selection the ALB and fleet use), `flow_log_group`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        availability_zones: Sequence[str],
        nat_gateways: int,
        interface_endpoints: Sequence[InterfaceEndpointName],
        data_buckets: Sequence[s3.IBucket],
        flow_log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        _check_zones(availability_zones, nat_gateways)
        if zones_need_a_lookup(Stack.of(self)):
            raise PropError(
                f"Network: stack {Stack.of(self).stack_name} has an explicit account and region, "
                "so ec2.Vpc would look its availability zones up at synth (credentials, "
                "`missing` in manifest.json); build it as ZonedStack(..., availability_zones="
                f"{list(availability_zones)!r}) (infra/zoned_stack.py), or leave it "
                "environment-agnostic"
            )
        private_type = (
            ec2.SubnetType.PRIVATE_WITH_EGRESS if nat_gateways else ec2.SubnetType.PRIVATE_ISOLATED
        )
        self.private_subnets = ec2.SubnetSelection(subnet_type=private_type)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            # Named zones, not a count: synth needs no lookup and subnets never move between zones.
            availability_zones=list(availability_zones),
            nat_gateways=nat_gateways,
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=PUBLIC_SUBNET_PREFIX,
                ),
                ec2.SubnetConfiguration(
                    name="private",
                    subnet_type=private_type,
                    cidr_mask=PRIVATE_SUBNET_PREFIX,
                ),
            ],
        )
        self.dynamodb_endpoint = self.vpc.add_gateway_endpoint(
            "DynamoDB", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
        )
        self._allow_only_item_calls_on_this_accounts_tables()
        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3
        )
        self._allow_only_spitos_s3_traffic(data_buckets)
        self.flow_log_group = logs.LogGroup(
            self, "FlowLogs", retention=flow_log_retention, removal_policy=removal_policy
        )
        skip_check(
            self.flow_log_group,
            "CKV_AWS_158",
            "CloudWatch Logs encrypts every log group at rest; a customer key would change only "
            "the key, not who can read the flow logs (IAM on the log group decides that).",
        )
        self._skip_restrict_default_sg_provider_checks()
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        for name in interface_endpoints:
            endpoint = self.vpc.add_interface_endpoint(
                f"{name.capitalize()}Endpoint",
                service=INTERFACE_ENDPOINT_SERVICES[name],
                private_dns_enabled=True,
                subnets=self.private_subnets,
            )
            acknowledge(
                endpoint.node.find_child("SecurityGroup"),
                "AwsSolutions-EC23",
                "The endpoint admits HTTPS from the VPC's own CIDR, a Fn::GetAtt the rule "
                "cannot evaluate; nothing outside the VPC can reach an interface endpoint.",
            )
        for subnet in [
            *self.vpc.public_subnets,
            *self.vpc.private_subnets,
            *self.vpc.isolated_subnets,
        ]:
            ignore_check(
                subnet,
                "W3010",
                "Zones are pinned in the config on purpose: synth stays offline and "
                "deterministic, and the subnets never move between zones.",
            )

    def _allow_only_item_calls_on_this_accounts_tables(self) -> None:
        """The DynamoDB endpoint's policy: the service's item calls, on this account's tables.

        A gateway endpoint without a policy allows every call to every table, another account's
        included (VPC user guide, "Control access to VPC endpoints using endpoint policies": the
        default policy allows full access), so credentials brought onto an instance could copy
        data out to a table of their own, as the S3 endpoint's policy prevents for buckets. The
        table's name is the Data stack's and is not passed here; the account and region are
        what keeps the data in.
        """
        self.dynamodb_endpoint.add_to_policy(
            iam.PolicyStatement(
                sid="SpitoTables",
                # Who may is IAM's to decide (the instance role); the endpoint decides where.
                principals=[iam.AnyPrincipal()],
                actions=list(SERVICE_TABLE_ACTIONS),
                resources=[
                    Fn.sub(
                        "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*"
                    )
                ],
            )
        )

    def _allow_only_spitos_s3_traffic(self, data_buckets: Sequence[s3.IBucket]) -> None:
        """The S3 endpoint's policy: what the fleet reads and writes, and nothing else.

        With a statement of its own the endpoint no longer allows all of S3 (VPC user guide,
        "Control access to VPC endpoints using endpoint policies"): requests from the VPC to any
        other bucket fail, whatever IAM allows. The instances need the AL2023 package
        repositories (dnf reads them from the region's al2023-repos-REGION-de612dc2 bucket; AWS
        Knowledge Center, "install packages without internet access on Amazon Linux"), the
        service asset in the CDK's bootstrap bucket, and the data buckets' objects.
        """
        stack = Stack.of(self)
        statements = {
            "AmazonLinuxRepositories": (
                ["s3:GetObject"],
                [f"arn:{stack.partition}:s3:::{AL2023_REPOSITORY_BUCKET.format(stack.region)}/*"],
            ),
            "ServiceAsset": (
                ["s3:GetObject"],
                [Fn.sub(f"arn:${{AWS::Partition}}:s3:::{CDK_ASSET_BUCKET}/*")],
            ),
            "SpitoData": (
                ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                [bucket.arn_for_objects("*") for bucket in data_buckets],
            ),
        }
        for sid, (actions, resources) in statements.items():
            self.s3_endpoint.add_to_policy(
                iam.PolicyStatement(
                    sid=sid,
                    # Who may is IAM's to decide (the instance role); the endpoint decides where.
                    principals=[iam.AnyPrincipal()],
                    actions=actions,
                    resources=resources,
                )
            )

    def _skip_restrict_default_sg_provider_checks(self) -> None:
        """The CDK's own provider behind `restrict_default_security_group`, one per stack."""
        provider = Stack.of(self).node.find_child(
            "Custom::VpcRestrictDefaultSGCustomResourceProvider"
        )
        skip_provider_function_checks(provider.node.find_child("Handler"))


def _check_zones(availability_zones: Sequence[str], nat_gateways: int) -> None:
    """Two zones or more, each once (an ALB needs subnets in two zones: "Application Load
    Balancers", "Availability Zones and load balancer nodes"), and at most one NAT per zone."""
    zones = list(availability_zones)
    if isinstance(availability_zones, str) or len(set(zones)) != len(zones) or len(zones) < 2:
        raise PropError(
            f"Network: availability_zones={availability_zones!r} must name two zones or more, "
            "each once (the ALB needs two); pass e.g. ['eu-central-1a', 'eu-central-1b']"
        )
    if not 0 <= nat_gateways <= len(zones):
        raise PropError(
            f"Network: nat_gateways={nat_gateways} must be 0 (no internet route) up to one per "
            f"zone ({len(zones)}); pass a number in 0..{len(zones)}"
        )
