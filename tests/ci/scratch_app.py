"""Tiny CDK apps and scratch git repositories, for testing `make diff` quickly.

`TINY_APP` has what the report must get right: a DynamoDB table and a log group (stateful:
replacing or deleting them loses data), a security group rule, an IAM role, a cfn-lint ignore
with its reason, a second stack whose log group is retained, and cdk-nag as the real app runs
it. Each synth of it starts a Python process that loads aws-cdk-lib, the costly part, so it is
synthesized as the base once per session (`shared_base`) and each scenario synthesizes only its
head.
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

from ci.pr_diff.assembly import Synthesis, read_stacks, synthesize

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTEXT = {"stage": "dev"}

TINY_APP = """\
import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

PARTITION_KEY = "id"
INGRESS_PORT = 443
WITH_BUCKET = False
WITH_LOGS = True
WITH_AUDIT_STACK = True
ROLE_MAY_READ_TABLE = False
TABLE_LINT_REASON = "The table's first reason."

ENV = cdk.Environment(account="111111111111", region="eu-west-1")
# As app.new_app() does: cfn-lint is the linter, not the CDK's built-in copy of its rules.
app = cdk.App(builtin_cloud_formation_validation=False)
stack = cdk.Stack(app, "Tiny", env=ENV)
table = dynamodb.Table(
    stack,
    "Table",
    partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
    point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
        point_in_time_recovery_enabled=True
    ),
)
table.node.default_child.add_metadata(
    "cfn-lint",
    {"config": {"ignore_checks": ["W3011"]}, "reasons": {"W3011": TABLE_LINT_REASON}},
)
vpc = ec2.Vpc.from_vpc_attributes(
    stack, "Vpc", vpc_id="vpc-0123456789abcdef0", availability_zones=["eu-west-1a"]
)
group = ec2.SecurityGroup(stack, "Sg", vpc=vpc, allow_all_outbound=False, description="tiny")
group.add_ingress_rule(ec2.Peer.ipv4("10.0.0.0/8"), ec2.Port.tcp(INGRESS_PORT))
if WITH_BUCKET:
    bucket = s3.Bucket(stack, "Bucket")
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
if WITH_LOGS:
    logs.LogGroup(
        stack,
        "Logs",
        retention=logs.RetentionDays.ONE_WEEK,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
if ROLE_MAY_READ_TABLE:
    table.grant(role, "dynamodb:GetItem", "dynamodb:Query")
if WITH_AUDIT_STACK:
    audit = cdk.Stack(app, "Audit", env=ENV)
    logs.LogGroup(audit, "Trail", retention=logs.RetentionDays.ONE_WEEK)  # retained by default
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
"""

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


def write_app(source: Path, app: str = TINY_APP) -> Path:
    """`app` as `source`/app.py, with the scratch project's checkov skips beside it."""
    source.mkdir(parents=True)
    (source / "app.py").write_text(app)
    (source / ".checkov.yaml").write_text(CHECKOV_CONFIG)
    return source


def make_scratch_repo(path: Path, app: str = TINY_APP) -> Path:
    """A git repository at `path` with `app` committed on `main`."""
    write_app(path, app)
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", "app.py", ".checkov.yaml")
    git(path, "commit", "--quiet", "--message=tiny app")
    return path


def edited(app: str, *edits: tuple[str, str]) -> str:
    """`app` with each (old, new) line replaced once, as in a branch being tried."""
    for old, new in edits:
        assert old in app, f"{old!r} not in the scratch app"
        app = app.replace(old, new, 1)
    return app


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
        synth = synthesize(write_app(work / "source"), work / "base.out", context=CONTEXT)
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
