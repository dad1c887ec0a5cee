"""Where Spito's alarms go, what they watch, and the dashboard that shows the same."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from .checkov import skip_check
from .props import PropError

FIVE_MINUTES = Duration.minutes(5)
# What a publisher to an encrypted topic needs of its key (SNS encrypts each message with a data
# key): https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
TOPIC_KEY_PUBLISH_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"]
AUTO_SCALING_SLR_NAME = "AWSServiceRoleForAutoScaling"


class AlarmTopic(Construct):
    """The SNS topic every Spito alarm and fleet notification publishes to.

    Encrypted with its own KMS key (rotated), because AWS's managed SNS key cannot be granted to
    CloudWatch alarms or Auto Scaling. Two publishers, each admitted where AWS requires it:

    - CloudWatch alarms of this account and region: by the topic policy (a topic policy replaces
      SNS's default one, and `enforce_ssl` writes one) and by the key policy, both conditioned on
      `aws:SourceAccount` / `aws:SourceArn` against the confused deputy.
    - Auto Scaling's fleet notifications, sent as its service-linked role: by the key policy only,
      through conditions rather than as a principal, because that role exists only once the
      account has had an Auto Scaling group and KMS refuses a policy naming a missing principal.

    Publishing requires TLS. With `email`, that address is subscribed. The key follows
    `removal_policy` like the stage's other resources.

    Props (keyword-only, checked at construction):
    - `email`: one address subscribed to the alarms, or None for none.
    - `removal_policy`: what happens to the topic's key when the stack goes.

    Attributes: `topic`, `key`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        email: str | None,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        if email is not None and (any(c.isspace() for c in email) or "@" not in email):
            raise PropError(
                f"AlarmTopic: email={email!r} is not an e-mail address; pass one address "
                "(user@example.com), or None for no subscription"
            )
        self.key = kms.Key(
            self,
            "Key",
            enable_key_rotation=True,
            description="Encrypts Spito's alarm topic",
            removal_policy=removal_policy,
        )
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        self._admit_cloudwatch_alarms()
        self._admit_auto_scaling()
        if email is not None:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def _admit_cloudwatch_alarms(self) -> None:
        """CloudWatch publishes as its service principal, for alarms of this account and region.

        A topic with an access policy follows only that policy, and `enforce_ssl`'s has just a
        Deny: CloudWatch needs an explicit Allow of sns:Publish there, and on a topic with a
        customer key kms:Decrypt and kms:GenerateDataKey* in the key policy
        (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services,
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarms.html).
        A service principal alone would admit any account's alarms (confused deputy), hence the
        source conditions (https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html).
        """
        stack = Stack.of(self)
        cloudwatch_principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        this_accounts_alarms = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            },
        }
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[cloudwatch_principal],
                actions=TOPIC_KEY_PUBLISH_ACTIONS,
                resources=["*"],
                conditions=this_accounts_alarms,
            )
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccountPublish",
                principals=[cloudwatch_principal],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=this_accounts_alarms,
            )
        )

    def _admit_auto_scaling(self) -> None:
        """Auto Scaling publishes fleet notifications as its service-linked role, through SNS.

        KMS refuses a key policy whose principals do not exist ("The principals in the key policy
        must exist and be visible to KMS",
        https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html#KMS-CreateKey-request-Policy),
        and AWSServiceRoleForAutoScaling exists only once the account has had a group
        (https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html).
        The account principal would not do either: it only delegates to IAM policies
        (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html), and a
        service-linked role's policies are AWS's to write. So the statement names any principal
        and narrows it by conditions that need nothing to exist: that role's ARN
        (aws:PrincipalArn), this account (kms:CallerAccount) and the call coming through SNS in
        this region (kms:ViaService) (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
        """
        stack = Stack.of(self)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.AnyPrincipal()],
                actions=TOPIC_KEY_PUBLISH_ACTIONS,
                resources=["*"],
                conditions={
                    "ArnEquals": {"aws:PrincipalArn": auto_scaling_service_linked_role_arn(stack)},
                    "StringEquals": {
                        "kms:CallerAccount": stack.account,
                        "kms:ViaService": f"sns.{stack.region}.amazonaws.com",
                    },
                },
            )
        )
        skip_check(
            self.key,
            "CKV_AWS_33",
            "The one statement with Principal * is held to the Auto Scaling service-linked role "
            "of this account (aws:PrincipalArn, kms:CallerAccount) calling through SNS in this "
            "region (kms:ViaService): naming the role as principal fails CreateKey in an account "
            "that never had an Auto Scaling group, and the account principal only delegates to "
            "IAM, which cannot grant a service-linked role anything.",
        )


