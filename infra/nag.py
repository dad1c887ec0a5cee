"""One way to acknowledge a cdk-nag finding or skip a checkov check: one finding, one construct,
one reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Accept `finding` (e.g. `AwsSolutions-IAM5[Resource::*]`) on `construct` and its children."""
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def skip_checkov(construct: IConstruct, check: str, reason: str) -> None:
    """Skip checkov's `check` (e.g. `CKV_AWS_18`) on the one CloudFormation resource `construct` is.

    Written into the resource's Metadata, where checkov reads it, so the reason ships with the
    template and applies to that resource only.
    """
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} is not a CloudFormation resource")
    metadata = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"].append({"id": check, "comment": reason})
    resource.add_metadata("checkov", metadata)
