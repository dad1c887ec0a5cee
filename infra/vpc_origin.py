"""How CloudFront reaches the internal ALB: a CloudFront VPC origin per listener, and the one
ingress rule set the ALB's security group has.

AWS recommends this shape for an origin that only CloudFront may use (CloudFront developer
guide, "Restrict access with VPC origins"): the ALB is internal, in private subnets, and CloudFront
connects to it from network interfaces it places in the VPC. When the first VPC origin of a VPC
is created, CloudFront creates a security group named `CloudFront-VPCOrigins-Service-SG` in that
VPC for those interfaces; the origin's own group admits that group. Its id is known only after
the VPC origin exists, so it is read at deploy time by name and VPC, as aws-cdk's own integration
test of VPC origins does (aws/aws-cdk framework-integ, aws-cloudfront-origins `integ.vpc-origin`:
an AwsCustomResource calling ec2:DescribeSecurityGroups after the VPC origin exists, then
`alb.connections.allowFrom` that group).

No origin secret and no prefix list: the ALB has no public address, and only CloudFront's
VPC-origin interfaces are admitted (the managed prefix list would admit any CloudFront
distribution's traffic to an internet-facing origin, which is why the old design needed a secret
header on top).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from .cdk_providers import skip_provider_function_checks
from .checkov import skip_check
from .config import ORIGIN_PORTS, OriginProtocol
from .nag import acknowledge

# The group CloudFront creates in a VPC for its VPC-origin interfaces (see the module docstring).
CLOUDFRONT_VPC_ORIGIN_GROUP = "CloudFront-VPCOrigins-Service-SG"
PROTOCOL_POLICIES: Mapping[OriginProtocol, cloudfront.OriginProtocolPolicy] = {
    "http": cloudfront.OriginProtocolPolicy.HTTP_ONLY,
    "https": cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
}


class PrivateApiOrigin(Construct):
    """CloudFront's way into the internal ALB, and the ALB's only ingress.

    One `AWS::CloudFront::VpcOrigin` per listener the ALB has, so a change of protocol is a
    switch of the distribution's origin from one existing VPC origin to another, in the same
    distribution update as the viewer domain (infra/config.py `origin_plan`). `origin` is the one
    CloudFront uses (`protocol`). With HTTPS, the origin's domain name is `tls_name`, a name on the
    ALB's certificate: CloudFront accepts the origin's certificate when one of its names matches
    the origin's domain name or the forwarded Host header (CloudFront developer guide, "Requiring
    HTTPS for communication between CloudFront and your custom origin"), so viewers still on the
    distribution's own *.cloudfront.net name are served too.

    The ALB's group admits CloudFront's VPC-origin group on each listener's port (`admissions`);
    make the distribution depend on them, so it moves to a port only once the port is admitted.

    Props (keyword-only, checked at construction):
    - `load_balancer`, `load_balancer_security_group`: the internal ALB (`ApiFleet.load_balancer`,
      `.load_balancer_security_group`).
    - `vpc_id`: the ALB's VPC, where CloudFront creates its VPC-origin group.
    - `listeners`: the ALB's listener protocols (`ApiFleet`'s `listeners`).
    - `protocol`: the one CloudFront uses, among `listeners`.
    - `read_timeout`: how long CloudFront waits for the ALB's answer.
    - `lookup_log_group`: the log group of the deploy-time lookup of CloudFront's group.
    - `tls_name`: with "https" only, a name on the ALB's certificate.

    Attributes: `origin`, `vpc_origins` (by protocol), `cloudfront_security_group_id`,
    `admissions`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        load_balancer: elbv2.IApplicationLoadBalancer,
        load_balancer_security_group: ec2.ISecurityGroup,
        vpc_id: str,
        listeners: Sequence[OriginProtocol],
        protocol: OriginProtocol,
        read_timeout: Duration,
        lookup_log_group: logs.ILogGroup,
        tls_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if protocol not in listeners:
            raise ValueError(
                f"PrivateApiOrigin: CloudFront would use {protocol}, but the ALB has only "
                f"{', '.join(listeners)} listeners"
            )
        if (protocol == "https") != (tls_name is not None):
            raise ValueError(
                "PrivateApiOrigin: HTTPS needs tls_name, a name on the ALB's certificate; HTTP "
                "has no certificate to match"
            )
        self.vpc_origins = {
            listener: cloudfront.VpcOrigin(
                self,
                f"{listener.capitalize()}VpcOrigin",
                endpoint=cloudfront.VpcOriginEndpoint.application_load_balancer(load_balancer),
                http_port=ORIGIN_PORTS["http"],
                https_port=ORIGIN_PORTS["https"],
                protocol_policy=PROTOCOL_POLICIES[listener],
                origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            )
            for listener in listeners
        }
        self.origin = origins.VpcOrigin.with_vpc_origin(
            self.vpc_origins[protocol],
            domain_name=tls_name,
            read_timeout=read_timeout,
        )
        self.cloudfront_security_group_id = self._cloudfront_group_id(vpc_id, lookup_log_group)
        self.admissions = [
            ec2.CfnSecurityGroupIngress(
                self,
                f"FromCloudFront{listener.capitalize()}",
                group_id=load_balancer_security_group.security_group_id,
                source_security_group_id=self.cloudfront_security_group_id,
                ip_protocol="tcp",
                from_port=ORIGIN_PORTS[listener],
                to_port=ORIGIN_PORTS[listener],
                description=f"CloudFront VPC origin, {listener}",
            )
            for listener in listeners
        ]

    def _cloudfront_group_id(self, vpc_id: str, log_group: logs.ILogGroup) -> str:
        """The id of CloudFront's VPC-origin group in `vpc_id`, once a VPC origin exists."""
        lookup = cr.AwsCustomResource(
            self,
            "CloudFrontSecurityGroup",
            on_update=cr.AwsSdkCall(
                service="EC2",
                action="describeSecurityGroups",
                parameters={
                    "Filters": [
                        {"Name": "vpc-id", "Values": [vpc_id]},
                        {"Name": "group-name", "Values": [CLOUDFRONT_VPC_ORIGIN_GROUP]},
                    ]
                },
                physical_resource_id=cr.PhysicalResourceId.of(CLOUDFRONT_VPC_ORIGIN_GROUP),
                output_paths=["SecurityGroups.0.GroupId"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
            # The stage's retention and removal policy, not the provider's 2 years and RETAIN.
            log_group=log_group,
        )
        # CloudFront creates the group with the VPC's first VPC origin.
        for vpc_origin in self.vpc_origins.values():
            lookup.node.add_dependency(vpc_origin)
        acknowledge(
            lookup.node.find_child("CustomResourcePolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "ec2:DescribeSecurityGroups supports no resource-level permissions.",
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
        return lookup.get_response_field("SecurityGroups.0.GroupId")
