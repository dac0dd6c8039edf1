"""A fuzzing campaign: for each target, N mutated inputs, each read in a forked child.

Input k of a target is fully determined by (campaign seed, target, k): the seed file is
``seeds[k % len(seeds)]`` and the mutation draws from ``Random(f"{seed}/{target}/{k}")``,
so any finding is reproduced by its index alone (and its files are kept besides).
Workers (``jobs``) split the indices of one target; each keeps one scratch directory.
"""
from __future__ import annotations

import collections
import dataclasses
import gc
import json
import multiprocessing
import os
import random
import shutil
import signal
import tempfile
import time

from tools.fuzz import runner
from tools.fuzz.targets_checkpoint import TARGETS as CHECKPOINT_TARGETS
from tools.fuzz.targets_graph import TARGETS as GRAPH_TARGETS
from tools.fuzz.targets_stream import TARGETS as STREAM_TARGETS
from tools.fuzz.targets_v1_objects import TARGETS as V1_OBJECT_TARGETS

ALL_TARGETS = {t.name: t for t in
               CHECKPOINT_TARGETS + V1_OBJECT_TARGETS + GRAPH_TARGETS + STREAM_TARGETS}


@dataclasses.dataclass
class Limits:
    seconds: float = 10.0            # CPU seconds per input (runner.wall_clock_limit)
    memory: int = 1 << 30            # bytes of address space per input, beyond the fork's


@dataclasses.dataclass
class TargetReport:
    target: str
    inputs: int = 0
    counts: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    by_step: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    examples: list = dataclasses.field(default_factory=list)   # (kind, index, step, dir)
    seconds: float = 0.0

    @property
    def findings(self) -> int:
        return sum(n for kind, n in self.counts.items() if kind in runner.FINDINGS)

    def line(self) -> str:
        parts = ", ".join(f"{k} {self.counts[k]}" for k in runner.ORDER if self.counts[k])
        return (f"{self.target:13s} {self.inputs:8d} inputs in {self.seconds:7.0f} s: {parts}")


def case_for(target, seeds, campaign_seed: int, index: int):
    seed = seeds[index % len(seeds)]
    rng = random.Random(f"{campaign_seed}/{target.name}/{index}")
    return seed, target.mutate(seed, rng)


def _worker(args) -> TargetReport:
    name, indices, campaign_seed, limits, findings_dir, keep = args
    target = ALL_TARGETS[name]()
    seeds = _SEEDS[name]
    report = TargetReport(name)
    # Every input's child is forked from here: objects that exist now are frozen out of
    # the cyclic collector, so that a collection in a child does not touch (and so copy)
    # every page of this process's heap -- that cost more than most reads themselves.
    scratch = tempfile.mkdtemp(prefix=f"fuzz-{name}-", dir=scratch_root())
    gc.freeze()
    try:
        for index in indices:
            seed, case = case_for(target, seeds, campaign_seed, index)
            directory = os.path.join(scratch, "fuzz-input")
            runner.write_case(directory, case)
            outcome = runner.run_forked(
                lambda: target.steps(directory, seed, case),
                target.paths(directory, seed), limits.seconds, limits.memory)
            report.inputs += 1
            report.counts[outcome.kind] += 1
            if findings_dir and report.inputs % PROGRESS_EVERY == 0:
                _progress(findings_dir, name, indices[0], report)
            if outcome.kind in runner.FINDINGS:
                report.by_step[(outcome.kind, outcome.step)] += 1
                kept = sum(1 for e in report.examples if e[0] == outcome.kind)
                if findings_dir and kept < keep:
                    saved = runner.save_finding(findings_dir, name, index, case, outcome)
                    report.examples.append((outcome.kind, index, outcome.step, saved,
                                            outcome.detail.splitlines()[:1]))
    finally:
        gc.unfreeze()     # a worker may be the caller's own process (jobs=1, the suite)
        shutil.rmtree(scratch, ignore_errors=True)
    return report


_SEEDS: dict = {}
PROGRESS_EVERY = 500


