"""The pre-commit hooks stop a commit with a lint finding and let a clean one through."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with the project's hook config and its tools (.venv) beside it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(PROJECT_ROOT / ".pre-commit-config.yaml", repo)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", repo)
    (repo / ".venv").symlink_to(PROJECT_ROOT / ".venv")
    subprocess.run(["git", "init", "--quiet"], cwd=repo, check=True)
    return repo


def _run_hooks(repo: Path, *files: str) -> subprocess.CompletedProcess[str]:
    subprocess.run(["git", "add", *files], cwd=repo, check=True)
    return subprocess.run(
        [str(PRE_COMMIT), "run", "--files", *files],
        cwd=repo,
        env={"PATH": f"{PRE_COMMIT.parent}:/usr/bin:/bin", "PRE_COMMIT_HOME": str(repo / ".pc")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_clean_python_file_passes(repo: Path) -> None:
    (repo / "clean.py").write_text('"""Clean."""\n\nGREETING = "hello"\n')
    completed = _run_hooks(repo, "clean.py")
    assert completed.returncode == 0, completed.stdout


def test_unused_import_stops_the_commit(repo: Path) -> None:
    (repo / "unused.py").write_text('"""Unused import."""\n\nimport os\n')
    completed = _run_hooks(repo, "unused.py")
    assert completed.returncode == 1
    assert "F401" in completed.stdout


def test_invalid_workflow_stops_the_commit(repo: Path) -> None:
    workflow = repo / ".github" / "workflows" / "broken.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("on: push\njobs:\n  build:\n    steps:\n      - run: echo hi\n")
    completed = _run_hooks(repo, ".github/workflows/broken.yml")
    assert completed.returncode == 1
    assert '"runs-on" section is missing in job "build"' in completed.stdout


def test_unquoted_variable_in_a_shell_script_stops_the_commit(repo: Path) -> None:
    (repo / "clean-build.sh").write_text("#!/usr/bin/env bash\nset -eu\nrm -rf $1/build\n")
    completed = _run_hooks(repo, "clean-build.sh")
    assert completed.returncode == 1
    assert "SC2086" in completed.stdout
