"""The documented architecture matches the app: the README's diagram, docs/ARCHITECTURE.md's
routing table.

The diagram has one box per stack, each holding a node for each of the stack's key resources;
what only some stages have is marked; arrows between boxes are exactly the stack dependencies.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from infra.routing import DEFAULT_ORIGIN, ROUTES

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ARCHITECTURE_PAGE = ROOT / "docs" / "ARCHITECTURE.md"
ORIGIN_NAMES = {"spa": "S3", "api": "ALB"}
# Key resources, by how the diagram labels them: one node for each resource of the type.
ONE_NODE_EACH = {
    "AWS::CloudFront::Distribution": "CloudFront:",
    "AWS::CloudFront::Function": "CloudFront Function:",
    "AWS::WAFv2::WebACL": "WAF web ACL:",
    "AWS::CertificateManager::Certificate": "ACM certificate:",
    "AWS::S3::Bucket": "S3:",
    "AWS::DynamoDB::Table": "DynamoDB:",
    "AWS::EC2::VPC": "VPC:",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "ALB:",
    "AWS::AutoScaling::AutoScalingGroup": "EC2 Auto Scaling group:",
    "AWS::SecretsManager::Secret": "Secrets Manager:",
    "AWS::SNS::Topic": "SNS:",
    "AWS::SQS::Queue": "SQS:",
    "AWS::Lambda::Function": "Lambda:",
}
# ...and one node for all the resources of the type in a stack.
ONE_NODE_FOR_ALL = {
    "AWS::Route53::RecordSet": "Route 53",
    "AWS::CloudWatch::Alarm": "CloudWatch alarms",
}
# Functions the CDK adds to run its own custom resources (named after their resource type, or
# after a singleton's UUID) are not Spito's and have no node.
CDK_OWN_FUNCTION = re.compile(r"^(Custom|AWS[0-9a-f]{32})")
# Marks for what exists only with a domain, or only where the WAF is on (prod, not dev).
WITH_A_DOMAIN = "with a domain"
WAF_ON = "WAF on"
ARROW = re.compile(r'\s*(?:--\s*"[^"]*"\s*-->|-\.->|-->|---)\s*')
NODE = re.compile(r"^\s*(\w+)(?:\[\(|\(\[|\[)(.*?)(?:\)\]|\]\)|\])\s*$")


@dataclass(frozen=True)
class Box:
    label: str
    nodes: dict[str, str]  # node id -> label


@dataclass(frozen=True)
class Diagram:
    boxes: dict[str, Box]  # box id (the stack's name without "Spito-<stage>-") -> box
    edges: list[tuple[str, str]]

    def box_of(self, node: str) -> str | None:
        return next((name for name, box in self.boxes.items() if node in box.nodes), None)


def _section(page: Path, heading: str) -> str:
    """From `heading` (a whole line) to the next `## ` heading, or the end of the page."""
    text = page.read_text()
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _architecture_section() -> str:
    return _section(README, "## Architecture")


@cache
def _diagram() -> Diagram:
    (source,) = re.findall(r"```mermaid\n(.*?)```", _architecture_section(), re.DOTALL)
    boxes = {
        name: Box(
            label=label,
            nodes={m[1]: m[2] for line in body.splitlines() if (m := NODE.match(line))},
        )
        for name, label, body in re.findall(
            r'^  subgraph (\w+)\["([^"]*)"\]\n(.*?)^  end$', source, re.DOTALL | re.MULTILINE
        )
    }
    edges = [
        (left, right)
        for line in source.splitlines()
        if ARROW.search(line)
        for left, right in itertools.pairwise(ARROW.split(line.strip()))
    ]
    return Diagram(boxes=boxes, edges=edges)


def _stacks(cdk_out: Path, stage: str) -> dict[str, dict[str, Any]]:
    """Stack name without "Spito-<stage>-" -> its manifest artifact."""
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    prefix = f"Spito-{stage}-"
    return {
        name.removeprefix(prefix): artifact
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack" and name.startswith(prefix)
    }


def _key_resources(template: dict[str, Any]) -> Counter[str]:
    return Counter(
        resource["Type"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in ONE_NODE_EACH | ONE_NODE_FOR_ALL
        and not (resource["Type"] == "AWS::Lambda::Function" and CDK_OWN_FUNCTION.match(logical_id))
    )


@pytest.fixture(scope="module")
def variants(cdk_out: Path, domain_cdk_out: Path) -> dict[str, dict[str, Counter[str]]]:
    """Per variant (dev, prod, prod with a domain): stack -> its key resources by type."""
    where = {"dev": (cdk_out, "dev"), "prod": (cdk_out, "prod"), "domain": (domain_cdk_out, "prod")}
    return {
        variant: {
            stack: _key_resources(
                json.loads((out / f"Spito-{stage}-{stack}.template.json").read_text())
            )
            for stack in _stacks(out, stage)
        }
        for variant, (out, stage) in where.items()
    }


def _labelled(box: Box, prefix: str) -> list[str]:
    return [label for label in box.nodes.values() if label.startswith(prefix)]


def test_diagram_has_one_box_per_stack_of_the_app(domain_cdk_out: Path) -> None:
    # The domain variant of prod has every stack the app can create.
    assert set(_diagram().boxes) == set(_stacks(domain_cdk_out, "prod"))
    for name, box in _diagram().boxes.items():
        assert box.label.startswith(f"Spito-stage-{name}"), box.label


def test_each_box_has_a_node_for_each_key_resource_of_its_stack(
    variants: dict[str, dict[str, Counter[str]]],
) -> None:
    for stack, resources in variants["domain"].items():
        box = _diagram().boxes[stack]
        for resource_type, prefix in ONE_NODE_EACH.items():
            assert len(_labelled(box, prefix)) == resources[resource_type], (stack, resource_type)
        for resource_type, prefix in ONE_NODE_FOR_ALL.items():
            assert len(_labelled(box, prefix)) == min(resources[resource_type], 1), (stack, prefix)


def _mark(present_in: set[str]) -> str | None:
    """The mark for what exists only in some variants, or None for what exists in all."""
    if present_in == {"domain"}:
        return WITH_A_DOMAIN
    if present_in == {"prod", "domain"}:
        return WAF_ON
    assert present_in == {"dev", "prod", "domain"}, present_in
    return None


def test_boxes_and_nodes_only_some_stages_have_say_when(
    variants: dict[str, dict[str, Counter[str]]],
) -> None:
    for stack, box in _diagram().boxes.items():
        stack_in = {variant for variant, stacks in variants.items() if stack in stacks}
        box_mark = _mark(stack_in)
        assert box_mark is None or box_mark in box.label, box.label
        for resource_type, prefix in (ONE_NODE_EACH | ONE_NODE_FOR_ALL).items():
            present_in = {
                v for v, stacks in variants.items() if stacks.get(stack, Counter())[resource_type]
            }
            if present_in and present_in != stack_in:
                mark = _mark(present_in)
                assert mark is not None
                for label in _labelled(box, prefix):
                    assert mark in label, label


def test_arrows_between_boxes_are_the_stack_dependencies(
    cdk_out: Path, domain_cdk_out: Path
) -> None:
    diagram = _diagram()
    drawn = {
        frozenset((diagram.box_of(left), diagram.box_of(right)))
        for left, right in diagram.edges
        if None not in (diagram.box_of(left), diagram.box_of(right))
        and diagram.box_of(left) != diagram.box_of(right)
    }
    dependencies = {
        frozenset((stack, dependency.removeprefix(f"Spito-{stage}-")))
        for out, stage in ((cdk_out, "dev"), (cdk_out, "prod"), (domain_cdk_out, "prod"))
        for stack, artifact in _stacks(out, stage).items()
        for dependency in artifact.get("dependencies", [])
        if not dependency.endswith(".assets")
    }
    assert drawn == dependencies


def test_every_arrow_joins_nodes_of_the_diagram() -> None:
    diagram = _diagram()
    outside = {"viewer"}  # the one node outside every box
    for left, right in diagram.edges:
        for node in (left, right):
            assert node in outside or diagram.box_of(node) is not None, node


def test_routing_table_is_the_one_cloudfront_is_built_from() -> None:
    rows = re.findall(
        r"^\| `([^`]+)`(?: \(default\))? \| (\w+) \| (yes|no) \|",
        _section(ARCHITECTURE_PAGE, "## Routing: one table for CloudFront and `make dev`"),
        re.M,
    )
    expected = [
        (route.pattern, ORIGIN_NAMES[route.origin.value], "yes" if route.spa_fallback else "no")
        for route in ROUTES
    ]
    assert rows == [*expected, ("*", ORIGIN_NAMES[DEFAULT_ORIGIN.value], "no")]
