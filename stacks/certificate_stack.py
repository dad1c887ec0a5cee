"""The ALB's regional certificate for the custom domain."""

from __future__ import annotations

from constructs import Construct

from infra.certificates import DomainCertificate, custom_domain
from infra.config import SpitoConfig
from infra.dns import hosted_zone
from stacks.base import SpitoStack


class CertificateStack(SpitoStack):
    """A DNS-validated certificate in the fleet's region, for the ALB's HTTPS listener.

    CloudFront forwards the viewer's Host to the ALB and checks the ALB's certificate against it,
    so this certificate names the same hosts as the viewer certificate. Only created with a
    domain; its own stack so the fleet can be replaced without touching it.

    Attribute: `certificate`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: SpitoConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"Spito {config.stage}: the ALB's certificate",
        )
        domain = custom_domain(config.domain)
        if domain is None:
            raise ValueError("CertificateStack needs spito.domain.domain_name and hosted_zone_id")
        zone = hosted_zone(self, "Zone", zone_id=domain.hosted_zone_id, zone_name=domain.name)
        self.certificate = DomainCertificate(
            self, "AlbCertificate", domain_name=domain.name, hosted_zone=zone
        ).certificate
