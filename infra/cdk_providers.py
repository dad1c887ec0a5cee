"""Checkov skips for the Lambda functions the CDK itself adds to run custom resources.

They run only during deploys, are invoked by CloudFormation alone and are maintained by the CDK,
so the checks written for application functions don't apply to them.
"""

from __future__ import annotations

import jsii
from aws_cdk import CfnResource, Stack
from constructs import IConstruct, IValidation

from .cfn_lint import ignore_redundant_role_dependency
from .checkov import skip_check

PROVIDER_FUNCTION_SKIPS = {
    "CKV_AWS_115": "A CDK custom-resource provider runs once per deploy; CloudFormation is its "
    "only caller, so a concurrency limit protects nothing.",
    "CKV_AWS_116": "CloudFormation invokes the CDK provider synchronously and reports a failure "
    "as a failed deploy; there is no event to dead-letter.",
    "CKV_AWS_117": "The CDK provider calls only AWS APIs and reads no private data; a VPC would "
    "add ENIs and NAT dependence to every deploy.",
}


def skip_provider_function_checks(function: IConstruct) -> None:
    """Skip the application-Lambda checks on one CDK-generated provider function."""
    for check, reason in PROVIDER_FUNCTION_SKIPS.items():
        skip_check(function, check, reason)
    ignore_redundant_role_dependency(function)


# The providers behind cross-region references (ExportWriter in the producing stack, ExportReader
# in the consuming one), singletons the CDK names by their resource type.
CROSS_REGION_PROVIDER_IDS = (
    "Custom::CrossRegionExportWriterCustomResourceProvider",
    "Custom::CrossRegionExportReaderCustomResourceProvider",
)


@jsii.implements(IValidation)
class CrossRegionProviderSkips:
    """Skips the application-Lambda checks on a stack's cross-region reference providers.

    The CDK creates those providers while it resolves references, after every construct and
    aspect has run; a validation of the stack is the first hook that runs after them (and still
    before the template is written). It finds nothing to flag, so it returns no errors.
    """

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._done = False

    def validate(self) -> list[str]:
        if not self._done:
            self._done = True
            for provider_id in CROSS_REGION_PROVIDER_IDS:
                provider = self._stack.node.try_find_child(provider_id)
                if provider is not None:
                    skip_provider_function_checks(provider.node.find_child("Handler"))
        return []


# The provider behind `auto_delete_objects`, one per stack whatever the number of buckets.
AUTO_DELETE_PROVIDER_ID = "Custom::S3AutoDeleteObjectsCustomResourceProvider"


def skip_auto_delete_provider_checks(bucket: IConstruct) -> None:
    """Skip the application-Lambda checks on the stack's auto-delete provider, once per stack.

    Call it after creating a bucket with `auto_delete_objects`; later buckets share the provider.
    """
    provider = Stack.of(bucket).node.try_find_child(AUTO_DELETE_PROVIDER_ID)
    if provider is None:
        raise ValueError(f"{bucket.node.path} has no auto-delete provider in its stack")
    handler = provider.node.find_child("Handler")
    if not isinstance(handler, CfnResource) or handler.get_metadata("checkov") is None:
        skip_provider_function_checks(handler)
