"""Running one mutated input in a forked child under a time and memory cap, and saying
what happened.

Classes of outcome, per input (the worst over the input's read steps):

    ok          every step read the file, and what it returned is right (see wrong)
    typed       some step raised a flowsaver error (errors.OpError) -- and, when the step
                was given a path, its message names the file (a path or base name)
    unnamed     a typed error from a step given a path whose message does not name it
    untyped     any other exception (KeyError, ValueError, protobuf's DecodeError, ...)
    hang        the child ran past its CPU-time cap (SIGXCPU), or blocked past a generous
                wall-clock cap (wall_clock_limit)
    blow-up     the child ran out of its memory cap (MemoryError), or died of a signal
    wrong       a step succeeded but returned data that differs from the unmutated file
                where the mutation could not legitimately change it: values of tensors
                the mutation did not touch, or of any tensor when the mutation changed
                checksummed bytes without fixing the checksum (targets.py says which)

Everything but ``ok`` and ``typed`` is a finding; `make fuzz` must report none.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import resource
import select
import signal
import sys
import time
import traceback

from flowsaver import errors

ORDER = ["ok", "typed", "unnamed", "untyped", "wrong", "blow-up", "hang"]
FINDINGS = set(ORDER[2:])


@dataclasses.dataclass
class Case:
    """One mutated input: the files to write, and what the mutation may change."""

    files: dict                      # relative path -> bytes
    touched: frozenset | None        # names whose values may change; None: any
    note: str                        # the mutation, for the report
    expect: dict = dataclasses.field(default_factory=dict)   # name -> digest it must read
    records: list | None = None      # record files: the payloads the file frames, in order


@dataclasses.dataclass
class Outcome:
    kind: str
    step: str = ""
    detail: str = ""


class WrongData(Exception):
    """Raised by a target's check when a successful read returned the wrong data."""


def _names_file(message: str, paths) -> bool:
    return any(p and (p in message or os.path.basename(p.rstrip("/")) in message)
               for p in paths)


