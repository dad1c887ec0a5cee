"""docs/DEPLOY.md's first deploy explains every stack output the app really has, and no other."""

from __future__ import annotations

import json
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Outputs the CDK adds itself for references between stacks; not for people.
_REFERENCE_OUTPUT = re.compile(r"^(PublishOutput|ExportsOutput)")
_ROW = re.compile(r"^\s*\| `Spito-<stage>-(?P<stack>[A-Za-z]+)` \| `(?P<output>\w+)` \|")


def _documented_outputs() -> set[tuple[str, str]]:
    page = (PROJECT_ROOT / "docs" / "DEPLOY.md").read_text()
    deploy = page.split("\n## First deploy, step by step\n", 1)[1].split("\n## ", 1)[0]
    return {
        (match["stack"], match["output"]) for match in map(_ROW.match, deploy.splitlines()) if match
    }


def _synthesized_outputs(cdk_out: Path) -> set[tuple[str, str]]:
    outputs = set()
    for template in cdk_out.glob("Spito-*-*.template.json"):
        stack = template.name.removesuffix(".template.json").split("-", 2)[2]
        for name in json.loads(template.read_text()).get("Outputs", {}):
            if not _REFERENCE_OUTPUT.match(name):
                outputs.add((stack, name))
    return outputs


def test_deploy_page_output_table_matches_the_synthesized_outputs(cdk_out: Path) -> None:
    assert _documented_outputs() == _synthesized_outputs(cdk_out)
