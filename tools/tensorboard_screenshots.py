"""Screenshots of TensorBoard showing a flowsaver run: its scalars page and graph page.

    python tools/tensorboard_screenshots.py LOGDIR OUTDIR

Starts ``tensorboard --logdir LOGDIR`` on 127.0.0.1 (a free port; TensorFlow kept out of
its process so that it starts in seconds), waits until the run's scalars are loaded,
takes PNG screenshots of the Scalars and Graphs dashboards with headless Chromium
(``apt-get install chromium``), and stops TensorBoard. A development tool: TensorBoard
and Chromium are not flowsaver dependencies.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

LAUNCH = ("import sys; sys.modules['tensorflow'] = None; "
          "from tensorboard import main; sys.exit(main.run_main())")
PAGES = {"scalars": "#scalars", "graphs": "#graphs"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_scalars(base: str, deadline_s: float = 60.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(base + "/data/plugin/scalars/tags", timeout=2) as r:
                if json.loads(r.read()):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError("TensorBoard did not load the run's scalars in time")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError("no Chromium found: apt-get install chromium")


def screenshot(url: str, path: str, size: str = "1400,900") -> None:
    # charts are WebGL: software rendering (SwiftShader) draws them without a GPU
    subprocess.run([chromium(), "--headless", "--no-sandbox", "--use-gl=angle",
                    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                    "--hide-scrollbars", f"--window-size={size}",
                    "--virtual-time-budget=20000", f"--screenshot={path}", url],
                   check=True, timeout=120, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def main(logdir: str, outdir: str) -> None:
    os.makedirs(outdir, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-c", LAUNCH, "--logdir", logdir, "--host",
                               "127.0.0.1", "--port", str(port), "--load_fast=false"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_scalars(base)
        for name, fragment in PAGES.items():
            path = os.path.join(outdir, f"tensorboard_{name}.png")
            screenshot(base + "/" + fragment, path)
            print(f"wrote {path}")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
