"""The edge's config fields: defaults per stage, and bad values stop synth naming key and fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError, load_config
from stacks.api_stack import public_host_environment
from tests.fixtures.cdk_app import FIXTURE_WEB_DIST, cdk_context
from tests.infra.test_config import context


def _error_for(**edge: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(context(edge=edge), "dev")
    return caught.value


def test_waf_is_off_in_dev_and_on_in_prod() -> None:
    assert load_config(context(), "dev").edge.waf_enabled is False
    assert load_config(context(), "prod").edge.waf_enabled is True


def test_edge_defaults_to_the_cheapest_price_class() -> None:
    assert load_config(context(), "prod").edge.price_class == "PriceClass_100"


def test_unknown_price_class_names_the_key_and_the_choices() -> None:
    error = _error_for(price_class="PriceClass_Cheap")
    assert error.key == "spito.edge.price_class"
    assert "PriceClass_All" in str(error)


def test_waf_rate_limit_below_wafs_minimum_is_refused() -> None:
    error = _error_for(waf_api_post_limit_per_5_minutes=5)
    assert error.key == "spito.edge.waf_api_post_limit_per_5_minutes"


def test_access_log_retention_must_be_positive() -> None:
    assert _error_for(access_log_retention_days=0).key == "spito.edge.access_log_retention_days"


def test_a_domain_without_a_hosted_zone_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(context(domain={"domain_name": "spito.example.com"}), "dev")
    assert caught.value.key == "spito.domain.hosted_zone_id"


def test_without_a_domain_the_service_gets_no_fixed_host_names(
    cdk_template_json: Callable[[str], dict[str, Any]],
) -> None:
    assert public_host_environment(load_config(context(), "dev")) == {}
    # Only the parameter the distribution's name is published in (infra/public_hosts.py).
    assert "SPITO_PUBLIC_HOSTS=" not in str(cdk_template_json("Spito-dev-Api"))


def test_origin_switch_is_off_by_default_and_needs_a_domain() -> None:
    assert load_config(context(), "prod").edge.origin_switch is None
    assert _error_for(origin_switch="to_https").key == "spito.edge.origin_switch"
    assert _error_for(origin_switch="sideways").key == "spito.edge.origin_switch"


def test_edge_stacks_follow_non_default_config_values(tmp_path: Path) -> None:
    """Price class, log retention and the WAF limit reach the templates, not just their defaults."""
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2
    from aws_cdk.assertions import Match, Template

    from app import new_app, use_strong_references
    from stacks.edge_global_stack import EdgeGlobalStack
    from stacks.edge_stack import EdgeStack

    edge_config = {
        "price_class": "PriceClass_All",
        "waf_enabled": True,
        "waf_api_post_limit_per_5_minutes": 1234,
        "access_log_retention_days": 30,
    }
    config = load_config(context(edge=edge_config), "dev")
    app = new_app(context=cdk_context(), outdir=str(tmp_path))
    use_strong_references(app)
    edge_global = EdgeGlobalStack(app, "EdgeGlobal", config=config)
    # The fleet's ALB, imported by value (no Api stack needed; any stack can hold it).
    arn = f"arn:aws:elasticloadbalancing:{config.region}:{config.account}:loadbalancer/app/a/0a1b"
    alb = elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
        edge_global,
        "Alb",
        load_balancer_arn=arn,
        security_group_id="sg-0123456789abcdef0",
        load_balancer_dns_name="spito.eu-west-1.elb.amazonaws.com",
    )
    alb_group = ec2.SecurityGroup.from_security_group_id(
        edge_global, "AlbGroup", "sg-0123456789abcdef0"
    )
    edge = EdgeStack(
        app,
        "Edge",
        config=config,
        web_dist=FIXTURE_WEB_DIST,
        load_balancer=alb,
        load_balancer_security_group=alb_group,
        vpc_id="vpc-0123456789abcdef0",
        web_acl_arn=edge_global.web_acl_arn,
    )
    edge_template = Template.from_stack(edge)
    edge_template.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {"DistributionConfig": Match.object_like({"PriceClass": "PriceClass_All"})},
    )
    edge_template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]},
            "LifecycleConfiguration": {"Rules": [{"ExpirationInDays": 30, "Status": "Enabled"}]},
        },
    )
    rate = Match.object_like({"RateBasedStatement": Match.object_like({"Limit": 1234})})
    Template.from_stack(edge_global).has_resource_properties(
        "AWS::WAFv2::WebACL",
        {"Rules": Match.array_with([Match.object_like({"Statement": rate})])},
    )
