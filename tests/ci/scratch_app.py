"""A scratch git repository holding a tiny CDK app, for testing `make diff` quickly.

The app has what the report must get right: a DynamoDB table and a log group (stateful:
replacing or deleting them loses data), a security group rule, an IAM role, a second stack
whose log group is retained, and cdk-nag as the real app runs it. Each test edits the working
tree of its own copy and diffs it against the committed base.
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

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

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

ENV = cdk.Environment(account="111111111111", region="eu-west-1")
app = cdk.App()
stack = cdk.Stack(app, "Tiny", env=ENV)
table = dynamodb.Table(
    stack,
    "Table",
    partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
    point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
        point_in_time_recovery_enabled=True
    ),
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


@dataclass(frozen=True)
class DiffRun:
    """What `python -m scripts.pr_diff` printed and how it exited."""

    returncode: int
    markdown: str
    stderr: str


def make_scratch_repo(path: Path) -> Path:
    """A git repository at `path` with the tiny app committed on `main`."""
    path.mkdir(parents=True)
    (path / "app.py").write_text(TINY_APP)
    (path / ".checkov.yaml").write_text(CHECKOV_CONFIG)
    _git(path, "init", "--quiet", "--initial-branch=main")
    _git(path, "add", "app.py", ".checkov.yaml")
    _git(path, "commit", "--quiet", "--message=tiny app")
    return path


def edit_app(repo: Path, old: str, new: str) -> None:
    """Changes one line of the working tree's app.py (uncommitted, as in a branch being tried)."""
    app = repo / "app.py"
    text = app.read_text()
    assert old in text, f"{old!r} not in the scratch app"
    app.write_text(text.replace(old, new, 1))


def run_diff(repo: Path, base: str = "HEAD") -> DiffRun:
    """Runs the diff tool the way `make diff` does, on the scratch repository."""
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.pr_diff", "--base", base, "--repo", str(repo)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return DiffRun(completed.returncode, completed.stdout, completed.stderr)


def run_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, make_run: Callable[[Path], DiffRun]
) -> DiffRun:
    """`make_run(work_dir)` once per test session, however many xdist workers ask for it.

    The first worker to take the lock runs it and leaves the result beside the workers' temp
    directories; the others wait and read it, so each scenario synthesizes once.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if "PYTEST_XDIST_WORKER" in os.environ else base
    result = shared / f"{name}.json"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            work = shared / f"{name}.work"
            shutil.rmtree(work, ignore_errors=True)  # left by a worker whose run failed
            result.write_text(json.dumps(asdict(make_run(work))))
    return DiffRun(**json.loads(result.read_text()))


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Spito Tests", "-c", "user.email=tests@spito.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )
