"""Fixtures for the Lambda handler tests: load a handler the way the Lambda runtime does."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"


def _load_handler(function: str) -> ModuleType:
    name = f"spito_lambda_{function}_handler"
    spec = importlib.util.spec_from_file_location(name, LAMBDA_SRC / function / "handler.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_handler() -> Callable[[str], ModuleType]:
    """Import `lambda_src/<function>/handler.py` afresh, as the runtime imports the asset's module.

    A fresh import runs the module's top level again, so it sees the environment the test set.
    """
    return _load_handler


S3RVER = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "s3rver"
BLOB_BUCKET = "spito-blobs"


@pytest.fixture(scope="module")
def s3rver_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real s3rver on a free port with the blob bucket, stopped when the module's tests end."""
    workdir = tmp_path_factory.mktemp("s3rver")
    log_path = workdir / "s3rver.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                S3RVER,
                "-d",
                workdir / "data",
                "-a",
                "127.0.0.1",
                "-p",
                "0",
                "--configure-bucket",
                BLOB_BUCKET,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://{_wait_for_listening(process, log_path)}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_listening(process: subprocess.Popen[bytes], log_path: Path) -> str:
    """The address s3rver prints once it listens: it binds port 0, so its log is the only source."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        match = re.search(r"listening on (127\.0\.0\.1:\d+)", log_path.read_text())
        if match:
            return match.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"s3rver exited: {log_path.read_text()}")
        time.sleep(0.05)
    raise RuntimeError("s3rver did not start listening within 20 s")
