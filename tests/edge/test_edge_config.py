"""The edge's config fields: defaults per stage, and bad values stop synth naming key and fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.config import ConfigError, load_config
from stacks.api_stack import public_host_environment
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
    assert "SPITO_PUBLIC_HOSTS" not in str(cdk_template_json("Spito-dev-Api"))
