"""Who may do what, statement by statement, before and after: the report's IAM table.

`cdk diff`'s own IAM tables leave out managed policies (`AWS::IAM::ManagedPolicy`), so a new
`dynamodb:Scan` there passed unseen. This reads every policy document in both templates:
identity policies (inline, `AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`, the managed policies a
role, user or group attaches), trust policies, and resource policies (buckets, topics, queues,
KMS keys). A statement is keyed by where it lives, who it applies to, its effect, resources and
condition; the actions of the same key on both sides are compared one by one, so widening a
statement shows just the new actions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ci.pr_diff.templates import Template, construct_path, render, resources

# Where each resource type keeps its policy documents, and whom an identity policy applies to.
# Resource policies name their principals in each statement.
_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::IAM::Role": ("AssumeRolePolicyDocument",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
}
_INLINE_POLICIES = frozenset({"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"})
_ATTACHED_TO = ("Roles", "Users", "Groups")


@dataclass(frozen=True, order=True)
class Grant:
    """One statement's key: the same key on both sides is the same statement, actions aside."""

    policy: str  # the resource holding the document, e.g. "`Reader/ReadTable` (ManagedPolicy)"
    principal: str
    effect: str
    action_kind: str  # Action or NotAction
    resources: str
    condition: str


@dataclass(frozen=True)
class IamChange:
    """Actions a grant gains (`added`) or loses (`removed`)."""

    change: str  # added | removed
    grant: Grant
    actions: tuple[str, ...]


def iam_changes(base: Template, head: Template) -> list[IamChange]:
    """Every action granted or denied in `head` and not `base`, and the reverse."""
    before, after = _grants(base), _grants(head)
    changes = []
    for grant in sorted(before.keys() | after.keys()):
        added = after.get(grant, set()) - before.get(grant, set())
        removed = before.get(grant, set()) - after.get(grant, set())
        if added:
            changes.append(IamChange("added", grant, tuple(sorted(added))))
        if removed:
            changes.append(IamChange("removed", grant, tuple(sorted(removed))))
    return changes


def _grants(template: Template) -> dict[Grant, set[str]]:
    grants: dict[Grant, set[str]] = {}
    for grant, actions in _each_grant(template):
        grants.setdefault(grant, set()).update(actions)
    return grants


def _each_grant(template: Template) -> Iterator[tuple[Grant, list[str]]]:
    for logical_id, resource in resources(template).items():
        kind = str(resource.get("Type", ""))
        properties = resource.get("Properties", {})
        label = f"`{construct_path(template, logical_id)}` ({kind.rsplit('::', 1)[-1]})"
        for key in _DOCUMENTS.get(kind, ()):
            attached = _identities(template, logical_id, kind, properties)
            document = properties.get(key, {})
            yield from _statements(template, f"{label} {_document_name(key)}", document, attached)
        if kind in _INLINE_POLICIES:
            identity = [f"AWS:${{{construct_path(template, logical_id)}}}"]
            for policy in properties.get("Policies", []):
                name = render(template, policy.get("PolicyName", ""))
                document = policy.get("PolicyDocument", {})
                yield from _statements(template, f"{label} inline `{name}`", document, identity)
            for arn in properties.get("ManagedPolicyArns", []):
                grant = Grant(label, identity[0], "Allow", "Action", "", "")
                yield grant, [f"every action of managed policy {render(template, arn)}"]


def _document_name(key: str) -> str:
    return {"AssumeRolePolicyDocument": "trust policy", "KeyPolicy": "key policy"}.get(key, "")


def _identities(
    template: Template, logical_id: str, kind: str, properties: dict[str, Any]
) -> list[str] | None:
    """Whom an identity policy applies to; None for a document that names its principals."""
    if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        attached = [item for key in _ATTACHED_TO for item in properties.get(key, [])]
        return [f"AWS:{render(template, identity)}" for identity in attached] or ["(not attached)"]
    return None


def _statements(
    template: Template, policy: str, document: Any, identities: list[str] | None
) -> Iterator[tuple[Grant, list[str]]]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        action_kind = "NotAction" if "NotAction" in statement else "Action"
        actions = statement.get(action_kind, [])
        actions = [render(template, action) for action in _as_list(actions)]
        resource_key = "NotResource" if "NotResource" in statement else "Resource"
        targets = "\n".join(
            sorted(render(template, item) for item in _as_list(statement.get(resource_key, [])))
        )
        if resource_key == "NotResource":
            targets = f"NotResource: {targets}"
        condition = statement.get("Condition")
        condition_text = json.dumps(condition, sort_keys=True) if condition else ""
        principals = identities if identities is not None else _principals(template, statement)
        for principal in principals:
            grant = Grant(
                policy=policy.strip(),
                principal=principal,
                effect=str(statement.get("Effect", "")),
                action_kind=action_kind,
                resources=targets,
                condition=condition_text,
            )
            yield grant, actions


def _principals(template: Template, statement: dict[str, Any]) -> list[str]:
    key = "NotPrincipal" if "NotPrincipal" in statement else "Principal"
    principal = statement.get(key, "")
    prefix = "NOT " if key == "NotPrincipal" else ""
    if not isinstance(principal, dict):
        return [prefix + render(template, principal)]
    return [
        f"{prefix}{kind}:{render(template, value)}"
        for kind, values in sorted(principal.items())
        for value in _as_list(values)
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
