"""The web app's private bucket and its deployment from the Vite build output."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import (
    CfnElement,
    CfnResource,
    CustomResource,
    DefaultStackSynthesizer,
    Duration,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct, IConstruct

from .cfn_lint import ignore_redundant_role_dependency
from .checkov import skip_check
from .data import private_bucket
from .edge_headers import (
    HASHED_ASSET_CACHE_CONTROL,
    HASHED_ASSETS_PREFIX,
    REVALIDATED_CACHE_CONTROL,
)
from .nag import acknowledge
from .props import check_directory

PREVIOUS_VERSION_DAYS = 30
BOOTSTRAP_QUALIFIER_CONTEXT = "@aws-cdk/core:bootstrapQualifier"
DEPLOYMENT_MEMORY_MIB = 512  # 128 MiB, the default, is slow and can run out on a large build


class SpaBucket(Construct):
    """The private bucket CloudFront serves the web app from, reached only through OAC.

    No public access, TLS only, SSE-S3, bucket-owner-enforced and never a website endpoint (OAC
    signs S3 REST requests). Server access logs go to `access_log_bucket`.

    Attribute: `bucket`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        access_log_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = private_bucket(
            self,
            "Bucket",
            removal_policy=removal_policy,
            # Versioned, so a broken deploy can be rolled back file by file for a while.
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                    noncurrent_version_expiration=Duration.days(PREVIOUS_VERSION_DAYS),
                )
            ],
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix="s3/spa/",
        )


class SpaDeployment(Construct):
    """Copies the built web app into its bucket, then invalidates the distribution's cache.

    Two passes with different Cache-Control: first Vite's content-hashed `assets/` (cached for a
    year, never deleted by a deploy, so pages loaded before it keep working), then index.html and
    the other root files (revalidated on every request), pruning root files the build no longer
    has. The second pass waits for the first, so a new index.html never names a missing asset.

    Old hashed assets are kept for good, on purpose. No lifecycle rule can tell an asset the live
    index.html still names from one no page needs: S3 ages an object from its upload, and a pass
    uploads only when the build changes, so an expiry would delete the live app's files once the
    web app went unchanged that long; pruning them at deploy would break every tab opened before
    it that loads a chunk later. A build's assets are a few hundred KB: a thousand deploys cost
    about a cent a month. Overwritten copies become noncurrent versions and expire (`SpaBucket`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        web_dist: Path | str,
        bucket: s3.IBucket,
        distribution: cloudfront.IDistribution,
    ) -> None:
        super().__init__(scope, construct_id)
        web_dist = check_directory(
            "SpaDeployment",
            "web_dist",
            web_dist,
            ["index.html"],
            fix="build the web app first (make web), or pass the directory of a build",
        )
        source = s3_deployment.Source.asset(str(web_dist))
        hashed_assets = f"{HASHED_ASSETS_PREFIX}*"
        assets = s3_deployment.BucketDeployment(
            self,
            "HashedAssets",
            sources=[source],
            destination_bucket=bucket,
            exclude=["*"],
            include=[hashed_assets],
            prune=False,
            cache_control=[s3_deployment.CacheControl.from_string(HASHED_ASSET_CACHE_CONTROL)],
            memory_limit=DEPLOYMENT_MEMORY_MIB,
        )
        # aws-cdk-lib writes WaitForDistributionInvalidation: true on every deployment; this pass
        # invalidates nothing (the root files' pass does, after it), so the flag would only mislead.
        (assets_resource,) = [
            child.node.default_child
            for child in assets.node.children
            if isinstance(child, CustomResource)
        ]
        if not isinstance(assets_resource, CfnResource):
            raise TypeError("BucketDeployment's custom resource must be a CloudFormation resource")
        assets_resource.add_property_deletion_override("WaitForDistributionInvalidation")
        root_files = s3_deployment.BucketDeployment(
            self,
            "RootFiles",
            sources=[source],
            destination_bucket=bucket,
            exclude=[hashed_assets],
            prune=True,
            cache_control=[s3_deployment.CacheControl.from_string(REVALIDATED_CACHE_CONTROL)],
            memory_limit=DEPLOYMENT_MEMORY_MIB,
            distribution=distribution,
            distribution_paths=["/*"],
        )
        root_files.node.add_dependency(assets)
        self.deployments = (assets, root_files)
        # Both deployments share one handler, which aws-cdk-lib creates and grants.
        handler = root_files.handler_role.node.scope
        if handler is None:
            raise TypeError("BucketDeployment's handler must be a construct")
        _acknowledge_handler_findings(handler, bucket=bucket)
        ignore_redundant_role_dependency(handler)
        _skip_handler_checks(handler, root_files.handler_role)


# What aws-cdk-lib grants BucketDeployment's handler: read the CDK asset bucket, write, list and
# prune the destination bucket, and create the invalidation.
_HANDLER_WILDCARDS = (
    "Action::s3:GetBucket*",
    "Action::s3:GetObject*",
    "Action::s3:List*",
    "Action::s3:Abort*",
    "Action::s3:DeleteObject*",
    "Resource::*",
)


def _skip_handler_checks(handler: IConstruct | None, role: IConstruct) -> None:
    """checkov's Lambda checks, on the handler aws-cdk-lib builds for BucketDeployment."""
    policy = role.node.try_find_child("DefaultPolicy")
    log_group = handler.node.try_find_child("LogGroup") if handler else None
    if handler is None or policy is None or log_group is None:
        raise ValueError("BucketDeployment's handler no longer has the expected shape")
    owner = "aws-cdk-lib's BucketDeployment handler, which runs only while a stack deploys"
    skip_check(
        policy,
        "CKV_AWS_111",
        f"{owner}: its writes are to the web app bucket only, but aws-cdk-lib grants "
        "CloudFront invalidations on every distribution (Resource *); only CloudFormation invokes "
        "it, with this stack's distribution",
    )
    for check, why in (
        (
            "CKV_AWS_116",
            "a failed deploy fails the stack, so a dead-letter queue has nothing to do",
        ),
        ("CKV_AWS_117", "it talks only to S3 and CloudFront's public APIs; a VPC adds nothing"),
        ("CKV_AWS_115", "CloudFormation invokes it once per deployment; no concurrency to cap"),
        ("CKV_AWS_173", "its environment holds no secrets, only aws-cdk-lib's settings"),
    ):
        skip_check(handler, check, f"{owner}: {why}")
    skip_check(
        log_group,
        "CKV_AWS_158",
        f"{owner}: its log holds file names being copied, nothing a KMS key would protect",
    )


