"""Shared fixtures for tests that run real TensorFlow next to flowsaver.

TensorFlow is imported lazily, once per session. A missing TensorFlow fails these tests
(`make test` installs it), so that interop coverage cannot vanish silently. Only an explicit
FLOWSAVER_SKIP_INTEROP=1, honoured outside CI, skips them.
"""
from __future__ import annotations

import importlib
import os

import pytest


@pytest.fixture(scope="session")
def tf():
    """The ``tensorflow`` module (quiet C++ logging); fails when TensorFlow is absent."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    opted_out = os.environ.get("FLOWSAVER_SKIP_INTEROP") == "1" and \
        os.environ.get("CI", "").lower() != "true"
    if opted_out:
        pytest.skip("FLOWSAVER_SKIP_INTEROP=1: interop tests with TensorFlow not run")
    try:
        return importlib.import_module("tensorflow")
    except ImportError as exc:
        pytest.fail(f"TensorFlow is required for interop tests (make test installs it): {exc}")
