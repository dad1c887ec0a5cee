"""The AWS runtime rules (infra/runtime_rules): each catches its mistake in a small hand-built
stack, passes the right way of doing the same thing, and runs on every synth of Spito's app.

Two apps are synthesized once each, with only the runtime rules as a validation plugin: one of
stacks that each break one rule (synth fails; the validation report must list exactly the
expected findings), one of their counterparts done right (synth succeeds). The second also holds
Spito's own constructs used alone (AlarmTopic, EdgeWebAcl, private_bucket), as a platform
engineer would reuse them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures.cdk_app import synthesized_once

if TYPE_CHECKING:
    from aws_cdk import App, Stack

EU = "eu-west-1"
ACCOUNT = "111111111111"
SLR = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/"
    "AWSServiceRoleForAutoScaling"
)
# rule -> the construct path (below the stack) of the resource its finding must name
EXPECTED = {
    "PrincipalMustExist": "Bad-PrincipalMustExist/Key/Resource",
    "AlarmTopicPolicyAllowsCloudWatch": (
        "Bad-AlarmTopicPolicyAllowsCloudWatch/Topic/Policy/Resource"
    ),
    "AlarmTopicKeyAllowsCloudWatch": "Bad-AlarmTopicKeyAllowsCloudWatch/Key/Resource",
    "DeletedBucketIsEmptiedFirst": "Bad-DeletedBucketIsEmptiedFirst/Bucket/Resource",
    "WafBodyRulesCount": "Bad-WafBodyRulesCount/Acl",
    "AlbLogBucketIsSseS3": "Bad-AlbLogBucketIsSseS3/Logs",
    "CloudFrontLogBucketHasAcls": "Bad-CloudFrontLogBucketHasAcls/Logs",
    "CloudFrontWebAclInUsEast1": "Bad-CloudFrontWebAclInUsEast1/Acl",
    "ListenerRulesWithinQuota": "Bad-ListenerRulesWithinQuota/Listener",
    "CacheBehaviorsWithinQuota": "Bad-CacheBehaviorsWithinQuota/Distribution",
    "SnsToSqsDelivers": "Bad-SnsToSqsDelivers/Queue/Resource",
    "CompressedBehaviourCanCompress": "Bad-CompressedBehaviourCanCompress/Distribution",
}


def _stack(app: App, name: str, region: str = EU) -> Stack:
    from aws_cdk import Environment, Stack

    return Stack(app, name, env=Environment(account=ACCOUNT, region=region))


def _alarm_on(stack: Stack, topic: Any) -> None:
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_cloudwatch_actions as actions

    alarm = cloudwatch.Alarm(
        stack,
        "Alarm",
        metric=cloudwatch.Metric(namespace="Test", metric_name="Errors"),
        threshold=1,
        evaluation_periods=1,
    )
    alarm.add_alarm_action(actions.SnsAction(topic))


def _retained(bucket: Any) -> Any:
    from aws_cdk import CfnDeletionPolicy

    bucket.cfn_options.deletion_policy = CfnDeletionPolicy.RETAIN
    return bucket


def _log_bucket(
    stack: Stack, *, sse: str = "AES256", ownership: str = "BucketOwnerEnforced"
) -> Any:
    from aws_cdk import aws_s3 as s3

    return _retained(
        s3.CfnBucket(
            stack,
            "Logs",
            bucket_encryption=s3.CfnBucket.BucketEncryptionProperty(
                server_side_encryption_configuration=[
                    s3.CfnBucket.ServerSideEncryptionRuleProperty(
                        server_side_encryption_by_default=s3.CfnBucket.ServerSideEncryptionByDefaultProperty(
                            sse_algorithm=sse
                        )
                    )
                ]
            ),
            ownership_controls=s3.CfnBucket.OwnershipControlsProperty(
                rules=[s3.CfnBucket.OwnershipControlsRuleProperty(object_ownership=ownership)]
            ),
        )
    )


def _load_balancer_logging_to(stack: Stack, bucket: Any) -> None:
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2

    elbv2.CfnLoadBalancer(
        stack,
        "Alb",
        subnets=["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
        load_balancer_attributes=[
            elbv2.CfnLoadBalancer.LoadBalancerAttributeProperty(
                key="access_logs.s3.enabled", value="true"
            ),
            elbv2.CfnLoadBalancer.LoadBalancerAttributeProperty(
                key="access_logs.s3.bucket", value=bucket.ref
            ),
        ],
    )


def _distribution(
    stack: Stack,
    *,
    behaviours: int = 1,
    log_bucket: Any = None,
    compressed_with: str | None = None,
) -> None:
    """A distribution with `behaviours` behaviours behind CachingDisabled, none compressed; with
    `compressed_with` (a cache policy id), one more, compressed, behind that policy."""
    from aws_cdk import aws_cloudfront as cloudfront

    config = cloudfront.CfnDistribution
    compressed = (
        [
            config.CacheBehaviorProperty(
                path_pattern="/api/*",
                target_origin_id="web",
                viewer_protocol_policy="redirect-to-https",
                cache_policy_id=compressed_with,
                compress=True,
            )
        ]
        if compressed_with is not None
        else []
    )
    cloudfront.CfnDistribution(
        stack,
        "Distribution",
        distribution_config=config.DistributionConfigProperty(
            enabled=True,
            origins=[
                config.OriginProperty(
                    id="web",
                    domain_name="example.com",
                    custom_origin_config=config.CustomOriginConfigProperty(
                        origin_protocol_policy="https-only"
                    ),
                )
            ],
            default_cache_behavior=config.DefaultCacheBehaviorProperty(
                target_origin_id="web",
                viewer_protocol_policy="redirect-to-https",
                cache_policy_id="4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
            ),
            cache_behaviors=[
                config.CacheBehaviorProperty(
                    path_pattern=f"/p{n}/*",
                    target_origin_id="web",
                    viewer_protocol_policy="redirect-to-https",
                    cache_policy_id="4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                )
                for n in range(behaviours)
            ]
            + compressed,
            logging=config.LoggingProperty(bucket=log_bucket.attr_regional_domain_name)
            if log_bucket is not None
            else None,
        ),
    )


def _compressing_cache_policy(stack: Stack) -> str:
    """The id of a cache policy as Spito's API behaviours have: caches only what the origin
    marks cacheable, Accept-Encoding normalized into the key."""
    from aws_cdk import Duration
    from aws_cdk import aws_cloudfront as cloudfront

    return cloudfront.CachePolicy(
        stack,
        "Compressing",
        default_ttl=Duration.seconds(0),
        min_ttl=Duration.seconds(0),
        max_ttl=Duration.seconds(30),
        enable_accept_encoding_gzip=True,
        enable_accept_encoding_brotli=True,
    ).cache_policy_id


def _listener_with_rules(stack: Stack, count: int) -> None:
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2

    listener = elbv2.CfnListener(
        stack,
        "Listener",
        load_balancer_arn="arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/a/1",
        port=80,
        protocol="HTTP",
        default_actions=[
            elbv2.CfnListener.ActionProperty(
                type="fixed-response",
                fixed_response_config=elbv2.CfnListener.FixedResponseConfigProperty(
                    status_code="404"
                ),
            )
        ],
    )
    for n in range(count):
        elbv2.CfnListenerRule(
            stack,
            f"Rule{n}",
            listener_arn=listener.ref,
            priority=n + 1,
            conditions=[
                elbv2.CfnListenerRule.RuleConditionProperty(field="path-pattern", values=[f"/r{n}"])
            ],
            actions=[
                elbv2.CfnListenerRule.ActionProperty(
                    type="fixed-response",
                    fixed_response_config=elbv2.CfnListenerRule.FixedResponseConfigProperty(
                        status_code="200"
                    ),
                )
            ],
        )


def _known_bad_inputs_acl(stack: Stack, *, scope: str = "CLOUDFRONT", counted: bool) -> None:
    from aws_cdk import aws_wafv2 as wafv2

    visibility = wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name="m", sampled_requests_enabled=True
    )
    overrides = [
        wafv2.CfnWebACL.RuleActionOverrideProperty(
            name=name, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
        )
        for name in ("JavaDeserializationRCE_BODY", "Log4JRCE_BODY")
    ]
    wafv2.CfnWebACL(
        stack,
        "Acl",
        scope=scope,
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=visibility,
        rules=[
            wafv2.CfnWebACL.RuleProperty(
                name="KnownBadInputs",
                priority=0,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name="AWSManagedRulesKnownBadInputsRuleSet",
                        rule_action_overrides=overrides if counted else None,
                    )
                ),
                visibility_config=visibility,
            )
        ],
    )


def _bad_app(outdir: Path) -> None:
    from aws_cdk import RemovalPolicy, Validations
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sns as sns
    from aws_cdk import aws_sqs as sqs

    import app as spito_app
    from infra.runtime_rules import AwsRuntimeRules

    application = spito_app.new_app(outdir=str(outdir))
    stack = _stack(application, "Bad-PrincipalMustExist")
    kms.Key(stack, "Key").grant(iam.ArnPrincipal(SLR), "kms:Decrypt")

    stack = _stack(application, "Bad-AlarmTopicPolicyAllowsCloudWatch")
    _alarm_on(stack, sns.Topic(stack, "Topic", enforce_ssl=True))

    stack = _stack(application, "Bad-AlarmTopicKeyAllowsCloudWatch")
    _alarm_on(stack, sns.Topic(stack, "Topic", master_key=kms.Key(stack, "Key")))

    stack = _stack(application, "Bad-DeletedBucketIsEmptiedFirst")
    s3.Bucket(stack, "Bucket", removal_policy=RemovalPolicy.DESTROY)

    _known_bad_inputs_acl(_stack(application, "Bad-WafBodyRulesCount", "us-east-1"), counted=False)

    stack = _stack(application, "Bad-AlbLogBucketIsSseS3")
    _load_balancer_logging_to(stack, _log_bucket(stack, sse="aws:kms"))

    stack = _stack(application, "Bad-CloudFrontLogBucketHasAcls", "us-east-1")
    _distribution(stack, log_bucket=_log_bucket(stack, sse="AES256"))

    _known_bad_inputs_acl(_stack(application, "Bad-CloudFrontWebAclInUsEast1"), counted=True)
    _listener_with_rules(_stack(application, "Bad-ListenerRulesWithinQuota"), 101)
    _distribution(_stack(application, "Bad-CacheBehaviorsWithinQuota", "us-east-1"), behaviours=76)

    _distribution(
        _stack(application, "Bad-CompressedBehaviourCanCompress", "us-east-1"),
        compressed_with="4135ea2d-6df8-44a3-9df3-4b5a84be39ad",  # CachingDisabled
    )

    stack = _stack(application, "Bad-SnsToSqsDelivers")
    queue = sqs.Queue(stack, "Queue")  # no queue policy: SNS may not send to it
    sns.Subscription(
        stack,
        "Subscription",
        topic=sns.Topic(stack, "Topic"),
        protocol=sns.SubscriptionProtocol.SQS,
        endpoint=queue.queue_arn,
    )

    Validations.of(application).add_plugins(AwsRuntimeRules())
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        application.synth()


def _good_app(outdir: Path) -> None:
    from aws_cdk import RemovalPolicy, Validations
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sns as sns
    from aws_cdk import aws_sns_subscriptions as subscriptions
    from aws_cdk import aws_sqs as sqs

    import app as spito_app
    from infra.data import private_bucket
    from infra.monitoring import AlarmTopic
    from infra.runtime_rules import AwsRuntimeRules, acknowledge_rule
    from infra.waf import EdgeWebAcl

    application = spito_app.new_app(outdir=str(outdir))
    stack = _stack(application, "Good-AlarmTopic")
    topic = AlarmTopic(stack, "AlarmTopic", email=None, removal_policy=RemovalPolicy.DESTROY)
    _alarm_on(stack, topic.topic)

    stack = _stack(application, "Good-Buckets")
    private_bucket(stack, "Deleted", removal_policy=RemovalPolicy.DESTROY, lifecycle_rules=[])
    s3.Bucket(stack, "Retained", removal_policy=RemovalPolicy.RETAIN)
    unemptied = s3.Bucket(stack, "Acknowledged", removal_policy=RemovalPolicy.DESTROY)
    acknowledge_rule(
        unemptied, "DeletedBucketIsEmptiedFirst", "Test: an acknowledged finding passes."
    )

    EdgeWebAcl(
        _stack(application, "Good-Waf", "us-east-1"), "Waf", api_post_limit_per_5_minutes=100
    )

    stack = _stack(application, "Good-AlbLogs")
    _load_balancer_logging_to(stack, _log_bucket(stack, sse="AES256"))

    stack = _stack(application, "Good-CloudFrontLogs", "us-east-1")
    _distribution(
        stack, behaviours=75, log_bucket=_log_bucket(stack, ownership="BucketOwnerPreferred")
    )
    _listener_with_rules(_stack(application, "Good-Listener"), 100)

    stack = _stack(application, "Good-CompressedBehaviour", "us-east-1")
    _distribution(stack, compressed_with=_compressing_cache_policy(stack))

    stack = _stack(application, "Good-SnsToSqs")
    queue = sqs.Queue(stack, "Queue", encryption=sqs.QueueEncryption.SQS_MANAGED)
    sns.Topic(stack, "Topic").add_subscription(subscriptions.SqsSubscription(queue))

    Validations.of(application).add_plugins(AwsRuntimeRules())
    application.synth()


@pytest.fixture(scope="module")
def bad_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outdir = synthesized_once(tmp_path_factory, "runtime-rules-bad.out", _bad_app)
    report: dict[str, Any] = json.loads((outdir / "validation-report.json").read_text())
    return report


def _findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "aws-runtime-rules"]
    violations: list[dict[str, Any]] = plugin["violations"]
    return violations


def test_each_rule_catches_its_mistake_and_nothing_else_is_flagged(
    bad_report: dict[str, Any],
) -> None:
    found = {
        (violation["ruleName"], construct["constructPath"])
        for violation in _findings(bad_report)
        for construct in violation["violatingConstructs"]
    }
    assert found == set(EXPECTED.items())


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_a_finding_names_the_resource_the_fix_and_the_aws_documentation(
    rule_id: str, bad_report: dict[str, Any]
) -> None:
    from infra.runtime_rules import RULES

    (violation,) = [v for v in _findings(bad_report) if v["ruleName"] == rule_id]
    (construct,) = violation["violatingConstructs"]
    logical_id = construct["cloudFormationResource"]["logicalId"]
    assert logical_id in violation["description"]
    (rule,) = [rule for rule in RULES if rule.id == rule_id]
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.source in violation["suggestedFix"]


def test_the_right_way_of_each_passes_and_an_acknowledged_finding_is_accepted(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    outdir = synthesized_once(tmp_path_factory, "runtime-rules-good.out", _good_app)
    assert (outdir / "Good-AlarmTopic.template.json").is_file()


def test_every_rule_is_tested_here() -> None:
    from infra.runtime_rules import RULES

    assert {rule.id for rule in RULES} == set(EXPECTED)


def test_acknowledging_needs_a_known_rule_and_a_reason() -> None:
    from aws_cdk import App

    from infra.runtime_rules import acknowledge_rule

    scope = App()
    with pytest.raises(ValueError, match="no AWS runtime rule"):
        acknowledge_rule(scope, "NoSuchRule", "because")
    with pytest.raises(ValueError, match="needs a reason"):
        acknowledge_rule(scope, "DeletedBucketIsEmptiedFirst", " ")


@pytest.mark.parametrize("assembly", ["cdk_out", "domain_cdk_out"])
def test_spitos_stages_synthesize_with_no_findings(
    assembly: str, request: pytest.FixtureRequest
) -> None:
    # dev, prod, and prod with a domain, synthesized by app.build (which runs the rules): a
    # finding would have failed the synth with ValidationFailed.
    outdir: Path = request.getfixturevalue(assembly)
    assert list(outdir.glob("Spito-*-Api.template.json"))


def test_apps_build_runs_the_rules_on_every_synth(tmp_path: Path) -> None:
    # The same build as make synth, make test and make diff, plus one bucket that breaks a rule.
    from aws_cdk import RemovalPolicy
    from aws_cdk import aws_s3 as s3

    import app as spito_app
    from infra.config import load_config
    from tests.fixtures.cdk_app import cdk_context

    context = cdk_context()
    application = spito_app.new_app(context=context, outdir=str(tmp_path))
    spito_app.build(application, [load_config(context, "dev")])
    s3.Bucket(_stack(application, "Extra"), "Bucket", removal_policy=RemovalPolicy.DESTROY)
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        application.synth()
    assert "aws-runtime-rules::DeletedBucketIsEmptiedFirst" in str(failure.value)
    assert "Extra/Bucket/Resource" in str(failure.value)
