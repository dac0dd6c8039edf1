"""Turn whatever path a user passes into a checkpoint prefix and its format version.

Accepted forms, tried in this order (`P` is the prefix that comes out):

    a directory               its latest checkpoint, via the `checkpoint` state file
    P                         V2 when `P.index` exists
    P.index                   V2
    P.data-NNNNN-of-NNNNN     V2, when `P.index` exists beside it
    P.meta                    V2 when `P.index` exists, else V1 when `P` (or its shards) does
    P                         V1 single file: an SSTable with no `.index` sibling
    P-NNNNN-of-NNNNN          V1 shard file; gives the pattern `P-?????-of-NNNNN`
    P                         V1 shards: `P-?????-of-?????` matches files
    dir/checkpoint            a state file itself; its latest checkpoint, like a directory

Directories copied from elsewhere: a state file written with absolute paths (TF1's Saver
does that by default) still names the old location, e.g. `/data/runs/s1/model.ckpt-3`.
TensorFlow then finds nothing. We instead look in the directory for the same base name,
trying the state's checkpoints newest first, use the first that exists there, and log a
warning saying so. We only do this for absolute paths that match no file: a relative entry
already points into the directory, and an existing absolute path is taken as written.
"""
from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import re
import struct

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.state import (CHECKPOINT_V1, CHECKPOINT_V2, DEFAULT_STATE_FILENAME,
                                    checkpoint_exists, checkpoint_state_from_text,
                                    get_matching_files, join_checkpoint_paths,
                                    read_checkpoint_state)
from flowsaver.format.table import FOOTER_SIZE, MAGIC_HI, MAGIC_LO

_log = logging.getLogger(__name__)

INDEX_SUFFIX = ".index"
META_SUFFIX = ".meta"
_DATA_FILE = re.compile(r"\.data-\d{5}-of-\d{5}$")
_V1_SHARD_FILE = re.compile(r"-\d{5}-of-(\d{5})$")
_V1_SHARD_GLOB = "-?????-of-?????"
_V1_SHARD_PATTERN = re.compile(r"-\?{5}-of-\d{5}$")   # what TF's V1 sharded Saver returns
# A state file is small text; larger files are not worth parsing as one.
_MAX_STATE_GUESS_BYTES = 1 << 20
_MAX_SUGGESTIONS = 3
# The last 8 bytes of every table file (table.py's footer magic, low word first).
_TABLE_MAGIC = struct.pack("<II", MAGIC_LO, MAGIC_HI)


@dataclasses.dataclass(frozen=True)
class CheckpointPrefix:
    """A resolved checkpoint: its prefix (a glob pattern for V1 shards) and format version."""

    prefix: str
    version: int  # CHECKPOINT_V2 or CHECKPOINT_V1, as SaverDef numbers them

    @property
    def is_v2(self) -> bool:
        return self.version == CHECKPOINT_V2


class CheckpointNotFoundError(errors.NotFoundError, ValueError):
    """No checkpoint at a path.

    TensorFlow raises ValueError for a directory without checkpoints and NotFoundError for
    a missing prefix; this class is both, so code catching either keeps working.
    """


def _is_sstable(path: str) -> bool:
    """Returns whether a file ends with the table magic number (V1 checkpoints are tables)."""
    try:
        size = storage.getsize(path)
        if size < FOOTER_SIZE:
            return False
        return storage.read_range(path, size - len(_TABLE_MAGIC), len(_TABLE_MAGIC)) \
            == _TABLE_MAGIC
    except OSError:
        return False


def _v1_shard_pattern(path: str) -> str | None:
    """Returns `P-?????-of-NNNNN` for a V1 shard file name `P-KKKKK-of-NNNNN`, else None."""
    m = _V1_SHARD_FILE.search(path)
    if m is None:
        return None
    return path[:m.start()] + "-?????-of-" + m.group(1)


def _v1_shards_of(prefix: str) -> str | None:
    """Returns the shard pattern of `prefix` when files `prefix-NNNNN-of-NNNNN` exist."""
    directory, base = os.path.split(prefix)
    try:
        names = storage.listdir(directory or ".")
    except OSError:
        return None
    shard = re.compile(re.escape(base) + _V1_SHARD_FILE.pattern)
    shards = sorted(n for n in names if shard.fullmatch(n))
    return _v1_shard_pattern(os.path.join(directory, shards[0])) if shards else None


