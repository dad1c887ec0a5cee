"""The rules: each one a runtime behaviour of AWS, its documentation, and its check.

Every check reads the synthesized templates (model.Assembly) and yields a Finding per resource
that breaks it, naming what AWS will do and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from .model import Assembly, Finding, Json, Template, as_list, mentions
from .policies import allows_service, aws_principals, statements

Check = Callable[[Assembly, Template], Iterator[Finding]]


@dataclass(frozen=True)
class Rule:
    """One AWS runtime behaviour a template must respect."""

    id: str
    summary: str
    source: str  # the AWS documentation the behaviour is taken from
    check: Check


# Resource policies AWS checks principal by principal when it stores them.
POLICY_PROPERTIES = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
}
SERVICE_LINKED_ROLE_PATH = ":role/aws-service-role/"


def principal_must_exist(assembly: Assembly, template: Template) -> Iterator[Finding]:
    for resource_type, policy_property in POLICY_PROPERTIES.items():
        for logical_id, resource in template.of_type(resource_type):
            document = resource.get("Properties", {}).get(policy_property)
            for index, statement in enumerate(statements(document)):
                if any(mentions(p, SERVICE_LINKED_ROLE_PATH) for p in aws_principals(statement)):
                    yield template.finding(
                        "PrincipalMustExist",
                        logical_id,
                        f"Properties/{policy_property}/Statement/{index}/Principal",
                        f"{logical_id} ({resource_type}) names a service-linked role as a "
                        "principal; AWS refuses a policy whose principals do not exist, and that "
                        "role exists only once the account has used its service, so the first "
                        "deploy in a fresh account fails (MalformedPolicyDocumentException).",
                        "Name the role in a condition instead: Principal * (or the account) with "
                        "aws:PrincipalArn = the role's ARN, plus kms:CallerAccount and "
                        "kms:ViaService for a key; or create the role first.",
                    )


ALARM_ACTION_PROPERTIES = ("AlarmActions", "OKActions", "InsufficientDataActions")
CLOUDWATCH = "cloudwatch.amazonaws.com"
TOPIC_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def _alarm_topics(assembly: Assembly, template: Template) -> Iterator[tuple[Template, str]]:
    """Each SNS topic an alarm of `template` publishes to, once."""
    seen: set[tuple[str, str]] = set()
    for _, alarm in template.of_type("AWS::CloudWatch::Alarm"):
        properties = alarm.get("Properties", {})
        for action in (a for key in ALARM_ACTION_PROPERTIES for a in as_list(properties.get(key))):
            target = assembly.referenced_resource(template, action)
            if target is None:
                continue
            owner, topic_id = target
            is_topic = owner.resources[topic_id].get("Type") == "AWS::SNS::Topic"
            if is_topic and (owner.path, topic_id) not in seen:
                seen.add((owner.path, topic_id))
                yield owner, topic_id


def _topic_policies(template: Template, topic_id: str) -> Iterator[tuple[str, Mapping[str, Json]]]:
    for logical_id, policy in template.of_type("AWS::SNS::TopicPolicy"):
        if {"Ref": topic_id} in as_list(policy.get("Properties", {}).get("Topics")):
            yield logical_id, policy


def alarm_topic_policy_allows_cloudwatch(
    assembly: Assembly, template: Template
) -> Iterator[Finding]:
    for owner, topic_id in _alarm_topics(assembly, template):
        for policy_id, policy in _topic_policies(owner, topic_id):
            document = policy.get("Properties", {}).get("PolicyDocument")
            if not allows_service(document, CLOUDWATCH, ("sns:Publish",)):
                yield owner.finding(
                    "AlarmTopicPolicyAllowsCloudWatch",
                    policy_id,
                    "Properties/PolicyDocument",
                    f"CloudWatch alarms publish to {topic_id}, whose access policy {policy_id} "
                    "replaces SNS's default one and has no Allow for cloudwatch.amazonaws.com: "
                    "every alarm action fails (the alarm still changes state; only its history "
                    "shows the failure).",
                    "Add an Allow of sns:Publish for the cloudwatch.amazonaws.com service "
                    "principal, conditioned on aws:SourceAccount and aws:SourceArn "
                    "(topic.add_to_resource_policy).",
                )


def alarm_topic_key_allows_cloudwatch(assembly: Assembly, template: Template) -> Iterator[Finding]:
    for owner, topic_id in _alarm_topics(assembly, template):
        key = owner.resources[topic_id].get("Properties", {}).get("KmsMasterKeyId")
        if key is None:
            continue
        fix = (
            "Encrypt the topic with a customer managed key whose policy allows the "
            "cloudwatch.amazonaws.com service principal kms:Decrypt and kms:GenerateDataKey*, "
            "conditioned on aws:SourceAccount and aws:SourceArn."
        )
        if isinstance(key, str) and key.endswith("alias/aws/sns"):
            yield owner.finding(
                "AlarmTopicKeyAllowsCloudWatch",
                topic_id,
                "Properties/KmsMasterKeyId",
                f"CloudWatch alarms publish to {topic_id}, encrypted with the AWS managed key "
                "alias/aws/sns, whose policy no one can change to admit CloudWatch: every alarm "
                "action fails.",
                fix,
            )
            continue
        refusing = _key_refusing(assembly, owner, key, CLOUDWATCH)
        if refusing is not None:
            key_template, key_id = refusing
            yield key_template.finding(
                "AlarmTopicKeyAllowsCloudWatch",
                key_id,
                "Properties/KeyPolicy",
                f"CloudWatch alarms publish to {topic_id}, encrypted with {key_id}, whose key "
                "policy does not let cloudwatch.amazonaws.com use it: SNS cannot encrypt the "
                "message and every alarm action fails.",
                fix,
            )


def _key_refusing(
    assembly: Assembly, owner: Template, key: Json, service: str
) -> tuple[Template, str] | None:
    """The customer managed key `owner` refers to as `key`, with its template, if its policy
    does not let `service` encrypt and decrypt with it (TOPIC_KEY_ACTIONS); else None."""
    target = assembly.referenced_resource(owner, key)
    if target is None:
        return None
    key_template, key_id = target
    document = key_template.resources[key_id].get("Properties", {}).get("KeyPolicy")
    return None if allows_service(document, service, TOPIC_KEY_ACTIONS) else target


def deleted_bucket_is_emptied_first(assembly: Assembly, template: Template) -> Iterator[Finding]:
    emptied = {
        str(resource.get("Properties", {}).get("BucketName", {}).get("Ref"))
        for resource in template.resources.values()
        if "AutoDeleteObjects" in str(resource.get("Type", ""))
    }
    for logical_id, bucket in template.of_type("AWS::S3::Bucket"):
        # CloudFormation's default DeletionPolicy for a bucket is Delete.
        if bucket.get("DeletionPolicy", "Delete") == "Delete" and logical_id not in emptied:
            yield template.finding(
                "DeletedBucketIsEmptiedFirst",
                logical_id,
                "DeletionPolicy",
                f"{logical_id} is deleted with its stack, but CloudFormation deletes only empty "
                "buckets: once it holds an object (or an old version), deleting the stack ends "
                "in DELETE_FAILED.",
                "Set auto_delete_objects=True on the bucket, or RemovalPolicy.RETAIN to keep it.",
            )


# AWS managed rule groups' rules that inspect the request body, by group.
BODY_RULES = {
    "AWSManagedRulesCommonRuleSet": (
        "SizeRestrictions_BODY",
        "CrossSiteScripting_BODY",
        "GenericLFI_BODY",
        "GenericRFI_BODY",
        "EC2MetaDataSSRF_BODY",
    ),
    "AWSManagedRulesKnownBadInputsRuleSet": ("JavaDeserializationRCE_BODY", "Log4JRCE_BODY"),
    "AWSManagedRulesSQLiRuleSet": ("SQLi_BODY", "SQLiExtendedPatterns_BODY"),
}


def _counted_rules(group: Mapping[str, Json]) -> set[str]:
    counted = {
        str(override.get("Name"))
        for override in as_list(group.get("RuleActionOverrides"))
        if "Count" in override.get("ActionToUse", {})
    }
    return counted | {str(rule.get("Name")) for rule in as_list(group.get("ExcludedRules"))}


def waf_body_rules_count(assembly: Assembly, template: Template) -> Iterator[Finding]:
    for logical_id, acl in template.of_type("AWS::WAFv2::WebACL"):
        for index, rule in enumerate(as_list(acl.get("Properties", {}).get("Rules"))):
            group = rule.get("Statement", {}).get("ManagedRuleGroupStatement")
            if (
                not group
                or group.get("VendorName") != "AWS"
                or "Count" in rule.get("OverrideAction", {})
            ):
                continue
            blocking = [
                name
                for name in BODY_RULES.get(str(group.get("Name")), ())
                if name not in _counted_rules(group)
            ]
            if blocking:
                yield template.finding(
                    "WafBodyRulesCount",
                    logical_id,
                    f"Properties/Rules/{index}",
                    f"{logical_id} runs {group.get('Name')} with {', '.join(blocking)} on Block: "
                    "body signatures judge what users submit (a paste quoting an exploit, a "
                    "config file) and refuse it with a WAF 403.",
                    "Override those rules to Count (rule_action_overrides) and validate bodies "
                    "in the application; header, path and query rules keep blocking.",
                )


def _attribute(attributes: Json, key: str) -> Json:
    for attribute in as_list(attributes):
        if isinstance(attribute, Mapping) and attribute.get("Key") == key:
            return attribute.get("Value")
    return None


def _sse_algorithms(bucket: Mapping[str, Json]) -> set[str]:
    encryption = bucket.get("Properties", {}).get("BucketEncryption", {})
    return {
        str(rule.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm"))
        for rule in as_list(encryption.get("ServerSideEncryptionConfiguration"))
    }


def alb_log_bucket_is_sse_s3(assembly: Assembly, template: Template) -> Iterator[Finding]:
    for logical_id, balancer in template.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        attributes = balancer.get("Properties", {}).get("LoadBalancerAttributes")
        if str(_attribute(attributes, "access_logs.s3.enabled")).lower() != "true":
            continue
        target = assembly.referenced_resource(
            template, _attribute(attributes, "access_logs.s3.bucket")
        )
        if target is None:
            continue
        owner, bucket_id = target
        if _sse_algorithms(owner.resources[bucket_id]) - {"AES256"}:
            yield owner.finding(
                "AlbLogBucketIsSseS3",
                bucket_id,
                "Properties/BucketEncryption",
                f"{logical_id} writes its access logs to {bucket_id}, which is encrypted with a "
                "KMS key: Elastic Load Balancing supports only SSE-S3 for access logs and "
                "delivers nothing.",
                "Encrypt the log bucket with S3-managed keys (BucketEncryption.S3_MANAGED).",
            )


def cloudfront_log_bucket_has_acls(assembly: Assembly, template: Template) -> Iterator[Finding]:
    for logical_id, distribution in template.of_type("AWS::CloudFront::Distribution"):
        logging = distribution.get("Properties", {}).get("DistributionConfig", {}).get("Logging")
        target = assembly.referenced_resource(template, (logging or {}).get("Bucket"))
        if target is None:
            continue
        owner, bucket_id = target
        controls = owner.resources[bucket_id].get("Properties", {}).get("OwnershipControls", {})
        ownership = {str(rule.get("ObjectOwnership")) for rule in as_list(controls.get("Rules"))}
        if not ownership & {"BucketOwnerPreferred", "ObjectWriter"}:
            yield owner.finding(
                "CloudFrontLogBucketHasAcls",
                bucket_id,
                "Properties/OwnershipControls",
                f"{logical_id} writes standard logs to {bucket_id}, which has ACLs disabled "
                "(bucket owner enforced, the default for new buckets): CloudFront's standard "
                "logging writes with ACLs, and the distribution's deploy fails.",
                "Give the log bucket ObjectOwnership BUCKET_OWNER_PREFERRED.",
            )


def cloudfront_web_acl_in_us_east_1(assembly: Assembly, template: Template) -> Iterator[Finding]:
    if template.region in (None, "us-east-1"):
        return
    for logical_id, acl in template.of_type("AWS::WAFv2::WebACL"):
        if acl.get("Properties", {}).get("Scope") == "CLOUDFRONT":
            yield template.finding(
                "CloudFrontWebAclInUsEast1",
                logical_id,
                "Properties/Scope",
                f"{logical_id} has Scope CLOUDFRONT in a stack in {template.region}: WAF creates "
                "CloudFront web ACLs only in us-east-1, so the deploy fails.",
                "Put the web ACL in a stack in us-east-1 and pass its ARN to the distribution "
                "(cross_region_references=True).",
            )


SNS = "sns.amazonaws.com"


def _queue_policies(template: Template, queue_id: str) -> list[Mapping[str, Json]]:
    return [
        policy
        for _, policy in template.of_type("AWS::SQS::QueuePolicy")
        if {"Ref": queue_id} in as_list(policy.get("Properties", {}).get("Queues"))
    ]


def sns_to_sqs_delivers(assembly: Assembly, template: Template) -> Iterator[Finding]:
    for logical_id, subscription in template.of_type("AWS::SNS::Subscription"):
        properties = subscription.get("Properties", {})
        if properties.get("Protocol") != "sqs":
            continue
        target = assembly.referenced_resource(template, properties.get("Endpoint"))
        if target is None:
            continue
        owner, queue_id = target
        documents = [
            policy.get("Properties", {}).get("PolicyDocument")
            for policy in _queue_policies(owner, queue_id)
        ]
        if not any(allows_service(d, SNS, ("sqs:SendMessage",)) for d in documents):
            yield owner.finding(
                "SnsToSqsDelivers",
                queue_id,
                "QueuePolicy",
                f"{logical_id} subscribes {queue_id} to a topic, but no queue policy lets "
                "sns.amazonaws.com sqs:SendMessage: SNS confirms the subscription and silently "
                "drops every message.",
                "Add a queue policy allowing the sns.amazonaws.com service principal "
                "sqs:SendMessage with aws:SourceArn = the topic (SqsSubscription does this).",
            )
        yield from _queue_key_admits_sns(assembly, owner, queue_id, logical_id)


def _queue_key_admits_sns(
    assembly: Assembly, owner: Template, queue_id: str, subscription_id: str
) -> Iterator[Finding]:
    key = owner.resources[queue_id].get("Properties", {}).get("KmsMasterKeyId")
    fix = (
        "Use SQS-managed encryption (SSE-SQS) or a customer managed key whose policy lets "
        "sns.amazonaws.com kms:Decrypt and kms:GenerateDataKey*."
    )
    if isinstance(key, str) and key.endswith("alias/aws/sqs"):
        yield owner.finding(
            "SnsToSqsDelivers",
            queue_id,
            "Properties/KmsMasterKeyId",
            f"{subscription_id} subscribes {queue_id}, encrypted with the AWS managed key "
            "alias/aws/sqs, whose policy cannot admit SNS: no message is delivered.",
            fix,
        )
        return
    refusing = _key_refusing(assembly, owner, key, SNS) if key is not None else None
    if refusing is not None:
        key_template, key_id = refusing
        yield key_template.finding(
            "SnsToSqsDelivers",
            key_id,
            "Properties/KeyPolicy",
            f"{subscription_id} subscribes {queue_id}, encrypted with {key_id}, whose key policy "
            "does not let sns.amazonaws.com use it: no message is delivered.",
            fix,
        )


LISTENER_RULES_QUOTA = 100
CACHE_BEHAVIORS_QUOTA = 75


def listener_rules_within_quota(assembly: Assembly, template: Template) -> Iterator[Finding]:
    per_listener: dict[str, int] = {}
    for _, rule in template.of_type("AWS::ElasticLoadBalancingV2::ListenerRule"):
        listener = rule.get("Properties", {}).get("ListenerArn")
        target = assembly.referenced_resource(template, listener)
        if target is not None and target[0] is template:
            per_listener[target[1]] = per_listener.get(target[1], 0) + 1
    for listener_id, count in per_listener.items():
        if count > LISTENER_RULES_QUOTA:
            yield template.finding(
                "ListenerRulesWithinQuota",
                listener_id,
                "ListenerRules",
                f"{listener_id} has {count} rules; an Application Load Balancer listener takes "
                f"{LISTENER_RULES_QUOTA} (default quota), so the deploy fails past it.",
                "Merge rules (several conditions per rule), or raise the quota before deploying.",
            )


def cache_behaviors_within_quota(assembly: Assembly, template: Template) -> Iterator[Finding]:
    for logical_id, distribution in template.of_type("AWS::CloudFront::Distribution"):
        config = distribution.get("Properties", {}).get("DistributionConfig", {})
        count = len(as_list(config.get("CacheBehaviors")))
        if count > CACHE_BEHAVIORS_QUOTA:
            yield template.finding(
                "CacheBehaviorsWithinQuota",
                logical_id,
                "Properties/DistributionConfig/CacheBehaviors",
                f"{logical_id} has {count} cache behaviours; a distribution takes "
                f"{CACHE_BEHAVIORS_QUOTA} (default quota), so the deploy fails past it.",
                "Merge path patterns, or raise the quota before deploying.",
            )


# The managed policy "CachingDisabled": all TTLs 0, nothing in the cache key.
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
TTL_KEYS = ("MinTTL", "DefaultTTL", "MaxTTL")


def _behaviours(config: Mapping[str, Json]) -> Iterator[tuple[str, Mapping[str, Json]]]:
    yield (
        "Properties/DistributionConfig/DefaultCacheBehavior",
        config.get("DefaultCacheBehavior", {}),
    )
    for index, behaviour in enumerate(as_list(config.get("CacheBehaviors"))):
        yield f"Properties/DistributionConfig/CacheBehaviors/{index}", behaviour


def _lets_cloudfront_compress(assembly: Assembly, template: Template, policy_id: Json) -> bool:
    """Whether the cache policy `policy_id` caches and keys on a normalized Accept-Encoding.

    A policy id CloudFront manages, other than CachingDisabled, is taken as allowing it.
    """
    if policy_id == CACHING_DISABLED_POLICY_ID:
        return False
    target = assembly.referenced_resource(template, policy_id)
    if target is None:
        return True
    owner, logical_id = target
    policy = owner.resources[logical_id]
    if policy.get("Type") != "AWS::CloudFront::CachePolicy":
        return True
    config = policy.get("Properties", {}).get("CachePolicyConfig", {})
    key = config.get("ParametersInCacheKeyAndForwardedToOrigin", {})
    caches = any(config.get(ttl) not in (0, "0", None) for ttl in TTL_KEYS)
    return caches and key.get("EnableAcceptEncodingGzip") is True


def compressed_behaviour_can_compress(assembly: Assembly, template: Template) -> Iterator[Finding]:
    for logical_id, distribution in template.of_type("AWS::CloudFront::Distribution"):
        config = distribution.get("Properties", {}).get("DistributionConfig", {})
        for location, behaviour in _behaviours(config):
            if behaviour.get("Compress") is not True:
                continue
            if _lets_cloudfront_compress(assembly, template, behaviour.get("CachePolicyId")):
                continue
            pattern = behaviour.get("PathPattern", "the default behaviour")
            yield template.finding(
                "CompressedBehaviourCanCompress",
                logical_id,
                location,
                f"{logical_id}: {pattern} asks CloudFront to compress, but its cache policy "
                "caches nothing or leaves Accept-Encoding out of the cache key; CloudFront then "
                "never compresses, and every answer crosses the internet at full size.",
                "Use a cache policy with EnableAcceptEncodingGzip (and Brotli) and a TTL above "
                "0 (a default TTL of 0 still caches only what the origin marks cacheable), or "
                "have the origin compress and set Compress to false.",
            )


RULES = (
    Rule(
        "PrincipalMustExist",
        "A resource policy names only principals that exist; service-linked roles go in "
        "conditions.",
        "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html#KMS-CreateKey-request-Policy",
        principal_must_exist,
    ),
    Rule(
        "AlarmTopicPolicyAllowsCloudWatch",
        "A topic alarms publish to, if it has an access policy, allows cloudwatch.amazonaws.com "
        "sns:Publish.",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarms.html",
        alarm_topic_policy_allows_cloudwatch,
    ),
    Rule(
        "AlarmTopicKeyAllowsCloudWatch",
        "The customer key of a topic alarms publish to lets cloudwatch.amazonaws.com "
        "kms:Decrypt and kms:GenerateDataKey*.",
        "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services",
        alarm_topic_key_allows_cloudwatch,
    ),
    Rule(
        "DeletedBucketIsEmptiedFirst",
        "A bucket deleted with its stack is emptied first (CloudFormation deletes only empty "
        "buckets).",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html",
        deleted_bucket_is_emptied_first,
    ),
    Rule(
        "WafBodyRulesCount",
        "AWS managed rule groups' *_BODY rules count rather than block user content.",
        "https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html",
        waf_body_rules_count,
    ),
    Rule(
        "AlbLogBucketIsSseS3",
        "An ALB's access-log bucket is encrypted with SSE-S3, never a KMS key.",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html",
        alb_log_bucket_is_sse_s3,
    ),
    Rule(
        "CloudFrontLogBucketHasAcls",
        "A CloudFront standard-log bucket has ACLs enabled (object ownership not enforced).",
        "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html",
        cloudfront_log_bucket_has_acls,
    ),
    Rule(
        "CloudFrontWebAclInUsEast1",
        "A CLOUDFRONT-scope web ACL is created in us-east-1.",
        "https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html",
        cloudfront_web_acl_in_us_east_1,
    ),
    Rule(
        "SnsToSqsDelivers",
        "An SQS queue subscribed to a topic lets sns.amazonaws.com send to it, and is not "
        "encrypted with the AWS managed SQS key.",
        "https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html",
        sns_to_sqs_delivers,
    ),
    Rule(
        "ListenerRulesWithinQuota",
        "An ALB listener has at most 100 rules (default quota).",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html",
        listener_rules_within_quota,
    ),
    Rule(
        "CacheBehaviorsWithinQuota",
        "A CloudFront distribution has at most 75 cache behaviours (default quota).",
        "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html",
        cache_behaviors_within_quota,
    ),
    Rule(
        "CompressedBehaviourCanCompress",
        "A behaviour with Compress on has a cache policy that caches and puts a normalized "
        "Accept-Encoding in the cache key (CloudFront compresses nothing else).",
        "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/ServingCompressedFiles.html",
        compressed_behaviour_can_compress,
    ),
)
