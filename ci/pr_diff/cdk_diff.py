"""Runs `cdk diff` of one stack against a fixed base template and reads its output.

The CLI is the source of truth for what CloudFormation will do (it knows which property
changes force a replacement); this module only turns its text into data for the report.

Used by ci/pr_diff/compare.py, once per stack.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

from ci.pr_diff.fleet import Roll
from ci.pr_diff.iam import IamChange
from ci.pr_diff.offline import offline_env

# Resource types whose replacement or deletion loses data (or identity that others depend on).
STATEFUL_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::S3::Bucket",
        "AWS::Logs::LogGroup",
        "AWS::KMS::Key",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::EFS::FileSystem",
        "AWS::EC2::Volume",
        "AWS::SQS::Queue",
        "AWS::Kinesis::Stream",
        "AWS::SecretsManager::Secret",
        "AWS::Cognito::UserPool",
        "AWS::ECR::Repository",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::OpenSearchService::Domain",
        "AWS::Backup::BackupVault",
    }
)

# The impact words `cdk diff` prints after a resource (cloudformation-diff's formatImpact).
_IMPACTS = ("may be replaced", "replace", "destroy", "orphan", "import")
_RESOURCE_LINE = re.compile(r"^\[(?P<sign>[+~-])\] (?P<type>[A-Za-z0-9]+::\S+) (?P<rest>.+)$")
_PROPERTY_LINE = re.compile(
    r"^ [├└]─ \[[+~-]\] (?P<name>[^\s(]+)"
    r"(?: \((?P<note>requires replacement|may cause replacement)\))?"
)
_ACTIONS = {"+": "add", "-": "remove", "~": "modify"}
# The CLI's IAM tables miss managed policies; the report computes its own (iam.py), so their
# titles only end the section before them.
_TABLE_SECTIONS = {"Security Group Changes": "security_groups"}
_SECTION_TITLES = (
    "IAM Statement Changes",
    "IAM Policy Changes",
    "Parameters",
    "Resources",
    "Outputs",
    "Conditions",
    "Mappings",
    "Other Changes",
    *_TABLE_SECTIONS,
)


@dataclass(frozen=True)
class ResourceChange:
    """One line of the Resources section of `cdk diff`."""

    action: str  # add | remove | modify
    resource_type: str
    path: str
    logical_id: str
    impact: str  # "" or one of _IMPACTS
    properties: tuple[str, ...] = ()

    @property
    def replaced(self) -> bool:
        return self.impact in ("replace", "may be replaced")

    @property
    def stateful(self) -> bool:
        return self.resource_type in STATEFUL_TYPES

    @property
    def loses_data(self) -> bool:
        """A stateful resource that is replaced or deleted (not retained)."""
        return self.stateful and (self.replaced or self.impact == "destroy")


@dataclass(frozen=True)
class Table:
    """A table `cdk diff` draws with box characters, as a title, header and rows of cells."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class StackDiff:
    """What `cdk diff` says about one stack, and what the report adds from the templates."""

    stack: str
    raw: str
    changed: bool
    resources: list[ResourceChange] = field(default_factory=list)
    security_groups: list[Table] = field(default_factory=list)
    note: str = ""  # "new stack" or "stack removed"
    stage: str | None = None
    iam: list[IamChange] = field(default_factory=list)
    rolls: list[Roll] = field(default_factory=list)


class CdkDiffError(RuntimeError):
    """`cdk diff` failed to run; the message holds its output."""


def run_cdk_diff(*, cdk: Path, stack: str, assembly: Path, base_template: Path) -> StackDiff:
    """Diffs `stack` of the synthesized `assembly` against `base_template`, offline."""
    command = [
        str(cdk),
        "diff",
        stack,
        "--exclusively",
        "--app",
        str(assembly),
        "--template",
        str(base_template),
        "--no-notices",
        "--no-color",
        # A head that fails cdk-nag still gets its diff: the checks section reports the findings.
        "--ignore-errors",
    ]
    completed = subprocess.run(  # noqa: S603 - fixed command, arguments are ours
        command, capture_output=True, text=True, env=offline_env(), check=False
    )
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        raise CdkDiffError(f"`{' '.join(command)}` exited {completed.returncode}:\n{output}")
    return parse_cdk_diff(stack, output)


def parse_cdk_diff(stack: str, output: str) -> StackDiff:
    """Reads the text `cdk diff` prints for one stack."""
    lines = _stack_block(stack, output)
    diff = StackDiff(
        stack=stack,
        raw="\n".join(lines).strip("\n"),
        changed=not any(line.strip() == "There were no differences" for line in lines),
    )
    section = ""
    table_lines: list[str] = []
    for line in lines:
        if line in _SECTION_TITLES:
            section = line
            continue
        if section in _TABLE_SECTIONS and line.startswith(("┌", "│", "├", "└")):
            table_lines.append(line)
            if line.startswith("└"):
                getattr(diff, _TABLE_SECTIONS[section]).append(_read_table(section, table_lines))
                table_lines = []
        elif section == "Resources":
            _read_resource_line(diff.resources, line)
    return diff


def _stack_block(stack: str, output: str) -> list[str]:
    """The lines between `Stack NAME` and the closing summary, without jsii/Node banners."""
    lines = [line.rstrip() for line in output.splitlines()]
    header = f"Stack {stack}"
    start = next((i for i, line in enumerate(lines) if line.strip() == header), None)
    if start is None:
        raise CdkDiffError(f"no `{header}` in the output of cdk diff:\n{output}")
    block: list[str] = []
    for line in lines[start + 1 :]:
        if "Number of stacks with differences" in line:
            break
        block.append(line)
    return block


def _read_resource_line(resources: list[ResourceChange], line: str) -> None:
    match = _RESOURCE_LINE.match(line)
    if match:
        rest = match["rest"]
        impact = next((word for word in _IMPACTS if rest.endswith(" " + word)), "")
        words = rest.removesuffix(" " + impact).split(" ") if impact else rest.split(" ")
        logical_id = words[-1]
        path = " ".join(words[:-1]) or logical_id
        resources.append(
            ResourceChange(
                action=_ACTIONS[match["sign"]],
                resource_type=match["type"],
                path=path,
                logical_id=logical_id,
                impact=impact,
            )
        )
        return
    prop = _PROPERTY_LINE.match(line)
    if prop and resources:
        note = f" ({prop['note']})" if prop["note"] else ""
        last = resources[-1]
        resources[-1] = replace(last, properties=(*last.properties, prop["name"] + note))


def _read_table(title: str, lines: list[str]) -> Table:
    """Rows of a box table; a line whose first cell is blank continues the row above it."""
    header: tuple[str, ...] = ()
    rows: list[list[str]] = []
    in_body = False
    for line in lines:
        if line.startswith("├"):
            in_body = True
            continue
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if not in_body:
            header = tuple(cells)
        elif cells[0] or not rows:
            rows.append(cells)
        else:
            rows[-1] = [
                f"{old}\n{new}" if old and new else old or new
                for old, new in zip(rows[-1], cells, strict=True)
            ]
    return Table(title=title, header=header, rows=tuple(tuple(row) for row in rows))
