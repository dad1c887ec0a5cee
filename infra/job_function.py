"""The shape every Spito Lambda function shares: runtime, architecture, logs and a bare role."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .cfn_lint import ignore_redundant_role_dependency
from .checkov import skip_check

# The newest Python runtime the pinned aws-cdk-lib knows; cdk-nag's L1 rule fails on older ones.
RUNTIME = lambda_.Runtime.PYTHON_3_14
# Packaged as plain files: the handlers use only the standard library and the runtime's boto3,
# so there is nothing to bundle and synth needs neither Docker nor the network.
ASSET_EXCLUDES = ["__pycache__", "*.pyc"]


class JobFunction(Construct):
    """A Python Lambda function from `lambda_src/<name>/handler.py`, on arm64 (Graviton).

    It writes to its own log group with `log_retention` (not the shared, never-expiring default
    group), and runs as its own role whose only permission is writing that log group: callers
    add exactly what the job needs. No VPC: the jobs call public AWS endpoints or the public URL.

    Attributes: `function`, `role`, `log_group`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: Path,
        description: str,
        environment: Mapping[str, str],
        timeout: Duration,
        log_retention: logs.RetentionDays,
        memory_mib: int = 256,
    ) -> None:
        super().__init__(scope, construct_id)
        if not (source / "handler.py").is_file():
            raise ValueError(f"JobFunction: {source}/handler.py does not exist")
        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs the Lambda function that {description[0].lower()}{description[1:]}",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(source), exclude=ASSET_EXCLUDES),
            description=description,
            environment=dict(environment),
            timeout=timeout,
            memory_size=memory_mib,
            role=self.role,
            log_group=self.log_group,
        )
        self._skip_checks_that_do_not_fit_a_job()
        ignore_redundant_role_dependency(self.function)

    def _skip_checks_that_do_not_fit_a_job(self) -> None:
        skip_check(
            self.function,
            "CKV_AWS_117",
            "Not in a VPC on purpose: the jobs reach only public endpoints (the public URL, S3, "
            "the stream through Lambda itself); a VPC would add NAT cost and no protection.",
        )
        skip_check(
            self.function,
            "CKV_AWS_115",
            "Concurrency is bounded by the trigger (one run per schedule tick, one batch per "
            "stream shard); reserving it would fail on accounts below 100 unreserved executions.",
        )
        skip_check(
            self.function,
            "CKV_AWS_116",
            "Failures are caught where they happen: the canary's alarm treats a missing run as "
            "failing, the reaper's stream mapping sends failed batches to its own SQS queue.",
        )
        skip_check(
            self.function,
            "CKV_AWS_173",
            "The environment holds only a URL, a bucket name and a timeout, no secret; Lambda "
            "encrypts it at rest with its AWS-managed key.",
        )
        skip_check(
            self.log_group,
            "CKV_AWS_158",
            "The jobs log step results, ids and object keys, never paste content; CloudWatch "
            "Logs encrypts them at rest, and a customer key would add cost and nothing else.",
        )
