"""Route 53 records that point Spito's custom domain at its distribution."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct


def hosted_zone(
    scope: Construct, construct_id: str, *, zone_id: str, zone_name: str
) -> route53.IHostedZone:
    """The existing hosted zone, taken by id: no lookup, so synth needs no AWS credentials."""
    return route53.HostedZone.from_hosted_zone_attributes(
        scope, construct_id, hosted_zone_id=zone_id, zone_name=zone_name
    )


class DistributionAliases(Construct):
    """A and AAAA alias records for each name, all pointing at one CloudFront distribution.

    Alias records cost nothing per query and follow the distribution's addresses (IPv4 and IPv6).

    Attribute: `records` (every record created).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        zone: route53.IHostedZone,
        names: Sequence[str],
        distribution: cloudfront.IDistribution,
    ) -> None:
        super().__init__(scope, construct_id)
        target = route53.RecordTarget.from_alias(targets.CloudFrontTarget(distribution))
        self.records: list[route53.RecordSet] = []
        for name in names:
            self.records.append(
                route53.ARecord(self, f"A-{name}", zone=zone, record_name=name, target=target)
            )
            self.records.append(
                route53.AaaaRecord(self, f"AAAA-{name}", zone=zone, record_name=name, target=target)
            )
