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

STAGE_TAG = "stage"
# Where app.py's config keeps the stages (infra/config.py): `context.spito.stages` of cdk.json.
CDK_JSON = "cdk.json"


def stages_of(source: Path) -> list[str]:
    """The stages `source`'s cdk.json defines, in its order; none when it has no such key."""
    try:
        stages: Any = json.loads((source / CDK_JSON).read_text())
    except (OSError, ValueError):
        return []  # no cdk.json, or not JSON: the synth itself says what is wrong
    for key in ("context", "spito", "stages"):
        stages = stages.get(key) if isinstance(stages, dict) else None
    return [str(name) for name in stages] if isinstance(stages, dict) else []


@dataclass(frozen=True)
class StackArtifact:
    """A stack in a cloud assembly: `name` is what `cdk diff NAME` selects.

    `stage` is the stage it belongs to (see `read_stacks`), None when nothing says.
    """

    name: str
    template: Path
    stage: str | None = None


@dataclass(frozen=True)
class Synthesis:
    """The outcome of one `cdk synth`. A failed synth may still hold templates (cdk-nag)."""

    source: Path
    out_dir: Path
    has_app: bool
    ok: bool
    log: str
    stacks: dict[str, StackArtifact]


def synthesize_stages(
    source: Path, out_dir: Path, stages: list[str], *, one_by_one_on_failure: bool = False
) -> Synthesis:
    """Every stage of `stages` in one synth (`-c stage=dev,prod`: one app, one CDK start-up).

    No stages: the app's own default. With `one_by_one_on_failure`, an app that wrote nothing
    for the list (a base older than app.py's multi-stage synth refuses "dev,prod" as a stage
    name) is synthesized once per stage instead, into a directory per stage.
    """
    synth = synthesize(source, out_dir, context={"stage": ",".join(stages)} if stages else {})
    if synth.ok or synth.stacks or len(stages) < 2 or not one_by_one_on_failure:
        return synth
    each_dir = out_dir.with_name(out_dir.name + ".stages")
    parts = [synthesize(source, each_dir / stage, context={"stage": stage}) for stage in stages]
    return Synthesis(
        source,
        each_dir,
        has_app=True,
        ok=all(part.ok for part in parts),
        log="\n".join(part.log for part in parts),
        stacks={name: stack for part in parts for name, stack in part.stacks.items()},
    )


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
    stages = [stage for stage in context.get("stage", "").split(",") if stage]
    stacks = read_stacks(out_dir, stages) if (out_dir / "manifest.json").is_file() else {}
    return Synthesis(
        source,
        out_dir,
        has_app=True,
        ok=completed.returncode == 0,
        log=_without_banners(completed.stdout + completed.stderr),
        stacks=stacks,
    )


def read_stacks(out_dir: Path, stages: list[str] | None = None) -> dict[str, StackArtifact]:
    """Every stack of the assembly in `out_dir`, including those of nested stages.

    A stack's stage is its `stage` tag where the manifest has one. The manifest of app.py's
    stacks has none (app.py's `Tags.of(stack)` tags reach the resources only, with cdk.json's
    feature flags), so otherwise it is the one of `stages` that is a dash-separated part of its
    name (`Spito-dev-Api`).
    """
    manifest: dict[str, Any] = json.loads((out_dir / "manifest.json").read_text())
    stacks: dict[str, StackArtifact] = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == "aws:cloudformation:stack":
            name = artifact.get("displayName", artifact_id)
            stage = properties.get("tags", {}).get(STAGE_TAG) or _stage_in_name(name, stages)
            stacks[name] = StackArtifact(name, out_dir / properties["templateFile"], stage)
        elif artifact.get("type") == "cdk:cloud-assembly":
            stacks.update(read_stacks(out_dir / properties["directoryName"], stages))
    return stacks


def _stage_in_name(name: str, stages: list[str] | None) -> str | None:
    found = [stage for stage in stages or [] if stage in name.split("-")]
    return found[0] if len(found) == 1 else None


def _without_banners(log: str) -> str:
    """Drops the Node end-of-life banner jsii prints as Python bytes reprs."""
    return "\n".join(line for line in log.splitlines() if not line.startswith("b'!!"))
