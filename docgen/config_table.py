"""docs/CONFIGURATION.md's table, generated from `infra/config.py` and `cdk.json`.

Every field of `SpitoConfig`, with its value in each stage of `cdk.json`. Usage:
`python -m docgen.config_table` prints it; `tests/infra/test_docs_tables.py` checks the page
carries exactly this table, so neither can drift from the code.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from infra.config import SpitoConfig, load_config

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("dev", "prod")
# What each field is for; a field without an entry still gets its row.
MEANINGS = {
    "account": "AWS account id (12 digits); the shipped ones are placeholders",
    "region": "region of every stack except the us-east-1 edge pieces",
    "availability_zones": "zones the VPC spans, pinned so synth is offline and deterministic",
    "network.cidr": "IPv4 VPC range, a /16 at most; each zone takes a /24 and a /20 "
    "(a /18 holds 3 zones)",
    "network.nat_gateways": "0: no internet from the fleet (needs the five endpoints; prod, "
    "cheaper than NAT per zone once AWS traffic is counted); 1: cheapest with internet (dev); one "
    "per zone survives a zone outage (docs/ORIGIN-AND-EGRESS.md)",
    "network.interface_endpoints": "private endpoints (logs, cloudformation, ssm, ssmmessages, "
    "ec2messages); without them the same traffic leaves through NAT",
    "network.flow_log_retention_days": "VPC flow log retention",
    "fleet.ami_id": "the reviewed Amazon Linux 2023 image; `make ami STAGE=...` pins the newest "
    "(the shipped ids are placeholders)",
    "fleet.instance_type": "EC2 type; must match the architecture (Graviton types for arm64)",
    "fleet.architecture": "arm64 or x86_64: the instance type's, the pinned image's and the "
    "asset's wheels' (`make wheelhouse`)",
    "fleet.min_capacity": "fewest instances; the creation waits for this many signals",
    "fleet.max_capacity": "most instances target tracking may run; above the running count so "
    "a rolling update can add one first",
    "fleet.cpu_target_percent": "target tracking on average CPU",
    "fleet.requests_per_target_per_minute": "target tracking on ALB requests per instance",
    "fleet.health_check_grace_seconds": "time a new instance gets before ELB health checks count",
    "fleet.root_volume_gib": "encrypted gp3 root volume size",
    "fleet.service_port": "port the service listens on behind the ALB",
    "fleet.signal_timeout_minutes": "how long an instance may take to install, answer /readyz "
    "and pass the ALB health check",
    "service.workers": "uvicorn worker processes per instance (`SPITO_WORKERS`)",
    "service.paste_max_bytes": "largest paste accepted (`SPITO_PASTE_MAX_BYTES`)",
    "service.paste_inline_max_bytes": "larger pastes go to the blob bucket "
    "(`SPITO_PASTE_INLINE_MAX_BYTES`)",
    "service.link_expires_default_days": "link lifetime when none is asked for",
    "service.paste_expires_default_days": "paste lifetime when none is asked for",
    "service.expires_max_days": "longest lifetime anyone may ask for",
    "monitoring.log_retention_days": "retention of the service's (and jobs') log groups",
    "monitoring.alarm_email": "subscribed to the alarm topic when set",
    "monitoring.p99_latency_seconds": "alarm threshold on p99 target response time",
    "monitoring.alb_5xx_percent": "alarm threshold on the ALB's 5xx share of requests",
    "monitoring.target_5xx_per_5_minutes": "alarm when the service answers more 5xx than this "
    "in each of two 5-minute periods",
    "monitoring.canary_interval_minutes": "how often the end-to-end canary runs",
    "data.removal_policy": "destroy or retain the table and buckets with their stack",
    "data.deletion_protection": "DynamoDB and ALB deletion protection (needs retain)",
    "domain.domain_name": "custom domain; needs hosted_zone_id",
    "domain.hosted_zone_id": "Route 53 zone of the domain (taken by id, no lookup)",
    "edge.price_class": "CloudFront edge locations used",
    "edge.waf_enabled": "CLOUDFRONT web ACL in us-east-1",
    "edge.waf_api_post_limit_per_5_minutes": "WAF rate limit per address on every POST "
    "(the service takes POST only under /api/)",
    "edge.access_log_retention_days": "CloudFront access log expiry",
    "edge.origin_switch": "for one deploy when adding (`to_https`) or removing (`to_http`, "
    "domain still set) a domain: the ALB keeps both listeners while CloudFront moves "
    "(docs/ORIGIN-AND-EGRESS.md)",
}


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value for every field of a (nested) config dataclass, stage excluded."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(config):
        key = f"{prefix}{field.name}"
        value = getattr(config, field.name)
        if key == "stage":
            continue
        if dataclasses.is_dataclass(value):
            values.update(flatten(value, f"{key}."))
        else:
            values[key] = value
    return values


def _cell(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) if value else "none"
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render(context: dict[str, Any]) -> str:
    configs: dict[str, SpitoConfig] = {stage: load_config(context, stage) for stage in STAGES}
    columns = {stage: flatten(config) for stage, config in configs.items()}
    lines = [
        "| key (`spito.`...) | " + " | ".join(STAGES) + " | what it is for |",
        "| --- | " + " | ".join("---" for _ in STAGES) + " | --- |",
    ]
    for key in columns[STAGES[0]]:
        cells = [_cell(columns[stage][key]) for stage in STAGES]
        if len(set(cells)) > 1:
            cells = [f"**{cell}**" for cell in cells]
        lines.append(f"| `{key}` | " + " | ".join(cells) + f" | {MEANINGS.get(key, '')} |")
    return "\n".join(lines)


def main() -> None:
    print(render(json.loads((ROOT / "cdk.json").read_text())["context"]))


if __name__ == "__main__":
    main()
