"""The edge with a custom domain: certificates, HTTPS to the ALB, alias records, deploy order."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.edge.templates import (
    DISTRIBUTION,
    Templates,
    api_origin,
    api_origin_port,
    api_vpc_origin,
    distribution_config,
    imported,
    logical_id,
    only,
    written_across_regions,
)
from tests.fixtures.cdk_app import (
    DOMAIN_NAME,
    DOMAIN_STAGE,
    HOSTED_ZONE_ID,
    domain_context,
    synthesize,
    synthesized_once,
)

HOST_NAMES = [DOMAIN_NAME, f"api.{DOMAIN_NAME}"]
CERTIFICATE = "AWS::CertificateManager::Certificate"


@pytest.fixture
def edge(domain_template: Templates) -> Template:
    return domain_template("Spito-prod-Edge")


@pytest.fixture
def manifest(domain_cdk_out: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((domain_cdk_out / "manifest.json").read_text())
    return loaded


def _has_dns_validated_certificate_for_both_names(template: Template) -> None:
    template.resource_count_is(CERTIFICATE, 1)
    validation = [{"DomainName": name, "HostedZoneId": HOSTED_ZONE_ID} for name in HOST_NAMES]
    template.has_resource_properties(
        CERTIFICATE,
        {
            "DomainName": DOMAIN_NAME,
            "SubjectAlternativeNames": HOST_NAMES[1:],
            "ValidationMethod": "DNS",
            "DomainValidationOptions": validation,
        },
    )


def test_viewer_certificate_is_dns_validated_in_us_east_1(
    domain_template: Templates, manifest: dict[str, Any]
) -> None:
    _has_dns_validated_certificate_for_both_names(domain_template("Spito-prod-EdgeGlobal"))
    assert manifest["artifacts"]["Spito-prod-EdgeGlobal"]["environment"].endswith("/us-east-1")


def test_alb_certificate_is_dns_validated_in_the_fleets_region(
    domain_template: Templates, manifest: dict[str, Any]
) -> None:
    _has_dns_validated_certificate_for_both_names(domain_template("Spito-prod-Certificate"))
    assert manifest["artifacts"]["Spito-prod-Certificate"]["environment"].endswith("/eu-west-1")


@pytest.mark.parametrize(
    "stack", ["Spito-prod-EdgeGlobal", "Spito-prod-Certificate", "Spito-prod-Edge"]
)
def test_no_deprecated_dns_validated_certificate_and_no_hosted_zone_of_our_own(
    domain_template: Templates, stack: str
) -> None:
    # DnsValidatedCertificate was a custom resource; the zone is taken by id, never created.
    domain_template(stack).resource_count_is("AWS::CloudFormation::CustomResource", 0)
    domain_template(stack).resource_count_is("AWS::Route53::HostedZone", 0)


def test_synth_makes_no_context_lookups(manifest: dict[str, Any]) -> None:
    assert "missing" not in manifest  # no lookups: synth needs no credentials


def test_viewers_use_the_domain_with_tls_1_2_2021_and_sni(
    edge: Template, domain_template: Templates
) -> None:
    edge.has_resource_properties(
        DISTRIBUTION,
        {
            "DistributionConfig": Match.object_like(
                {
                    "Aliases": HOST_NAMES,
                    "ViewerCertificate": Match.object_like(
                        {"MinimumProtocolVersion": "TLSv1.2_2021", "SslSupportMethod": "sni-only"}
                    ),
                }
            )
        },
    )
    certificate_arn = distribution_config(edge)["ViewerCertificate"]["AcmCertificateArn"]
    edge_global = domain_template("Spito-prod-EdgeGlobal")
    certificate = {"Ref": logical_id(edge_global, CERTIFICATE)}
    assert written_across_regions(edge_global, certificate_arn) == certificate


def test_cloudfront_reaches_the_alb_over_https_with_tls_1_2_checking_the_domain(
    edge: Template, domain_template: Templates
) -> None:
    vpc_origin = api_vpc_origin(edge)
    assert vpc_origin["OriginProtocolPolicy"] == "https-only"
    assert vpc_origin["OriginSSLProtocols"] == ["TLSv1.2"]
    edge.resource_count_is("AWS::CloudFront::VpcOrigin", 1)
    # CloudFront accepts the ALB's certificate when it names the origin's domain (or the
    # forwarded Host): the apex, which the regional certificate covers.
    assert api_origin(edge)["DomainName"] == DOMAIN_NAME
    certificate_stack = domain_template("Spito-prod-Certificate")
    certificate_stack.has_resource_properties(CERTIFICATE, {"DomainName": DOMAIN_NAME})
    api = domain_template("Spito-prod-Api")
    (listener,) = api.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()
    assert listener["Properties"]["Port"] == api_origin_port(edge) == 443
    _, rule = only(edge, "AWS::EC2::SecurityGroupIngress")
    assert rule["Properties"]["FromPort"] == rule["Properties"]["ToPort"] == 443


def test_alb_listens_on_https_with_the_regional_certificate(domain_template: Templates) -> None:
    api = domain_template("Spito-prod-Api")
    (listener,) = api.find_resources(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Properties": Match.object_like({"Protocol": "HTTPS", "Port": 443})},
    ).values()
    (certificate,) = listener["Properties"]["Certificates"]
    certificate_stack = domain_template("Spito-prod-Certificate")
    alb_certificate = {"Ref": logical_id(certificate_stack, CERTIFICATE)}
    assert imported(certificate_stack, certificate["CertificateArn"]) == alb_certificate


@pytest.mark.parametrize("record_type", ["A", "AAAA"])
@pytest.mark.parametrize("name", HOST_NAMES)
def test_apex_and_api_names_alias_the_distribution(
    edge: Template, record_type: str, name: str
) -> None:
    distribution_id = logical_id(edge, DISTRIBUTION)
    edge.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": f"{name}.",
            "Type": record_type,
            "HostedZoneId": HOSTED_ZONE_ID,
            "AliasTarget": Match.object_like(
                {"DNSName": {"Fn::GetAtt": [distribution_id, "DomainName"]}}
            ),
        },
    )


def test_only_the_two_names_get_records(edge: Template) -> None:
    edge.resource_count_is("AWS::Route53::RecordSet", 2 * len(HOST_NAMES))


def test_public_url_output_is_the_domain(edge: Template) -> None:
    edge.has_output("PublicUrl", {"Value": f"https://{DOMAIN_NAME}"})


def test_service_is_told_its_own_host_names(domain_template: Templates) -> None:
    api = json.dumps(domain_template("Spito-prod-Api").to_json())
    assert f"SPITO_PUBLIC_HOSTS={DOMAIN_NAME},api.{DOMAIN_NAME}" in api
    assert f"SPITO_PUBLIC_URL=https://{DOMAIN_NAME}" in api


def test_canary_calls_the_domain(domain_template: Templates) -> None:
    domain_template("Spito-prod-Jobs").has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like({"SPITO_CANARY_URL": f"https://{DOMAIN_NAME}"})
            }
        },
    )


def test_deploy_all_orders_certificates_fleet_edge_then_jobs(manifest: dict[str, Any]) -> None:
    def depends(stack: str) -> set[str]:
        return set(manifest["artifacts"][stack].get("dependencies", []))

    assert "Spito-prod-Certificate" in depends("Spito-prod-Api")
    assert {"Spito-prod-Api", "Spito-prod-EdgeGlobal"} <= depends("Spito-prod-Edge")
    # The canary's URL is the domain, no reference to the edge; it still waits for it.
    assert "Spito-prod-Edge" in depends("Spito-prod-Jobs")


def test_synthesizing_the_domain_variant_again_gives_byte_identical_templates(
    domain_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = synthesized_once(
        tmp_path_factory,
        "cdk.domain-again.out",
        partial(synthesize, stages=(DOMAIN_STAGE,), context_of=domain_context),
    )
    names = sorted(path.name for path in domain_cdk_out.glob("*.template.json"))
    assert names == sorted(path.name for path in again.glob("*.template.json"))
    for name in names:
        assert (again / name).read_bytes() == (domain_cdk_out / name).read_bytes(), name
