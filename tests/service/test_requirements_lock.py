"""EC2 instances install service/requirements.lock; it must pin what requirements.txt pins."""

from __future__ import annotations

import re
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;#\\]+)", re.MULTILINE)


def _pins(path: Path) -> dict[str, str]:
    return {name.lower(): version for name, version in PIN.findall(path.read_text())}


def test_lock_pins_every_requirement_at_the_same_version() -> None:
    wanted = _pins(SERVICE / "requirements.txt")
    locked = _pins(SERVICE / "requirements.lock")
    assert wanted
    assert {name: locked.get(name) for name in wanted} == wanted


def test_every_locked_package_has_hashes() -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", (SERVICE / "requirements.lock").read_text())
    packages = [block for block in blocks if PIN.match(block)]
    assert packages
    assert all("--hash=sha256:" in block for block in packages)
