"""CloudFront queries over synthesized templates, on top of tests/infra/helpers.py."""

from __future__ import annotations

from typing import Any

from tests.infra.helpers import only_resource, resources_of_type

Template = dict[str, Any]


def resources(template: Template, resource_type: str) -> list[dict[str, Any]]:
    """The properties of every resource of `resource_type`."""
    found = resources_of_type(template, resource_type).values()
    return [resource.get("Properties", {}) for resource in found]


def only(template: Template, resource_type: str) -> dict[str, Any]:
    """The properties of the one resource of `resource_type`; fails if there are 0 or several."""
    properties: dict[str, Any] = only_resource(template, resource_type)["Properties"]
    return properties


def logical_id(template: Template, resource_type: str) -> str:
    """The logical id of the one resource of `resource_type`."""
    (found,) = resources_of_type(template, resource_type)
    return found


def distribution_config(template: Template) -> dict[str, Any]:
    config: dict[str, Any] = only(template, "AWS::CloudFront::Distribution")["DistributionConfig"]
    return config


def origin_kinds(config: dict[str, Any]) -> dict[str, str]:
    """Origin id -> "spa" (the S3 bucket through OAC) or "api" (the ALB, a custom origin)."""
    return {
        origin["Id"]: "spa" if "S3OriginConfig" in origin else "api" for origin in config["Origins"]
    }


def origin(config: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [o for o in config["Origins"] if origin_kinds(config)[o["Id"]] == kind]
    return dict(found)


def behaviours(config: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """Every behaviour (the default included) that targets the origin of `kind`."""
    kinds = origin_kinds(config)
    every = [*config["CacheBehaviors"], config["DefaultCacheBehavior"]]
    return [b for b in every if kinds[b["TargetOriginId"]] == kind]
