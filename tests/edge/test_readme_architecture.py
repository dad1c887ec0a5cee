"""The README's architecture section matches the app: its diagram's stacks and its routing table."""

from __future__ import annotations

import json
import re
from pathlib import Path

from infra.routing import DEFAULT_ORIGIN, ROUTES

README = Path(__file__).resolve().parents[2] / "README.md"
ORIGIN_NAMES = {"spa": "S3", "api": "ALB"}


def _architecture_section() -> str:
    text = README.read_text()
    start = text.index("## Architecture")
    return text[start : text.index("\n## ", start + 1)]


def test_diagram_has_one_box_per_stack_of_the_app(domain_cdk_out: Path) -> None:
    # The domain variant of prod has every stack the app can create.
    manifest = json.loads((domain_cdk_out / "manifest.json").read_text())
    stacks = {
        name.removeprefix("Spito-prod-")
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    (diagram,) = re.findall(r"```mermaid\n(.*?)```", _architecture_section(), re.DOTALL)
    boxes = set(re.findall(r'subgraph \w+\["Spito-stage-(\w+)', diagram))
    assert boxes == stacks


def test_routing_table_is_the_one_cloudfront_is_built_from() -> None:
    rows = re.findall(r"^\| `([^`]+)`(?: \(default\))? \| (\w+) \|", _architecture_section(), re.M)
    expected = [(route.pattern, ORIGIN_NAMES[route.origin.value]) for route in ROUTES]
    assert rows == [*expected, ("*", ORIGIN_NAMES[DEFAULT_ORIGIN.value])]
