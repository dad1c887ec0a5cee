"""Fixtures for the Lambda handler tests: load a handler the way the Lambda runtime does."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
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