def _v1_at(path: str) -> CheckpointPrefix | None:
    """Returns the V1 checkpoint at `path`: a single file, a shard file, or shards of it.

    Callers check for a `.index` sibling first: V2 takes priority, as in TensorFlow, and
    an `.index` file is itself a table, so it would pass for a V1 file here.
    """
    if storage.isfile(path) and _is_sstable(path):
        pattern = _v1_shard_pattern(path)
        return CheckpointPrefix(pattern or path, CHECKPOINT_V1)
    if _V1_SHARD_PATTERN.search(path) and any(map(storage.isfile, get_matching_files(path))):
        return CheckpointPrefix(path, CHECKPOINT_V1)
    pattern = _v1_shards_of(path)
    return CheckpointPrefix(pattern, CHECKPOINT_V1) if pattern else None


def _classify_prefix(prefix: str) -> CheckpointPrefix | None:
    """Returns the checkpoint at prefix `P`: V2 when `P.index` exists, else V1, else None."""
    if storage.isfile(prefix + INDEX_SUFFIX):
        return CheckpointPrefix(prefix, CHECKPOINT_V2)
    return _v1_at(prefix)


def _listed_prefix(prefix: str) -> CheckpointPrefix | None:
    """Classifies a prefix from a state file, which TensorFlow treats as glob patterns;
    None when it matches neither an index nor a V1 checkpoint *file* (a state file naming
    "/" or a directory names no checkpoint)."""
    if get_matching_files(prefix + INDEX_SUFFIX):
        return CheckpointPrefix(prefix, CHECKPOINT_V2)
    if any(os.path.isfile(p) for p in get_matching_files(prefix)):
        return CheckpointPrefix(prefix, CHECKPOINT_V1)
    return None


def _prefixes_in(directory: str) -> list[str]:
    """Returns the V2 prefixes (names of `*.index` files) in a directory, sorted."""
    try:
        names = storage.listdir(directory or ".")
    except OSError:
        return []
    return sorted(n[:-len(INDEX_SUFFIX)] for n in names if n.endswith(INDEX_SUFFIX))


def _relocated(directory: str, written: list[str]) -> str | None:
    """Returns the newest stale absolute state entry whose base name exists in `directory`.

    `written` holds the entries as the file has them, oldest first; relative ones already
    point into the directory, so only absolute ones can be stale copies of a moved run.
    """
    for path in reversed(written):
        if not os.path.isabs(path) or storage.is_url(path) or checkpoint_exists(path):
            continue
        local = os.path.join(directory, os.path.basename(path))
        if checkpoint_exists(local):
            return local
    return None


def _resolve_directory(directory: str, latest_filename: str | None) -> CheckpointPrefix:
    """Resolves a directory (or a state file's directory) to its latest checkpoint."""
    state_name = latest_filename or DEFAULT_STATE_FILENAME
    failure = f"Couldn't find '{state_name}' file or checkpoints in given directory {directory}"
    try:
        state = read_checkpoint_state(directory, latest_filename, join_paths=False)
    except (errors.OpError, OSError) as exc:
        raise CheckpointNotFoundError(
            f"{failure}: the '{state_name}' file is unreadable: {exc}") from exc
    if state is None:
        found = _prefixes_in(directory)
        hint = (f"; it holds checkpoint prefixes {found[:5]}, pass one of them"
                if found else "")
        raise CheckpointNotFoundError(f"{failure}: there is no '{state_name}' file{hint}")
    written = list(state.all_model_checkpoint_paths)
    if not written or written[-1] != state.model_checkpoint_path:
        written.append(state.model_checkpoint_path)
    join_checkpoint_paths(state, directory)
    newest = state.model_checkpoint_path
    found = _listed_prefix(newest) if checkpoint_exists(newest) else None
    if found is not None:
        return found
    local = _relocated(directory, written)
    if local is not None and _listed_prefix(local) is not None:
        _log.warning("%s names %s, which does not exist; using %s found in the same "
                     "directory (the run directory was probably copied or moved)",
                     os.path.join(directory, state_name), newest, local)
        return _listed_prefix(local)
    raise CheckpointNotFoundError(
        f"{failure}: the '{state_name}' file names '{newest}', which matches no "
        f"'.index' or V1 file, and no checkpoint it lists is in the directory")


