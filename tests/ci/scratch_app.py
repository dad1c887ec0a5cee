"""Tiny CDK apps and scratch git repositories, for testing `make diff` quickly.

`TINY_APP` has what the report must get right, in two stages (`dev` and `prod`, synthesized in
one app as app.py does, each with its settings in cdk.json): a DynamoDB table and a log group
(stateful: replacing or deleting them loses data), a security group rule, an IAM role, a
cfn-lint ignore with its reason, two fleets that roll one instance at a time (one with its image
from an SSM parameter), a second stack importing the table's ARN into a managed policy, a third
whose log group is retained, and cdk-nag as the real app runs it. Each synth of it starts a
Python process that loads aws-cdk-lib, the costly part, so it is synthesized as the base once
per session (`shared_base`) and each in-process scenario synthesizes only its head.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from ci.pr_diff.assembly import Synthesis, read_stacks, synthesize_stages

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STAGES = ["dev", "prod"]

TINY_APP = """\
import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

# Each stage's settings in cdk.json override these, as Spito's stages override its base.
DEFAULTS = {
    "partition_key": "id",
    "ingress_port": 443,
    "with_bucket": False,
    "with_logs": True,
    "with_audit_stack": True,
    "role_may_read_table": False,
    "table_lint_reason": "The table's first reason.",
    "instance_type": "t4g.micro",
    "reader_actions": ["dynamodb:GetItem"],
}
ENV = cdk.Environment(account="111111111111", region="eu-west-1")


def add_stage(app, stage, settings):
    stack = cdk.Stack(app, f"Tiny-{stage}", env=ENV)
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(
            name=settings["partition_key"], type=dynamodb.AttributeType.STRING
        ),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
    )
    table.node.default_child.add_metadata(
        "cfn-lint",
        {
            "config": {"ignore_checks": ["W3011"]},
            "reasons": {"W3011": settings["table_lint_reason"]},
        },
    )
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-0123456789abcdef0", availability_zones=["eu-west-1a"]
    )
    group = ec2.SecurityGroup(stack, "Sg", vpc=vpc, allow_all_outbound=False, description="tiny")
    group.add_ingress_rule(ec2.Peer.ipv4("10.0.0.0/8"), ec2.Port.tcp(settings["ingress_port"]))
    if settings["with_bucket"]:
        bucket = s3.Bucket(stack, "Bucket")
        # A resource policy: its statements belong in the IAM table as much as a role's.
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.AccountPrincipal("111111111111")],
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects("*")],
            )
        )
        cdk.Validations.of(bucket).acknowledge(
            cdk.Acknowledgment(id="AwsSolutions-S1", reason="A test bucket needs no access logs.")
        )
        # cfn-lint ignores as infra/cfn_lint.py writes them, one with its reason and one without.
        bucket.node.default_child.add_metadata(
            "cfn-lint",
            {
                "config": {"ignore_checks": ["W3045", "I3011"]},
                "reasons": {"W3045": "A test bucket keeps the default access control."},
            },
        )
    if settings["with_logs"]:
        logs.LogGroup(
            stack,
            "Logs",
            retention=logs.RetentionDays.ONE_WEEK,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    if settings["role_may_read_table"]:
        table.grant(role, "dynamodb:GetItem", "dynamodb:Query")
    # Fleets as infra/api_fleet.py writes them: a launch template, and a group that rolls it one
    # instance at a time, waiting up to 15 minutes for each one's signal. The fleet's image is
    # fixed; the workers' is the latest Amazon Linux, an SSM parameter.
    latest = ec2.MachineImage.latest_amazon_linux2023(cpu_type=ec2.AmazonLinuxCpuType.ARM_64)
    for name, image_id, instance_type in (
        ("Fleet", "ami-0123456789abcdef0", settings["instance_type"]),
        ("Workers", latest.get_image(stack).image_id, "t4g.micro"),
    ):
        launch_template = ec2.CfnLaunchTemplate(
            stack,
            f"{name}LaunchTemplate",
            launch_template_data=ec2.CfnLaunchTemplate.LaunchTemplateDataProperty(
                image_id=image_id,
                instance_type=instance_type,
                metadata_options=ec2.CfnLaunchTemplate.MetadataOptionsProperty(
                    http_tokens="required", http_endpoint="enabled"
                ),
                block_device_mappings=[
                    ec2.CfnLaunchTemplate.BlockDeviceMappingProperty(
                        device_name="/dev/xvda",
                        ebs=ec2.CfnLaunchTemplate.EbsProperty(encrypted=True, volume_size=8),
                    )
                ],
            ),
        )
        fleet = autoscaling.CfnAutoScalingGroup(
            stack,
            name,
            min_size="2",
            max_size="4",
            vpc_zone_identifier=["subnet-0123456789abcdef0"],
            launch_template=autoscaling.CfnAutoScalingGroup.LaunchTemplateSpecificationProperty(
                launch_template_id=launch_template.ref,
                version=launch_template.attr_latest_version_number,
            ),
        )
        fleet.cfn_options.update_policy = cdk.CfnUpdatePolicy(
            auto_scaling_rolling_update=cdk.CfnAutoScalingRollingUpdate(
                max_batch_size=1, pause_time="PT15M", wait_on_resource_signals=True
            )
        )
        cdk.Validations.of(fleet).acknowledge(
            cdk.Acknowledgment(id="AwsSolutions-AS3", reason="A test fleet notifies no one.")
        )
    # Another stack reading the table through a managed policy: it imports the table's ARN.
    reader = cdk.Stack(app, f"Reader-{stage}", env=ENV)
    iam.ManagedPolicy(
        reader,
        "ReadTable",
        statements=[
            iam.PolicyStatement(actions=settings["reader_actions"], resources=[table.table_arn])
        ],
    )
    stacks = [stack, reader]
    if settings["with_audit_stack"]:
        audit = cdk.Stack(app, f"Audit-{stage}", env=ENV)
        logs.LogGroup(audit, "Trail", retention=logs.RetentionDays.ONE_WEEK)  # retained by default
        stacks.append(audit)
    for each in stacks:
        cdk.Tags.of(each).add("stage", stage)


# As app.new_app() does: cfn-lint is the linter, not the CDK's built-in copy of its rules.
app = cdk.App(builtin_cloud_formation_validation=False)
cdk.CrossStackReferences.of(app).consume(cdk.ReferenceStrength.STRONG)  # as app.py
STAGES = app.node.get_context("spito")["stages"]
# As app.py: `-c stage=dev,prod` synthesizes both stages in one app.
for stage in str(app.node.get_context("stage")).split(","):
    add_stage(app, stage, {**DEFAULTS, **STAGES[stage]})
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
"""


def cdk_json(**dev: object) -> str:
    """The scratch project's cdk.json: stages `dev` (with `dev`'s settings) and `prod`."""
    return json.dumps({"context": {"spito": {"stages": {"dev": dev, "prod": {}}}}}, indent=2)


# The scratch project's own checkov skips, as the real project keeps them: one reason each.
CHECKOV_CONFIG = """\
skip-check:
  - CKV_AWS_119  # scratch table: an AWS-owned key is enough for a test fixture
  - CKV_AWS_158  # scratch log group: CloudWatch's own encryption is enough for a test fixture
