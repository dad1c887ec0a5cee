"""Adding or removing a domain on a running stage never points CloudFront at a missing listener.

`cdk deploy --all` deploys the Api stack before the edge, so for one deploy the Api stack's new
template runs beside the edge's old one. Each step below is a pair of consecutive deploys of the
prod stage; in each, the port the old edge uses and the port the new edge uses must both be
listeners of the new Api template, and the new edge must admit CloudFront on its port.

Adding a domain: no domain -> domain with `edge.origin_switch: to_https` -> domain.
Removing it: domain -> domain with `edge.origin_switch: to_http` -> no domain.
"""

from __future__ import annotations

import itertools
from functools import partial
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.edge.templates import Templates, api_origin, api_origin_port
from tests.fixtures.cdk_app import (
    DOMAIN_STAGE,
    domain_context,
    synthesize,
    synthesized_once,
    template_json_loader,
    template_loader,
)

STAGE = DOMAIN_STAGE


def _switch_context(switch: str) -> dict[str, Any]:
    context = domain_context()
    context["spito"]["stages"][STAGE]["edge"]["origin_switch"] = switch
    return context


def _switched(tmp_path_factory: pytest.TempPathFactory, switch: str) -> Templates:
    outdir = synthesized_once(
        tmp_path_factory,
        f"cdk.switch-{switch}.out",
        partial(synthesize, stages=(STAGE,), context_of=partial(_switch_context, switch)),
    )
    return template_loader(template_json_loader(outdir))


@pytest.fixture(scope="module")
def states(
    tmp_path_factory: pytest.TempPathFactory, cdk_template: Templates, domain_template: Templates
) -> dict[str, Templates]:
    """The prod stage's templates in each state a domain change passes through."""
    return {
        "no domain": cdk_template,
        "to_https": _switched(tmp_path_factory, "to_https"),
        "domain": domain_template,
        "to_http": _switched(tmp_path_factory, "to_http"),
    }


def _listener_ports(api: Template) -> set[int]:
    listeners = api.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()
    return {int(listener["Properties"]["Port"]) for listener in listeners}


def _admitted_ports(edge: Template) -> set[int]:
    rules = edge.find_resources("AWS::EC2::SecurityGroupIngress").values()
    return {int(rule["Properties"]["FromPort"]) for rule in rules}


def broken_steps(path: list[str], states: dict[str, Templates]) -> list[str]:
    """Each deploy of `path` in which CloudFront would point at a port the ALB has not got."""
    broken = []
    for before, after in itertools.pairwise(path):
        old_edge = states[before](f"Spito-{STAGE}-Edge")
        new_api, new_edge = (
            states[after](f"Spito-{STAGE}-Api"),
            states[after](f"Spito-{STAGE}-Edge"),
        )
        listeners = _listener_ports(new_api)
        if api_origin_port(old_edge) not in listeners:
            broken.append(f"{before} -> {after}: the old edge's port is gone before it moves")
        if api_origin_port(new_edge) not in listeners & _admitted_ports(new_edge):
            broken.append(f"{before} -> {after}: the new edge's port is missing or not admitted")
    return broken


ADDING = ["no domain", "to_https", "domain"]
REMOVING = ["domain", "to_http", "no domain"]


@pytest.mark.parametrize("path", [ADDING, REMOVING], ids=["adding", "removing"])
def test_the_two_deploy_sequence_keeps_a_listener_under_cloudfront_throughout(
    path: list[str], states: dict[str, Templates]
) -> None:
    assert broken_steps(path, states) == []


@pytest.mark.parametrize(
    "path",
    [["no domain", "domain"], ["domain", "no domain"]],
    ids=["adding in one deploy", "removing in one deploy"],
)
def test_a_domain_change_in_one_deploy_would_strand_cloudfront(
    path: list[str], states: dict[str, Templates]
) -> None:
    """Why the switch exists: without it the Api stack drops the listener the edge still uses."""
    assert broken_steps(path, states) == [
        f"{path[0]} -> {path[1]}: the old edge's port is gone before it moves"
    ]


def test_during_a_switch_both_listeners_exist_and_cloudfront_uses_the_side_named(
    states: dict[str, Templates],
) -> None:
    for switch, port in (("to_https", 443), ("to_http", 80)):
        api, edge = states[switch](f"Spito-{STAGE}-Api"), states[switch](f"Spito-{STAGE}-Edge")
        assert _listener_ports(api) == {80, 443}
        assert _admitted_ports(edge) == {80, 443}
        assert api_origin_port(edge) == port
        # One VPC origin per listener: the distribution switches between two that exist.
        edge.resource_count_is("AWS::CloudFront::VpcOrigin", 2)


def _viewer_names(edge: Template) -> Any:
    (distribution,) = edge.find_resources("AWS::CloudFront::Distribution").values()
    return distribution["Properties"]["DistributionConfig"].get("Aliases")


def test_adding_moves_the_origin_in_the_same_distribution_update_as_the_viewer_domain(
    states: dict[str, Templates],
) -> None:
    before, during = (states[s](f"Spito-{STAGE}-Edge") for s in ("no domain", "to_https"))
    after = states["domain"](f"Spito-{STAGE}-Edge")
    assert _viewer_names(before) is None
    assert _viewer_names(during) == _viewer_names(after)
    assert api_origin(during)["DomainName"] == api_origin(after)["DomainName"]
