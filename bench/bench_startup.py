"""Start-up cost: how long `flowsaver inspect` and `import flowsaver` take next to `import numpy`.

Five commands, each a fresh interpreter, timed side by side in one run:
  numpy      python -c "import numpy"                       (the yardstick)
  flowsaver  python -c "import flowsaver"
  first_use  python -c "import flowsaver as tf; tf.constant(1.0)": the lazy package loads the
             graph and op library on first use; what a TF1 script pays before its first op
  inspect    python -m flowsaver.cli inspect <2 KB float32 checkpoint>
  bare       the same inspect with `flowsaver` a bare package object, so that only what
             cli/ and format/ import themselves is loaded: what inspect costs once
             flowsaver/__init__.py imports nothing eagerly

Every repetition runs all of them once, in an order rotated by one per repetition, after one
untimed warm-up of each (page cache, .pyc files). Wall time per run is measured around
``subprocess.run``; the table gives medians and minima, and the ratios of medians against
`import numpy`. Targets: inspect <= 2x import numpy, import flowsaver <= 3x.

Bytecode: the children write and use .pyc files (in a temporary PYTHONPYCACHEPREFIX, so
nothing is written into the tree), as an installed package has them; the warm-up run
writes them. ``--no-pyc`` keeps PYTHONDONTWRITEBYTECODE, if set, so that every run compiles
flowsaver's modules from source (numpy's come compiled with its wheel either way).

It also lists the flowsaver modules that `import flowsaver.format.bundle_read` loads, and
whether ml_dtypes is loaded by each command (it should be only when a tensor needs it).

Usage (from the repository root):
  .venv/bin/python bench/bench_startup.py [--repeat 15] [--no-pyc] [--write LABEL]
``--write LABEL`` appends the tables, under LABEL, to bench/results_startup.md.
"""
from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results_startup.md"
TARGETS = {"flowsaver": 3.0, "inspect": 2.0, "bare": 2.0}
# Run in a child so that this process's imports do not decide what the child finds.
MODULES_PROBE = """
import sys, types
if {bare}:
    package = types.ModuleType("flowsaver")
    package.__path__ = [{package!r}]
    sys.modules["flowsaver"] = package
import {module}
names = sorted(m for m in sys.modules if m == "flowsaver" or m.startswith("flowsaver."))
print(len(names), "ml_dtypes" in sys.modules, " ".join(names))
"""
BARE_INSPECT = """
import sys, types
package = types.ModuleType("flowsaver")
package.__path__ = [{package!r}]
sys.modules["flowsaver"] = package
from flowsaver.cli.main import main
sys.exit(main(["inspect", {prefix!r}]))
"""
ML_DTYPES_PROBE = """
import runpy, sys
sys.argv = ["flowsaver", "inspect", {prefix!r}]
try:
    runpy.run_module("flowsaver.cli", run_name="__main__")
except SystemExit:
    pass
print("ml_dtypes" in sys.modules, file=sys.stderr)
"""


PYC_PREFIX: str | None = None   # set by main(): where children keep their .pyc files


