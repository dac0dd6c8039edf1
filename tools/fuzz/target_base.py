"""What every fuzz target shares: seeds, value digests, and the wrong-data check.

A target owns a few *seeds* (valid files with known contents: written by flowsaver's
writers or by TensorFlow itself, from tests/fixtures), makes a mutated Case from a seed,
and lists the read steps that run on it. ``truth`` of a seed is what the unmutated file
holds, by name; ``Case.touched`` names what a mutation may legitimately change, and
``Case.expect`` what some of those must then read as (the fuzzer's own decoding of the
bytes it wrote, e.g. a tensor whose bytes it changed and whose CRC it fixed).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from tools.fuzz.runner import Case, WrongData

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


@dataclasses.dataclass
class Seed:
    label: str
    files: dict                     # relative path -> bytes
    main: str                       # the relative path the readers are given
    truth: dict = dataclasses.field(default_factory=dict)
    extra: dict = dataclasses.field(default_factory=dict)


def read_tree(directory, prefix: str = "") -> dict:
    """``{relative path: bytes}`` of every file under ``directory``, or of the files of
    ``directory`` whose names start with ``prefix``."""
    out = {}
    directory = Path(directory)
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name.startswith(prefix):
            out[str(path.relative_to(directory))] = path.read_bytes()
    return out


def digest(value):
    """A comparable form of a value read from a file."""
    if isinstance(value, bytes):
        return ("bytes", value)
    array = np.asarray(value)
    if array.dtype == object:
        return ("O", array.shape, tuple(bytes(x) for x in array.reshape(-1)))
    return (array.dtype.str, array.shape, array.tobytes())


def check_values(observed: dict, seed: Seed, case: Case, what: str = "tensor") -> None:
    """WrongData unless every observed value the mutation could not change equals the
    seed's, and no such name appeared or vanished."""
    if case.touched is None:
        return
    for name, got in observed.items():
        if name in case.expect:
            if got != case.expect[name]:
                raise WrongData(f"{what} {name!r} reads as {_short(got)}, but the bytes the "
                                f"fuzzer wrote hold {_short(case.expect[name])}")
        elif name in case.touched:
            continue
        elif name not in seed.truth:
            raise WrongData(f"{what} {name!r} appeared; the original has no such {what}")
        elif got != seed.truth[name]:
            raise WrongData(f"{what} {name!r} reads as {_short(got)}, the original holds "
                            f"{_short(seed.truth[name])}, and the mutation did not touch it")
    vanished = set(seed.truth) - set(observed) - set(case.touched)
    if vanished:
        raise WrongData(f"{what}s {sorted(vanished)[:5]} vanished without an error")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 300 else text[:300] + "..."


def path_in(directory: str, rel: str) -> str:
    return os.path.join(directory, rel)
