"""The documented API: the curl blocks run as written against the local stack (the README's tour,
docs/API.md's every route), and docs/API.md's settings table is the service's settings."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
API_PAGE = ROOT / "docs" / "API.md"


def _section(page: Path, heading: str) -> str:
    """From `heading` (a whole line) to the next `## ` heading, or the end of the page."""
    text = page.read_text()
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _curl_block(page: Path, heading: str) -> str:
    (block,) = re.findall(r"```sh\n(.*?)```", _section(page, heading), re.DOTALL)
    return block


def _run(block: str, base_url: str) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=ROOT,
        env={**os.environ, "S": base_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_readme_tour_runs_against_the_service(base_url: str) -> None:
    output = _run(_curl_block(ROOT / "README.md", "## A 30-second tour"), base_url)
    short_link, page, raw = output.splitlines()
    assert short_link == "302 https://example.com/some/long/path"
    assert re.fullmatch(rf"{re.escape(base_url)}/p/\w+", page)
    assert raw == 'print("hello, Spito")'


def test_api_page_curl_block_runs_every_route(base_url: str) -> None:
    output = _run(_curl_block(API_PAGE, "## Every route with curl"), base_url)
    assert "302 https://example.com/some/long/path" in output
    assert 'print("hi")' in output
    assert '"content":null' in output
    assert '"content":"secret"' in output
    assert '"status":404' in output


def test_api_page_lists_every_setting_the_service_reads() -> None:
    settings_source = (ROOT / "service" / "settings.py").read_text()
    variables = set(re.findall(r'"((?:SPITO_[A-Z_]+)|PORT|AWS_REGION)"', settings_source))
    settings = _section(API_PAGE, "## Settings")
    assert variables
    assert {variable for variable in variables if f"`{variable}`" not in settings} == set()


def _documented_settings_defaults() -> dict[str, str]:
    """Each variable of docs/API.md's settings table with its default as written there."""
    section = _section(API_PAGE, "## Settings")
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
    "unset": None,  # an optional feature, off without it
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


def test_api_page_settings_defaults_are_the_real_defaults() -> None:
    source = (ROOT / "service" / "settings.py").read_text()
    read = re.findall(r'(\w+)=reader\.(?:get|required)\(\s*"(\w+)"', source)
    attributes = {variable: attribute for attribute, variable in read}
    settings = Settings.from_env({"SPITO_TABLE": "t", "SPITO_BUCKET": "b"})
    documented = _documented_settings_defaults()
    assert set(documented) == set(attributes)
    for variable, written in documented.items():
        if written == "required":
            continue
        actual = getattr(settings, attributes[variable])
        assert _value(written) == actual, f"{variable}: the page says {written}, code: {actual!r}"
