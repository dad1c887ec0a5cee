"""Cross-stack references are strong.

A weak reference (Fn::GetStackOutput) leaves its consumer's template unchanged when the value
changes, so the CDK CLI skips the consumer and it keeps the old value. Strong ones make
CloudFormation refuse to change a value another stack still reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _templates(cdk_out: Path) -> dict[str, dict[str, Any]]:
    return {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in sorted(cdk_out.glob("*.template.json"))
    }


def _values_of(key: str, value: Any) -> Iterator[Any]:
    """Every value under `key` anywhere in a JSON document."""
    if isinstance(value, dict):
        for name, item in value.items():
            if name == key:
                yield item
            yield from _values_of(key, item)
    elif isinstance(value, list):
        for item in value:
            yield from _values_of(key, item)


@pytest.fixture(scope="module", params=["plain", "domain"])
def assembly(
    request: pytest.FixtureRequest, cdk_out: Path, domain_cdk_out: Path
) -> dict[str, dict[str, Any]]:
    return _templates(cdk_out if request.param == "plain" else domain_cdk_out)


def test_no_stack_reads_another_through_a_weak_reference(
    assembly: dict[str, dict[str, Any]],
) -> None:
    weak = [
        name for name, template in assembly.items() if "Fn::GetStackOutput" in json.dumps(template)
    ]
    assert weak == []


def test_every_import_is_an_export_of_another_stack_in_the_assembly(
    assembly: dict[str, dict[str, Any]],
) -> None:
    exports = {
        output["Export"]["Name"]: stack
        for stack, template in assembly.items()
        for output in template.get("Outputs", {}).values()
        if "Export" in output
    }
    imports = {
        (stack, name)
        for stack, template in assembly.items()
        for name in _values_of("Fn::ImportValue", template)
    }
    assert imports, "the stacks should share values"
    for stack, name in imports:
        assert exports.get(name) not in (None, stack), name


def test_every_cross_region_import_is_written_by_the_us_east_1_stack(
    assembly: dict[str, dict[str, Any]],
) -> None:
    written = {
        parameter
        for template in assembly.values()
        for writer in template["Resources"].values()
        if writer["Type"] == "Custom::CrossRegionExportWriter"
        for parameter in writer["Properties"]["WriterProps"]["exports"]
    }
    read = {
        parameter
        for template in assembly.values()
        for reader in template["Resources"].values()
        if reader["Type"] == "Custom::CrossRegionExportReader"
        for parameter in reader["Properties"]["ReaderProps"]["imports"]
    }
    assert read, "the edge reads its web ACL (and certificate) from us-east-1"
    assert read == written