def auto_scaling_service_linked_role_arn(stack: Stack) -> str:
    """The ARN AWSServiceRoleForAutoScaling has (or will have) in `stack`'s account."""
    return stack.format_arn(
        service="iam",
        region="",
        resource="role",
        resource_name=f"aws-service-role/autoscaling.amazonaws.com/{AUTO_SCALING_SLR_NAME}",
    )


class FleetAlarms(Construct):
    """Alarms on what users feel, sent to `topic`, and a dashboard with the same metrics.

    ALB 5xx rate, target 5xx, unhealthy hosts, p99 target response time and DynamoDB throttles.

    Props (keyword-only): `topic` (where alarms go), the fleet's `load_balancer`, `target_group`
    and `auto_scaling_group`, the `table`, and the thresholds `p99_latency_seconds`,
    `alb_5xx_percent` and `target_5xx_per_5_minutes`.

    Attributes: `alarms`, `dashboard`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        load_balancer: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        auto_scaling_group: autoscaling.AutoScalingGroup,
        table: dynamodb.ITable,
        p99_latency_seconds: float,
        alb_5xx_percent: float,
        target_5xx_per_5_minutes: int,
    ) -> None:
        super().__init__(scope, construct_id)
        alb = load_balancer.metrics
        requests = alb.request_count(period=FIVE_MINUTES)
        alb_5xx = alb.http_code_elb(code=elbv2.HttpCodeElb.ELB_5XX_COUNT, period=FIVE_MINUTES)
        alb_5xx_rate = cloudwatch.MathExpression(
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            using_metrics={"requests": requests, "errors": alb_5xx},
            label="ALB 5xx %",
            period=FIVE_MINUTES,
        )
        target_5xx = target_group.metrics.http_code_target(
            code=elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=FIVE_MINUTES
        )
        unhealthy = target_group.metrics.unhealthy_host_count(
            period=Duration.minutes(1), statistic="Maximum"
        )
        p99 = target_group.metrics.target_response_time(period=FIVE_MINUTES, statistic="p99")
        throttles = cloudwatch.MathExpression(
            expression="reads + writes",
            using_metrics={
                "reads": table.metric("ReadThrottleEvents", period=FIVE_MINUTES, statistic="Sum"),
                "writes": table.metric("WriteThrottleEvents", period=FIVE_MINUTES, statistic="Sum"),
            },
            label="DynamoDB throttled requests",
            period=FIVE_MINUTES,
        )
        self.alarms = [
            self._alarm("Alb5xxRate", alb_5xx_rate, alb_5xx_percent, "ALB answers 5xx"),
            self._alarm(
                "Target5xx", target_5xx, target_5xx_per_5_minutes, "the service answers 5xx"
            ),
            self._alarm("UnhealthyHosts", unhealthy, 0, "an instance fails /healthz", periods=3),
            self._alarm("P99Latency", p99, p99_latency_seconds, "p99 response time is high"),
            self._alarm("DynamoDbThrottles", throttles, 0, "DynamoDB throttles requests"),
        ]
        for alarm in self.alarms:
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
            alarm.add_ok_action(cloudwatch_actions.SnsAction(topic))
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(alarms=self.alarms, title="Alarms", width=24, height=3),
            cloudwatch.GraphWidget(title="Requests", left=[requests], right=[alb_5xx_rate]),
            cloudwatch.GraphWidget(title="Target 5xx", left=[target_5xx]),
            cloudwatch.GraphWidget(title="p99 response time (s)", left=[p99]),
            cloudwatch.GraphWidget(
                title="Healthy / unhealthy hosts",
                left=[target_group.metrics.healthy_host_count(), unhealthy],
            ),
            cloudwatch.GraphWidget(
                title="Fleet CPU %",
                left=[
                    cloudwatch.Metric(
                        namespace="AWS/EC2",
                        metric_name="CPUUtilization",
                        dimensions_map={
                            "AutoScalingGroupName": auto_scaling_group.auto_scaling_group_name
                        },
                        period=FIVE_MINUTES,
                    )
                ],
            ),
            cloudwatch.GraphWidget(title="DynamoDB throttles", left=[throttles]),
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        meaning: str,
        *,
        periods: int = 2,
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"Spito: {meaning} ({construct_id} > {threshold})",
        )