def _looks_like_state_file(path: str) -> bool:
    """Returns whether a small file parses as a CheckpointState naming a model path."""
    try:
        if storage.getsize(path) > _MAX_STATE_GUESS_BYTES:
            return False
        state = checkpoint_state_from_text(storage.read_bytes(path), path)
    except (errors.OpError, OSError):
        return False
    return bool(state.model_checkpoint_path)


def _not_found(path: str) -> CheckpointNotFoundError:
    """Builds the error for a path that is none of the accepted forms."""
    tried = (f"'{path}{INDEX_SUFFIX}' (V2 prefix), '{path}' as a V1 checkpoint file, "
             f"'{path}{_V1_SHARD_GLOB}' (V1 shards), a directory with a "
             f"'{DEFAULT_STATE_FILENAME}' file, a '.index', '.data-NNNNN-of-NNNNN' or "
             f"'.meta' file of a checkpoint, and a '{DEFAULT_STATE_FILENAME}' state file")
    message = f"no checkpoint at '{path}': looked for {tried}"
    directory, base = os.path.split(path)
    if storage.isfile(path):
        message += f". '{path}' exists but is none of these"
    elif directory and not storage.isdir(directory):
        message += f". Directory '{directory}' does not exist"
    else:
        stem = _DATA_FILE.sub("", base)
        for suffix in (INDEX_SUFFIX, META_SUFFIX):
            stem = stem[:-len(suffix)] if stem.endswith(suffix) else stem
        similar = difflib.get_close_matches(stem, _prefixes_in(directory),
                                            n=_MAX_SUGGESTIONS, cutoff=0.6)
        if similar:
            names = ", ".join(f"'{os.path.join(directory, s)}'" for s in similar)
            message += f". Did you mean {names}?"
    return CheckpointNotFoundError(message)


def resolve_checkpoint_prefix(path: str | os.PathLike,
                              latest_filename: str | None = None) -> CheckpointPrefix:
    """Returns the checkpoint prefix, and its version, that a user-given path refers to.

    Args:
      path: a prefix, a directory, a `.index`/`.data-…`/`.meta` file, a V1 file or shard,
        or a `checkpoint` state file (see the module docstring for the order).
      latest_filename: the state file name to use for directories (default "checkpoint").

    Returns:
      A CheckpointPrefix; for V1 shards the prefix is the pattern `P-?????-of-NNNNN`.

    Raises:
      CheckpointNotFoundError: (a NotFoundError and a ValueError) nothing matches; the
        message lists every form tried and suggests similarly named checkpoints.
      ValueError: a state file was found but names no model checkpoint path.

    Example:
      resolve_checkpoint_prefix("runs/s2")            # CheckpointPrefix("runs/s2/model-8", 2)
      resolve_checkpoint_prefix("runs/s2/model-8.index")  # same prefix
    """
    path = os.fspath(path)
    if storage.isdir(path):
        return _resolve_directory(path, latest_filename)
    if storage.isfile(path + INDEX_SUFFIX):
        return CheckpointPrefix(path, CHECKPOINT_V2)
    if path.endswith(INDEX_SUFFIX) and storage.isfile(path):
        return CheckpointPrefix(path[:-len(INDEX_SUFFIX)], CHECKPOINT_V2)
    data = _DATA_FILE.search(path)
    if data is not None and storage.isfile(path):
        prefix = path[:data.start()]
        if storage.isfile(prefix + INDEX_SUFFIX):
            return CheckpointPrefix(prefix, CHECKPOINT_V2)
        raise CheckpointNotFoundError(
            f"no checkpoint at '{path}': it is a data file, but its index "
            f"'{prefix}{INDEX_SUFFIX}' is missing (an interrupted or partly copied save?)")
    if path.endswith(META_SUFFIX) and storage.isfile(path):
        prefix = path[:-len(META_SUFFIX)]
        found = _classify_prefix(prefix)
        if found is not None:
            return found
        raise CheckpointNotFoundError(
            f"no checkpoint at '{path}': it is a meta graph file, but neither "
            f"'{prefix}{INDEX_SUFFIX}' nor a V1 checkpoint '{prefix}' exists beside it")
    found = _v1_at(path)
    if found is not None:
        return found
    if storage.isfile(path) and _looks_like_state_file(path):
        directory, name = os.path.split(path)
        return _resolve_directory(directory, name)
    raise _not_found(path)
