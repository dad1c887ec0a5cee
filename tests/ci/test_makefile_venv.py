"""The Makefile's virtualenv rules on a clean Debian: `python3 -m venv` without Debian's
python3-venv stops after bin/python, with no pip; the next `make` must make it again, not take
it as done. Offline: pip installs nothing here but itself, from the wheel Python bundles."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("target", "venv", "requirements"),
    [
        (".venv/.installed", ".venv", ["requirements.txt", "requirements-dev.txt"]),
        (".tools/checkov/bin/checkov", ".tools/checkov", ["requirements-checkov.txt"]),
    ],
)
def test_a_virtualenv_left_without_pip_is_made_again(
    tmp_path: Path, target: str, venv: str, requirements: list[str]
) -> None:
    shutil.copy(PROJECT_ROOT / "Makefile", tmp_path)
    (tmp_path / "service").mkdir()
    for name in [*requirements, "service/requirements.txt"]:
        (tmp_path / name).write_text("")  # nothing to install but pip itself
    python3 = shutil.which("python3")
    assert python3, "the Makefile makes its virtualenvs with python3"
    # What Debian's python3 leaves without python3-venv: bin/python, no pip.
    subprocess.run([python3, "-m", "venv", "--without-pip", str(tmp_path / venv)], check=True)

    completed = subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=tmp_path,
        env={**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": ""},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / venv / "bin" / "pip").exists()
