"""The web application firewall in front of the distribution."""

from __future__ import annotations

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# Common rule set rules that inspect the request body. A paste *is* arbitrary text (code, HTML,
# config files, up to the service's size limit), so these would block legitimate pastes; they
# count instead, and the service validates bodies itself.
COMMON_RULES_COUNTED = (
    "SizeRestrictions_BODY",
    "CrossSiteScripting_BODY",
    "GenericLFI_BODY",
    "GenericRFI_BODY",
    "EC2MetaDataSSRF_BODY",
)
# Known bad inputs rules that inspect the request body, for the same reason: a paste quoting
# `${jndi:ldap://...}` (a Log4Shell write-up) or a serialized Java object is text someone meant to
# share, and the service never evaluates it. Their _HEADER, _URIPATH and _QUERYSTRING siblings
# still block. Rule names from
# https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html#aws-managed-rule-groups-baseline-known-bad-inputs
KNOWN_BAD_INPUTS_RULES_COUNTED = (
    "JavaDeserializationRCE_BODY",
    "Log4JRCE_BODY",
)
# The rate limit counts every POST, whatever its path. The service takes POST only under
# /api/v1/ (creating links and pastes, opening a burn-after-reading paste) and CloudFront refuses
# POST on every web app behaviour, so every POST that does anything is a POST /api/*. Matching
# the path instead would have to decode it exactly as uvicorn and Starlette do (/%61pi/ and
# /api%2Fv1/ reach the API): any difference is a way around the limit, and no path is simpler.
RATE_LIMITED_METHOD = "POST"


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


def _managed_rule(
    name: str, priority: int, counted: tuple[str, ...] = ()
) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=name,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in counted
                ]
                or None,
            )
        ),
        visibility_config=_visibility(name),
    )


def _post_rate_rule(priority: int, limit: int) -> wafv2.CfnWebACL.RuleProperty:
    is_post = wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(method={}),
            positional_constraint="EXACTLY",
            search_string=RATE_LIMITED_METHOD,
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
            ],
        )
    )
    return wafv2.CfnWebACL.RuleProperty(
        name="PostRateLimit",
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP",
                limit=limit,
                evaluation_window_sec=300,
                scope_down_statement=is_post,
            )
        ),
        visibility_config=_visibility("PostRateLimit"),
    )


class EdgeWebAcl(Construct):
    """A CLOUDFRONT-scope WAF web ACL; its stack must be in us-east-1.

    AWS managed rule groups (common rule set, known bad inputs, Amazon IP reputation list) and a
    per-address rate limit on every POST (see `RATE_LIMITED_METHOD`). The managed groups' body
    rules count rather than block (`COMMON_RULES_COUNTED`, `KNOWN_BAD_INPUTS_RULES_COUNTED`): a
    paste's body is the user's text, never judged by signature. Everything else is allowed.

    Attribute: `web_acl` (its `attr_arn` is what a distribution takes).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, api_post_limit_per_5_minutes: int
    ) -> None:
        super().__init__(scope, construct_id)
        if api_post_limit_per_5_minutes < 10:
            raise ValueError("WAF rate-based rules need a limit of at least 10 requests")
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("SpitoEdge"),
            rules=[
                _post_rate_rule(priority=0, limit=api_post_limit_per_5_minutes),
                _managed_rule("AWSManagedRulesAmazonIpReputationList", 1),
                _managed_rule(
                    "AWSManagedRulesKnownBadInputsRuleSet", 2, KNOWN_BAD_INPUTS_RULES_COUNTED
                ),
                _managed_rule("AWSManagedRulesCommonRuleSet", 3, COMMON_RULES_COUNTED),
            ],
        )
