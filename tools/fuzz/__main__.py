"""`python -m tools.fuzz`: run the fuzzing campaign (what `make fuzz` runs).

    python -m tools.fuzz [--inputs N] [--targets a,b] [--seed S] [--jobs J]
                         [--seconds T] [--memory-mb M] [--findings DIR] [--start K]
    python -m tools.fuzz --replay DIR      # re-run a kept finding in-process
    python -m tools.fuzz --list            # the targets and their seeds

Prints one line per target (inputs, time, outcome counts) and, for each finding, where
its files were kept. Exit status 1 when anything but ``ok`` and ``typed`` occurred.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys

from tools.fuzz import engine


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=100_000,
                        help="mutated inputs per target (default 100000)")
    parser.add_argument("--targets", default=",".join(engine.ALL_TARGETS),
                        help="comma-separated target names (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="campaign seed (default 0)")
    parser.add_argument("--start", type=int, default=0, help="first input index")
    parser.add_argument("--jobs", type=int, default=2, help="parallel workers (default 2)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="CPU seconds per input (wall clock: six times that, at least "
                             "a minute)")
    parser.add_argument("--memory-mb", type=int, default=1024,
                        help="address space per input beyond the forked worker's")
    parser.add_argument("--findings", default="fuzz-findings",
                        help="where to keep the files of findings (default fuzz-findings)")
    parser.add_argument("--replay", metavar="DIR", help="re-run one kept finding")
    parser.add_argument("--list", action="store_true", help="list targets and seeds")
    args = parser.parse_args(argv)
    # SIGTERM ends the campaign through SystemExit, so that the worker pool is terminated.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.disable(logging.CRITICAL)   # readers warn about every broken state file
    if args.replay:
        outcome = engine.replay(args.replay)
        print(f"{outcome.kind} in step {outcome.step!r}\n{outcome.detail}")
        return 0 if outcome.kind in ("ok", "typed") else 1
    names = [n for n in args.targets.split(",") if n]
    unknown = [n for n in names if n not in engine.ALL_TARGETS]
    if unknown:
        parser.error(f"unknown targets {unknown}; known: {list(engine.ALL_TARGETS)}")
    if args.list:
        engine.prepare(names)
        for name in names:
            print(name, [s.label for s in engine._SEEDS[name]])
        return 0
    limits = engine.Limits(args.seconds, args.memory_mb << 20)
    failed = False
    for name in names:
        report = engine.run_target(name, args.inputs, args.seed, args.jobs, limits,
                                   args.findings, start=args.start)
        print(report.line(), flush=True)
        for (kind, step), n in sorted(report.by_step.items()):
            print(f"    {kind} in step {step}: {n}")
        for kind, index, step, saved, first in report.examples:
            print(f"    {kind} #{index} ({step}): {' '.join(first)} -> {saved}")
        failed |= report.findings > 0
    print("FAILED: findings above" if failed else "OK: only ok and typed outcomes")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