def _acknowledge_handler_findings(handler: IConstruct | None, *, bucket: s3.IBucket) -> None:
    if handler is None:
        raise ValueError("BucketDeployment has no handler to acknowledge findings on")
    reason = (
        "BucketDeployment's handler, written and granted by aws-cdk-lib: it reads the CDK asset "
        "bucket and syncs the web app bucket (object actions on those two buckets only), and "
        "aws-cdk-lib grants it CloudFront invalidations on every distribution (Resource *). Only "
        "CloudFormation invokes it, while this stack deploys, with this stack's bucket and "
        "distribution."
    )
    acknowledge(
        handler,
        "AwsSolutions-L1",
        "BucketDeployment offers no runtime option: aws-cdk-lib fixes its handler's Python "
        "runtime, together with the AWS CLI layer it bundles for it. CloudFormation alone "
        "invokes it, while the stack deploys, on the build the stack ships; no user request "
        "reaches it, and upgrading aws-cdk-lib moves it on.",
    )
    acknowledge(
        handler,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        "aws-cdk-lib attaches this managed policy to BucketDeployment's handler; it allows only "
        "creating log streams and writing log events, which is all the handler does with logs.",
    )
    for wildcard in _HANDLER_WILDCARDS:
        acknowledge(handler, f"AwsSolutions-IAM5[{wildcard}]", reason)
    stack = Stack.of(handler)
    qualifier = stack.node.try_get_context(BOOTSTRAP_QUALIFIER_CONTEXT) or (
        DefaultStackSynthesizer.DEFAULT_QUALIFIER
    )
    asset_bucket = (
        DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace("${Qualifier}", qualifier)
        .replace("${AWS::AccountId}", stack.account)
        .replace("${AWS::Region}", stack.region)
    )
    web_app_bucket = bucket.node.default_child
    if not isinstance(web_app_bucket, CfnElement):
        raise TypeError("the web app bucket must be a bucket this app creates")
    for resource in (
        f"Resource::arn:aws:s3:::{asset_bucket}/*",
        f"Resource::<{stack.get_logical_id(web_app_bucket)}.Arn>/*",
    ):
        acknowledge(handler, f"AwsSolutions-IAM5[{resource}]", reason)