def _cpu_used() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def run_steps(steps, paths, cpu_per_step: float | None = None) -> Outcome:
    """Runs ``[(label, fn, given_path)]`` in this process; the worst outcome wins. With
    ``cpu_per_step``, each step gets that many CPU seconds (RLIMIT_CPU; SIGXCPU after)."""
    worst = Outcome("ok")
    for label, fn, given_path in steps:
        if cpu_per_step is not None:
            limit = int(_cpu_used() + cpu_per_step) + 1
            # SIGXCPU at the soft limit, again every second; the hard limit stays as it is
            # (it cannot be raised again), and the wall clock stops a C call ignoring it.
            resource.setrlimit(resource.RLIMIT_CPU,
                               (limit, resource.getrlimit(resource.RLIMIT_CPU)[1]))
            _STEP[0] = label
        try:
            fn()
            outcome = Outcome("ok", label)
        except WrongData as exc:
            outcome = Outcome("wrong", label, str(exc)[:2000])
        except MemoryError:
            outcome = Outcome("blow-up", label, "MemoryError\n" + traceback.format_exc(-6))
        except RecursionError:
            outcome = Outcome("blow-up", label, "RecursionError\n" + traceback.format_exc(-6))
        except errors.OpError as exc:
            if given_path and not _names_file(str(exc), paths):
                outcome = Outcome("unnamed", label,
                                  f"{type(exc).__name__}: {str(exc)[:1000]}\n"
                                  + traceback.format_exc(-6))
            else:
                outcome = Outcome("typed", label, type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - classifying every escape is the point
            outcome = Outcome("untyped", label, f"{type(exc).__name__}: {str(exc)[:1000]}\n"
                              + traceback.format_exc(-8))
        if ORDER.index(outcome.kind) > ORDER.index(worst.kind):
            worst = outcome
    return worst


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def wall_clock_limit(seconds: float) -> float:
    """The wall-clock cap of a child whose CPU cap is ``seconds``: CPU time is what tells
    a loop; the wall clock only catches a child blocked without using CPU (a FIFO), and
    must stay generous on a machine shared by many busy processes."""
    return max(6 * seconds, 60.0)


def run_forked(make_steps, paths, seconds: float, memory: int) -> Outcome:
    """Runs the steps in a forked child with RLIMIT_AS = current size + ``memory`` bytes
    and ``seconds`` of CPU time for each step; the child is killed after
    wall_clock_limit(seconds)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                     # the child
        code = 0
        try:
            os.close(read_end)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            logging.disable(logging.CRITICAL)
            limit = _vm_size() + memory
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            out = os.fdopen(write_end, "wb")
            # SIGXCPU names the step that ran out of CPU time before the child dies.
            signal.signal(signal.SIGXCPU, lambda *_: _report_step(out))
            outcome = run_steps(make_steps(), paths, cpu_per_step=seconds)
            out.write(b"R" + pickle.dumps(outcome))
            out.close()
        except BaseException:  # noqa: BLE001 - the child must never return into the parent
            code = 3
            try:   # what went wrong outside the steps, for the report
                os.write(write_end, b"E" + traceback.format_exc(-4).encode()[-3000:])
            except BaseException:  # noqa: BLE001
                pass
        finally:
            os._exit(code)
    os.close(write_end)
    wall = wall_clock_limit(seconds)
    data, deadline, timed_out = b"", time.monotonic() + wall, False
    with os.fdopen(read_end, "rb") as pipe:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([pipe], [], [], left)
            if not ready:
                continue
            chunk = os.read(pipe.fileno(), 1 << 16)
            if not chunk:
                break
            data += chunk
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    step = data[1:].decode(errors="replace") if data[:1] == b"S" else ""
    if timed_out:
        return Outcome("hang", step, f"still running after {wall} s of wall time")
    if data[:1] == b"S":
        return Outcome("hang", step, f"more than {seconds} s of CPU time in one step")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        # Killed at the hard CPU limit (by SIGKILL) is a hang too; any other signal a
        # crash, most often an allocation failing where no MemoryError can be raised.
        spun = sig == signal.SIGXCPU or (sig == signal.SIGKILL and
                                         usage.ru_utime + usage.ru_stime >= seconds)
        return Outcome("hang" if spun else "blow-up",
                       detail=f"child killed by {signal.Signals(sig).name} after "
                              f"{usage.ru_utime + usage.ru_stime:.1f} s of CPU time")
    if os.WEXITSTATUS(status) or not data:
        said = data[data.find(b"E") + 1:].decode(errors="replace") if b"E" in data else ""
        return Outcome("blow-up", detail=f"child exited with {os.WEXITSTATUS(status)} "
                                         f"without a result: {said or 'no word'}")
    return pickle.loads(data[1:])


_STEP = [""]


def _report_step(out) -> None:
    """On SIGXCPU: tell the parent which step ran out of CPU time, then die."""
    try:
        out.write(b"S" + _STEP[0].encode())
        out.flush()
    finally:
        os._exit(4)


def write_case(directory: str, case: Case) -> None:
    """``directory`` holding exactly the case's files (rewritten in place: cheaper than
    a fresh tree for every input)."""
    wanted = {os.path.normpath(os.path.join(directory, rel)) for rel in case.files}
    if os.path.isdir(directory):
        for root, dirs, names in os.walk(directory, topdown=False):
            for name in names:
                path = os.path.join(root, name)
                if path not in wanted:
                    os.remove(path)
            for name in dirs:
                path = os.path.join(root, name)
                if not os.listdir(path):
                    os.rmdir(path)
    for rel, content in case.files.items():
        path = os.path.join(directory, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)


def save_finding(root: str, target: str, index: int, case: Case, outcome: Outcome) -> str:
    """Keeps a finding's files and a note, for `python -m tools.fuzz --replay DIR`."""
    directory = os.path.join(root, target, f"{outcome.kind}-{index}")
    write_case(os.path.join(directory, "input"), case)
    with open(os.path.join(directory, "note.txt"), "w") as f:
        f.write(f"target: {target}\ninput: {index}\nmutation: {case.note}\n"
                f"touched: {sorted(case.touched) if case.touched is not None else 'any'}\n"
                f"outcome: {outcome.kind} in step {outcome.step!r}\n\n{outcome.detail}\n")
    with open(os.path.join(directory, "case.pickle"), "wb") as f:
        pickle.dump(case, f)
    return directory


def python_version() -> str:
    return sys.version.split()[0]
