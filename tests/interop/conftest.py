"""Shared fixtures for tests that run real TensorFlow next to flowsaver.

TensorFlow is imported lazily, once per session. A missing TensorFlow fails these tests
(`make test` installs it), so that interop coverage can never vanish silently. Without
TensorFlow, leave them out explicitly: `pytest --ignore=tests/interop`.
"""
from __future__ import annotations

import importlib
import os

import pytest


@pytest.fixture(scope="session")
def tf():
    """The ``tensorflow`` module (quiet C++ logging); fails when TensorFlow is absent."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    # tf.compat.v1.layers live in tf_keras (Keras 2); TensorFlow routes to it when asked
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    # The same oracle on every x86 machine: TensorFlow turns its oneDNN kernels on by itself
    # only on CPUs with AVX-512 VNNI/BF16 or AMX, and without them its CPU kernels refuse
    # dilated Conv2DBackpropInput and DepthwiseConv2dNative, which the rows compare
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    try:
        return importlib.import_module("tensorflow")
    except ImportError as exc:
        pytest.fail(f"TensorFlow is required for interop tests (make test installs it): {exc}")


# The S3 server (moto, in server mode) for tests that hand TensorFlow bytes saved to S3.
from s3_fixtures import s3_bucket, s3_server  # noqa: E402,F401
