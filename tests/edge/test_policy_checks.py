"""cfn-lint and checkov over every edge template, in all three variants.

checkov skips live in each resource's Metadata (infra/checkov.skip_check), one check per resource,
each with its reason; the test fails on any finding and on any skip without a reason.
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
PLAIN_TEMPLATES = ["Spito-dev-Edge", "Spito-prod-Edge", "Spito-prod-EdgeGlobal"]
DOMAIN_TEMPLATES = ["Spito-prod-Edge", "Spito-prod-EdgeGlobal", "Spito-prod-Certificate"]


@pytest.fixture(scope="module")
def edge_templates(cdk_out: Path, domain_cdk_out: Path) -> list[Path]:
    return [cdk_out / f"{name}.template.json" for name in PLAIN_TEMPLATES] + [
        domain_cdk_out / f"{name}.template.json" for name in DOMAIN_TEMPLATES
    ]


def test_cfn_lint_reports_nothing(edge_templates: list[Path]) -> None:
    completed = subprocess.run(
        [str(CFN_LINT), *map(str, edge_templates)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.fixture(scope="module")
def checkov_reports(edge_templates: list[Path]) -> list[dict[str, Any]]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make deps`")
    arguments = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "-o", "json"]
    for template in edge_templates:
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


def test_checkov_fails_nothing(checkov_reports: list[dict[str, Any]]) -> None:
    failed = [
        (check["check_id"], check["resource"], check["file_path"])
        for report in checkov_reports
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert sum(report["summary"]["passed"] for report in checkov_reports) > 0


def test_every_checkov_skip_gives_its_reason(checkov_reports: list[dict[str, Any]]) -> None:
    skipped = [check for report in checkov_reports for check in report["results"]["skipped_checks"]]
    assert skipped, "the edge's documented skips should be visible to checkov"
    for check in skipped:
        assert len(check["check_result"]["suppress_comment"]) > 20, check["check_id"]
