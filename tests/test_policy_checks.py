"""cfn-lint and checkov over every template of the dev, prod and domain assemblies.

Each tool runs once per assembly directory (both at once, and once per session however many
xdist workers there are: they are the slowest part of the suite). Exceptions live in each
resource's Metadata: checkov skips (infra/checkov.skip_check) with their reasons, cfn-lint
ignores next to the code that explains them. The tests fail on any finding, on a template
either tool did not check, and on a checkov skip without a reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.cdk_app import REPO_ROOT, synthesized_once

CFN_LINT = Path(sys.executable).with_name("cfn-lint")
CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"
ASSEMBLIES = ["cdk_out", "domain_cdk_out"]  # the session fixtures: dev + prod, prod + domain
CHECK_TIMEOUT_SECONDS = 900
SHORTEST_REASON = 20


@dataclass(frozen=True)
class Checked:
    templates: list[str]
    cfn_lint_findings: list[dict[str, Any]]
    checkov: dict[str, Any]


def _run_checks(assembly: Path, outdir: Path) -> None:
    """Run cfn-lint and checkov over `assembly` side by side; keep their JSON in `outdir`."""
    templates = sorted(str(path) for path in assembly.glob("*.template.json"))
    outdir.mkdir(parents=True)
    with (
        (outdir / "cfn-lint.json").open("w") as cfn_lint_out,
        (outdir / "checkov.json").open("w") as checkov_out,
    ):
        cfn_lint = subprocess.Popen(
            [str(CFN_LINT), "--format", "json", *templates], stdout=cfn_lint_out
        )
        checkov = subprocess.Popen(
            [
                *(str(CHECKOV), "--directory", str(assembly), "--framework", "cloudformation"),
                *("--skip-download", "--output", "json"),
            ],
            stdout=checkov_out,
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},  # offline: no guideline download
        )
        cfn_lint.wait(timeout=CHECK_TIMEOUT_SECONDS)
        checkov.wait(timeout=CHECK_TIMEOUT_SECONDS)


@pytest.fixture(scope="module", params=ASSEMBLIES)
def checked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Checked:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make deps`")
    assembly: Path = request.getfixturevalue(request.param)
    reports = synthesized_once(
        tmp_path_factory, f"policy-checks.{request.param}", partial(_run_checks, assembly)
    )
    checkov = json.loads((reports / "checkov.json").read_text())
    return Checked(
        templates=sorted(path.name for path in assembly.glob("*.template.json")),
        cfn_lint_findings=json.loads((reports / "cfn-lint.json").read_text()),
        checkov=checkov[0] if isinstance(checkov, list) else checkov,
    )


def test_cfn_lint_reports_nothing(checked: Checked) -> None:
    findings = [
        (finding["Rule"]["Id"], Path(finding["Filename"]).name, finding["Message"])
        for finding in checked.cfn_lint_findings
    ]
    assert findings == []


def test_checkov_fails_nothing_and_checks_every_template(checked: Checked) -> None:
    results = checked.checkov["results"]
    failed = [
        (check["check_id"], check["resource"], check["file_path"])
        for check in results["failed_checks"]
    ]
    assert failed == []
    assert checked.checkov["summary"]["parsing_errors"] == 0
    seen = {
        Path(check["file_path"]).name
        for kind in ("passed_checks", "skipped_checks")
        for check in results[kind]
    }
    assert seen == set(checked.templates)


def test_every_checkov_skip_gives_its_reason(checked: Checked) -> None:
    skipped = checked.checkov["results"]["skipped_checks"]
    assert skipped, "the documented skips should be visible to checkov"
    for check in skipped:
        reason = check["check_result"]["suppress_comment"]
        assert len(reason) > SHORTEST_REASON, (check["check_id"], check["resource"])


def test_every_cfn_lint_ignore_gives_its_reason(
    checked: Checked, request: pytest.FixtureRequest
) -> None:
    assembly: Path = request.getfixturevalue(request.node.callspec.params["checked"])
    ignores = 0
    for name in checked.templates:
        template = json.loads((assembly / name).read_text())
        for logical_id, resource in template["Resources"].items():
            cfn_lint = resource.get("Metadata", {}).get("cfn-lint")
            if cfn_lint is None:
                continue
            reasons = cfn_lint.get("reasons", {})
            for rule in cfn_lint["config"]["ignore_checks"]:
                ignores += 1
                assert len(reasons.get(rule, "")) > SHORTEST_REASON, (name, logical_id, rule)
    assert ignores, "the documented cfn-lint ignores should be in the templates"


def test_cfn_lint_is_the_only_template_linter(cdk_out: Path) -> None:
    # app.new_app() turns the CDK's built-in copy of cfn-lint's rules off (docs/ARCHITECTURE.md).
    report = json.loads((cdk_out / "validation-report.json").read_text())
    assert "CloudFormation Validate" not in [
        plugin["pluginName"] for plugin in report["pluginReports"]
    ]
