"""The service asset carries the fleet's wheels, and synth refuses a missing or stale wheelhouse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from infra.api_fleet import SERVICE_DIR
from infra.service_bundle import (
    LOCK_STAMP,
    WheelhouseError,
    check_wheelhouse,
    stage_bundle,
    wheelhouse_dir,
)


def _shipped_asset(cdk_out: Path, stage: str) -> Path:
    manifest = json.loads((cdk_out / f"Spito-{stage}-Api.assets.json").read_text())
    (asset,) = [
        cdk_out / entry["source"]["path"]
        for entry in manifest["files"].values()
        if (cdk_out / entry["source"]["path"] / "__main__.py").is_file()
    ]
    return asset


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_asset_carries_every_locked_package_as_a_graviton_cp311_wheel(
    stage: str, cdk_out: Path
) -> None:
    asset = _shipped_asset(cdk_out, stage)
    wheels = sorted(path.name for path in (asset / "wheelhouse").glob("*.whl"))
    lock = (SERVICE_DIR / "requirements.lock").read_text()
    pinned = {
        line.split("==")[0].replace("-", "_").lower()
        for line in lock.splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert {wheel.split("-")[0].lower() for wheel in wheels} == pinned
    compiled = [wheel for wheel in wheels if "-none-any" not in wheel and "py2.py3" not in wheel]
    assert compiled, "httptools and uvloop are compiled"
    assert all("-cp311-cp311-" in wheel and "aarch64" in wheel for wheel in compiled)
    # The service itself sits at the root, as the bootstrap expects.
    assert (asset / "__main__.py").is_file()
    assert (asset / "requirements.lock").is_file()
    assert not (asset / "tests").exists()


def test_a_missing_wheelhouse_stops_synth_naming_the_make_target(tmp_path: Path) -> None:
    with pytest.raises(WheelhouseError, match=r"run `make wheelhouse`"):
        check_wheelhouse(tmp_path / "nowhere", SERVICE_DIR / "requirements.lock")


def test_a_wheelhouse_from_another_lock_stops_synth(tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheels"
    shutil.copytree(wheelhouse_dir("arm64"), wheelhouse)
    (wheelhouse / LOCK_STAMP).write_text("0" * 64 + "\n")
    with pytest.raises(WheelhouseError, match=r"another requirements.lock: run `make wheelhouse`"):
        check_wheelhouse(wheelhouse, SERVICE_DIR / "requirements.lock")


def test_the_fleet_construct_checks_the_wheelhouse_before_anything_else(tmp_path: Path) -> None:
    from aws_cdk import App, Stack

    from tests.infra.test_api_variants import ENV, _add_fleet

    stack = Stack(App(), "NoWheels", env=ENV)
    with pytest.raises(WheelhouseError, match=r"no fleet wheelhouse in .*: run `make wheelhouse`"):
        _add_fleet(stack, wheelhouse=tmp_path)


def test_staging_lays_out_the_service_and_the_wheels_only(tmp_path: Path) -> None:
    staged = stage_bundle(SERVICE_DIR, wheelhouse_dir("x86_64"), tmp_path / "asset")
    assert (staged / "__main__.py").is_file()
    assert not list(staged.rglob("__pycache__"))
    assert sorted(p.name for p in (staged / "wheelhouse").iterdir()) == sorted(
        p.name for p in wheelhouse_dir("x86_64").glob("*.whl")
    )
