"""Spito's typed deployment configuration, read from the `spito` key of the CDK context.

The context holds a `base` and named `stages` that override it field by field:

    "spito": {"base": {...}, "stages": {"dev": {...}, "prod": {...}}}

`load_config(context, stage)` merges the stage over the base, checks every field and returns a
frozen `SpitoConfig`. Any problem stops synth with a `ConfigError` naming the key and the fix.
Each concern has its own dataclass, so adding a field means adding it to one dataclass and to
`cdk.json`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

CONTEXT_KEY = "spito"
STAGE_CONTEXT_KEY = "stage"
DEFAULT_STAGE = "dev"

Architecture = Literal["arm64", "x86_64"]
RemovalPolicyName = Literal["destroy", "retain"]
InterfaceEndpointName = Literal["logs", "cloudformation", "ssm", "ssmmessages", "ec2messages"]
# What an instance calls besides S3 and DynamoDB (gateway endpoints): the CloudWatch agent ships
# logs, cfn-signal reports to CloudFormation, the SSM agent serves Session Manager. Without NAT
# each needs its interface endpoint (infra/network.py).
EGRESS_FREE_ENDPOINTS: tuple[InterfaceEndpointName, ...] = (
    "logs",
    "cloudformation",
    "ssm",
    "ssmmessages",
    "ec2messages",
)
# How CloudFront reaches the ALB over its VPC origin: HTTPS needs the domain's certificate.
OriginProtocol = Literal["http", "https"]
# The ALB's listener port for each (infra/api_fleet.py), which CloudFront's VPC origins use.
ORIGIN_PORTS: Mapping[OriginProtocol, int] = types.MappingProxyType({"http": 80, "https": 443})
# One deploy's worth of a change of that protocol (docs/ORIGIN-AND-EGRESS.md, "Adding a domain").
OriginSwitch = Literal["to_https", "to_http"]


# The subnets every zone gets (infra/network.py): a public /24 (ALB, NAT) and a private /20 (fleet).
PUBLIC_SUBNET_PREFIX = 24
PRIVATE_SUBNET_PREFIX = 20


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key and the fix."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(f"spito config: {key}: {problem}. Fix: {fix}")
        self.key = key


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """The VPC: address range, NAT gateways and which interface endpoints to pay for."""

    cidr: str = "10.40.0.0/16"
    # 0: no NAT, no route to the internet from the fleet's subnets (needs EGRESS_FREE_ENDPOINTS).
    nat_gateways: int = 1
    # Interface endpoints cost per AZ and hour; without them the same traffic leaves through NAT.
    interface_endpoints: tuple[InterfaceEndpointName, ...] = ()
    flow_log_retention_days: int = 30


@dataclasses.dataclass(frozen=True, kw_only=True)
class FleetConfig:
    """The EC2 fleet behind the ALB: instance shape, capacity and scaling targets."""

    instance_type: str = "t4g.small"
    architecture: Architecture = "arm64"
    # The reviewed Amazon Linux 2023 image of the stage's region and architecture; `make ami`
    # looks up the newest and writes it here, so an image changes only in a reviewed diff.
    ami_id: str | None = None
    # No desired capacity: target tracking owns it between min and max, and a value in the template
    # would reset a scaled-out fleet on every deploy (aws-cdk #5215).
    min_capacity: int = 1
    max_capacity: int = 3
    cpu_target_percent: int = 60
    requests_per_target_per_minute: int = 3000
    health_check_grace_seconds: int = 300
    root_volume_gib: int = 8
    service_port: int = 8080
    signal_timeout_minutes: int = 15


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """Limits handed to the service as environment variables (see `service/settings.py`)."""

    workers: int = 2
    paste_max_bytes: int = 10_485_760
    paste_inline_max_bytes: int = 65_536
    link_expires_default_days: int = 365
    paste_expires_default_days: int = 7
    expires_max_days: int = 365


@dataclasses.dataclass(frozen=True, kw_only=True)
class MonitoringConfig:
    """Log retention, alarm thresholds and where alarms are e-mailed."""

    log_retention_days: int = 30
    alarm_email: str | None = None
    p99_latency_seconds: float = 1.0
    alb_5xx_percent: float = 5.0
    # A count, not a rate like alb_5xx_percent: the service's own errors matter at any traffic.
    target_5xx_per_5_minutes: int = 10
    # The end-to-end canary runs this often; its alarm needs 2 failed runs of the last 3.
    canary_interval_minutes: int = 5


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataConfig:
    """What happens to stored data when a stack is deleted."""

    removal_policy: RemovalPolicyName = "destroy"
    deletion_protection: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class DomainConfig:
    """An optional custom domain in a Route 53 hosted zone (taken by id: no lookup at synth)."""

    domain_name: str | None = None
    hosted_zone_id: str | None = None


# --- The edge (CloudFront, WAF): owned by the edge work, infra/distribution.py and stacks/edge_*.
PriceClassName = Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class EdgeConfig:
    """CloudFront's reach and logs, and the optional WAF web ACL in front of it."""

    # PriceClass_100: North America and Europe edges only, the cheapest; _All: every edge.
    price_class: PriceClassName = "PriceClass_100"
    # A CLOUDFRONT web ACL costs a fixed ~$5 + $1 per rule group each month, plus per request.
    waf_enabled: bool = False
    # Per client address, per 5 minutes, on POST /api/* (creating links and pastes).
    waf_api_post_limit_per_5_minutes: int = 500
    access_log_retention_days: int = 90
    # Set for the one deploy that changes the protocol CloudFront uses to reach the ALB: the ALB
    # keeps both listeners while the edge moves, so CloudFront never points at a missing one.
    origin_switch: OriginSwitch | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class SpitoConfig:
    """Everything one stage of Spito is deployed with."""

    stage: str
    account: str
    region: str
    availability_zones: tuple[str, ...]
    network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    fleet: FleetConfig = dataclasses.field(default_factory=FleetConfig)
    service: ServiceConfig = dataclasses.field(default_factory=ServiceConfig)
    monitoring: MonitoringConfig = dataclasses.field(default_factory=MonitoringConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    domain: DomainConfig = dataclasses.field(default_factory=DomainConfig)
    edge: EdgeConfig = dataclasses.field(default_factory=EdgeConfig)

    @property
    def retain_data(self) -> bool:
        return self.data.removal_policy == "retain"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OriginPlan:
    """The protocol CloudFront uses to reach the ALB, and the listeners the ALB has meanwhile."""

    cloudfront: OriginProtocol
    listeners: tuple[OriginProtocol, ...]


def origin_plan(config: SpitoConfig) -> OriginPlan:
    """HTTPS with a custom domain (its certificate is what CloudFront checks), HTTP without.

    The Api stack deploys before the edge, so a listener CloudFront still uses must survive the
    deploy that moves CloudFront off it: `edge.origin_switch` keeps both listeners for that deploy
    and names the side CloudFront takes; the next deploy, without it, removes the other.
    """
    switch = config.edge.origin_switch
    if switch is not None:
        return OriginPlan(
            cloudfront="https" if switch == "to_https" else "http", listeners=("http", "https")
        )
    protocol: OriginProtocol = "https" if config.domain.domain_name else "http"
    return OriginPlan(cloudfront=protocol, listeners=(protocol,))


def load_config(context: Mapping[str, Any], stage: str | None = None) -> SpitoConfig:
    """Merge `stages[stage]` over `base` from the `spito` context value and validate the result."""
    raw = context.get(CONTEXT_KEY)
    if not isinstance(raw, Mapping):
        raise ConfigError(
            CONTEXT_KEY,
            "missing from the CDK context",
            'add {"base": {...}} under context in cdk.json',
        )
    stage_name = stage or str(context.get(STAGE_CONTEXT_KEY) or DEFAULT_STAGE)
    base = _mapping(raw.get("base", {}), f"{CONTEXT_KEY}.base")
    stages = _mapping(raw.get("stages", {}), f"{CONTEXT_KEY}.stages")
    if stage_name not in stages:
        known = ", ".join(sorted(stages)) or "none"
        raise ConfigError(
            STAGE_CONTEXT_KEY,
            f"unknown stage {stage_name!r}",
            f"pass -c stage=NAME with one of: {known}",
        )
    overrides = _mapping(stages[stage_name], f"{CONTEXT_KEY}.stages.{stage_name}")
    merged = _deep_merge(base, overrides)
    config = _build(SpitoConfig, {**merged, "stage": stage_name}, CONTEXT_KEY)
    _validate(config)
    return config


def _mapping(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            key, f"expected an object, got {value!r}", "write it as a JSON object ({} for none)"
        )
    return value


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


_Config = TypeVar("_Config")


def _build(cls: type[_Config], raw: Any, path: str) -> _Config:
    """Construct dataclass `cls` from a JSON mapping, converting and checking each field's type."""
    if not isinstance(raw, Mapping):
        raise ConfigError(path, f"expected an object, got {raw!r}", "write it as a JSON object")
    assert dataclasses.is_dataclass(cls)
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(
            f"{path}.{unknown[0]}",
            "unknown field",
            f"remove it, or use one of: {', '.join(fields)}",
        )
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, field in fields.items():
        key = f"{path}.{name}"
        if name in raw:
            values[name] = _convert(hints[name], raw[name], key)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(key, "required field is missing", f"set {key} in cdk.json")
    return cls(**values)


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(typing.cast(type[Any], hint), value, key)
    if origin in (typing.Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [option for option in options if option is not type(None)]
        return _convert(inner, value, key)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ConfigError(
                key, f"{value!r} is not allowed", f"use one of: {', '.join(map(str, allowed))}"
            )
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a list, got {value!r}", "write it as a JSON list")
        (item_hint, _ellipsis) = get_args(hint)
        return tuple(_convert(item_hint, item, f"{key}[{i}]") for i, item in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {value!r}", "use true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected a whole number, got {value!r}", "use an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"expected a number, got {value!r}", "use a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str) or not value:
            raise ConfigError(key, f"expected a non-empty string, got {value!r}", "use a string")
        return value
    raise TypeError(f"{key}: unsupported config type {hint!r}")  # a programming error, not input


_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_AMI_ID = re.compile(r"^ami-[0-9a-f]{8}([0-9a-f]{9})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Instance families with a "g" after the generation number are Graviton (arm64): t4g, m7g, c7gn.
_GRAVITON_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*g[a-z]*\.")
# The retention periods CloudWatch Logs accepts, with the name of each in the CDK's
# `aws_logs.RetentionDays` (stacks/conversions.py), so this module needs no CDK import.
LOG_RETENTION_DAYS: Mapping[int, str] = types.MappingProxyType(
    {
        1: "ONE_DAY",
        3: "THREE_DAYS",
        5: "FIVE_DAYS",
        7: "ONE_WEEK",
        14: "TWO_WEEKS",
        30: "ONE_MONTH",
        60: "TWO_MONTHS",
        90: "THREE_MONTHS",
        120: "FOUR_MONTHS",
        150: "FIVE_MONTHS",
        180: "SIX_MONTHS",
        365: "ONE_YEAR",
        400: "THIRTEEN_MONTHS",
        545: "EIGHTEEN_MONTHS",
        731: "TWO_YEARS",
        1096: "THREE_YEARS",
        1827: "FIVE_YEARS",
        2192: "SIX_YEARS",
        2557: "SEVEN_YEARS",
        2922: "EIGHT_YEARS",
        3288: "NINE_YEARS",
        3653: "TEN_YEARS",
    }
)


def _validate(config: SpitoConfig) -> None:
    _validate_environment(config)
    _validate_network(config)
    _validate_fleet(config)
    _validate_service(config.service)
    _validate_monitoring(config.monitoring)
    _validate_data(config)
    _validate_domain(config.domain)
    _validate_edge(config.edge)
    _validate_origin_switch(config)


def _validate_environment(config: SpitoConfig) -> None:
    if not _ACCOUNT.match(config.account):
        raise ConfigError(
            "spito.account", f"{config.account!r} is not an AWS account id", "use 12 digits"
        )
    if not _REGION.match(config.region):
        raise ConfigError(
            "spito.region", f"{config.region!r} is not a region", "use e.g. eu-west-1"
        )
    azs = config.availability_zones
    if len(azs) < 2:
        raise ConfigError(
            "spito.availability_zones", "an ALB needs at least two zones", "list two or three zones"
        )
    for zone in azs:
        if not (zone.startswith(config.region) and len(zone) == len(config.region) + 1):
            raise ConfigError(
                "spito.availability_zones",
                f"{zone!r} is not a zone of {config.region}",
                f"use zones such as {config.region}a",
            )
    if len(set(azs)) != len(azs):
        raise ConfigError("spito.availability_zones", "a zone is listed twice", "list each once")


def _validate_network(config: SpitoConfig) -> None:
    network = config.network
    if not 0 <= network.nat_gateways <= len(config.availability_zones):
        raise ConfigError(
            "spito.network.nat_gateways",
            f"{network.nat_gateways} is outside 0..{len(config.availability_zones)}",
            "use 0 (no internet from the fleet), 1 (one NAT) up to one per availability zone "
            "(NAT survives a zone outage)",
        )
    missing = [e for e in EGRESS_FREE_ENDPOINTS if e not in network.interface_endpoints]
    if network.nat_gateways == 0 and missing:
        raise ConfigError(
            "spito.network.interface_endpoints",
            f"without NAT the fleet reaches AWS only through endpoints, and {', '.join(missing)} "
            "are missing",
            f"list all of {', '.join(EGRESS_FREE_ENDPOINTS)}, or set nat_gateways to 1",
        )
    _validate_cidr(network.cidr, len(config.availability_zones))
    if len(set(network.interface_endpoints)) != len(network.interface_endpoints):
        raise ConfigError(
            "spito.network.interface_endpoints", "an endpoint is listed twice", "list each once"
        )
    _check_retention("spito.network.flow_log_retention_days", network.flow_log_retention_days)


def _validate_cidr(cidr: str, zones: int) -> None:
    key = "spito.network.cidr"
    try:
        network = ipaddress.ip_network(cidr)
    except ValueError:
        try:
            meant = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(
                key, f"{cidr!r} is not an IP range", "use e.g. 10.40.0.0/16"
            ) from None
        raise ConfigError(key, f"{cidr} has host bits set", f"use {meant}") from None
    if not isinstance(network, ipaddress.IPv4Network) or network.prefixlen < 16:
        raise ConfigError(
            key, f"{cidr} is not an IPv4 range of /16 or smaller", "use e.g. 10.40.0.0/16"
        )
    per_zone = 2 ** (32 - PUBLIC_SUBNET_PREFIX) + 2 ** (32 - PRIVATE_SUBNET_PREFIX)
    needed = zones * per_zone
    if network.num_addresses < needed:
        prefix_needed = 32 - (needed - 1).bit_length()
        fix = (
            f"use a /{prefix_needed} or larger, e.g. {network.supernet(new_prefix=prefix_needed)}"
            if prefix_needed >= 16
            else f"list at most {2**16 // per_zone} availability_zones"
        )
        raise ConfigError(
            key,
            f"{cidr} holds {network.num_addresses} addresses, but {zones} zones of a public "
            f"/{PUBLIC_SUBNET_PREFIX} and a private /{PRIVATE_SUBNET_PREFIX} subnet need {needed}",
            fix,
        )


def _validate_fleet(config: SpitoConfig) -> None:
    fleet = config.fleet
    if fleet.ami_id is not None and not _AMI_ID.match(fleet.ami_id):
        raise ConfigError(
            f"spito.stages.{config.stage}.fleet.ami_id",
            f"{fleet.ami_id!r} is not an AMI id",
            unpinned_fix(config),
        )
    is_graviton = bool(_GRAVITON_FAMILY.match(fleet.instance_type))
    if is_graviton != (fleet.architecture == "arm64"):
        raise ConfigError(
            "spito.fleet.instance_type",
            f"{fleet.instance_type} does not run {fleet.architecture}",
            "pair arm64 with a Graviton type (t4g, m7g) and x86_64 with an Intel/AMD one (t3, m7i)",
        )
    if fleet.min_capacity < 1:
        raise ConfigError(
            "spito.fleet.min_capacity", "the ALB needs at least one instance", "use 1 or more"
        )
    if fleet.max_capacity <= fleet.min_capacity:
        # A rolling update launches each replacement before it retires an instance.
        raise ConfigError(
            "spito.fleet.max_capacity",
            f"{fleet.max_capacity} leaves no room above min_capacity {fleet.min_capacity} for a "
            "rolling update to add an instance first",
            f"set max_capacity to at least {fleet.min_capacity + 1}",
        )
    _check_range("spito.fleet.cpu_target_percent", fleet.cpu_target_percent, 10, 90)
    _check_range(
        "spito.fleet.requests_per_target_per_minute", fleet.requests_per_target_per_minute, 1, 10**6
    )
    _check_range(
        "spito.fleet.health_check_grace_seconds", fleet.health_check_grace_seconds, 0, 3600
    )
    _check_range("spito.fleet.root_volume_gib", fleet.root_volume_gib, 8, 1024)
    _check_range("spito.fleet.service_port", fleet.service_port, 1024, 65535)
    _check_range("spito.fleet.signal_timeout_minutes", fleet.signal_timeout_minutes, 5, 60)


def _validate_service(service: ServiceConfig) -> None:
    _check_range("spito.service.workers", service.workers, 1, 64)
    _check_range("spito.service.paste_max_bytes", service.paste_max_bytes, 1, 100 * 1024 * 1024)
    _check_range(
        "spito.service.paste_inline_max_bytes",
        service.paste_inline_max_bytes,
        1,
        min(service.paste_max_bytes, 65_536),  # DynamoDB items are capped at 400 KB
    )
    _check_range("spito.service.expires_max_days", service.expires_max_days, 1, 3650)
    for key in ("link_expires_default_days", "paste_expires_default_days"):
        _check_range(f"spito.service.{key}", getattr(service, key), 1, service.expires_max_days)


def _validate_monitoring(monitoring: MonitoringConfig) -> None:
    _check_retention("spito.monitoring.log_retention_days", monitoring.log_retention_days)
    _check_range(
        "spito.monitoring.canary_interval_minutes", monitoring.canary_interval_minutes, 1, 60
    )
    if monitoring.alarm_email is not None and not _EMAIL.match(monitoring.alarm_email):
        raise ConfigError(
            "spito.monitoring.alarm_email",
            f"{monitoring.alarm_email!r} is not an e-mail address",
            "use name@example.com, or null for no subscription",
        )
    if not 0 < monitoring.p99_latency_seconds <= 60:
        raise ConfigError(
            "spito.monitoring.p99_latency_seconds", "must be in (0, 60]", "use e.g. 1.0"
        )
    if not 0 < monitoring.alb_5xx_percent <= 100:
        raise ConfigError("spito.monitoring.alb_5xx_percent", "must be in (0, 100]", "use e.g. 5")
    _check_range(
        "spito.monitoring.target_5xx_per_5_minutes", monitoring.target_5xx_per_5_minutes, 0, 10**6
    )


def _validate_data(config: SpitoConfig) -> None:
    if config.data.deletion_protection and not config.retain_data:
        raise ConfigError(
            "spito.data.deletion_protection",
            "deletion protection with removal_policy 'destroy' makes stack deletion fail",
            "set removal_policy to 'retain' or deletion_protection to false",
        )


def _validate_domain(domain: DomainConfig) -> None:
    if domain.domain_name is None:
        if domain.hosted_zone_id is not None:
            raise ConfigError(
                "spito.domain.domain_name",
                "hosted_zone_id is set without a domain",
                "set domain_name too, or remove hosted_zone_id",
            )
        return
    if not _DOMAIN.match(domain.domain_name):
        raise ConfigError(
            "spito.domain.domain_name",
            f"{domain.domain_name!r} is not a lower-case DNS name",
            "use e.g. spito.example.com",
        )
    if domain.hosted_zone_id is None:
        raise ConfigError(
            "spito.domain.hosted_zone_id",
            f"domain {domain.domain_name} has no hosted zone id",
            "set hosted_zone_id to the Route 53 zone's id (Z...), or remove domain_name",
        )
    if not _HOSTED_ZONE_ID.match(domain.hosted_zone_id):
        raise ConfigError(
            "spito.domain.hosted_zone_id",
            f"{domain.hosted_zone_id!r} is not a hosted zone id",
            "copy the id (Z...) from the Route 53 console",
        )


def _validate_edge(edge: EdgeConfig) -> None:
    _check_range(
        "spito.edge.waf_api_post_limit_per_5_minutes",
        edge.waf_api_post_limit_per_5_minutes,
        10,  # WAF's smallest rate-based limit
        2_000_000_000,
    )
    _check_range("spito.edge.access_log_retention_days", edge.access_log_retention_days, 1, 3650)


def _validate_origin_switch(config: SpitoConfig) -> None:
    switch = config.edge.origin_switch
    if switch is not None and config.domain.domain_name is None:
        # Both directions keep an HTTPS listener for one deploy, and it needs the domain's
        # certificate: remove the domain only in the deploy after "to_http".
        raise ConfigError(
            "spito.edge.origin_switch",
            f"{switch!r} keeps an HTTPS listener, which needs the domain's certificate",
            "keep spito.domain set for this deploy (remove it in the next one), or set "
            "origin_switch to null",
        )


def unpinned_fix(config: SpitoConfig) -> str:
    return (
        f"run `make ami STAGE={config.stage}` (needs AWS credentials) to pin the newest Amazon "
        f"Linux 2023 image for {config.region} and {config.fleet.architecture}"
    )


def pinned_ami(config: SpitoConfig) -> str:
    """The stage's reviewed image, which the fleet needs (`make ami` writes it)."""
    if config.fleet.ami_id is None:
        raise ConfigError(
            f"spito.stages.{config.stage}.fleet.ami_id",
            "no image is pinned for the fleet",
            unpinned_fix(config),
        )
    return config.fleet.ami_id


def _check_range(key: str, value: int | float, low: int | float, high: int | float) -> None:
    if not low <= value <= high:
        raise ConfigError(key, f"{value} is outside {low}..{high}", f"use a value in {low}..{high}")


def _check_retention(key: str, days: int) -> None:
    if days not in LOG_RETENTION_DAYS:
        raise ConfigError(
            key,
            f"CloudWatch Logs has no {days}-day retention",
            f"use one of {', '.join(map(str, LOG_RETENTION_DAYS))}",
        )
