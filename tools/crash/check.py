"""What the crash campaign checks after each SIGKILL, with flowsaver's public readers.

- The latest checkpoint (what ``tf.train.latest_checkpoint`` returns) exists whenever
  any save has ever returned, is not older than the last save that returned, reads in
  full with every value equal to what its step saved, and `flowsaver verify` finds
  nothing bad in it. Anything else is a *damaged latest checkpoint*.
- Every other checkpoint the state file lists is there (its index: retention deletes a
  checkpoint only after the state file stopped listing it) and reads right too (a
  damaged listed checkpoint is counted apart; it fails the campaign as well).
- Counted, not failed (cleaning them up is the storage layer's work): temporary files,
  data files without an index, and complete checkpoints the state file does not list.

Checkpoints are read only through flowsaver's public functions, which take local paths
and URLs alike. What is in the directory is seen through a Storage object (``names``,
``exists``, ``join``) that does not use flowsaver: the ``os`` module for a local
directory, boto3's own listing for an ``s3://`` URL (S3Storage).
"""
from __future__ import annotations

import dataclasses
import os
import re

import numpy as np

from flowsaver import errors
from flowsaver.cli.verify_cmd import verify
from flowsaver.format.reader import CheckpointReader
from flowsaver.format.state import get_checkpoint_state, latest_checkpoint
from tools.crash.child import values

_STEP = re.compile(r"-(\d+)$")
_TEMP = re.compile(r"\.(tmp[0-9a-f]{32}|tempstate\d+)$")
_DATA = re.compile(r"^(.*)\.data-\d{5}-of-\d{5}$")


@dataclasses.dataclass
class Check:
    latest_step: int | None = None
    damaged_latest: str | None = None
    damaged_listed: list = dataclasses.field(default_factory=list)
    temp_files: int = 0
    orphan_data_files: int = 0
    unlisted_checkpoints: int = 0


class LocalStorage:
    """A checkpoint directory on the local file system."""

    def names(self, directory: str) -> list[str]:
        return sorted(os.listdir(directory))

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def join(self, directory: str, name: str) -> str:
        return os.path.join(directory, name)


class S3Storage:
    """A "directory" of an S3 bucket (``s3://bucket/some/prefix``), seen through boto3
    (the endpoint and keys come from the environment: AWS_ENDPOINT_URL, ...)."""

    def __init__(self):
        import boto3
        self._client = boto3.client("s3")

    @staticmethod
    def _split(url: str) -> tuple[str, str]:
        bucket, _, key = url[len("s3://"):].partition("/")
        return bucket, key

    def names(self, directory: str) -> list[str]:
        bucket, key = self._split(directory.rstrip("/") + "/")
        names = []
        for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=key, Delimiter="/"):
            names += [o["Key"][len(key):] for o in page.get("Contents", [])]
        return sorted(names)

    def exists(self, path: str) -> bool:
        from botocore.exceptions import ClientError
        bucket, key = self._split(path)
        try:
            self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def join(self, directory: str, name: str) -> str:
        return directory.rstrip("/") + "/" + name


def storage_for(location: str):
    """The Storage of a directory or URL (local paths and ``s3://`` URLs)."""
    if location.startswith("s3://"):
        return S3Storage()
    if "://" in location and not location.startswith("file://"):
        raise NotImplementedError(f"{location}: the kill campaign knows local directories "
                                  f"and s3:// URLs")
    return LocalStorage()


def _problem(prefix: str) -> str | None:
    """None when the checkpoint at ``prefix`` is whole and holds its step's values."""
    match = _STEP.search(prefix)
    if match is None:
        return f"{prefix}: no step in its name"
    want = values(int(match.group(1)))
    try:
        with CheckpointReader(prefix) as reader:
            got = {name: reader.get_tensor(name) for name in reader.names()}
        result = verify(prefix)
    except errors.OpError as exc:
        return f"{prefix}: {type(exc).__name__}: {exc}"
    if sorted(got) != sorted(want):
        return f"{prefix}: holds {sorted(got)}, expected {sorted(want)}"
    for name, value in want.items():
        if not np.array_equal(np.asarray(got[name]), np.asarray(value)):
            return f"{prefix}: {name!r} holds other values than step {match.group(1)} saved"
    if result.bad or result.warnings:
        return f"{prefix}: verify: {[b.error for b in result.bad]} {result.warnings}"
    return None


def check(directory: str, last_returned: int | None, storage=None) -> Check:
    """The state of ``directory`` after a kill; ``last_returned``: the newest step whose
    save had returned before it."""
    storage = storage or storage_for(directory)
    out = Check()
    latest = latest_checkpoint(directory)
    if latest is None:
        if last_returned is not None:
            out.damaged_latest = f"no latest checkpoint, but the save of step " \
                                 f"{last_returned} had returned"
    else:
        step = _STEP.search(latest)
        out.latest_step = int(step.group(1)) if step else None
        out.damaged_latest = _problem(latest)
        if out.damaged_latest is None and last_returned is not None and \
                (out.latest_step or 0) < last_returned:
            out.damaged_latest = f"latest is step {out.latest_step}, but the save of " \
                                 f"step {last_returned} had returned"
    state = get_checkpoint_state(directory)
    listed = set(state.all_model_checkpoint_paths) if state is not None else set()
    for prefix in sorted(listed - {latest}):
        problem = _problem(prefix) if storage.exists(prefix + ".index") else \
            f"{prefix}: listed in the state file, but its index is gone"
        if problem:
            out.damaged_listed.append(problem)
    names = storage.names(directory)
    indexes = {n[:-len(".index")] for n in names if n.endswith(".index")}
    out.temp_files = sum(1 for n in names if _TEMP.search(n))
    out.orphan_data_files = sum(1 for n in names if (m := _DATA.match(n)) and
                                m.group(1) not in indexes)
    out.unlisted_checkpoints = sum(1 for p in indexes
                                   if storage.join(directory, p) not in listed)
    return out


def sweep(directory: str, storage=None) -> tuple[int, list[str]]:
    """At the end of a campaign: every checkpoint in ``directory`` whose index is there,
    listed or not, read back in full. Returns their number and the problems found (a
    visible index over missing or wrong data would break the commit protocol)."""
    storage = storage or storage_for(directory)
    prefixes = [storage.join(directory, n[:-len(".index")])
                for n in storage.names(directory) if n.endswith(".index")]
    return len(prefixes), [p for p in map(_problem, prefixes) if p]
