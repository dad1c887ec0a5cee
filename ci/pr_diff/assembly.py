"""Synthesizes a source tree into a cloud assembly and lists the stacks in it.

Used by `make diff` (ci/pr_diff/__main__.py synthesizes both sides with it) and its tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci.pr_diff.offline import CDK, offline_env


@dataclass(frozen=True)
class StackArtifact:
    """A stack in a cloud assembly: `name` is what `cdk diff NAME` selects."""

    name: str
    template: Path


@dataclass(frozen=True)
class Synthesis:
    """The outcome of one `cdk synth`. A failed synth may still hold templates (cdk-nag)."""

    source: Path
    out_dir: Path
    has_app: bool
    ok: bool
    log: str
    stacks: dict[str, StackArtifact]


def synthesize(source: Path, out_dir: Path, *, context: dict[str, str]) -> Synthesis:
    """`cdk synth` of `source`'s app.py into `out_dir`, with this interpreter and no AWS."""
    if not (source / "app.py").is_file():
        return Synthesis(source, out_dir, has_app=False, ok=True, log="no app.py", stacks={})
    command = [
        str(CDK),
        "synth",
        "--app",
        f"{sys.executable} app.py",
        "--output",
        str(out_dir),
        "--quiet",
        "--no-notices",
    ]
    for key, value in sorted(context.items()):
        command += ["--context", f"{key}={value}"]
    completed = subprocess.run(  # noqa: S603 - fixed command, arguments are ours
        command,
        cwd=source,
        capture_output=True,
        text=True,
        env=offline_env(),
        check=False,
    )
    stacks = read_stacks(out_dir) if (out_dir / "manifest.json").is_file() else {}
    return Synthesis(
        source,
        out_dir,
        has_app=True,
        ok=completed.returncode == 0,
        log=_without_banners(completed.stdout + completed.stderr),
        stacks=stacks,
    )


def read_stacks(out_dir: Path) -> dict[str, StackArtifact]:
    """Every stack of the assembly in `out_dir`, including those of nested stages."""
    manifest: dict[str, Any] = json.loads((out_dir / "manifest.json").read_text())
    stacks: dict[str, StackArtifact] = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == "aws:cloudformation:stack":
            name = artifact.get("displayName", artifact_id)
            stacks[name] = StackArtifact(name, out_dir / properties["templateFile"])
        elif artifact.get("type") == "cdk:cloud-assembly":
            stacks.update(read_stacks(out_dir / properties["directoryName"]))
    return stacks


def _without_banners(log: str) -> str:
    """Drops the Node end-of-life banner jsii prints as Python bytes reprs."""
    return "\n".join(line for line in log.splitlines() if not line.startswith("b'!!"))
