"""cfn-lint and checkov over the jobs stack of each stage, as over the rest of the app.

checkov skips live in each resource's Metadata (infra/checkov.skip_check) with their reasons.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"
TEMPLATES = ["Spito-dev-Jobs", "Spito-prod-Jobs"]


@pytest.fixture(scope="module")
def jobs_templates(cdk_out: Path) -> list[Path]:
    return [cdk_out / f"{name}.template.json" for name in TEMPLATES]


def test_cfn_lint_reports_nothing_on_the_jobs_stacks(jobs_templates: list[Path]) -> None:
    completed = subprocess.run(
        [str(CFN_LINT), *map(str, jobs_templates)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.fixture(scope="module")
def checkov_reports(jobs_templates: list[Path]) -> list[dict[str, Any]]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make deps`")
    arguments = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "-o", "json"]
    for template in jobs_templates:
        arguments += ["-f", str(template)]
    completed = subprocess.run(
        arguments,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},  # offline: no guideline download
    )
    report = json.loads(completed.stdout)
    return report if isinstance(report, list) else [report]


def test_checkov_fails_nothing_on_the_jobs_stacks(checkov_reports: list[dict[str, Any]]) -> None:
    failed = [
        (check["check_id"], check["resource"], check["file_path"])
        for report in checkov_reports
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert sum(report["summary"]["passed"] for report in checkov_reports) > 0


def test_every_checkov_skip_on_the_jobs_stacks_gives_its_reason(
    checkov_reports: list[dict[str, Any]],
) -> None:
    skipped = [check for report in checkov_reports for check in report["results"]["skipped_checks"]]
    assert {check["check_id"] for check in skipped} == {
        "CKV_AWS_115",
        "CKV_AWS_116",
        "CKV_AWS_117",
        "CKV_AWS_158",
        "CKV_AWS_173",
    }
    for check in skipped:
        assert len(check["check_result"]["suppress_comment"]) > 20, check["check_id"]