def scratch_root() -> str | None:
    """Where inputs are written: memory (/dev/shm) when there is one, since each input's
    files are written, read and replaced within milliseconds; else the temp directory."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def _progress(findings_dir: str, name: str, worker: int, report: TargetReport) -> None:
    """A long campaign's partial counts, one small JSON file per worker (read them while
    it runs: ``cat fuzz-findings/progress-*``)."""
    os.makedirs(findings_dir, exist_ok=True)
    path = os.path.join(findings_dir, f"progress-{name}-{worker}.json")
    with open(path + ".part", "w") as f:
        json.dump({"target": name, "inputs": report.inputs, "counts": report.counts}, f)
    os.replace(path + ".part", path)


def prepare(names) -> None:
    """Builds every target's seeds once, before the workers fork (they inherit them), and
    reads each unmutated seed once here: whatever the readers import or cache lazily is
    then loaded before the fork instead of in every child."""
    for name in names:
        if name in _SEEDS:
            continue
        target = ALL_TARGETS[name]()
        _SEEDS[name] = target.seeds()
        check_seeds(target, _SEEDS[name])


def baseline(target, seed) -> runner.Case:
    """The unmutated seed as a case."""
    if hasattr(target, "baseline"):
        return target.baseline(seed)
    return runner.Case(seed.files, frozenset(), "unmutated")


def check_seeds(target, seeds) -> list:
    """Reads every unmutated seed in this process; ``[(seed label, Outcome)]`` of those
    with a finding (then the fuzzer's own expectations would be wrong). A typed error is
    no finding: some seeds are meant to fail some steps."""
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            case = baseline(target, seed)
            runner.write_case(tmp + "/seed", case)
            outcome = runner.run_steps(target.steps(tmp + "/seed", seed, case),
                                       target.paths(tmp + "/seed", seed))
            if outcome.kind in runner.FINDINGS:
                bad.append((seed.label, outcome))
    return bad


def run_target(name: str, inputs: int, campaign_seed: int = 0, jobs: int = 1,
               limits: Limits = Limits(), findings_dir: str | None = None,
               keep: int = 5, start: int = 0) -> TargetReport:
    """Runs inputs ``start .. start + inputs`` of target ``name``; returns the totals."""
    prepare([name])
    began = time.monotonic()
    chunks = [list(range(start + j, start + inputs, jobs)) for j in range(jobs)]
    work = [(name, chunk, campaign_seed, limits, findings_dir, keep) for chunk in chunks]
    if jobs == 1:
        parts = [_worker(work[0])]
    else:
        with multiprocessing.get_context("fork").Pool(jobs, _plain_sigterm) as pool:
            parts = pool.map(_worker, work)
    total = TargetReport(name)
    for part in parts:
        total.inputs += part.inputs
        total.counts.update(part.counts)
        total.by_step.update(part.by_step)
        total.examples += part.examples
    total.seconds = time.monotonic() - began
    return total


def _plain_sigterm() -> None:
    """A pool worker dies of SIGTERM at once, wherever it is. Inheriting the campaign's
    handler (SystemExit, meant for the parent) it did not always: on 2026-12-03 a
    v2_index run of 100,000 inputs stalled after its last input, one worker still blocked
    in the pool's queue wait after the pool's closing SIGTERM, until a second SIGTERM."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def replay(directory: str):
    """Re-runs a kept finding in this process (no fork), for a debugger or a traceback."""
    import pickle
    with open(os.path.join(directory, "case.pickle"), "rb") as f:
        case = pickle.load(f)
    note = open(os.path.join(directory, "note.txt")).read()
    name = note.split("\n", 1)[0].split(": ", 1)[1]
    index = int(note.split("\n")[1].split(": ", 1)[1])
    target = ALL_TARGETS[name]()
    prepare([name])
    seed = _SEEDS[name][index % len(_SEEDS[name])]
    work = os.path.join(directory, "input")
    return runner.run_steps(target.steps(work, seed, case), target.paths(work, seed))