"""


# Any program that writes a cloud assembly is a CDK app to the CLI. This one writes a one-stack
# assembly itself, for a base that only needs to have a stack: no aws_cdk import, no 10 s load.
ASSEMBLY_APP = """\
import json
import os

out = os.environ["CDK_OUTDIR"]
template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
manifest = {
    "version": "36.0.0",
    "artifacts": {
        "Tiny": {
            "type": "aws:cloudformation:stack",
            "environment": "aws://111111111111/eu-west-1",
            "properties": {"templateFile": "Tiny.template.json"},
        }
    },
}
for name, document in (("Tiny.template.json", template), ("manifest.json", manifest)):
    with open(os.path.join(out, name), "w") as file:
        json.dump(document, file)
"""


# The same, one stack per stage of `-c stage=...` (`Tiny-dev`). As app.py before it synthesized
# several stages at once, ONE_STAGE_AT_A_TIME refuses a list as an unknown stage, writing nothing.
STAGED_ASSEMBLY_APP = """\
import json
import os
import sys

ONE_STAGE_AT_A_TIME = False
out = os.environ["CDK_OUTDIR"]
stages = json.loads(os.environ["CDK_CONTEXT_JSON"])["stage"]
if ONE_STAGE_AT_A_TIME and "," in stages:
    sys.exit(f"spito config: stage: unknown stage {stages!r}")
template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
artifacts = {}
for stage in stages.split(","):
    artifacts[f"Tiny-{stage}"] = {
        "type": "aws:cloudformation:stack",
        "environment": "aws://111111111111/eu-west-1",
        "properties": {"templateFile": f"Tiny-{stage}.template.json"},
    }
    with open(os.path.join(out, f"Tiny-{stage}.template.json"), "w") as file:
        json.dump(template, file)
with open(os.path.join(out, "manifest.json"), "w") as file:
    json.dump({"version": "36.0.0", "artifacts": artifacts}, file)
"""


# Two stacks, the second importing what the first exports, written without aws_cdk, each with
# nothing any check objects to: cdk-nag's (empty) validation report, a wait condition handle and
# a string parameter that cfn-lint and checkov find no fault with. Only the export can make the
# report fail.
EXPORTING_APP = """\
import json
import os

EXPORTED = True
out = os.environ["CDK_OUTDIR"]
handle = {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}
producer = {"Resources": handle}
if EXPORTED:
    export = {"Name": "Producer:Handle"}
    producer["Outputs"] = {"Handle": {"Value": {"Ref": "Handle"}, "Export": export}}
