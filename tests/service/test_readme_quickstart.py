"""The README's quickstart curl block runs as written against the local stack."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _quickstart_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return next(block for block in blocks if "field()" in block)


def test_readme_quickstart_runs_against_the_service(base_url: str) -> None:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _quickstart_block()],
        cwd=ROOT,
        env={**os.environ, "S": base_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "302 https://example.com/some/long/path" in result.stdout
    assert 'print("hi")' in result.stdout
    assert '"content":null' in result.stdout
    assert '"content":"secret"' in result.stdout
    assert '"status":404' in result.stdout


def test_readme_lists_every_setting_the_service_reads() -> None:
    settings_source = (ROOT / "service" / "settings.py").read_text()
    variables = set(re.findall(r'"((?:SPITO_[A-Z_]+)|PORT|AWS_REGION)"', settings_source))
    readme = (ROOT / "README.md").read_text()
    assert variables
    assert {variable for variable in variables if f"`{variable}`" not in readme} == set()
