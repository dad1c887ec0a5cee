"""The fleet bootstrap's time on this host: installing from the asset's wheelhouse vs an index.

Both runs use the shipped script (infra/bootstrap/fleet_bootstrap.sh) on the asset as synth
lays it out for an x86_64 fleet (this host's platform), with only what a host without dnf,
systemd or CloudFormation cannot do switched off, and pip's cache off: one boots with the bundled
wheels and pip's index disabled, the other from the same lock through pip's configured index
(the network). Runs alternate, so both see the same machine. Usage:
`python -m bench.boot [--runs N]`; docs/ORIGIN-AND-EGRESS.md records a run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from faults.processes import free_port
from infra.api_fleet import BOOTSTRAP_SCRIPT, SERVICE_DIR
from infra.service_bundle import BUNDLED_WHEELHOUSE, stage_bundle, wheelhouse_dir

ENVIRONMENT = (
    "AWS_REGION=eu-west-1\nSPITO_TABLE=bench\nSPITO_BUCKET=bench\nSPITO_BIND_HOST=127.0.0.1\n"
)


def _zip(directory: Path, destination: Path) -> Path:
    with zipfile.ZipFile(destination, "w") as archive:
        for path in sorted(directory.rglob("*")):
            archive.write(path, path.relative_to(directory))
    return destination


def _bundles(work: Path) -> dict[str, Path]:
    """The fleet's asset, and the same without its wheelhouse (for the index run)."""
    staged = stage_bundle(SERVICE_DIR, wheelhouse_dir("x86_64"), work / "asset")
    with_wheels = _zip(staged, work / "wheelhouse.zip")
    shutil.rmtree(staged / BUNDLED_WHEELHOUSE)
    return {"wheelhouse": with_wheels, "index": _zip(staged, work / "index.zip")}


def boot_seconds(work: Path, bundle: Path, *flags: str) -> float:
    """Wall time of one bootstrap, from start to /healthz answering; the service is stopped."""
    root = work / "root"
    shutil.rmtree(root, ignore_errors=True)
    env_file = work / "service.env"
    env_file.write_text(f"PORT={free_port()}\n{ENVIRONMENT}")
    started = time.monotonic()
    completed = subprocess.run(  # noqa: S603 - our script, our arguments
        [
            *("bash", str(BOOTSTRAP_SCRIPT), "--root", str(root), "--bundle", str(bundle)),
            *("--env-file", str(env_file), "--no-packages", "--no-systemd", "--no-signal"),
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PIP_NO_CACHE_DIR": "1"},
    )
    elapsed = time.monotonic() - started
    pid_file = root / "run" / "spito" / "spito.pid"
    if pid_file.exists():
        os.killpg(int(pid_file.read_text()), signal.SIGTERM)
    if completed.returncode != 0:
        raise RuntimeError(f"bootstrap failed:\n{completed.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spito-boot-") as directory:
        work = Path(directory)
        bundles = _bundles(work)
        times: dict[str, list[float]] = {"wheelhouse": [], "index": []}
        for _ in range(args.runs):
            times["wheelhouse"].append(boot_seconds(work, bundles["wheelhouse"]))
            times["index"].append(boot_seconds(work, bundles["index"], "--index"))
    for source, seconds in times.items():
        shown = ", ".join(f"{s:.1f}" for s in seconds)
        print(f"{source}: median {statistics.median(seconds):.1f} s ({shown})")


if __name__ == "__main__":
    main()