imported = {"Type": "String", "Value": {"Fn::ImportValue": "Producer:Handle"}}
consumer = {"Resources": {"Imported": {"Type": "AWS::SSM::Parameter", "Properties": imported}}}
artifacts = {}
for name, template in (("Producer", producer), ("Consumer", consumer)):
    artifacts[name] = {
        "type": "aws:cloudformation:stack",
        "environment": "aws://111111111111/eu-west-1",
        "properties": {"templateFile": f"{name}.template.json"},
    }
    with open(os.path.join(out, f"{name}.template.json"), "w") as file:
        json.dump(template, file)
report = {"version": "55.0.0", "title": "Validation Report", "pluginReports": []}
for name, document in (
    ("manifest.json", {"version": "36.0.0", "artifacts": artifacts}),
    ("validation-report.json", report),
):
    with open(os.path.join(out, name), "w") as file:
        json.dump(document, file)
"""


@dataclass(frozen=True)
class DiffRun:
    """A report on a scratch app: its Markdown and whether the head passed.

    A run of the command line also has its exit status, its stderr and what it wrote to
    `--output` (None when nothing).
    """

    markdown: str
    passed: bool
    returncode: int | None = None
    stderr: str = ""
    written: str | None = None


def write_app(source: Path, app: str = TINY_APP, settings: str | None = None) -> Path:
    """`app` as `source`/app.py, with its cdk.json (`settings`) and checkov skips beside it.

    The tiny app's cdk.json is `cdk_json()` unless `settings` says otherwise; another app has
    none unless given one.
    """
    source.mkdir(parents=True)
    (source / "app.py").write_text(app)
    (source / ".checkov.yaml").write_text(CHECKOV_CONFIG)
    if settings is None and app == TINY_APP:
        settings = cdk_json()
    if settings is not None:
        (source / "cdk.json").write_text(settings)
    return source


def make_scratch_repo(path: Path, app: str = TINY_APP) -> Path:
    """A git repository at `path` with `app` (and its cdk.json, if any) committed on `main`."""
    write_app(path, app)
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", ".")
    git(path, "commit", "--quiet", "--message=tiny app")
    return path


def run_diff(repo: Path, base: str = "HEAD") -> DiffRun:
    """Runs the diff tool's command line on `repo`, as `make diff` does."""
    completed = subprocess.run(
        [sys.executable, "-m", "ci.pr_diff", "--base", base, "--repo", str(repo)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return DiffRun(
        completed.stdout, completed.returncode == 0, completed.returncode, completed.stderr
    )


def run_make_diff(repo: Path, output: Path, *variables: str) -> DiffRun:
    """`make diff VARIABLES DIFF_OUTPUT=output` with the project's Makefile, in `repo`.

    As a developer runs it in their clone, except that the project's .venv and tools come
    from this tree, and the installs and the web build count as done (the suite did them).
    """
    completed = subprocess.run(
        [
            "make",
            "--silent",
            "--no-print-directory",
            f"--makefile={PROJECT_ROOT / 'Makefile'}",
            "--old-file=deps",
            "--old-file=web",
            "diff",
            f"VENV={PROJECT_ROOT / '.venv'}",
            *variables,
            f"DIFF_OUTPUT={output}",
        ],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return DiffRun(
        markdown=completed.stdout,
        passed=completed.returncode == 0,
        returncode=completed.returncode,
        stderr=completed.stderr,
        written=output.read_text() if output.exists() else None,
    )


def once(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    compute: Callable[[Path], dict[str, Any]],
) -> dict[str, Any]:
    """`compute(work_dir)` once per test session, however many xdist workers ask for it.

    The first worker to take the lock runs it and leaves its JSON result beside the workers'
    temp directories; the others wait and read it.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if "PYTEST_XDIST_WORKER" in os.environ else base
    result = shared / f"{name}.json"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            work = shared / f"{name}.work"
            shutil.rmtree(work, ignore_errors=True)  # left by a worker whose run failed
            result.write_text(json.dumps(compute(work)))
    loaded: dict[str, Any] = json.loads(result.read_text())
    return loaded


def run_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, make_run: Callable[[Path], DiffRun]
) -> DiffRun:
    """`make_run(work_dir)` once per test session; see `once`."""
    return DiffRun(**once(tmp_path_factory, name, lambda work: asdict(make_run(work))))


def shared_base(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """`TINY_APP` synthesized once per session: the base every in-process scenario compares with."""

    def synthesize_base(work: Path) -> dict[str, Any]:
        synth = synthesize_stages(write_app(work / "source"), work / "base.out", STAGES)
        assert synth.ok, synth.log
        return {"source": str(synth.source), "out_dir": str(synth.out_dir), "log": synth.log}

    fields = once(tmp_path_factory, "pr-diff-base", synthesize_base)
    out_dir = Path(fields["out_dir"])
    return Synthesis(
        Path(fields["source"]),
        out_dir,
        has_app=True,
        ok=True,
        log=fields["log"],
        stacks=read_stacks(out_dir),
    )


def git(repo: Path, *args: str) -> None:
    """A git command in `repo`, with an identity for commits."""
    subprocess.run(
        ["git", "-c", "user.name=Spito Tests", "-c", "user.email=tests@spito.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )
