"""The names the deployment answers to, told to the fleet without a stack cycle.

The service refuses to shorten a link to Spito itself (service/validation.py), and so must know
every name Spito answers to, the distribution's own `dxxxx.cloudfront.net` included. That name
exists only once the Edge stack is deployed, and the Edge stack depends on the Api stack (it
reaches the fleet's ALB), so the fleet's user data cannot name it. The Edge stack writes the
names to one SSM parameter instead (`PublicHostsParameter`), whose name both stacks derive from
the stage alone (`parameter_name`); the fleet's role may read that one parameter
(`allow_reading_public_hosts`), and the service reads it at start and every few minutes
(service/deployment_hosts.py). Before the first Edge deploy the parameter does not exist; the
service then goes on with the names it has.

GetParameter on one parameter is authorised by the parameter's ARN, `parameter/` followed by its
name without the leading slash ("Restricting access to specific parameters and paths", AWS
Systems Manager User Guide, https://docs.aws.amazon.com/systems-manager/latest/userguide/
ps-restrict-parameter-access.html). A standard String parameter: the names are public, so
nothing to encrypt, and the standard tier has no charge ("Managing parameter tiers").
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

# The variable the service reads the parameter's name from (service/settings.py).
ENVIRONMENT_VARIABLE = "SPITO_PUBLIC_HOSTS_PARAMETER"


def parameter_name(stage: str) -> str:
    """`/spito/<stage>/public-hosts`: one per stage, so stages in one account stay apart."""
    if not stage or "/" in stage:
        raise ValueError(f"stage {stage!r} must be a non-empty name without '/'")
    return f"/spito/{stage}/public-hosts"


class PublicHostsParameter(Construct):
    """The SSM String parameter `parameter_name(stage)`: `hosts`, comma-separated, in order.

    Attribute: `parameter`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, hosts: Sequence[str]):
        super().__init__(scope, construct_id)
        if not hosts:
            raise ValueError("PublicHostsParameter: hosts must name at least the distribution")
        self.parameter = ssm.StringParameter(
            self,
            "Parameter",
            parameter_name=parameter_name(stage),
            description=(
                f"Spito {stage}: every host name the deployment answers to; the API fleet refuses "
                "links to them"
            ),
            string_value=Fn.join(",", list(hosts)),
            tier=ssm.ParameterTier.STANDARD,
        )


def allow_reading_public_hosts(role: iam.IRole, *, stage: str) -> None:
    """Let `role` call ssm:GetParameter on this stage's parameter, and nothing else."""
    stack = Stack.of(role)
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["ssm:GetParameter"],
            resources=[
                stack.format_arn(
                    service="ssm",
                    resource="parameter",
                    resource_name=parameter_name(stage).lstrip("/"),
                    arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                )
            ],
        )
    )
