"""Command line: `python -m scripts.pr_diff --base REF` prints the Markdown report.

Exit status: 0 when the head synthesizes and every check passes, 1 when not (the report
says why), 2 when the report could not be made (a tool not installed, a bad ref, not a git
repository).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from scripts.pr_diff.assembly import Synthesis, synthesize
from scripts.pr_diff.cdk_diff import CdkDiffError, ResourceChange, StackDiff, run_cdk_diff
from scripts.pr_diff.checks import CheckResult, cdk_nag, cfn_lint, checkov
from scripts.pr_diff.offline import CDK, missing_tools
from scripts.pr_diff.report import Report, render
from scripts.pr_diff.suppressions import Suppression, suppressions

LOG_TAIL_LINES = 20
# Build outputs the app reads but git does not hold: the base borrows the head's, so a web
# change shows up as infrastructure only where it changes infrastructure.
SHARED_BUILD_OUTPUTS = ("web/dist",)


class UsageError(Exception):
    """The report cannot be made; the message says what to fix."""


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        report = make_report(repo=args.repo.resolve(), base=args.base, stage=args.stage)
    except UsageError as error:
        print(f"make diff: {error}", file=sys.stderr)
        return 2
    markdown = render(report)
    sys.stdout.write(markdown)
    if args.output:
        args.output.write_text(markdown)
    return 0 if report.passed else 1


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.pr_diff",
        description="Offline infrastructure diff of the working tree against a git ref.",
    )
    parser.add_argument("--base", required=True, help="git ref to compare with, e.g. origin/main")
    parser.add_argument("--stage", default="dev", help="the stage to synthesize (-c stage=...)")
    parser.add_argument("--repo", type=Path, default=Path(), help="git repository (default: .)")
    parser.add_argument("--output", type=Path, help="also write the Markdown to this file")
    return parser.parse_args(argv)


def make_report(*, repo: Path, base: str, stage: str) -> Report:
    """Synthesizes `base` and the working tree of `repo`, diffs every stack, runs the checks."""
    missing = missing_tools()
    if missing:
        raise UsageError(f"not installed: {', '.join(missing)}. Run `make deps` first.")
    base_sha = _resolve(repo, base)
    context = {"stage": stage}
    with tempfile.TemporaryDirectory(prefix="spito-diff-") as tmp:
        work = Path(tmp)
        with (
            _worktree(repo, base_sha, work / "base") as base_source,
            ThreadPoolExecutor(max_workers=2) as pool,
        ):
            base_job = pool.submit(synthesize, base_source, work / "base.out", context=context)
            head_job = pool.submit(synthesize, repo, work / "head.out", context=context)
            base_synth, head_synth = base_job.result(), head_job.result()
        empty_template = work / "empty.template.json"
        empty_template.write_text("{}")
        head_suppressions = suppressions(head_synth)
        base_suppressions = suppressions(base_synth)
        with ThreadPoolExecutor(max_workers=1) as pool:
            checks_job = pool.submit(_checks, head_synth, head_suppressions)
            diffs, diff_errors = _diffs(base_synth, head_synth, empty_template)
            checks = checks_job.result()
    return Report(
        base_label=base_sha[:12],
        head_label=_head_label(repo),
        stage=stage,
        diffs=diffs,
        warnings=[*_synth_warnings(base_synth, head_synth), *diff_errors],
        head_ok=head_synth.ok and not diff_errors,
        checks=checks,
        suppressions_added=sorted(head_suppressions - base_suppressions),
        suppressions_removed=sorted(base_suppressions - head_suppressions),
    )


def _diffs(
    base: Synthesis, head: Synthesis, empty_template: Path
) -> tuple[list[StackDiff], list[str]]:
    diffs: list[StackDiff] = []
    errors: list[str] = []
    for name in head.stacks:
        base_stack = base.stacks.get(name)
        template = base_stack.template if base_stack else empty_template
        try:
            diff = run_cdk_diff(cdk=CDK, stack=name, assembly=head.out_dir, base_template=template)
        except CdkDiffError as error:
            errors.append(f"`cdk diff {name}` failed:\n```text\n{_tail(str(error))}\n```")
            continue
        diff.note = "" if base_stack else "new stack"
        diffs.append(diff)
    if head.ok or head.stacks:  # a head that wrote no assembly says nothing about removals
        diffs += [_removed_stack(name, base) for name in base.stacks if name not in head.stacks]
    return diffs, errors


def _removed_stack(name: str, base: Synthesis) -> StackDiff:
    """A stack the head no longer has: every resource goes, unless its policy retains it."""
    template = json.loads(base.stacks[name].template.read_text())
    retained = ("Retain", "RetainExceptOnCreate")
    resources = [
        ResourceChange(
            action="remove",
            resource_type=resource["Type"],
            path=_construct_path(name, resource, logical_id),
            logical_id=logical_id,
            impact="orphan" if resource.get("DeletionPolicy") in retained else "destroy",
        )
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] != "AWS::CDK::Metadata"  # bookkeeping; cdk diff hides it too
    ]
    return StackDiff(
        stack=name, raw="(stack removed)", changed=True, resources=resources, note="stack removed"
    )


def _construct_path(stack: str, resource: dict[str, object], logical_id: str) -> str:
    metadata = resource.get("Metadata")
    path = metadata.get("aws:cdk:path") if isinstance(metadata, dict) else None
    if not isinstance(path, str):
        return logical_id
    return path.removeprefix(f"{stack}/").removesuffix("/Resource")


def _checks(head: Synthesis, silenced: set[Suppression]) -> list[CheckResult]:
    if not head.has_app or not (head.ok or head.stacks):
        return []  # nothing synthesized to check; the warning says why
    templates = [stack.template for stack in head.stacks.values()]
    acknowledged = sum(suppression.tool == "cdk-nag" for suppression in silenced)
    return [
        cdk_nag(head.out_dir, acknowledged=acknowledged),
        cfn_lint(templates, cwd=head.source),
        checkov(templates, cwd=head.source),
    ]


def _synth_warnings(base: Synthesis, head: Synthesis) -> list[str]:
    warnings = []
    if not head.has_app:
        warnings.append("The head has no `app.py`: nothing to synthesize.")
    elif not head.ok:
        warnings.append(f"Synth of the head failed:\n```text\n{_tail(head.log)}\n```")
    if not base.has_app:
        warnings.append("The base has no `app.py`: every stack is compared with an empty one.")
    elif not base.stacks:
        warnings.append(
            "Synth of the base failed, so every stack is compared with an empty one:\n"
            f"```text\n{_tail(base.log)}\n```"
        )
    return warnings


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-LOG_TAIL_LINES:])


@contextmanager
def _worktree(repo: Path, commit: str, path: Path) -> Iterator[Path]:
    """A detached checkout of `commit` at `path` with the head's build outputs, removed after."""
    _git(repo, "worktree", "add", "--detach", "--quiet", str(path), commit)
    for output in SHARED_BUILD_OUTPUTS:
        if (repo / output).exists() and not (path / output).exists():
            (path / output).parent.mkdir(parents=True, exist_ok=True)
            (path / output).symlink_to(repo / output)
    try:
        yield path
    finally:
        for output in SHARED_BUILD_OUTPUTS:
            if (path / output).is_symlink():
                (path / output).unlink()  # the link only: the head's build stays
        _git(repo, "worktree", "remove", "--force", str(path))


def _resolve(repo: Path, ref: str) -> str:
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except UsageError:
        raise UsageError(
            f"BASE={ref!r} is not a commit of the git repository {repo}. "
            "Pass a branch, tag or sha, e.g. `make diff BASE=origin/main`."
        ) from None


def _head_label(repo: Path) -> str:
    sha = _git(repo, "rev-parse", "--short=12", "HEAD")
    dirty = _git(repo, "status", "--porcelain")  # untracked files are synthesized too
    return f"{sha} + uncommitted changes" if dirty else sha


def _git(repo: Path, *args: str) -> str:
    completed = subprocess.run(  # noqa: S603 - fixed command, arguments are ours
        ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise UsageError(f"`git {' '.join(args)}` failed in {repo}: {completed.stderr.strip()}")
    return completed.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
