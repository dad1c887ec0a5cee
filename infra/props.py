"""Up-front checks of the constructs' props, each refusal naming the prop and the fix.

A construct calls these first thing in `__init__`, before any resource exists, so a bad prop
fails the synth with one line instead of a 15-minute signal timeout on an instance. Every error
is a `PropError` (a `ValueError`) whose message reads `Construct: prop=value ...; fix`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

MAX_PORT = 65535
# What the service's env file (KEY=value lines, systemd's EnvironmentFile) can hold unquoted.
ENVIRONMENT_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


class PropError(ValueError):
    """A construct prop that cannot work; the message names the prop and the fix."""


def _refuse(owner: str, prop: str, value: object, problem: str, fix: str) -> PropError:
    return PropError(f"{owner}: {prop}={value!r} {problem}; {fix}")


def check_port(owner: str, prop: str, port: int) -> int:
    """`port` as a TCP port the ALB can forward to: 1..65535."""
    if not 1 <= port <= MAX_PORT:
        raise _refuse(owner, prop, port, "is not a TCP port", f"pass a port in 1..{MAX_PORT}")
    return port


def check_capacity(owner: str, *, min_capacity: int, max_capacity: int) -> None:
    """Room to roll one instance at a time: 1 <= min_capacity < max_capacity.

    A rolling update keeping every instance in service launches each replacement first, above
    the group's current size; CloudFormation requires the instances kept in service to be fewer
    than the group's MaxSize ("UpdatePolicy attribute", AutoScalingRollingUpdate,
    MinInstancesInService: "Must be less than the Auto Scaling group's MaxSize").
    """
    if min_capacity < 1:
        raise _refuse(owner, "min_capacity", min_capacity, "leaves no instance", "pass 1 or more")
    if min_capacity >= max_capacity:
        raise PropError(
            f"{owner}: min_capacity={min_capacity} max_capacity={max_capacity} leaves no room "
            "to roll the fleet (each replacement is launched before an old instance goes); "
            f"pass max_capacity of at least {min_capacity + 1}"
        )


def check_environment(owner: str, prop: str, environment: Mapping[str, str]) -> None:
    """Names and values an env file line `KEY=value` carries unchanged: upper-case names,
    values without whitespace (systemd's EnvironmentFile trims and splits on it, and a newline
    would start another variable)."""
    for name, value in environment.items():
        if not ENVIRONMENT_NAME.fullmatch(name):
            raise _refuse(
                owner,
                prop,
                {name: value},
                "has a name an env file cannot hold",
                "use upper-case letters, digits and underscores",
            )
        if any(character.isspace() for character in value):
            raise _refuse(
                owner,
                prop,
                {name: value},
                "has whitespace in its value",
                "pass a value without spaces, tabs or newlines (a list as commas)",
            )


def check_directory(
    owner: str, prop: str, directory: Path | str, files: Iterable[str], *, fix: str
) -> Path:
    """`directory` as a Path (a str is accepted) holding each of `files`."""
    path = Path(directory)
    for name in files:
        if not (path / name).is_file():
            raise _refuse(owner, prop, str(path), f"has no {name}", fix)
    return path


def check_range(owner: str, prop: str, value: int, low: int, high: int, why: str) -> int:
    """`value` in low..high; `why` says whose limit that is."""
    if not low <= value <= high:
        raise _refuse(owner, prop, value, f"is outside {low}..{high} ({why})", "pass a value in it")
    return value


def check_https_url(owner: str, prop: str, url: str) -> str:
    """An https:// URL with a host and no whitespace (a token for the host is fine)."""
    if (
        not url.startswith("https://")
        or len(url) == len("https://")
        or any(character.isspace() for character in url)
    ):
        raise _refuse(
            owner, prop, url, "is not an https URL", "pass e.g. https://spito.example.com"
        )
    return url


# The platform tag a wheel built for each fleet architecture carries (pure-Python wheels: none).
WHEEL_PLATFORM_TAGS = {"arm64": "aarch64", "x86_64": "x86_64"}


def check_wheel_architecture(owner: str, architecture: str, wheels: Iterable[Path]) -> None:
    """Every platform wheel in the wheelhouse is for the instances' `architecture`."""
    others = [tag for arch, tag in WHEEL_PLATFORM_TAGS.items() if arch != architecture]
    foreign = [wheel.name for wheel in wheels if any(tag in wheel.name for tag in others)]
    if foreign:
        raise PropError(
            f"{owner}: instance_type is {architecture} but wheelhouse has wheels for another "
            f"architecture ({foreign[0]}); pass the wheelhouse for {architecture} "
            f"(`make wheelhouse`, .tools/fleet-wheels/{architecture}) or an instance type of "
            "the wheelhouse's architecture"
        )
