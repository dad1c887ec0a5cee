"""Command line: `python -m ci.pr_diff --base REF` prints the Markdown report.

Every stage of cdk.json is reported, each side synthesized once with all of them
(`-c stage=dev,prod`); `--stage NAME` restricts the report to one.

Exit status (docs/CI.md, "make diff"):
  0  a report, and nothing in it blocks: the head synthesizes, every check passes, no deploy
     is known to fail;
  1  a report with findings: the head does not synthesize, a check fails, or an export another
     stack imports would change (the report says which);
  2  no report: a tool not installed, a bad ref, an unknown stage, not a git repository (the
     message on stderr says what to fix; nothing is written to --output).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from ci.pr_diff.assembly import stages_of, synthesize_stages
from ci.pr_diff.compare import compare
from ci.pr_diff.offline import missing_tools
from ci.pr_diff.report import Report, render

# Build outputs the app reads but git does not hold: the base borrows the head's, so a web
# change shows up as infrastructure only where it changes infrastructure.
SHARED_BUILD_OUTPUTS = ("web/dist",)


REPORT, REPORT_WITH_FINDINGS, NO_REPORT = 0, 1, 2


class UsageError(Exception):
    """The report cannot be made; the message says what to fix."""


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        report = make_report(repo=args.repo.resolve(), base=args.base, stage=args.stage)
    except UsageError as error:
        if args.output:
            args.output.unlink(missing_ok=True)  # an earlier run's report is not this one's
        print(f"make diff: {error}", file=sys.stderr)
        return NO_REPORT
    markdown = render(report)
    sys.stdout.write(markdown)
    if args.output:
        args.output.write_text(markdown)
    return REPORT if report.passed else REPORT_WITH_FINDINGS


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ci.pr_diff",
        description="Offline infrastructure diff of the working tree against a git ref.",
    )
    parser.add_argument("--base", required=True, help="git ref to compare with, e.g. origin/main")
    parser.add_argument("--stage", help="report this stage of cdk.json only (default: every stage)")
    parser.add_argument("--repo", type=Path, default=Path(), help="git repository (default: .)")
    parser.add_argument("--output", type=Path, help="also write the Markdown to this file")
    return parser.parse_args(argv)


def make_report(*, repo: Path, base: str, stage: str | None) -> Report:
    """Synthesizes `base` and the working tree of `repo`, diffs every stack, runs the checks."""
    missing = missing_tools()
    if missing:
        raise UsageError(f"not installed: {', '.join(missing)}. Run `make deps` first.")
    base_sha = _resolve(repo, base)
    head_stages = _selected_stages(repo, stage)
    with tempfile.TemporaryDirectory(prefix="spito-diff-") as tmp:
        work = Path(tmp)
        with (
            _worktree(repo, base_sha, work / "base") as base_source,
            ThreadPoolExecutor(max_workers=2) as pool,
        ):
            known = stages_of(base_source)
            base_stages = [name for name in head_stages if name in known or not known]
            head_job = pool.submit(synthesize_stages, repo, work / "head.out", head_stages)
            base_synth = synthesize_stages(
                base_source, work / "base.out", base_stages, one_by_one_on_failure=True
            )
            head_synth = head_job.result()
            dropped = [name for name in known if name not in head_stages and stage is None]
        return compare(
            base_synth,
            head_synth,
            base_label=base_sha[:12],
            head_label=_head_label(repo),
            stages=head_stages,
            only_stage=stage,
            notes=[_dropped_note(name) for name in dropped],
        )


def _selected_stages(repo: Path, stage: str | None) -> list[str]:
    """The stages to report: `stage` alone if given, else every stage of the head's cdk.json."""
    stages = stages_of(repo)
    if stage is None:
        return stages
    if stages and stage not in stages:
        raise UsageError(
            f"STAGE={stage!r} is not a stage of {repo / 'cdk.json'} ({', '.join(stages)}). "
            "Leave STAGE out to report every stage."
        )
    return [stage]


def _dropped_note(stage: str) -> str:
    return (
        f"Stage `{stage}` is in the base's cdk.json but not the head's: `make deploy` no longer "
        "reaches its stacks (nothing is deleted; `make destroy STAGE=...` on the base would)."
    )


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
