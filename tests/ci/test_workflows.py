"""The GitHub workflows: valid by actionlint, and the PR diff never holds AWS credentials."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
ACTIONLINT = Path(sys.executable).parent / "actionlint"


def _workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


@pytest.fixture(scope="module")
def pr_jobs() -> dict[str, Any]:
    jobs: dict[str, Any] = _workflow("pr.yml")["jobs"]
    return jobs


def test_actionlint_passes_on_every_workflow() -> None:
    completed = subprocess.run(
        [str(ACTIONLINT), "-no-color"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_ci_workflow_runs_make_lint_and_make_test() -> None:
    jobs = _workflow("ci.yml")["jobs"]
    commands = [step.get("run") for job in jobs.values() for step in job["steps"]]
    assert "make lint" in commands
    assert "make test" in commands


def test_offline_diff_job_cannot_get_aws_credentials(pr_jobs: dict[str, Any]) -> None:
    job = pr_jobs["offline-diff"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert not any("aws-actions" in step.get("uses", "") for step in job["steps"])


def test_offline_diff_job_comments_with_the_make_diff_report(pr_jobs: dict[str, Any]) -> None:
    runs = " ".join(step.get("run", "") for step in pr_jobs["offline-diff"]["steps"])
    assert 'make diff BASE="$BASE_SHA" DIFF_OUTPUT=pr-diff.md' in runs
    assert "-m ci.pr_comment" in runs
    assert "--body-file pr-diff.md" in runs


def test_account_diff_runs_only_where_an_oidc_role_is_configured(
    pr_jobs: dict[str, Any],
) -> None:
    job = pr_jobs["account-diff"]
    assert "vars.AWS_DIFF_ROLE_ARN != ''" in job["if"]
    assert job["permissions"]["id-token"] == "write"
    credentials = next(step for step in job["steps"] if "aws-actions" in step.get("uses", ""))
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DIFF_ROLE_ARN }}"


# GitHub runs a step with `shell: bash` as `bash --noprofile --norc -eo pipefail {0}`.
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


def _run_account_diff_step(
    pr_jobs: dict[str, Any], tmp_path: Path, cdk_output: str, cdk_status: int
) -> tuple[subprocess.CompletedProcess[str], str]:
    """The account-diff step's script as GitHub runs it, with a stand-in for the CDK CLI.

    Returns the step's outcome and the job summary it wrote.
    """
    step = next(
        step
        for step in pr_jobs["account-diff"]["steps"]
        if step.get("name") == "cdk diff against the deployed stacks"
    )
    assert step["shell"] == "bash"
    cdk = tmp_path / "node_modules" / ".bin" / "cdk"
    cdk.parent.mkdir(parents=True)
    cdk.write_text(f"#!/bin/sh\nprintf '%s\\n' '{cdk_output}'\nexit {cdk_status}\n")
    cdk.chmod(0o755)
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    summary = tmp_path / "summary.md"
    completed = subprocess.run(
        [*GITHUB_BASH, str(script)],
        cwd=tmp_path,
        env={**os.environ, "STAGE": "prod", "GITHUB_STEP_SUMMARY": str(summary)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed, summary.read_text() if summary.exists() else ""


def test_account_diff_summary_holds_the_diff(pr_jobs: dict[str, Any], tmp_path: Path) -> None:
    completed, summary = _run_account_diff_step(
        pr_jobs, tmp_path, "Stack Spito-prod-Api: There were no differences", 0
    )
    assert completed.returncode == 0, completed.stderr
    assert summary == (
        "### cdk diff against the deployed prod stacks\n"
        "```text\nStack Spito-prod-Api: There were no differences\n```\n"
    )


def test_failed_account_diff_still_writes_the_summary_and_fails_the_job(
    pr_jobs: dict[str, Any], tmp_path: Path
) -> None:
    completed, summary = _run_account_diff_step(
        pr_jobs, tmp_path, "Need to perform AWS calls for account 222222222222", 1
    )
    assert completed.returncode == 1
    assert summary == (
        "### cdk diff against the deployed prod stacks\n"
        "**cdk diff failed (exit 1):** its output is below.\n"
        "```text\nNeed to perform AWS calls for account 222222222222\n```\n"
    )
