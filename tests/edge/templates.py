"""Queries over synthesized templates (`aws_cdk.assertions.Template`) that the edge tests share.

The assertions themselves use `Template.has_resource_properties` and `Match`; these helpers find
what those assertions need to name (logical ids, origin ids) and follow cross-stack references.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_cdk.assertions import Template

from infra.routing import matches

TemplateJson = Callable[[str], dict[str, Any]]
Templates = Callable[[str], Template]
DISTRIBUTION = "AWS::CloudFront::Distribution"


def only(template: Template, resource_type: str, props: Any = None) -> tuple[str, dict[str, Any]]:
    """The logical id and body of the one resource of `resource_type` (matching `props`)."""
    found = template.find_resources(resource_type, props)
    assert len(found) == 1, f"{len(found)} resources of type {resource_type}"
    ((logical_id, resource),) = found.items()
    return logical_id, dict(resource)


def logical_id(template: Template, resource_type: str) -> str:
    return only(template, resource_type)[0]


def distribution_config(template: Template) -> dict[str, Any]:
    config: dict[str, Any] = only(template, DISTRIBUTION)[1]["Properties"]["DistributionConfig"]
    return config


def origin_id(template: Template, kind: str) -> str:
    """The id of the origin of `kind`: "spa" (the bucket, through OAC) or "api" (the ALB)."""
    origins = distribution_config(template)["Origins"]
    (found,) = [o["Id"] for o in origins if ("S3OriginConfig" in o) == (kind == "spa")]
    return str(found)


def behaviour_for(template: Template, path: str) -> dict[str, Any]:
    """The cache behaviour CloudFront picks for `path`: the first pattern that matches, else the
    default behaviour."""
    config = distribution_config(template)
    chosen = next(
        (b for b in config.get("CacheBehaviors", []) if matches(b["PathPattern"], path)),
        config["DefaultCacheBehavior"],
    )
    return dict(chosen)


def imported(producer: Template, reference: Any) -> Any:
    """What a same-region strong reference (`Fn::ImportValue`) reads: the producer's export."""
    name = reference["Fn::ImportValue"]
    outputs = producer.find_outputs("*", {"Export": {"Name": name}})
    assert len(outputs) == 1, f"{name} is exported {len(outputs)} times"
    (output,) = outputs.values()
    return output["Value"]


def written_across_regions(writer: Template, reference: Any) -> Any:
    """What a cross-region strong reference (a GetAtt of the consumer's ExportReader) reads: the
    value the producer's ExportWriter writes to that SSM parameter."""
    _, parameter = reference["Fn::GetAtt"]
    _, export_writer = only(writer, "Custom::CrossRegionExportWriter")
    return export_writer["Properties"]["WriterProps"]["exports"][parameter]


def api_origin(template: Template) -> dict[str, Any]:
    """The distribution's origin for the API: the one reached through a VPC origin."""
    (origin,) = [o for o in distribution_config(template)["Origins"] if "VpcOriginConfig" in o]
    return dict(origin)


def api_vpc_origin(template: Template) -> dict[str, Any]:
    """The endpoint config of the `AWS::CloudFront::VpcOrigin` the API origin uses."""
    vpc_origin_id, attribute = api_origin(template)["VpcOriginConfig"]["VpcOriginId"]["Fn::GetAtt"]
    assert attribute == "Id"
    resource = template.find_resources("AWS::CloudFront::VpcOrigin")[vpc_origin_id]
    config: dict[str, Any] = resource["Properties"]["VpcOriginEndpointConfig"]
    return config


def api_origin_port(template: Template) -> int:
    """The ALB port CloudFront sends API requests to."""
    config = api_vpc_origin(template)
    policy = config["OriginProtocolPolicy"]
    assert policy in ("http-only", "https-only"), policy
    return int(config["HTTPPort"] if policy == "http-only" else config["HTTPSPort"])
