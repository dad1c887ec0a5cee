"""TLS certificates for Spito's custom domain."""

from __future__ import annotations

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from constructs import Construct

API_SUBDOMAIN = "api"


def domain_names(domain_name: str) -> list[str]:
    """The host names Spito answers on with a custom domain: the apex and `api.`."""
    return [domain_name, f"{API_SUBDOMAIN}.{domain_name}"]


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
