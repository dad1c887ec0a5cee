"""Cross-stack references are strong, and the origin secret rotates through them in one deploy.

A weak reference (Fn::GetStackOutput) leaves its consumer's template unchanged when the value
changes, so the CDK CLI skips the consumer and it keeps the old value. Strong ones make
CloudFormation refuse to change a value another stack still reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.api_fleet import ORIGIN_VERIFY_HEADER
from tests.edge.templates import (
    Templates,
    distribution_config,
    imported,
    logical_id,
    only,
)
from tests.fixtures.cdk_app import (
    cdk_context,
    synthesize,
    synthesized_once,
    template_json_loader,
    template_loader,
)

SECRET = "AWS::SecretsManager::Secret"


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


# --- Rotating the origin secret: spito.edge.origin_secret_generation 1 -> 2, stage dev.


def _generation_2_context() -> dict[str, Any]:
    context = cdk_context()
    context["spito"]["stages"]["dev"]["edge"] = {"origin_secret_generation": 2}
    return context


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    """Stage dev synthesized with origin secret generation 2."""
    outdir = synthesized_once(
        tmp_path_factory,
        "cdk.rotated.out",
        partial(synthesize, stages=("dev",), context_of=_generation_2_context),
    )
    return template_loader(template_json_loader(outdir))


def _sent_secret(edge: Template) -> Any:
    """The secret ARN reference inside CloudFront's origin header value."""
    (origin,) = [o for o in distribution_config(edge)["Origins"] if "CustomOriginConfig" in o]
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == ORIGIN_VERIFY_HEADER
    return header["HeaderValue"]["Fn::Join"][1][1]


def _accepted_secrets(api: Template) -> list[Any]:
    """The secret references in the listener rule's header condition, in order."""
    _, rule = only(api, "AWS::ElasticLoadBalancingV2::ListenerRule")
    (condition,) = rule["Properties"]["Conditions"]
    assert condition["HttpHeaderConfig"]["HttpHeaderName"] == ORIGIN_VERIFY_HEADER
    return [value["Fn::Join"][1][1] for value in condition["HttpHeaderConfig"]["Values"]]


@pytest.fixture(scope="module")
def secret_ids(cdk_template: Templates, rotated: Templates) -> tuple[str, str]:
    """(generation 1's secret, generation 2's secret), as logical ids of the Api stack."""
    first = logical_id(cdk_template("Spito-dev-Api"), SECRET)
    (second,) = set(rotated("Spito-dev-Api").find_resources(SECRET)) - {first}
    return first, second


def test_a_bump_adds_a_secret_and_keeps_the_one_cloudfront_still_sends(
    rotated: Templates, secret_ids: tuple[str, str]
) -> None:
    first, second = secret_ids
    assert set(rotated("Spito-dev-Api").find_resources(SECRET)) == {first, second}


def test_after_a_bump_the_listener_accepts_the_new_and_the_previous_secret(
    cdk_template: Templates, rotated: Templates, secret_ids: tuple[str, str]
) -> None:
    first, second = secret_ids
    assert _accepted_secrets(cdk_template("Spito-dev-Api")) == [{"Ref": first}]
    assert _accepted_secrets(rotated("Spito-dev-Api")) == [{"Ref": second}, {"Ref": first}]


def test_after_a_bump_cloudfront_sends_the_new_secret_and_its_template_changes(
    cdk_template: Templates, rotated: Templates, secret_ids: tuple[str, str]
) -> None:
    first, second = secret_ids
    before, after = (
        _sent_secret(cdk_template("Spito-dev-Edge")),
        _sent_secret(rotated("Spito-dev-Edge")),
    )
    assert imported(cdk_template("Spito-dev-Api"), before) == {"Ref": first}
    assert imported(rotated("Spito-dev-Api"), after) == {"Ref": second}
    assert before != after  # so `cdk deploy` cannot skip the edge


def test_after_a_bump_the_previous_secret_stays_exported_until_the_edge_switches(
    cdk_template: Templates, rotated: Templates, secret_ids: tuple[str, str]
) -> None:
    # The Api stack deploys first; removing the export the old edge imports would fail it.
    first, _ = secret_ids
    still_imported = _sent_secret(cdk_template("Spito-dev-Edge"))
    assert imported(rotated("Spito-dev-Api"), still_imported) == {"Ref": first}
