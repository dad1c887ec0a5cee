"""No policy in any synthesized stack grants anything on `*` unless AWS leaves no other way.

A sweep over every IAM policy, inline role policy, resource policy and KMS key policy of every
stack of the dev, prod and domain assemblies (raw JSON: it has to see every resource). Each
exception below says why the wildcard is forced, and must still be needed: a stale entry fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

# (resource type, the statement's actions) -> why `Resource: "*"` is the only way to grant them.
WILDCARD_ALLOWED: dict[tuple[str, frozenset[str]], str] = {
    ("AWS::IAM::Policy", frozenset({"ec2:DescribeSecurityGroups"})): (
        "the edge's deploy-time lookup of CloudFront's VPC-origin security group; the action has "
        "no resource-level permissions"
    ),
    ("AWS::IAM::Policy", frozenset({"dynamodb:ListStreams"})): (
        "the reaper's stream event source; ListStreams has no resource-level permissions"
    ),
    (
        "AWS::IAM::Policy",
        frozenset({"cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"}),
    ): (
        "written by the CDK's own BucketDeployment provider for the web app, with no option to "
        "name the distribution"
    ),
}
# In a key policy, "*" is the key the policy is attached to, never any other resource.
KEY_POLICY = "AWS::KMS::Key"
POLICY_PROPERTIES = {
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    KEY_POLICY: "KeyPolicy",
}


class Grant(NamedTuple):
    template: str
    logical_id: str
    resource_type: str
    statement: dict[str, Any]


def _documents(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    properties = resource.get("Properties", {})
    if resource["Type"] in POLICY_PROPERTIES:
        yield properties[POLICY_PROPERTIES[resource["Type"]]]
    if resource["Type"] == "AWS::IAM::Role":
        yield from (policy["PolicyDocument"] for policy in properties.get("Policies", []))


def _allows(assemblies: list[Path]) -> list[Grant]:
    grants = []
    for assembly in assemblies:
        for path in sorted(assembly.glob("*.template.json")):
            resources = json.loads(path.read_text()).get("Resources", {})
            for logical_id, resource in resources.items():
                for document in _documents(resource):
                    grants += [
                        Grant(f"{assembly.name}/{path.name}", logical_id, resource["Type"], s)
                        for s in document["Statement"]
                        if s["Effect"] == "Allow"
                    ]
    return grants


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def grants(cdk_out: Path, domain_cdk_out: Path) -> list[Grant]:
    found = _allows([cdk_out, domain_cdk_out])
    assert {grant.template.split("/")[1] for grant in found} >= {
        f"Spito-{stage}-{unit}.template.json"
        for stage in ("dev", "prod")
        for unit in ("Data", "Api", "Edge", "Jobs")
    }
    return found


def test_no_statement_allows_everything_except_what_it_names(grants: list[Grant]) -> None:
    offenders = [grant for grant in grants if {"NotResource", "NotAction"} & set(grant.statement)]
    assert offenders == []


def test_no_policy_grants_on_every_resource_unless_aws_forces_it(grants: list[Grant]) -> None:
    used = set()
    offenders = []
    for grant in grants:
        on_everything = "*" in _as_list(grant.statement.get("Resource"))
        if not on_everything or grant.resource_type == KEY_POLICY:
            continue
        key = (grant.resource_type, frozenset(_as_list(grant.statement["Action"])))
        if key in WILDCARD_ALLOWED:
            used.add(key)
        else:
            offenders.append((grant.template, grant.logical_id, sorted(key[1])))
    assert offenders == []
    assert used == set(WILDCARD_ALLOWED), "an allowed wildcard is no longer needed: remove it"


def test_key_policies_name_no_other_resource_than_their_key(grants: list[Grant]) -> None:
    key_statements = [grant.statement for grant in grants if grant.resource_type == KEY_POLICY]
    assert key_statements
    assert all(statement["Resource"] == "*" for statement in key_statements)


def test_service_principals_in_key_policies_are_tied_to_this_account(grants: list[Grant]) -> None:
    # A bare service principal would let that service use the key for any account's resources.
    services = [
        grant
        for grant in grants
        if grant.resource_type == KEY_POLICY and "Service" in grant.statement["Principal"]
    ]
    assert services
    for grant in services:
        assert "aws:SourceAccount" in grant.statement["Condition"]["StringEquals"], grant
