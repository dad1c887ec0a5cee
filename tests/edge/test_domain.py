"""The edge with a custom domain: certificates, HTTPS to the ALB, alias records, deploy order."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.edge.conftest import DOMAIN_NAME, HOSTED_ZONE_ID
from tests.edge.templates import distribution_config, logical_id, only, origin, resources

TemplateJson = Callable[[str], dict[str, Any]]
HOST_NAMES = [DOMAIN_NAME, f"api.{DOMAIN_NAME}"]


@pytest.fixture
def edge(domain_template_json: TemplateJson) -> dict[str, Any]:
    template: dict[str, Any] = domain_template_json("Spito-prod-Edge")
    return template


@pytest.fixture
def manifest(domain_cdk_out: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((domain_cdk_out / "manifest.json").read_text())
    return loaded


def _assert_dns_validated_for_both_names(certificate: dict[str, Any]) -> None:
    assert certificate["DomainName"] == DOMAIN_NAME
    assert certificate["SubjectAlternativeNames"] == [f"api.{DOMAIN_NAME}"]
    assert certificate["ValidationMethod"] == "DNS"
    for option in certificate["DomainValidationOptions"]:
        assert option["HostedZoneId"] == HOSTED_ZONE_ID


def test_viewer_certificate_is_dns_validated_in_us_east_1(
    domain_template_json: TemplateJson, manifest: dict[str, Any]
) -> None:
    global_stack = domain_template_json("Spito-prod-EdgeGlobal")
    _assert_dns_validated_for_both_names(only(global_stack, "AWS::CertificateManager::Certificate"))
    assert manifest["artifacts"]["Spito-prod-EdgeGlobal"]["environment"].endswith("/us-east-1")


def test_alb_certificate_is_dns_validated_in_the_fleets_region(
    domain_template_json: TemplateJson, manifest: dict[str, Any]
) -> None:
    certificate_stack = domain_template_json("Spito-prod-Certificate")
    _assert_dns_validated_for_both_names(
        only(certificate_stack, "AWS::CertificateManager::Certificate")
    )
    assert manifest["artifacts"]["Spito-prod-Certificate"]["environment"].endswith("/eu-west-1")


def test_no_deprecated_dns_validated_certificate_and_no_lookups(
    domain_template_json: TemplateJson, manifest: dict[str, Any]
) -> None:
    for stack in ("Spito-prod-EdgeGlobal", "Spito-prod-Certificate", "Spito-prod-Edge"):
        template = domain_template_json(stack)
        assert not resources(template, "AWS::CloudFormation::CustomResource")
        assert not resources(template, "AWS::Route53::HostedZone")
    assert "missing" not in manifest  # no context lookups: synth needs no credentials


def test_viewers_use_the_domain_with_tls_1_2_2021_and_sni(edge: dict[str, Any]) -> None:
    config = distribution_config(edge)
    assert config["Aliases"] == HOST_NAMES
    viewer = config["ViewerCertificate"]
    assert viewer["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert viewer["SslSupportMethod"] == "sni-only"
    reference = viewer["AcmCertificateArn"]["Fn::GetStackOutput"]
    assert reference["StackName"] == "Spito-prod-EdgeGlobal"
    assert reference["Region"] == "us-east-1"


def test_cloudfront_reaches_the_alb_over_https_with_tls_1_2(edge: dict[str, Any]) -> None:
    custom = origin(distribution_config(edge), "api")["CustomOriginConfig"]
    assert custom["OriginProtocolPolicy"] == "https-only"
    assert custom["OriginSSLProtocols"] == ["TLSv1.2"]


def test_alb_listens_on_https_with_the_regional_certificate(
    domain_template_json: TemplateJson,
) -> None:
    listener = only(domain_template_json("Spito-prod-Api"), "AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Protocol"] == "HTTPS"
    (certificate,) = listener["Certificates"]
    assert certificate["CertificateArn"]["Fn::GetStackOutput"]["StackName"] == (
        "Spito-prod-Certificate"
    )


@pytest.mark.parametrize("record_type", ["A", "AAAA"])
def test_apex_and_api_names_alias_the_distribution(edge: dict[str, Any], record_type: str) -> None:
    distribution_id = logical_id(edge, "AWS::CloudFront::Distribution")
    records = [r for r in resources(edge, "AWS::Route53::RecordSet") if r["Type"] == record_type]
    assert sorted(r["Name"] for r in records) == sorted(f"{name}." for name in HOST_NAMES)
    for record in records:
        assert record["HostedZoneId"] == HOSTED_ZONE_ID
        assert record["AliasTarget"]["DNSName"] == {"Fn::GetAtt": [distribution_id, "DomainName"]}


def test_public_url_output_is_the_domain(edge: dict[str, Any]) -> None:
    assert edge["Outputs"]["PublicUrl"]["Value"] == f"https://{DOMAIN_NAME}"


def test_service_is_told_its_own_host_names(domain_template_json: TemplateJson) -> None:
    api = json.dumps(domain_template_json("Spito-prod-Api"))
    assert f"SPITO_PUBLIC_HOSTS={DOMAIN_NAME},api.{DOMAIN_NAME}" in api
    assert f"SPITO_PUBLIC_URL=https://{DOMAIN_NAME}" in api


def test_deploy_all_orders_certificates_fleet_then_edge(manifest: dict[str, Any]) -> None:
    def depends(stack: str) -> set[str]:
        return set(manifest["artifacts"][stack].get("dependencies", []))

    assert "Spito-prod-Certificate" in depends("Spito-prod-Api")
    assert {"Spito-prod-Api", "Spito-prod-EdgeGlobal"} <= depends("Spito-prod-Edge")
