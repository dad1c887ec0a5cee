"""Every finding the app silences, so a pull request that silences one more is seen doing it.

Three kinds, each read from the synthesized assembly: cdk-nag (and CDK validation)
acknowledgments recorded in the stacks' metadata, checkov skips and cfn-lint ignores in the
resources' template Metadata. A suppression without a reason keeps an empty `reason`; the
report says so.

Used by ci/pr_diff/compare.py, and by tests/lambda/test_jobs_stack.py to read the jobs' own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ci.pr_diff.assembly import Synthesis


@dataclass(frozen=True, order=True)
class Suppression:
    """One silenced rule on one construct, with the reason given for it."""

    tool: str
    rule: str
    where: str
    reason: str


@dataclass(frozen=True)
class SuppressionChanges:
    """What the head silences that the base did not, and the reverse.

    A rule silenced at the same place on both sides with a different reason is `reworded`
    (before, after), not one removal and one addition.
    """

    added: list[Suppression]
    removed: list[Suppression]
    reworded: list[tuple[Suppression, Suppression]]


def changes(base: set[Suppression], head: set[Suppression]) -> SuppressionChanges:
    """The suppressions of `head` compared with those of `base`."""
    only_base = {(item.tool, item.rule, item.where): item for item in base - head}
    only_head = {(item.tool, item.rule, item.where): item for item in head - base}
    both = only_base.keys() & only_head.keys()
    return SuppressionChanges(
        added=sorted(item for key, item in only_head.items() if key not in both),
        removed=sorted(item for key, item in only_base.items() if key not in both),
        reworded=[(only_base[key], only_head[key]) for key in sorted(both)],
    )


def suppressions(synth: Synthesis) -> set[Suppression]:
    """Everything silenced in the assembly `synth` wrote."""
    found: set[Suppression] = set()
    for metadata in synth.out_dir.rglob("*.metadata.json"):
        found |= _acknowledgments(json.loads(metadata.read_text()))
    for stack in synth.stacks.values():
        found |= template_suppressions(json.loads(stack.template.read_text()))
    return found


def _acknowledgments(metadata: dict[str, list[dict[str, Any]]]) -> set[Suppression]:
    found = set()
    for path, entries in metadata.items():
        for entry in entries:
            if entry.get("type") != "aws:cdk:acknowledged-rules":
                continue
            for rule, reason in entry.get("data", {}).items():
                # CDK prefixes the rule with the plugin it belongs to ("Annotation::", ...).
                rule_id = str(rule).split("::")[-1]
                tool = "cdk-nag" if rule_id.startswith("AwsSolutions-") else "cdk validation"
                found.add(Suppression(tool, rule_id, path.lstrip("/"), str(reason)))
    return found


def template_suppressions(template: dict[str, Any]) -> set[Suppression]:
    """The checkov skips and cfn-lint ignores in the resources' Metadata of one template."""
    found = set()
    for logical_id, resource in template.get("Resources", {}).items():
        metadata = resource.get("Metadata", {})
        where = str(metadata.get("aws:cdk:path", logical_id)).removesuffix("/Resource")
        for skip in metadata.get("checkov", {}).get("skip", []):
            found.add(Suppression("checkov", skip["id"], where, skip.get("comment", "")))
        cfn_lint = metadata.get("cfn-lint", {})
        reasons = cfn_lint.get("reasons", {})  # beside the ignores: infra/cfn_lint.py
        for rule in cfn_lint.get("config", {}).get("ignore_checks", []):
            found.add(Suppression("cfn-lint", rule, where, str(reasons.get(rule, ""))))
    return found
