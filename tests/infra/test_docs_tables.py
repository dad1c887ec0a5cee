"""The documentation's configuration and cost tables are generated from the code they describe."""

from __future__ import annotations

import re
from pathlib import Path

from docgen import config_table, cost_estimate
from tests.fixtures.cdk_app import REPO_ROOT, cdk_context


def _block(page: str, name: str) -> str:
    text = (REPO_ROOT / "docs" / page).read_text()
    match = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.DOTALL)
    assert match, f"docs/{page} has no {name} block"
    return match.group(1)


def test_configuration_table_lists_every_field_with_its_value_per_stage() -> None:
    assert _block("CONFIGURATION.md", "config-table") == config_table.render(cdk_context())


def test_cost_table_matches_the_synthesized_stacks(cdk_out: Path) -> None:
    assert _block("DEPLOY.md", "cost-table") == cost_estimate.render(cdk_out, ["dev", "prod"])
