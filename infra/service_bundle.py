"""The service asset the fleet boots from: service/ plus a wheelhouse for the fleet's platform.

Instances install the service's dependencies with `pip install --no-index --require-hashes` from
the wheelhouse inside the asset (infra/bootstrap/fleet_bootstrap.sh), so a boot needs neither
PyPI nor a NAT route. The wheels are downloaded ahead of synth by `make wheelhouse` (pip
download --only-binary=:all: --require-hashes from service/requirements.lock for the fleet's
manylinux platform and CPython 3.11, AL2023's python3.11) into a cache under .tools/; synth only
copies them, so it stays offline, and it refuses to run with a missing or stale wheelhouse.

`stage_bundle` lays the asset out (also used by the tests and the boot benchmark, so they run
what the fleet runs): the service's files at the root, as before, and the wheels under
`wheelhouse/`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from .config import Architecture

REPO_ROOT = Path(__file__).resolve().parent.parent
# One folder per fleet architecture; `make wheelhouse` fills it. SPITO_FLEET_WHEELS points a
# synth elsewhere (a checkout of another commit, say, sharing one cache).
WHEELHOUSE_ROOT = Path(
    os.environ.get("SPITO_FLEET_WHEELS") or REPO_ROOT / ".tools" / "fleet-wheels"
)
# pip's names for the platforms AL2023 runs on (glibc 2.34, so manylinux2014 wheels install).
PIP_PLATFORMS: Mapping[Architecture, str] = MappingProxyType(
    {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
)
# AL2023's python3.11 (the bootstrap's interpreter), for which pip picks the wheels.
FLEET_PYTHON = "3.11"
FLEET_ABI = "cp311"
# Written by `make wheelhouse`: the sha256 of the lock the wheels were downloaded from.
LOCK_STAMP = ".lock-sha256"
LOCK_NAME = "requirements.lock"
BUNDLED_WHEELHOUSE = "wheelhouse"
# Kept out of the asset: they change the hash without changing what runs.
SERVICE_EXCLUDES = ("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", "tests")


class WheelhouseError(ValueError):
    """The wheelhouse is missing or was downloaded from another lock; the message names the fix."""


def wheelhouse_dir(architecture: Architecture) -> Path:
    return WHEELHOUSE_ROOT / architecture


def lock_digest(lock: Path) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest()


def check_wheelhouse(wheelhouse: Path, lock: Path) -> list[Path]:
    """The wheels of `wheelhouse`, if they were downloaded from exactly `lock`."""
    fix = "run `make wheelhouse` (it needs PyPI once; synth then runs offline)"
    stamp = wheelhouse / LOCK_STAMP
    wheels = sorted(wheelhouse.glob("*.whl"))
    if not stamp.is_file() or not wheels:
        raise WheelhouseError(f"no fleet wheelhouse in {wheelhouse}: {fix}")
    if stamp.read_text().strip() != lock_digest(lock):
        raise WheelhouseError(
            f"the fleet wheelhouse in {wheelhouse} was downloaded from another {LOCK_NAME}: {fix}"
        )
    return wheels


def stage_bundle(service_dir: Path, wheelhouse: Path, destination: Path) -> Path:
    """Lay out the asset in `destination` (empty or absent): service files, then the wheels."""
    wheels = check_wheelhouse(wheelhouse, service_dir / LOCK_NAME)
    shutil.copytree(
        service_dir,
        destination,
        ignore=shutil.ignore_patterns(*SERVICE_EXCLUDES),
        dirs_exist_ok=True,
    )
    bundled = destination / BUNDLED_WHEELHOUSE
    bundled.mkdir()
    for wheel in wheels:
        shutil.copy2(wheel, bundled / wheel.name)
    return destination


def download(architecture: Architecture, lock: Path, wheelhouse: Path) -> None:
    """Fill `wheelhouse` with the locked wheels for the fleet's platform (needs PyPI)."""
    shutil.rmtree(wheelhouse, ignore_errors=True)
    subprocess.run(  # noqa: S603 - our interpreter's pip, our arguments
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"),
            *("--require-hashes", "--only-binary=:all:", "--platform", PIP_PLATFORMS[architecture]),
            *("--python-version", FLEET_PYTHON, "--implementation", "cp", "--abi", FLEET_ABI),
            *("--dest", str(wheelhouse), "--requirement", str(lock)),
        ],
        check=True,
    )
    (wheelhouse / LOCK_STAMP).write_text(lock_digest(lock) + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m infra.service_bundle ARCH...`: download the wheelhouse of each architecture
    whose stamp does not match the lock (what `make wheelhouse` runs)."""
    lock = REPO_ROOT / "service" / LOCK_NAME
    for name in argv if argv is not None else sys.argv[1:]:
        if name not in PIP_PLATFORMS:
            sys.exit(
                f"service_bundle: unknown architecture {name!r}; use {', '.join(PIP_PLATFORMS)}"
            )
        architecture = typing.cast(Architecture, name)
        try:
            check_wheelhouse(wheelhouse_dir(architecture), lock)
        except WheelhouseError:
            download(architecture, lock, wheelhouse_dir(architecture))


if __name__ == "__main__":
    main()
