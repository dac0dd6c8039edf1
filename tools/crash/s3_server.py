"""A real S3 API server for the kill campaign: moto in server mode, on 127.0.0.1.

    python -m tools.crash.s3_server     # prints the port it listens on, serves until killed

``S3Server`` starts it in a process of its own (never in the campaign's process: the
campaign forks its savers, and a server's threads would not survive the fork), on a free
port, and gives the environment that sends boto3 and s3fs there and nowhere else. moto,
boto3 and s3fs come with the test extra, which `make crash` installs.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid


def serve() -> None:
    from moto.moto_server.werkzeug_app import (DomainDispatcherApplication,
                                               MotoRequestHandler, create_backend_app)
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app),
                         threaded=True, request_handler=MotoRequestHandler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


class S3Server:
    """A moto S3 server process; use as a context manager (it is stopped on exit)."""

    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.endpoint = ""
        self._saved: dict = {}

    def env(self) -> dict:
        """What sends boto3/s3fs, here and in every forked saver, to this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

    def __enter__(self) -> "S3Server":
        try:
            import boto3  # noqa: F401
            import moto  # noqa: F401
            import s3fs  # noqa: F401
        except ImportError as exc:
            raise SystemExit(f"the S3 kill campaign needs moto[server], boto3 and s3fs "
                             f"(pip install -e '.[test]'): {exc}") from None
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.process = subprocess.Popen([sys.executable, "-m", "tools.crash.s3_server"],
                                        cwd=root, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise SystemExit(f"the moto S3 server did not start (exit {self.process.poll()})")
        self.endpoint = f"http://127.0.0.1:{int(line)}"
        self._saved = {k: os.environ.get(k) for k in self.env()}
        os.environ.update(self.env())
        from flowsaver.format import remote
        remote.set_storage_options("s3")   # forget file systems made for another endpoint
        return self

    def make_bucket(self, name: str | None = None) -> str:
        """Creates a bucket (a fresh name by default); returns its name."""
        import boto3
        name = name or "crash-" + uuid.uuid4().hex[:16]
        boto3.client("s3", endpoint_url=self.endpoint).create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __exit__(self, *exc) -> None:
        self.stop()
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        from flowsaver.format import remote
        remote.set_storage_options("s3")


if __name__ == "__main__":
    sys.exit(serve())
