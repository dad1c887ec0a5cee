"""The policy checks run on the head's templates: cdk-nag, cfn-lint and checkov.

Used by ci/pr_diff/compare.py; their results end the report.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci.pr_diff.offline import CFN_LINT, CHECKOV, offline_env


@dataclass(frozen=True)
class CheckResult:
    """One checker's verdict: a one-line summary and each finding as a Markdown line."""

    name: str
    passed: bool
    summary: str
    findings: tuple[str, ...] = ()


def cdk_nag(out_dir: Path, *, acknowledged: int) -> CheckResult:
    """Reads the validation reports cdk-nag v3 writes into the assembly at synth.

    A clean report lists no acknowledged findings, so their count comes from the caller
    (the acknowledgments recorded in the stacks' metadata).
    """
    name = "cdk-nag"
    reports = sorted(out_dir.rglob("validation-report.json"))
    if not reports:
        return CheckResult(name, passed=False, summary="no validation report: cdk-nag did not run")
    findings: list[str] = []
    for report in reports:
        for plugin in json.loads(report.read_text()).get("pluginReports", []):
            for violation in plugin.get("violations", []):
                for construct in violation.get("violatingConstructs", []):
                    findings.append(
                        f"`{violation['ruleName']}` at `{construct['constructPath']}`: "
                        f"{violation.get('description', '')}"
                    )
    summary = f"{len(findings)} unacknowledged finding(s), {acknowledged} acknowledged"
    return CheckResult(name, passed=not findings, summary=summary, findings=tuple(findings))


def cfn_lint(templates: list[Path], *, cwd: Path) -> CheckResult:
    """cfn-lint over the templates; `cwd` is the project root, so its .cfnlintrc applies."""
    name = "cfn-lint"
    if not templates:
        return CheckResult(name, passed=True, summary="no templates")
    command = [str(CFN_LINT), "--format", "json", "--", *map(str, templates)]
    completed = _run(command, cwd)
    try:
        matches: list[dict[str, Any]] = json.loads(completed.stdout or "[]")
    except json.JSONDecodeError:
        return _crashed(name, completed)
    findings = tuple(
        f"`{match['Rule']['Id']}` {Path(match['Filename']).name} "
        f"`{'/'.join(str(part) for part in match['Location']['Path'])}`: {match['Message']}"
        for match in matches
    )
    summary = f"{len(findings)} finding(s) in {len(templates)} template(s)"
    return CheckResult(name, passed=not findings, summary=summary, findings=findings)


def checkov(templates: list[Path], *, cwd: Path) -> CheckResult:
    """checkov's CloudFormation checks; `cwd` is the project root, so its .checkov.yaml applies."""
    name = "checkov"
    if not templates:
        return CheckResult(name, passed=True, summary="no templates")
    # --skip-download: no guideline or policy fetch from the vendor's API; offline and repeatable.
    command = [str(CHECKOV), "--framework", "cloudformation", "--output", "json", "--skip-download"]
    for template in templates:
        command += ["--file", str(template)]
    completed = _run(command, cwd)
    try:
        parsed: dict[str, Any] | list[dict[str, Any]] = json.loads(completed.stdout)
    except json.JSONDecodeError:
        return _crashed(name, completed)
    reports = parsed if isinstance(parsed, list) else [parsed]
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    findings: list[str] = []
    for report in reports:
        summary = report.get("summary", report)
        for key in counts:
            counts[key] += int(summary.get(key, 0))
        for failed in report.get("results", {}).get("failed_checks", []):
            findings.append(
                f"`{failed['check_id']}` {Path(failed['file_path']).name} "
                f"`{failed['resource']}`: {failed['check_name']}"
            )
    summary_line = ", ".join(f"{count} {key}" for key, count in counts.items())
    return CheckResult(name, passed=not findings, summary=summary_line, findings=tuple(findings))


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed command, arguments are ours
        command, cwd=cwd, capture_output=True, text=True, env=offline_env(), check=False
    )


def _crashed(name: str, completed: subprocess.CompletedProcess[str]) -> CheckResult:
    tail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
    return CheckResult(
        name,
        passed=False,
        summary=f"did not run (exit {completed.returncode})",
        findings=tuple(f"`{line}`" for line in tail),
    )
