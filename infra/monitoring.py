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

FIVE_MINUTES = Duration.minutes(5)


class AlarmTopic(Construct):
    """The SNS topic every Spito alarm and fleet notification publishes to.

    Encrypted with its own KMS key (rotated), because AWS's managed SNS key cannot be granted to
    CloudWatch alarms or Auto Scaling; the key policy admits exactly those two publishers, and
    CloudWatch only for alarms of this account and region. Publishing requires TLS. With `email`,
    that address is subscribed. The key follows `removal_policy` like the stage's other resources.

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
        self.key = kms.Key(
            self,
            "Key",
            enable_key_rotation=True,
            description="Encrypts Spito's alarm topic",
            removal_policy=removal_policy,
        )
        stack = Stack.of(self)
        publish = ["kms:Decrypt", "kms:GenerateDataKey*"]
        # A service principal alone would let any account's alarms use the key (confused deputy).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=publish,
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        self.key.grant(
            iam.ArnPrincipal(
                stack.format_arn(
                    service="iam",
                    region="",
                    resource="role",
                    resource_name="aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
                )
            ),
            *publish,
        )
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        if email is not None:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))


class FleetAlarms(Construct):
    """Alarms on what users feel, sent to `topic`, and a dashboard with the same metrics.

    ALB 5xx rate, target 5xx, unhealthy hosts, p99 target response time and DynamoDB throttles.

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
