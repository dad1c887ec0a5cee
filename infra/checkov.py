"""One way to skip a checkov check: one check, one resource, one reason, kept in the template."""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import IConstruct


def skip_check(construct: IConstruct, check_id: str, reason: str) -> None:
    """Skip `check_id` (e.g. `CKV_AWS_117`) on `construct`'s CloudFormation resource only.

    checkov reads `Metadata.checkov.skip` of each resource, so the reason travels with the
    template and every other resource is still checked.
    """
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"skip_check: {construct.node.path} is not a CloudFormation resource")
    existing = resource.get_metadata("checkov") or {"skip": []}
    skip = [*existing["skip"], {"id": check_id, "comment": reason}]
    resource.add_metadata("checkov", {"skip": skip})
