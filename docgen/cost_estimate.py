"""docs/DEPLOY.md's monthly cost table, counted from the synthesized templates of each stage.

Counts (NAT gateways, public IPv4 addresses, endpoint ENIs, instances, keys, alarm metrics...)
come from the templates in a cloud assembly, prices from the table below (eu-west-1 on-demand list
prices, USD, 730 hours a month). Usage-priced services (requests, storage, transfer) are listed
apart, by unit. Usage: `python -m docgen.cost_estimate cdk.out dev prod` (an assembly holding
those stages); `tests/infra/test_docs_tables.py` checks the page against the test session's synth.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOURS_PER_MONTH = 730
PRICES_USD = {
    "nat_gateway_hour": 0.048,
    "public_ipv4_hour": 0.005,
    "interface_endpoint_az_hour": 0.011,
    "alb_hour": 0.0252,
    "alb_lcu_hour": 0.008,
    "gp3_gib_month": 0.088,
    "detailed_monitoring_instance_month": 2.10,  # 7 metrics at $0.30
    "kms_key_month": 1.00,
    "secret_month": 0.40,
    "alarm_metric_month": 0.10,
    "dashboard_month": 3.00,
    "waf_web_acl_month": 5.00,
    "waf_rule_month": 1.00,
}
EC2_HOUR_USD = {
    "t4g.micro": 0.0092,
    "t4g.small": 0.0184,
    "t4g.medium": 0.0368,
    "t4g.large": 0.0736,
    "t3.small": 0.0228,
    "t3.medium": 0.0456,
}
USAGE_PRICES = (
    "DynamoDB on demand $1.41 per million writes and $0.28 per million reads, $0.28/GB-month "
    "(+$0.23/GB-month point-in-time recovery); S3 $0.023/GB-month; CloudWatch Logs $0.57/GB "
    "ingested (flow logs included); NAT $0.048/GB processed; CloudFront and Lambda within their "
    "free tiers at low traffic, then per request and GB."
)

Templates = list[dict[str, Any]]


@dataclass(frozen=True)
class Line:
    item: str
    count: Callable[[Templates], float]
    unit_month_usd: Callable[[Templates], float]


def _resources(templates: Templates, resource_type: str) -> list[dict[str, Any]]:
    return [
        resource
        for template in templates
        for resource in template.get("Resources", {}).values()
        if resource["Type"] == resource_type
    ]


def _count(resource_type: str) -> Callable[[Templates], int]:
    """A line's quantity: how many resources of `resource_type` the stage's templates hold."""
    return lambda templates: len(_resources(templates, resource_type))


def _fleet(templates: Templates) -> tuple[int, str, int]:
    """(minimum instances, instance type, root volume GiB) of the one fleet: what runs before
    traffic, since target tracking owns the desired count above it."""
    (group,) = _resources(templates, "AWS::AutoScaling::AutoScalingGroup")
    (launch_template,) = _resources(templates, "AWS::EC2::LaunchTemplate")
    data = launch_template["Properties"]["LaunchTemplateData"]
    volume = data["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"]
    return int(group["Properties"]["MinSize"]), data["InstanceType"], int(volume)


def _public_ipv4(templates: Templates) -> int:
    """NAT gateways' addresses, and one per zone of an internet-facing ALB (an internal one,
    behind CloudFront's VPC origin, has none)."""
    albs = _resources(templates, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    alb_addresses = sum(
        len(alb["Properties"]["Subnets"])
        for alb in albs
        if alb["Properties"].get("Scheme") != "internal"
    )
    return len(_resources(templates, "AWS::EC2::EIP")) + alb_addresses


def _endpoint_enis(templates: Templates) -> int:
    return sum(
        len(endpoint["Properties"]["SubnetIds"])
        for endpoint in _resources(templates, "AWS::EC2::VPCEndpoint")
        if endpoint["Properties"].get("VpcEndpointType") == "Interface"
    )


def _alarm_metrics(templates: Templates) -> int:
    total = 0
    for alarm in _resources(templates, "AWS::CloudWatch::Alarm"):
        metrics = alarm["Properties"].get("Metrics")
        total += 1 if metrics is None else sum("MetricStat" in metric for metric in metrics)
    return total


def _waf_rules(templates: Templates) -> int:
    return sum(
        len(acl["Properties"]["Rules"]) for acl in _resources(templates, "AWS::WAFv2::WebACL")
    )


def _hourly(price: float) -> Callable[[Templates], float]:
    return lambda _templates: price * HOURS_PER_MONTH


def _monthly(price: float) -> Callable[[Templates], float]:
    return lambda _templates: price


LINES = (
    Line(
        "EC2 instances (min capacity)",
        lambda t: _fleet(t)[0],
        lambda t: EC2_HOUR_USD[_fleet(t)[1]] * HOURS_PER_MONTH,
    ),
    Line(
        "EBS gp3 root volumes",
        lambda t: _fleet(t)[0],
        lambda t: _fleet(t)[2] * PRICES_USD["gp3_gib_month"],
    ),
    Line(
        "EC2 detailed monitoring",
        lambda t: _fleet(t)[0],
        _monthly(PRICES_USD["detailed_monitoring_instance_month"]),
    ),
    Line(
        "ALB (hours + 1 LCU)",
        _count("AWS::ElasticLoadBalancingV2::LoadBalancer"),
        _hourly(PRICES_USD["alb_hour"] + PRICES_USD["alb_lcu_hour"]),
    ),
    Line(
        "NAT gateways",
        _count("AWS::EC2::NatGateway"),
        _hourly(PRICES_USD["nat_gateway_hour"]),
    ),
    Line(
        "Public IPv4 addresses (NAT, internet-facing ALB)",
        _public_ipv4,
        _hourly(PRICES_USD["public_ipv4_hour"]),
    ),
    Line(
        "Interface endpoint ENIs (endpoints x zones)",
        _endpoint_enis,
        _hourly(PRICES_USD["interface_endpoint_az_hour"]),
    ),
    Line(
        "KMS keys",
        _count("AWS::KMS::Key"),
        _monthly(PRICES_USD["kms_key_month"]),
    ),
    Line(
        "Secrets Manager secrets",
        _count("AWS::SecretsManager::Secret"),
        _monthly(PRICES_USD["secret_month"]),
    ),
    Line("CloudWatch alarm metrics", _alarm_metrics, _monthly(PRICES_USD["alarm_metric_month"])),
    Line(
        "CloudWatch dashboards",
        _count("AWS::CloudWatch::Dashboard"),
        _monthly(PRICES_USD["dashboard_month"]),
    ),
    Line(
        "WAF web ACLs",
        _count("AWS::WAFv2::WebACL"),
        _monthly(PRICES_USD["waf_web_acl_month"]),
    ),
    Line("WAF rules", _waf_rules, _monthly(PRICES_USD["waf_rule_month"])),
)


def stage_templates(assembly: Path, stage: str) -> Templates:
    paths = sorted(assembly.glob(f"Spito-{stage}-*.template.json"))
    if not paths:
        raise FileNotFoundError(f"{assembly} has no Spito-{stage}-* templates")
    return [json.loads(path.read_text()) for path in paths]


def render(assembly: Path, stages: Iterable[str]) -> str:
    stages = list(stages)
    templates = {stage: stage_templates(assembly, stage) for stage in stages}
    totals = dict.fromkeys(stages, 0.0)
    lines = [
        "| fixed monthly cost (USD) | " + " | ".join(stages) + " |",
        "| --- | " + " | ".join("---:" for _ in stages) + " |",
    ]
    for line in LINES:
        cells = []
        for stage in stages:
            count = line.count(templates[stage])
            cost = count * line.unit_month_usd(templates[stage]) if count else 0.0
            totals[stage] += cost
            cells.append(f"{count:g} = ${cost:,.2f}" if count else "-")
        lines.append(f"| {line.item} | " + " | ".join(cells) + " |")
    lines.append(
        "| **total before usage** | "
        + " | ".join(f"**${totals[stage]:,.2f}**" for stage in stages)
        + " |"
    )
    return "\n".join(lines) + f"\n\nUsage-priced on top: {USAGE_PRICES}"


def main() -> int:
    assembly = Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")
    print(render(assembly, sys.argv[2:] or ["dev"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
