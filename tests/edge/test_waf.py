"""The CLOUDFRONT web ACL: in us-east-1, on in prod, managed rules plus a rate limit on writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.waf import COMMON_RULES_COUNTED
from tests.edge.templates import Templates, only

WEB_ACL = "AWS::WAFv2::WebACL"
MANAGED_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


@pytest.fixture
def edge_global(cdk_template: Templates) -> Template:
    return cdk_template("Spito-prod-EdgeGlobal")


def _rules(edge_global: Template) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = only(edge_global, WEB_ACL)[1]["Properties"]["Rules"]
    return rules


def _has_rule(edge_global: Template, rule: dict[str, Any]) -> None:
    edge_global.has_resource_properties(
        WEB_ACL, {"Rules": Match.array_with([Match.object_like(rule)])}
    )


def test_dev_has_no_us_east_1_stack_without_domain_or_waf(cdk_out: Path) -> None:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    assert "Spito-dev-EdgeGlobal" not in manifest["artifacts"]


def test_web_acl_stack_is_in_us_east_1(cdk_out: Path) -> None:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    environment = manifest["artifacts"]["Spito-prod-EdgeGlobal"]["environment"]
    assert environment.endswith("/us-east-1")


def test_web_acl_is_cloudfront_scoped_and_allows_by_default(edge_global: Template) -> None:
    edge_global.has_resource_properties(
        WEB_ACL, {"Scope": "CLOUDFRONT", "DefaultAction": {"Allow": {}}}
    )


@pytest.mark.parametrize("group", MANAGED_GROUPS)
def test_web_acl_runs_the_aws_managed_rule_group(edge_global: Template, group: str) -> None:
    statement = {
        "ManagedRuleGroupStatement": Match.object_like({"VendorName": "AWS", "Name": group})
    }
    _has_rule(edge_global, {"Statement": statement, "OverrideAction": {"None": {}}})


def test_web_acl_has_no_other_managed_rule_groups(edge_global: Template) -> None:
    groups = [
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for rule in _rules(edge_global)
        if "ManagedRuleGroupStatement" in rule["Statement"]
    ]
    assert sorted(groups) == sorted(MANAGED_GROUPS)


def test_common_rule_set_counts_only_its_body_rules(edge_global: Template) -> None:
    assert all(name.endswith("_BODY") for name in COMMON_RULES_COUNTED)
    overrides = [{"Name": name, "ActionToUse": {"Count": {}}} for name in COMMON_RULES_COUNTED]
    statement = {
        "ManagedRuleGroupStatement": Match.object_like(
            {"Name": "AWSManagedRulesCommonRuleSet", "RuleActionOverrides": overrides}
        )
    }
    _has_rule(edge_global, {"Statement": statement})


def test_known_bad_inputs_count_its_body_rules_so_pastes_quoting_exploits_pass(
    edge_global: Template,
) -> None:
    # A Log4Shell write-up or a serialized Java object is a legitimate paste.
    (group,) = [
        rule["Statement"]["ManagedRuleGroupStatement"]
        for rule in _rules(edge_global)
        if rule["Statement"].get("ManagedRuleGroupStatement", {}).get("Name")
        == "AWSManagedRulesKnownBadInputsRuleSet"
    ]
    counted = {
        override["Name"]
        for override in group.get("RuleActionOverrides", [])
        if override["ActionToUse"] == {"Count": {}}
    }
    assert counted == {"Log4JRCE_BODY", "JavaDeserializationRCE_BODY"}


def test_every_post_is_rate_limited_per_address_whatever_its_path(edge_global: Template) -> None:
    # Only the method is matched: no path encoding (/%61pi/, /api%2Fv1/) can dodge the limit.
    is_post = {
        "ByteMatchStatement": {
            "FieldToMatch": {"Method": {}},
            "PositionalConstraint": "EXACTLY",
            "SearchString": "POST",
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
    }
    rate = {
        "AggregateKeyType": "IP",
        "Limit": 500,
        "EvaluationWindowSec": 300,
        "ScopeDownStatement": Match.exact(is_post),
    }
    _has_rule(
        edge_global,
        {"Action": {"Block": {}}, "Statement": {"RateBasedStatement": rate}, "Priority": 0},
    )


def test_every_rule_reports_metrics(edge_global: Template) -> None:
    visibility = Match.object_like(
        {"CloudWatchMetricsEnabled": True, "SampledRequestsEnabled": True}
    )
    edge_global.has_resource_properties(
        WEB_ACL,
        {
            "VisibilityConfig": visibility,
            "Rules": [Match.object_like({"VisibilityConfig": visibility})]
            * len(_rules(edge_global)),
        },
    )
