"""One way to acknowledge a cdk-nag finding: one finding, one construct, one reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Accept `finding` (e.g. `AwsSolutions-IAM5[Resource::*]`) on `construct` and its children."""
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))
