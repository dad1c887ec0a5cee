"""The GitHub workflows: valid by actionlint; every job in the pinned Debian image of the
project's Python, running the make targets the docs name and only tools the image, setup-node or
the project installs; the PR diff never holds AWS credentials."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
ACTIONLINT = Path(sys.executable).parent / "actionlint"
# The official Python image, by its exact tag and the digest that tag named when it was pinned.
IMAGE = re.compile(r"python:(?P<python>3\.\d+)\.\d+-(?P<debian>[a-z]+)@sha256:[0-9a-f]{64}")

# What a run step may call, by where it comes from. The image's own: its layers install git and
# make (docker-library/repo-info repos/python/remote/3.11.16-bookworm.md), and Debian's base
# system has bash and coreutils.
SHELL_BUILTINS = {"[", "cd", "echo", "exit", "export", "printf", "set", "test", "true", "false"}
SHELL_KEYWORDS = {"if", "then", "elif", "else", "fi", "{", "}", "!", "do", "done", "while", "for"}
IMAGE_TOOLS = {"bash", "cat", "git", "make"}
SETUP_NODE_TOOLS = {"node", "npm", "npx"}
# What `make deps` creates (Makefile): the virtualenvs and node_modules.
DEPS_PREFIXES = (".venv/bin/", ".tools/", "node_modules/.bin/")
# The installs the documented targets run first; a job may run them as steps of their own.
SETUP_TARGETS = {"deps", "web"}


def _workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def _all_jobs() -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(workflow file, job id, job, workflow) for every job of every workflow."""
    for path in sorted(WORKFLOWS.glob("*.yml")):
        workflow = _workflow(path.name)
        for job_id, job in workflow["jobs"].items():
            yield path.name, job_id, job, workflow


JOBS = [pytest.param(job, id=f"{name}:{job_id}") for name, job_id, job, _ in _all_jobs()]


@pytest.fixture(scope="module")
def pr_jobs() -> dict[str, Any]:
    jobs: dict[str, Any] = _workflow("pr.yml")["jobs"]
    return jobs


def _commands(script: str) -> Iterator[list[str]]:
    """Each simple command of a run script as its words, assignments and redirections left out.

    Enough shell for what a workflow step holds: one command list per line, `;`, `&&`, `||`,
    `|` and the keywords of if/for/while and `{ }` groups.
    """
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        tokens = iter(lexer)
        for token in tokens:
            if token in {";", "&&", "||", "|", "&"} or (not words and token in SHELL_KEYWORDS):
                if words:
                    yield words
                words = []
            elif token[0] in "<>" or token in {">&", "&>"}:
                next(tokens, None)  # the redirection's target
            elif words or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", token):
                words.append(token)
        if words:
            yield words


def _make_targets(script: str) -> list[str]:
    """The targets of every `make` command in a script (variable assignments left out)."""
    return [
        word
        for command in _commands(script)
        if command[0] == "make"
        for word in command[1:]
        if "=" not in word and not word.startswith("-")
    ]


def _makefile_prerequisites() -> dict[str, set[str]]:
    """Each phony-style target of the Makefile with its prerequisites, transitively."""
    rules: dict[str, set[str]] = {}
    for line in (PROJECT_ROOT / "Makefile").read_text().splitlines():
        rule = re.match(r"^([a-z][a-z-]*):(?!=)([^#]*)", line)
        if rule:
            rules[rule.group(1)] = set(rule.group(2).split())
    closure: dict[str, set[str]] = {}
    for target in rules:
        seen: set[str] = set()
        todo = [target]
        while todo:
            for prerequisite in rules.get(todo.pop(), set()) - seen:
                seen.add(prerequisite)
                todo.append(prerequisite)
        closure[target] = seen
    return closure


def _documented_rows() -> list[tuple[str, list[str], set[str]]]:
    """(workflow file, its jobs, the make targets named) for each row of a docs table that
    names a workflow's jobs: README.md's CI section, or the docs/ page it moved to."""
    rows = []
    for page in [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]:
        for line in page.read_text().splitlines():
            row = re.match(r"^\| `\.github/workflows/([\w.-]+)` \(([^)]*)\) \|", line)
            if row:
                jobs = re.findall(r"`([\w-]+)`", row.group(2))
                rows.append((row.group(1), jobs, set(re.findall(r"`make ([a-z-]+)", line))))
    return rows


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


def test_every_job_runs_in_one_python_image_pinned_by_digest() -> None:
    images = {
        f"{name}:{job_id}": job.get("container", {}).get("image")
        for name, job_id, job, _ in _all_jobs()
    }
    assert all(image and IMAGE.fullmatch(image) for image in images.values()), images
    assert len(set(images.values())) == 1, images


