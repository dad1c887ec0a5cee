"""Where Spito keeps links and pastes."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .cdk_providers import skip_auto_delete_provider_checks
from .checkov import skip_check
from .nag import acknowledge

PARTITION_KEY = "id"
TTL_ATTRIBUTE = "expires_at"
# Without it the CDK grants S3 log delivery by ACL, which an owner-enforced bucket refuses.
S3_ACCESS_LOGS_BY_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"
# How long deleted and burned data can be brought back after an accident (PITR, old versions):
# a Friday-evening mistake is still undoable on Monday. DynamoDB accepts 1-35 days
# (PointInTimeRecoverySpecification.RecoveryPeriodInDays, DynamoDB API Reference).
RECOVERY_DAYS = 3
MAX_RECOVERY_DAYS = 35
# The item calls the API service makes on its table (service/table.py, service/moderation.py),
# and nothing else: its access policy grants them, the VPC's DynamoDB endpoint admits them
# (infra/network.py).
SERVICE_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)


def deletes_its_objects(removal_policy: RemovalPolicy) -> bool:
    """Whether a bucket with `removal_policy` must have its objects deleted when its stack goes.

    CloudFormation deletes only an empty bucket: a non-empty one ends the stack's deletion in
    DELETE_FAILED ("You can only delete empty buckets", the DeletionPolicy attribute,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
    aws-cdk-lib's auto_delete_objects adds a custom resource that deletes every object and
    version first (https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk.aws_s3/Bucket.html).
    Only for DESTROY: a retained bucket outlives its stack with its data.
    """
    return removal_policy == RemovalPolicy.DESTROY


def private_bucket(
    scope: Construct,
    construct_id: str,
    *,
    removal_policy: RemovalPolicy,
    lifecycle_rules: Sequence[s3.LifecycleRule],
    versioned: bool = False,
    server_access_logs_bucket: s3.IBucket | None = None,
    server_access_logs_prefix: str | None = None,
) -> s3.Bucket:
    """An S3 bucket with Spito's floor: no public access, TLS only, SSE-S3, owner-enforced.

    A bucket deleted with its stack is emptied first (`deletes_its_objects`); a retained one keeps
    everything.
    """
    bucket = s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        encryption=s3.BucketEncryption.S3_MANAGED,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=removal_policy,
        auto_delete_objects=deletes_its_objects(removal_policy),
        lifecycle_rules=list(lifecycle_rules),
        versioned=versioned,
        server_access_logs_bucket=server_access_logs_bucket,
        server_access_logs_prefix=server_access_logs_prefix,
    )
    if deletes_its_objects(removal_policy):
        skip_auto_delete_provider_checks(bucket)
    return bucket


class DataStore(Construct):
    """The DynamoDB table of links and pastes, and the S3 bucket for paste bodies too big for it.

    The table is on-demand (no capacity to plan), encrypted, point-in-time recoverable for
    `recovery_days`, expires items through TTL on `expires_at` and streams NEW_AND_OLD_IMAGES so
    the reaper can delete the S3 body of a paste TTL removed. The blob bucket is private,
    TLS-only, encrypted and versioned: a deleted body's old version lives `recovery_days` too, so
    a table restored to a point in that window finds its bodies. Both windows exist only to undo
    accidents, and keep burned and deleted pastes that long (docs/DATA-LIFECYCLE.md): they are as
    short as noticing an accident over a weekend allows. Access logs go to a log bucket.

    `service_access_policy` is what the API service may do with the data: the item actions it calls
    (get, put, update, delete) on the one table and the object actions (get, put, delete) on the
    one bucket. It lives here, next to the resources it names, so the fleet's stack attaches it
    without reaching into this stack's resources.

    Props (keyword-only, checked at construction):
    - `removal_policy`: what happens to the table and buckets when the stack goes (DESTROY
      empties the buckets first).
    - `deletion_protection`: the table's deletion protection.
    - `recovery_days`: the point-in-time recovery and old-version window, 1..35 days.
    - `access_log_days`: how long the buckets' access logs are kept.

    Attributes: `table`, `blob_bucket`, `access_log_bucket`, `service_access_policy`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        deletion_protection: bool,
        recovery_days: int = RECOVERY_DAYS,
        access_log_days: int = 90,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= recovery_days <= MAX_RECOVERY_DAYS:
            raise ValueError(
                f"DataStore: recovery_days={recovery_days} is outside 1..{MAX_RECOVERY_DAYS}, "
                "the point-in-time recovery periods DynamoDB accepts; pass a value in that range"
            )
        # Set here, not left to the app's cdk.json: the construct works in an app without it.
        self.node.set_context(S3_ACCESS_LOGS_BY_BUCKET_POLICY, True)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True, recovery_period_in_days=recovery_days
            ),
            time_to_live_attribute=TTL_ATTRIBUTE,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            deletion_protection=deletion_protection,
            removal_policy=removal_policy,
        )
        skip_check(
            self.table,
            "CKV_AWS_119",
            "Encrypted with the AWS-managed DynamoDB key: a customer key would add a key policy "
            "every stream consumer must be granted, for no change in who can read the items.",
        )
        # S3 server access logging writes only to a bucket with SSE-S3 (not a customer KMS key),
        # which is what private_bucket gives.
        self.access_log_bucket = private_bucket(
            self,
            "AccessLogs",
            removal_policy=removal_policy,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(access_log_days))],
        )
        skip_check(
            self.access_log_bucket,
            "CKV_AWS_18",
            "This is the access-log bucket; logging its own access would need another bucket.",
        )
        skip_check(
            self.access_log_bucket,
            "CKV_AWS_21",
            "Access logs are written once and expire; versions would only double their storage.",
        )
        self.blob_bucket = private_bucket(
            self,
            "Blobs",
            removal_policy=removal_policy,
            versioned=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="blobs/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(recovery_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        self.service_access_policy = self._service_access_policy()

    def _service_access_policy(self) -> iam.ManagedPolicy:
        policy = iam.ManagedPolicy(
            self,
            "ServiceAccess",
            description="Spito API: the items of its table, the objects of its blob bucket",
            statements=[
                iam.PolicyStatement(
                    actions=list(SERVICE_TABLE_ACTIONS),
                    resources=[self.table.table_arn],
                ),
                iam.PolicyStatement(
                    actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    resources=[self.blob_bucket.arn_for_objects("*")],
                ),
            ],
        )
        bucket = self.blob_bucket.node.default_child
        assert isinstance(bucket, s3.CfnBucket)
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(bucket)}.Arn>/*]",
            "Paste bodies are objects with generated keys in the one blob bucket; object ARNs "
            "can only be granted by pattern.",
        )
        return policy