def child_env() -> dict:
    """The environment for every timed child: this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONSTARTUP", None)
    if PYC_PREFIX is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = PYC_PREFIX
    return env


def write_checkpoint(prefix: str) -> int:
    """A small float32/int64 bundle (about 2 KB in all), written in a child; returns its size."""
    script = (
        "import numpy as np\n"
        "from flowsaver.format.bundle_write import save_tensors\n"
        "rng = np.random.default_rng(0)\n"
        f"save_tensors({prefix!r}, {{\n"
        "    'dense/kernel': rng.standard_normal((16, 16)).astype(np.float32),\n"
        "    'dense/bias': np.zeros(16, np.float32),\n"
        "    'out/kernel': rng.standard_normal((16, 8)).astype(np.float32),\n"
        "    'global_step': np.int64(7)})\n")
    subprocess.run([sys.executable, "-c", script], check=True, env=child_env(), cwd=ROOT)
    folder = os.path.dirname(prefix)
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))


def commands(prefix: str) -> dict[str, list[str]]:
    return {
        "numpy": [sys.executable, "-c", "import numpy"],
        "flowsaver": [sys.executable, "-c", "import flowsaver"],
        "first_use": [sys.executable, "-c", "import flowsaver as tf; tf.constant(1.0)"],
        "inspect": [sys.executable, "-m", "flowsaver.cli", "inspect", prefix],
        "bare": [sys.executable, "-c",
                 BARE_INSPECT.format(package=str(ROOT / "flowsaver"), prefix=prefix)],
    }


def time_once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, env=child_env(), cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def run(cmds: dict[str, list[str]], repeat: int) -> dict[str, list[float]]:
    """Interleaved timings: every repetition runs every command once, order rotated."""
    names = list(cmds)
    for name in names:
        time_once(cmds[name])   # warm-up, untimed
    times: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(repeat):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            times[name].append(time_once(cmds[name]))
    return times


def module_probe(module: str, bare: bool = False) -> tuple[int, bool, str]:
    script = MODULES_PROBE.format(module=module, bare=bare, package=str(ROOT / "flowsaver"))
    out = subprocess.run([sys.executable, "-c", script],
                         check=True, env=child_env(), cwd=ROOT, capture_output=True,
                         text=True).stdout.split(maxsplit=2)
    return int(out[0]), out[1] == "True", out[2] if len(out) > 2 else ""


def inspect_loads_ml_dtypes(prefix: str) -> bool:
    err = subprocess.run([sys.executable, "-c", ML_DTYPES_PROBE.format(prefix=prefix)],
                         check=True, env=child_env(), cwd=ROOT, capture_output=True,
                         text=True).stderr.split()
    return err[-1] == "True"


def report(times: dict[str, list[float]], size: int, repeat: int, load: tuple) -> str:
    base = statistics.median(times["numpy"])
    pyc = "with .pyc files" if PYC_PREFIX is not None else (
        "flowsaver compiled from source every run (no .pyc)"
        if os.environ.get("PYTHONDONTWRITEBYTECODE") else "with the usual __pycache__")
    lines = [
        f"{datetime.date.today()}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs, load average before/after: {load[0]:.2f} / {load[1]:.2f}; "
        f"{repeat} interleaved runs each, {pyc}, checkpoint {size} bytes.",
        "",
        "| command | median ms | min ms | ratio of medians vs import numpy | target |",
        "|---|---:|---:|---:|---:|",
    ]
    labels = {"numpy": "`python -c \"import numpy\"`",
              "flowsaver": "`python -c \"import flowsaver\"`",
              "first_use": "`import flowsaver as tf; tf.constant(1.0)` (loads the op library; "
                           "no target, for reference)",
              "inspect": "`python -m flowsaver.cli inspect <2 KB ckpt>`",
              "bare": "the same inspect, bare `flowsaver` package (cli/ + format/ only)"}
    for name, samples in times.items():
        med = statistics.median(samples)
        target = f"<= {TARGETS[name]:.0f}x" if name in TARGETS else ""
        lines.append(f"| {labels[name]} | {med * 1e3:.0f} | {min(samples) * 1e3:.0f} | "
                     f"{med / base:.2f}x | {target} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-pyc", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE: compile from source every run")
    parser.add_argument("--write", metavar="LABEL",
                        help="append the results under LABEL to bench/results_startup.md")
    args = parser.parse_args()
    global PYC_PREFIX
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_pyc:
            PYC_PREFIX = os.path.join(tmp, "pycache")
        prefix = os.path.join(tmp, "model", "model")
        os.mkdir(os.path.dirname(prefix))
        size = write_checkpoint(prefix)
        load_before = os.getloadavg()[0]
        times = run(commands(prefix), args.repeat)
        load_after = os.getloadavg()[0]
        inspect_ml = inspect_loads_ml_dtypes(prefix)
        table = report(times, size, args.repeat, (load_before, load_after))
        count, read_ml, names = module_probe("flowsaver.format.bundle_read")
        count_all, all_ml, _ = module_probe("flowsaver")
        count_bare, _, names_bare = module_probe("flowsaver.format.bundle_read", bare=True)
    extra = "\n".join([
        "",
        f"`import flowsaver.format.bundle_read` loads {count} flowsaver modules "
        f"(ml_dtypes loaded: {read_ml}); `import flowsaver` loads {count_all} "
        f"(ml_dtypes loaded: {all_ml}); `inspect` on the float32 checkpoint loads "
        f"ml_dtypes: {inspect_ml}. With a bare `flowsaver` package, "
        f"`import flowsaver.format.bundle_read` loads {count_bare}: {names_bare}",
        "",
        f"Modules loaded by `import flowsaver.format.bundle_read`: {names}",
    ])
    print(table + "\n" + extra)
    if args.write:
        with open(RESULTS, "a") as f:
            f.write(f"\n## {args.write}\n\n{table}\n{extra}\n")


if __name__ == "__main__":
    main()