def test_the_image_is_the_projects_python_on_the_debian_it_is_built_on() -> None:
    image = IMAGE.fullmatch(_workflow("ci.yml")["jobs"]["test"]["container"]["image"])
    assert image
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    assert image["python"] == pyproject["tool"]["mypy"]["python_version"]
    os_release_file = Path("/etc/os-release")
    os_release = dict(
        line.split("=", 1)
        for line in (os_release_file.read_text() if os_release_file.exists() else "").splitlines()
        if "=" in line
    )
    if os_release.get("ID") != "debian":
        pytest.skip("this machine is not Debian: nothing to compare the image's release with")
    assert image["debian"] == os_release["VERSION_CODENAME"]


def test_every_run_step_is_bash_as_on_a_laptop() -> None:
    shells = {
        step.get("shell", workflow.get("defaults", {}).get("run", {}).get("shell"))
        for _name, _job_id, job, workflow in _all_jobs()
        for step in job["steps"]
        if "run" in step
    }
    assert shells == {"bash"}


@pytest.mark.parametrize("job", JOBS)
def test_git_trusts_the_checkout_right_after_it(job: dict[str, Any]) -> None:
    uses = [step.get("uses", "") for step in job["steps"]]
    checkout = next(i for i, action in enumerate(uses) if action.startswith("actions/checkout@"))
    trust = job["steps"][checkout + 1].get("run", "")
    assert trust == 'git config --system --add safe.directory "$GITHUB_WORKSPACE"'


@pytest.mark.parametrize("job", JOBS)
def test_every_job_caches_pip_and_npm_downloads(job: dict[str, Any]) -> None:
    steps = job["steps"]
    pip = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
    node = [s for s in steps if s.get("uses", "").startswith("actions/setup-node@")]
    assert [s["with"]["path"] for s in pip] == ["~/.cache/pip"]
    assert [s["with"]["cache"] for s in node] == ["npm"]
    assert not any(s.get("uses", "").startswith("actions/setup-python@") for s in steps)


def test_ci_jobs_run_what_ci_run_runs_here() -> None:
    here = _make_targets((PROJECT_ROOT / ".ci" / "run").read_text())
    jobs = _workflow("ci.yml")["jobs"]
    there = [
        t for job in jobs.values() for s in job["steps"] for t in _make_targets(s.get("run", ""))
    ]
    assert here == there == ["lint", "test"]


def test_each_job_runs_the_make_targets_its_docs_row_names() -> None:
    rows = _documented_rows()
    documented = {(name, job_id) for name, job_ids, _targets in rows for job_id in job_ids}
    assert documented == {(name, job_id) for name, job_id, *_ in _all_jobs()}
    prerequisites = _makefile_prerequisites()
    for name, job_ids, targets in rows:
        jobs = _workflow(name)["jobs"]
        run = {
            t for j in job_ids for s in jobs[j]["steps"] for t in _make_targets(s.get("run", ""))
        }
        assert run - SETUP_TARGETS == targets, (name, job_ids)
        assert all(SETUP_TARGETS & run <= prerequisites[t] for t in targets), (name, job_ids)


@pytest.mark.parametrize("job", JOBS)
def test_no_step_runs_a_tool_the_project_does_not_install(job: dict[str, Any]) -> None:
    installs_deps = {t for t, pre in _makefile_prerequisites().items() if "deps" in pre | {t}}
    available = SHELL_BUILTINS | IMAGE_TOOLS
    deps_made = False
    for step in job["steps"]:
        if step.get("uses", "").startswith("actions/setup-node@"):
            available |= SETUP_NODE_TOOLS
        for command in _commands(step.get("run", "")):
            tool = command[0]
            from_deps = tool.startswith(DEPS_PREFIXES)
            assert tool in available or (from_deps and deps_made), (step, tool)
        deps_made |= bool(installs_deps & set(_make_targets(step.get("run", ""))))


def test_the_command_parser_finds_every_command_of_a_step() -> None:
    script = (
        "set +e\n"
        'make diff BASE="$BASE_SHA" DIFF_OUTPUT=pr-diff.md\n'
        "status=$?\n"
        "node_modules/.bin/cdk diff --all > out.txt 2>&1 || status=$?\n"
        'if [ -f out.txt ]; then jq . out.txt >> "$GITHUB_STEP_SUMMARY"; fi\n'
        "{ echo a; curl -s x | tee y; } >> z\n"
    )
    assert [command[0] for command in _commands(script)] == [
        "set", "make", "node_modules/.bin/cdk", "[", "jq", "echo", "curl", "tee",
    ]  # fmt: skip
    assert _make_targets(script) == ["diff"]


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
