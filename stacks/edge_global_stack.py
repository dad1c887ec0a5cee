"""The parts of the edge that AWS requires in us-east-1: CloudFront's certificate and web ACL."""

from __future__ import annotations

from aws_cdk import aws_certificatemanager as acm
from constructs import Construct

from infra.cdk_providers import CrossRegionProviderSkips
from infra.certificates import DomainCertificate, custom_domain
from infra.config import SpitoConfig
from infra.dns import hosted_zone
from infra.waf import EdgeWebAcl
from stacks.base import SpitoStack

CLOUDFRONT_REGION = "us-east-1"


def needs_edge_global_stack(config: SpitoConfig) -> bool:
    """Only a custom domain or the WAF puts anything in us-east-1."""
    return config.domain.domain_name is not None or config.edge.waf_enabled


class EdgeGlobalStack(SpitoStack):
    """us-east-1: the viewer certificate (with a domain) and the CLOUDFRONT web ACL (with WAF on).

    Cross-region references carry both to the edge stack in the fleet's region.

    Attributes: `viewer_certificate` and `web_acl_arn`, each None when not configured.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: SpitoConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=CLOUDFRONT_REGION,
            cross_region_references=True,
            description=f"Spito {config.stage}: CloudFront certificate and web ACL (us-east-1)",
        )
        self.node.add_validation(CrossRegionProviderSkips(self))
        self.viewer_certificate: acm.ICertificate | None = None
        self.web_acl_arn: str | None = None
        domain = custom_domain(config.domain)
        if domain is not None:
            zone = hosted_zone(self, "Zone", zone_id=domain.hosted_zone_id, zone_name=domain.name)
            self.viewer_certificate = DomainCertificate(
                self, "ViewerCertificate", domain_name=domain.name, hosted_zone=zone
            ).certificate
        if config.edge.waf_enabled:
            self.web_acl_arn = EdgeWebAcl(
                self,
                "Firewall",
                api_post_limit_per_5_minutes=config.edge.waf_api_post_limit_per_5_minutes,
            ).web_acl.attr_arn
