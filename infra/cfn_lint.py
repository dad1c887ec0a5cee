"""One way to ignore a cfn-lint rule: one rule, one resource, one reason, kept in the template.

cfn-lint reads `Metadata.cfn-lint.config.ignore_checks` of each resource; the reason for each
rule sits beside it in `Metadata.cfn-lint.reasons` (cfn-lint ignores that key), so the review
of a pull request shows why (`scripts/pr_diff/suppressions.py` reads both).
"""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import IConstruct


def ignore_check(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Ignore cfn-lint's `rule_id` (e.g. `W3005`) on `construct`'s CloudFormation resource only."""
    if not reason.strip():
        raise ValueError(f"ignore_check: {rule_id} on {construct.node.path} needs a reason")
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"ignore_check: {construct.node.path} is not a CloudFormation resource")
    existing = resource.get_metadata("cfn-lint") or {"config": {"ignore_checks": []}, "reasons": {}}
    resource.add_metadata(
        "cfn-lint",
        {
            "config": {"ignore_checks": [*existing["config"]["ignore_checks"], rule_id]},
            "reasons": {**existing["reasons"], rule_id: reason},
        },
    )
