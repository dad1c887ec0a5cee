"""A Stack whose availability zones are given by name, so nothing looks them up at synth.

`ec2.Vpc` reads `Stack.availability_zones` even when it is given its zones by name (to check
they are a subset). For a stack with an explicit account and region that property is a context
lookup: the CDK records it under `missing` in manifest.json and the CLI then needs credentials to
answer it (`Stack.availability_zones`, https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk/Stack.html:
"If the stack is environment-agnostic ... Fn::GetAZs ... Otherwise, uses the context provider ...
To specify a different strategy for selecting availability zones override this method").
Overriding it here answers the question with the zones the app already chose.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack, Token
from constructs import Construct

from .props import PropError

# The key the CDK's availability-zones context provider answers (cloud_assembly_schema
# AvailabilityZonesContextQuery: account and region), as it appears in cdk.context.json.
AZ_CONTEXT_KEY = "availability-zones:account={account}:region={region}"


class ZonedStack(Stack):
    """A `Stack` in which `availability_zones` are the given zones, not a context lookup.

    Props: `availability_zones`, the zones the stack's VPC spans (two or more, of the stack's
    region); every other keyword goes to `Stack` unchanged (`env`, `description`...).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        availability_zones: Sequence[str],
        **stack_props: Any,
    ) -> None:
        super().__init__(scope, construct_id, **stack_props)
        if isinstance(availability_zones, str) or not availability_zones:
            raise PropError(
                f"ZonedStack: availability_zones={availability_zones!r} must list the zones by "
                "name; pass e.g. ['eu-central-1a', 'eu-central-1b']"
            )
        self._zones = list(availability_zones)

    @property
    def availability_zones(self) -> list[str]:
        """The zones given at construction (see the module docstring)."""
        return self._zones


def zones_need_a_lookup(stack: Stack) -> bool:
    """Whether reading `stack.availability_zones` would be a context lookup at synth: an
    explicit account and region, no override of the property, and no answer in the context."""
    if Token.is_unresolved(stack.account) or Token.is_unresolved(stack.region):
        return False  # environment-agnostic: Fn::GetAZs, resolved by CloudFormation
    if type(stack).availability_zones is not Stack.availability_zones:
        return False
    key = AZ_CONTEXT_KEY.format(account=stack.account, region=stack.region)
    return stack.node.try_get_context(key) is None
