"""The cost table counts what each shape pays for: NAT and its address in dev, endpoint ENIs and
no public address at all in the egress-free prod (the ALB is internal behind a VPC origin)."""

from __future__ import annotations

from pathlib import Path

from docgen.cost_estimate import render, stage_templates


def _row(table: str, item: str) -> list[str]:
    (row,) = [line for line in table.splitlines() if line.startswith(f"| {item} |")]
    return [cell.strip() for cell in row.strip("|").split("|")][1:]


def test_dev_pays_for_one_nat_and_its_address_and_no_endpoints(cdk_out: Path) -> None:
    table = render(cdk_out, ["dev", "prod"])
    assert _row(table, "NAT gateways") == ["1 = $35.04", "-"]
    assert _row(table, "Public IPv4 addresses (NAT, internet-facing ALB)") == ["1 = $3.65", "-"]
    assert _row(table, "Interface endpoint ENIs (endpoints x zones)") == ["-", "15 = $120.45"]
    assert _row(table, "Secrets Manager secrets") == ["-", "-"]


def test_no_stage_has_an_internet_facing_load_balancer(cdk_out: Path) -> None:
    for stage in ("dev", "prod"):
        albs = [
            resource
            for template in stage_templates(cdk_out, stage)
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"
        ]
        assert [alb["Properties"]["Scheme"] for alb in albs] == ["internal"]
