"""`python -m tools.crash`: the kill campaign (what `make crash` runs).

    python -m tools.crash [--kills 240] [--store local|s3] [--dir DIR|s3://B/P] [--seed S]
                        [--span SAVES]

Runs tools.crash.child again and again in one directory, as a training job restarted
after each crash would (each run forked from this process, which has flowsaver imported
already), and kills every run with SIGKILL: at a chosen point of its saves
(halfway through a data write, before or after each rename, before or after each
retention deletion; child.py) or, for one run in three, after a random delay. After each
kill the directory is checked (check.py); the next run restores from it. The report
gives the kills by kind, damaged latest checkpoints (must be 0), damaged listed ones,
and the leftovers found. Exit status 1 on any damaged checkpoint.

With ``--store s3`` (or a ``--dir s3://bucket/prefix``) the campaign starts a real S3
API server (moto's, on 127.0.0.1, a free port; s3_server.py), the runs save through
flowsaver's URL paths, and the kill points are those of the object-store commit
protocol: before, after and in the middle of each PUT (data, index, state file, .meta),
before and after each retention DELETE, and random moments (child.py).
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import re
import signal
import sys
import tempfile
import time
import traceback

import flowsaver as tf
from tools.crash import child
from tools.crash.check import check, storage_for, sweep
from tools.crash.s3_server import S3Server

# Per save: 3 data chunk writes, 4 renames (data, index, .meta, state file); past
# MAX_TO_KEEP saves, 3 deletions (retention). Kill points are drawn within this many saves.
SAVES_SPAN = 5
POINTS = {"write": 3, "replace-before": 4, "replace-after": 4, "remove-before": 3,
          "remove-after": 3}
# On an object store, per save: 4 PUTs (data, index, state file, .meta) and, past
# MAX_TO_KEEP saves, 3 DELETEs (.meta, index, data).
STORE_POINTS = {"put-before": 4, "put-after": 4, "upload": 4, "delete-before": 3,
                "delete-after": 3}


def _die_with_parent() -> None:
    """Linux: SIGKILL this forked run when the campaign ends, however it ends (a timed
    run would otherwise go on saving for thousands of steps)."""
    if sys.platform.startswith("linux"):
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _fork_child(directory: str, kill: str, saves: int) -> tuple[int, int]:
    """Forks a run of child.main (flowsaver is already imported here, so a run does not
    pay for the imports again); returns its pid and the read end of its stdout."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _die_with_parent()
            os.close(read_end)
            os.dup2(write_end, 1)
            sys.stdout = os.fdopen(1, "w", closefd=False)
            code = child.main([directory, "--kill", kill, "--saves", str(saves)])
        except BaseException:  # noqa: BLE001 - report, never return into the campaign
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def run_once(directory: str, kill: str, rng: random.Random, saves: int) -> dict:
    """One run of the child: the steps whose saves returned, and how it ended."""
    pid, read_end = _fork_child(directory, kill, saves)
    text, killed_by_timer = "", False
    with os.fdopen(read_end, "rb") as out:
        if kill == "none":
            # wait for "ready", then kill after a random moment within a few saves
            for raw in out:
                text += raw.decode()
                if raw.strip() == b"ready":
                    break
            time.sleep(rng.uniform(0.0, 1.5))
            os.kill(pid, signal.SIGKILL)
            killed_by_timer = True
        text += out.read().decode()
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    if killed_by_timer and code != -signal.SIGKILL:
        killed_by_timer = False            # it had finished before the timer went off
    where = re.findall(r"^killed (.+)$", text, re.MULTILINE)
    return {"returncode": code, "timer": killed_by_timer, "where": where[-1] if where else None,
            "saved": [int(s) for s in re.findall(r"^saved (\d+)$", text, re.MULTILINE)],
            "stderr": text[-2000:]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.crash", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=240)
    parser.add_argument("--dir", help="the checkpoint directory (default: a fresh temp "
                                      "dir), or an s3://bucket/prefix URL")
    parser.add_argument("--store", choices=("local", "s3"),
                        help="local (default) or s3: a moto S3 server started here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--span", type=int, default=SAVES_SPAN,
                        help=f"kill points are drawn within this many saves of a run "
                             f"(default {SAVES_SPAN})")
    args = parser.parse_args(argv)
    store = args.store or ("s3" if (args.dir or "").startswith("s3://") else "local")
    if store == "s3":
        if args.dir and not args.dir.startswith("s3://"):
            parser.error("--store s3 takes an s3://bucket/prefix --dir")
        with S3Server() as server:
            bucket = args.dir[len("s3://"):].split("/", 1)[0] if args.dir else None
            bucket = server.make_bucket(bucket)
            directory = args.dir or f"s3://{bucket}/run"
            print(f"S3 API server (moto) at {server.endpoint}; checkpoints in {directory}",
                  flush=True)
            # Load the S3 client before the first fork too; each run makes its own.
            from flowsaver.format import remote
            remote.store_for(directory).listdir(f"s3://{bucket}")
            return campaign(args, directory, STORE_POINTS)
    directory = args.dir or tempfile.mkdtemp(prefix="flowsaver-crash-")
    os.makedirs(directory, exist_ok=True)
    return campaign(args, directory, POINTS)


def campaign(args, directory: str, points: dict) -> int:
    """Kills runs of the child saving into ``directory`` until ``args.kills`` kills;
    ``points``: the kill kinds and how many of each a save has."""
    rng = random.Random(args.seed)
    tf.Graph        # load the graph library before the first fork
    storage = storage_for(directory)
    kills, runs = collections.Counter(), 0
    damaged_latest, damaged_listed, problems = 0, 0, []
    leftovers = collections.Counter()
    last_returned = None
    began = time.monotonic()
    while sum(kills.values()) < args.kills:
        runs += 1
        if rng.random() < 1 / 3:
            kill = "none"
        else:
            kind = rng.choice(sorted(points))
            kill = f"{kind}:{rng.randint(1, points[kind] * args.span)}"
        # a timed run saves on and on, so that the timer always finds it saving
        result = run_once(directory, kill, rng,
                          saves=args.span + 3 if kill != "none" else 10_000)
        if result["saved"]:
            last_returned = max(result["saved"])
        if result["returncode"] != -signal.SIGKILL:
            if result["returncode"] != 0:
                problems.append(f"run {runs} ({kill}) failed: {result['stderr']}")
                damaged_latest += 1
                print(problems[-1], flush=True)
            continue                 # not killed: its kill point lay past its saves
        kills["timer" if result["timer"] else
              result["where"] or kill.split(":")[0]] += 1
        found = check(directory, last_returned, storage)
        if found.damaged_latest:
            damaged_latest += 1
            problems.append(f"kill {sum(kills.values())} ({kill}): {found.damaged_latest}")
            print(problems[-1], flush=True)
        damaged_listed += len(found.damaged_listed)
        problems += found.damaged_listed
        leftovers["temporary files"] = max(leftovers["temporary files"], found.temp_files)
        leftovers["data files without index"] = max(leftovers["data files without index"],
                                                    found.orphan_data_files)
        leftovers["unlisted checkpoints"] = max(leftovers["unlisted checkpoints"],
                                                found.unlisted_checkpoints)
        if sum(kills.values()) % 20 == 0:
            print(f"{sum(kills.values())} kills, {runs} runs, latest step "
                  f"{found.latest_step}, damaged latest {damaged_latest}", flush=True)
    total = sum(kills.values())
    print(f"\n{total} SIGKILLs in {runs} runs ({time.monotonic() - began:.0f} s), "
          f"directory {directory}")
    print("kills by point: " + ", ".join(f"{k} {n}" for k, n in sorted(kills.items())))
    print(f"runs that ended before their kill point: {runs - total}")
    print(f"latest checkpoint: {tf.train.latest_checkpoint(directory)}")
    print(f"damaged latest checkpoints: {damaged_latest}")
    print(f"damaged checkpoints listed in the state file: {damaged_listed}")
    print("most leftovers seen at once: " + ", ".join(f"{k} {n}" for k, n in
                                                       leftovers.items()))
    whole, damaged = sweep(directory, storage)
    print(f"checkpoints with an index at the end: {whole}, read back wrong: {len(damaged)}")
    problems += damaged
    for problem in problems[:20]:
        print("  " + problem)
    return 1 if damaged_latest or damaged_listed or damaged else 0


if __name__ == "__main__":
    sys.exit(main())
