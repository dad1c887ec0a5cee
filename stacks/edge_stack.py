"""The edge: CloudFront in front of the web app's bucket and the API's ALB, and its DNS names."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.cdk_providers import CrossRegionProviderSkips
from infra.certificates import custom_domain
from infra.config import SpitoConfig, origin_plan
from infra.distribution import (
    API_ORIGIN_TIMEOUT,
    ApiOrigin,
    EdgeDistribution,
    ViewerDomain,
    access_log_bucket,
)
from infra.dns import DistributionAliases, hosted_zone
from infra.public_hosts import PublicHostsParameter
from infra.static_site import SpaBucket, SpaDeployment
from infra.vpc_origin import PrivateApiOrigin
from stacks.base import SpitoStack
from stacks.conversions import removal_policy, retention

PRICE_CLASSES = {
    "PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100,
    "PriceClass_200": cloudfront.PriceClass.PRICE_CLASS_200,
    "PriceClass_All": cloudfront.PriceClass.PRICE_CLASS_ALL,
}


class EdgeStack(SpitoStack):
    """The distribution, the web app's bucket and deployment, logs, and the alias records.

    Lives in the fleet's region (CloudFront is global; only its certificate and web ACL must be in
    us-east-1, and arrive through cross-region references).

    Attributes: `distribution`, `spa_bucket`, `log_bucket`, `public_url` (https://, the custom
    domain or the distribution's own name).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: SpitoConfig,
        web_dist: Path,
        load_balancer: elbv2.IApplicationLoadBalancer,
        load_balancer_security_group: ec2.ISecurityGroup,
        vpc_id: str,
        viewer_certificate: acm.ICertificate | None = None,
        web_acl_arn: str | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            cross_region_references=True,
            description=f"Spito {config.stage}: CloudFront, the web app bucket and DNS",
        )
        self.node.add_validation(CrossRegionProviderSkips(self))
        domain = custom_domain(config.domain)
        if (domain is None) != (viewer_certificate is None):
            raise ValueError("a viewer certificate is needed exactly when a domain is configured")
        self.log_bucket = access_log_bucket(
            self,
            "AccessLogs",
            removal_policy=removal_policy(config),
            retention_days=config.edge.access_log_retention_days,
        )
        self.spa_bucket = SpaBucket(
            self, "WebApp", removal_policy=removal_policy(config), access_log_bucket=self.log_bucket
        ).bucket
        viewer_domain = (
            ViewerDomain(names=domain.host_names, certificate=viewer_certificate)
            if domain is not None and viewer_certificate is not None
            else None
        )
        plan = origin_plan(config)
        api_origin = PrivateApiOrigin(
            self,
            "ApiOrigin",
            load_balancer=load_balancer,
            load_balancer_security_group=load_balancer_security_group,
            vpc_id=vpc_id,
            listeners=plan.listeners,
            protocol=plan.cloudfront,
            read_timeout=API_ORIGIN_TIMEOUT,
            # The apex is on the ALB's certificate (stacks/certificate_stack.py).
            tls_name=domain.name if domain is not None and plan.cloudfront == "https" else None,
            lookup_log_group=logs.LogGroup(
                self,
                "OriginLookupLogs",
                retention=retention(config.monitoring.log_retention_days),
                removal_policy=removal_policy(config),
            ),
        )
        self.edge = EdgeDistribution(
            self,
            "Edge",
            spa_bucket=self.spa_bucket,
            api_origin=ApiOrigin(origin=api_origin.origin, https=plan.cloudfront == "https"),
            log_bucket=self.log_bucket,
            price_class=PRICE_CLASSES[config.edge.price_class],
            viewer_domain=viewer_domain,
            web_acl_arn=web_acl_arn,
        )
        self.distribution = self.edge.distribution
        # Onto a VPC origin only once the ALB admits CloudFront on its port.
        self.distribution.node.add_dependency(*api_origin.admissions)
        SpaDeployment(
            self,
            "WebAppDeployment",
            web_dist=web_dist,
            bucket=self.spa_bucket,
            distribution=self.distribution,
        )
        if domain is not None:
            DistributionAliases(
                self,
                "Aliases",
                zone=hosted_zone(
                    self, "Zone", zone_id=domain.hosted_zone_id, zone_name=domain.name
                ),
                names=domain.host_names,
                distribution=self.distribution,
            )
        # The fleet learns every name Spito answers to from here (infra/public_hosts.py).
        PublicHostsParameter(
            self,
            "PublicHosts",
            stage=config.stage,
            hosts=[
                self.distribution.distribution_domain_name,
                *(domain.host_names if domain is not None else ()),
            ],
        )
        self.public_url = (
            f"https://{domain.name if domain else self.distribution.distribution_domain_name}"
        )
        CfnOutput(self, "PublicUrl", value=self.public_url)
        CfnOutput(self, "DistributionId", value=self.distribution.distribution_id)
        CfnOutput(self, "DistributionDomainName", value=self.distribution.distribution_domain_name)
        CfnOutput(self, "WebAppBucketName", value=self.spa_bucket.bucket_name)
