"""The GitHub workflows: valid by actionlint, and the PR diff never holds AWS credentials."""

from __future__ import annotations

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
    assert 'make diff BASE="$BASE_SHA" STAGE="$STAGE" DIFF_OUTPUT=pr-diff.md' in runs
    assert "-m scripts.pr_comment" in runs
    assert "--body-file pr-diff.md" in runs


def test_account_diff_runs_only_where_an_oidc_role_is_configured(
    pr_jobs: dict[str, Any],
) -> None:
    job = pr_jobs["account-diff"]
    assert "vars.AWS_DIFF_ROLE_ARN != ''" in job["if"]
    assert job["permissions"]["id-token"] == "write"
    credentials = next(step for step in job["steps"] if "aws-actions" in step.get("uses", ""))
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DIFF_ROLE_ARN }}"
