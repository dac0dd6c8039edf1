"""Start a real ``tensorboard --logdir`` on the loopback address, for a bounded time.

TensorBoard runs in a child Python with TensorFlow blocked from import (it then uses its
own file reader), which makes it start in a few seconds. ``running_tensorboard`` yields
the base URL once the server answers, and always stops the child.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

_LAUNCH = ("import sys; sys.modules['tensorflow'] = None; "
           "from tensorboard import main; sys.exit(main.run_main())")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def get_json(url: str, timeout: float = 5.0):
    return json.loads(get(url, timeout))


@contextlib.contextmanager
def running_tensorboard(logdir: str, ready_tag: str, deadline_s: float = 30.0):
    """Yields TensorBoard's base URL once scalar tag ``ready_tag`` is loaded."""
    port = free_port()
    log = open(os.path.join(os.path.dirname(logdir.rstrip("/")) or ".", "tensorboard.log"), "wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, "--logdir", logdir, "--host", "127.0.0.1",
         "--port", str(port), "--load_fast=false", "--reload_interval", "1"],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + deadline_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"tensorboard exited with {proc.returncode}; see {log.name}")
            try:
                if ready_tag in json.dumps(get_json(base + "/data/plugin/scalars/tags", 1.0)):
                    break
            except OSError:
                pass
            if time.monotonic() > end:
                raise TimeoutError(f"tensorboard did not load {ready_tag!r} within "
                                   f"{deadline_s} s")
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
