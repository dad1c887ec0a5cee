"""The README's quickstart curl block runs as written against the local stack."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from service.settings import Settings

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


def _readme_settings_defaults() -> dict[str, str]:
    """Each variable of the README's settings table with its default as written there."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Settings", 1)[1].split("\n#", 1)[0]
    defaults: dict[str, str] = {}
    for row in re.findall(r"^\| (`.+?) \| (.+?) \| .+ \|$", section, re.MULTILINE):
        variables = re.findall(r"`([A-Z0-9_]+)`", row[0])
        values = [value.strip() for value in row[1].split(",")]
        if len(values) != len(variables):
            values = values * len(variables)  # one default written once for several variables
        defaults |= dict(zip(variables, values, strict=True))
    return defaults


_WORDS: dict[str, object] = {
    "required": None,  # no default: start-up fails without it
    "AWS": None,  # no endpoint override
    "from the request": None,
    "none": frozenset(),
}
_UNITS = {"MiB": 1024 * 1024, "KiB": 1024, "year": 365 * 86400, "days": 86400}


def _value(written: str) -> object:
    text = written.split(" (", 1)[0].strip("`")
    if text in _WORDS:
        return _WORDS[text]
    if text in {"true", "false"}:
        return text == "true"
    number, _, unit = text.partition(" ")
    if unit in _UNITS:
        return int(number) * _UNITS[unit]
    try:
        return float(text)
    except ValueError:
        return text


def test_readme_settings_defaults_are_the_real_defaults() -> None:
    source = (ROOT / "service" / "settings.py").read_text()
    read = re.findall(r'(\w+)=reader\.(?:get|required)\(\s*"(\w+)"', source)
    attributes = {variable: attribute for attribute, variable in read}
    settings = Settings.from_env({"SPITO_TABLE": "t", "SPITO_BUCKET": "b"})
    documented = _readme_settings_defaults()
    assert set(documented) == set(attributes)
    for variable, written in documented.items():
        if written == "required":
            continue
        actual = getattr(settings, attributes[variable])
        assert _value(written) == actual, f"{variable}: README says {written}, code has {actual!r}"
