"""The rules as a CDK policy-validation plugin, run on the templates of every synth.

Why a policy-validation plugin written in Python, not a cdk-nag NagPack or cfn-lint rules:
- It reads the synthesized templates, everything AWS will see, and all of them at once: most of
  these rules join resources (an alarm, the topic it publishes to, that topic's policy and key,
  possibly in another stack through an export), which a NagPack's one-resource-at-a-time rules
  cannot, and it sees what aws-cdk-lib adds itself (auto-delete custom resources, policies).
- It registers exactly as cdk-nag 3 does (`Validations.of(app).add_plugins(...)`), reports in the
  same validation report, fails synth the same way, and is acknowledged with the same CDK API on
  the offending construct: one line in any CDK app, with no other tool to install or run.
- cfn-lint custom rules would hold only where cfn-lint runs (make synth here, never in another
  team's `cdk synth`), and would add a second way to write an exception.
"""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import (
    Acknowledgment,
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
    Token,
    Validations,
)
from constructs import IConstruct

from .model import Assembly, Finding
from .rules import RULES, Rule

PLUGIN_NAME = "aws-runtime-rules"
PLUGIN_VERSION = "1"


@jsii.implements(IPolicyValidationPlugin)
class AwsRuntimeRules:
    """Checks every template of the app against `rules` (all of `RULES` by default)."""

    def __init__(self, rules: Sequence[Rule] = RULES) -> None:
        self._rules = tuple(rules)

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str:
        return PLUGIN_VERSION

    @property
    def rule_ids(self) -> list[str]:
        return [rule.id for rule in self._rules]

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        assembly = Assembly.load(
            {
                stack.template_path: _concrete(stack.region)
                for stack in context.stack_templates or []
            }
        )
        findings = _findings(assembly, self._rules)
        sources = {rule.id: rule.source for rule in self._rules}
        return PolicyValidationPluginReport(
            success=not findings,
            violations=[_violation(finding, sources[finding.rule_id]) for finding in findings],
            plugin_version=PLUGIN_VERSION,
        )


def check_templates(
    templates: dict[str, str | None], rules: Sequence[Rule] = RULES
) -> list[Finding]:
    """The findings on template files outside a synth: `templates` maps each to its region."""
    return _findings(Assembly.load(templates), rules)


def _findings(assembly: Assembly, rules: Sequence[Rule]) -> list[Finding]:
    """Every rule's findings on every template, each once (a resource two stacks' alarms both
    reach is one finding)."""
    found = (
        finding
        for rule in rules
        for template in assembly.templates
        for finding in rule.check(assembly, template)
    )
    return list(dict.fromkeys(found))


def acknowledge_rule(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Accept one rule's finding on `construct` (the resource it names), with the reason why."""
    if rule_id not in {rule.id for rule in RULES}:
        raise ValueError(f"{rule_id} is no AWS runtime rule; the rules: {[r.id for r in RULES]}")
    if not reason.strip():
        raise ValueError(f"acknowledging {rule_id} on {construct.node.path} needs a reason")
    Validations.of(construct).acknowledge(
        Acknowledgment(id=f"{PLUGIN_NAME}::{rule_id}", reason=reason)
    )


def _concrete(region: str | None) -> str | None:
    """The stack's region, or None for an environment-agnostic stack."""
    return None if region is None or Token.is_unresolved(region) else region


def _violation(finding: Finding, source: str) -> PolicyViolation:
    return PolicyViolation(
        rule_name=finding.rule_id,
        description=finding.problem,
        fix=f"{finding.fix} (AWS documentation: {source})",
        violating_resources=[
            PolicyViolatingResource(
                resource_logical_id=finding.logical_id,
                template_path=finding.template_path,
                locations=[finding.location],
            )
        ],
    )
