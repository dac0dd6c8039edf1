"""A real S3 API server for tests: moto in server mode, in its own process, on 127.0.0.1.

``s3_server`` (once per test session) starts tests/storage/s3_server.py on a free port,
points the standard AWS variables at it (so that s3fs in this process, and in every child
process a test starts, reaches it and nothing else), and stops it at the end. ``s3_bucket``
makes a fresh bucket per test and returns its URL. A missing moto, boto3 or s3fs fails
these tests (the test extra installs them): S3 coverage must not vanish silently.

    def test_x(s3_bucket):                  # "s3://t-3f9a..."
        saver.save(sess, s3_bucket + "/run/model")
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import urllib.request
import uuid

import pytest

SERVER = pathlib.Path(__file__).resolve().parent / "storage" / "s3_server.py"


class S3Server:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process, self.port = process, port
        self.endpoint = f"http://127.0.0.1:{port}"

    def env(self) -> dict:
        """The environment that sends boto3/s3fs (here and in children) to this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

    def meter(self, reset: bool = False) -> dict:
        """``{method: {"requests", "sent", "received"}}`` since the last reset."""
        request = urllib.request.Request(self.endpoint + "/__meter__",
                                         method="DELETE" if reset else "GET")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def gate(self, method: str, together: int) -> None:
        """Until ``together`` requests of ``method`` are in flight at once, each waits
        (s3_server.py: GATE_SECONDS at most)."""
        request = urllib.request.Request(f"{self.endpoint}/__meter__?gate={method}:{together}",
                                         method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    def make_bucket(self) -> str:
        import boto3
        name = "t-" + uuid.uuid4().hex[:20]
        boto3.client("s3", endpoint_url=self.endpoint).create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def s3_server():
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"the S3 tests need moto[server], boto3 and s3fs (the test extra): {exc}")
    log = open(os.devnull, "wb")
    process = subprocess.Popen([sys.executable, str(SERVER)], stdout=subprocess.PIPE,
                               stderr=log, text=True)
    try:
        line = process.stdout.readline()   # the server prints its port once it listens
        if not line.strip().isdigit():
            pytest.fail(f"the moto S3 server did not start (exit {process.poll()})")
        server = S3Server(process, int(line))
        saved = {k: os.environ.get(k) for k in server.env()}
        os.environ.update(server.env())
        from flowsaver.format import remote
        remote.set_storage_options("s3")   # no file system made for an earlier endpoint
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A new, empty bucket's URL: ``s3://<name>``."""
    return "s3://" + s3_server.make_bucket()
