"""TLS certificates for Spito's custom domain."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from constructs import Construct

from .config import DomainConfig

API_SUBDOMAIN = "api"


def domain_names(domain_name: str) -> list[str]:
    """The host names Spito answers on with a custom domain: the apex and `api.`."""
    return [domain_name, f"{API_SUBDOMAIN}.{domain_name}"]


@dataclass(frozen=True, kw_only=True)
class CustomDomain:
    """A configured custom domain and the Route 53 hosted zone it lives in."""

    name: str
    hosted_zone_id: str

    @property
    def host_names(self) -> list[str]:
        return domain_names(self.name)


def custom_domain(domain: DomainConfig) -> CustomDomain | None:
    """The stage's custom domain, or None without one."""
    if domain.domain_name is None:
        return None
    if domain.hosted_zone_id is None:
        # infra.config refuses this already; reaching here is a programming error.
        raise ValueError(f"domain {domain.domain_name} has no hosted zone id")
    return CustomDomain(name=domain.domain_name, hosted_zone_id=domain.hosted_zone_id)


class DomainCertificate(Construct):
    """An ACM certificate for the domain and its `api.` name, validated through Route 53 DNS.

    Created in the region of its stack: us-east-1 for CloudFront's viewers, the fleet's region for
    the ALB's HTTPS listener (CloudFront checks the ALB's certificate against the viewer's Host,
    so it covers the same names). DNS validation renews without anyone's help.

    Attribute: `certificate`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_name: str,
        hosted_zone: route53.IHostedZone,
    ) -> None:
        super().__init__(scope, construct_id)
        apex, *alternatives = domain_names(domain_name)
        self.certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=apex,
            subject_alternative_names=alternatives,
            validation=acm.CertificateValidation.from_dns(hosted_zone),
        )
