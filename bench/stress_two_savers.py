"""Two Savers with different prefixes saving into one directory at the same time.

Issue 16's campaign saw 41 of 23,988 such saves fail with FileNotFoundError: each save
deleted every ``checkpoint.tmp*`` file, the other process's half-written state file
included. Now a save touches only its own temporary state file; this runs the campaign
(tests/train/test_retention_safety.py runs a small one) and reports every failure.

    PYTHONPATH=. .venv/bin/python bench/stress_two_savers.py [--saves 12000] [--dir D]
    make stress

Exit status 0 when no save failed and each saver's retention kept exactly its
``max_to_keep`` newest checkpoints.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "train"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=12000, help="saves per process")
    parser.add_argument("--dir", help="directory to save into (default: a temporary one)")
    args = parser.parse_args(argv)
    from test_retention_safety import run_two_savers   # the suite's small campaign
    directory = pathlib.Path(args.dir or tempfile.mkdtemp(prefix="two-savers-"))
    directory.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = run_two_savers(directory, args.saves)
    seconds = time.perf_counter() - start
    failures = 0
    for (child, out, err), prefix in zip(results, ("alpha", "beta")):
        count = int(out.strip() or -1) if child.returncode == 0 else -1
        failures += count if count > 0 else (0 if count == 0 else 1)
        print(f"{prefix}: {args.saves} saves, {count} failed, exit {child.returncode}")
        if err.strip():
            print(err.strip()[-2000:])
    names = os.listdir(directory)
    for prefix in ("alpha", "beta"):
        kept = sorted(n for n in names if n.startswith(prefix + "-") and n.endswith(".index"))
        want = [f"{prefix}-{args.saves - 1}.index", f"{prefix}-{args.saves}.index"]
        print(f"{prefix}: kept {kept}")
        failures += kept != want
    print(f"{2 * args.saves} saves in {seconds:.0f} s; failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
