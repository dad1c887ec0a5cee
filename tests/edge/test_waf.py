"""The CLOUDFRONT web ACL: in us-east-1, on in prod, managed rules plus a rate limit on writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.waf import COMMON_RULES_COUNTED
from tests.edge.templates import only

TemplateJson = Callable[[str], dict[str, Any]]


@pytest.fixture
def web_acl(cdk_template_json: TemplateJson) -> dict[str, Any]:
    return only(cdk_template_json("Spito-prod-EdgeGlobal"), "AWS::WAFv2::WebACL")


def _rules(web_acl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in web_acl["Rules"]}


def test_dev_has_no_us_east_1_stack_without_domain_or_waf(cdk_out: Path) -> None:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    assert "Spito-dev-EdgeGlobal" not in manifest["artifacts"]


def test_web_acl_stack_is_in_us_east_1(cdk_out: Path) -> None:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    environment = manifest["artifacts"]["Spito-prod-EdgeGlobal"]["environment"]
    assert environment.endswith("/us-east-1")


def test_web_acl_is_cloudfront_scoped_and_allows_by_default(web_acl: dict[str, Any]) -> None:
    assert web_acl["Scope"] == "CLOUDFRONT"
    assert web_acl["DefaultAction"] == {"Allow": {}}


def test_web_acl_runs_the_aws_managed_rule_groups(web_acl: dict[str, Any]) -> None:
    groups = {
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for rule in web_acl["Rules"]
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert groups == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    for name in groups:
        assert _rules(web_acl)[name]["OverrideAction"] == {"None": {}}


def test_common_rule_set_counts_only_its_body_rules(web_acl: dict[str, Any]) -> None:
    statement = _rules(web_acl)["AWSManagedRulesCommonRuleSet"]["Statement"]
    overrides = statement["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert {o["Name"] for o in overrides} == set(COMMON_RULES_COUNTED)
    assert all(o["ActionToUse"] == {"Count": {}} for o in overrides)
    assert all(name.endswith("_BODY") for name in COMMON_RULES_COUNTED)


def test_post_to_the_api_is_rate_limited_per_address(web_acl: dict[str, Any]) -> None:
    rule = _rules(web_acl)["ApiPostRateLimit"]
    assert rule["Action"] == {"Block": {}}
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    assert rate["Limit"] == 500
    method, path = rate["ScopeDownStatement"]["AndStatement"]["Statements"]
    assert method["ByteMatchStatement"]["FieldToMatch"] == {"Method": {}}
    assert method["ByteMatchStatement"]["SearchString"] == "POST"
    assert method["ByteMatchStatement"]["PositionalConstraint"] == "EXACTLY"
    assert path["ByteMatchStatement"]["FieldToMatch"] == {"UriPath": {}}
    assert path["ByteMatchStatement"]["SearchString"] == "/api/"
    assert path["ByteMatchStatement"]["PositionalConstraint"] == "STARTS_WITH"


def test_every_rule_reports_metrics(web_acl: dict[str, Any]) -> None:
    for rule in web_acl["Rules"]:
        assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
        assert rule["VisibilityConfig"]["SampledRequestsEnabled"] is True
