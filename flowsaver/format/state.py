"""The `checkpoint` state file: which checkpoints of a directory exist, newest last.

File layout (spec section 2): a `tensorflow.CheckpointState` message in protobuf *text*
format, as `text_format.MessageToString` prints it, one field per line, ending in "\\n":

    model_checkpoint_path: "model-8"                  1  string, the newest checkpoint
    all_model_checkpoint_paths: "model-7"             2  repeated string, oldest first;
    all_model_checkpoint_paths: "model-8"                the last one equals field 1
    all_model_checkpoint_timestamps: 1795236851.18    3  repeated double, seconds since epoch
    last_preserved_timestamp: 1795236850.15           4  double

Strings are C-escaped; non-ASCII text is written as raw UTF-8 by current protobuf and as
octal escapes by older versions, and both parse. Fields at their default (empty, 0.0) are
left out. Paths are relative to the directory holding the file, or absolute.

The function names, arguments and results are TensorFlow's (`tf.train.get_checkpoint_state`,
`latest_checkpoint`, `tf.compat.v1.train.update_checkpoint_state`, ...).
"""
from __future__ import annotations

import logging
import os
import re
from typing import Iterable, Optional, Sequence

from google.protobuf import text_format

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.protos import CheckpointState

_log = logging.getLogger(__name__)

DEFAULT_STATE_FILENAME = "checkpoint"
# SaverDef.CheckpointFormatVersion values.
CHECKPOINT_V1 = 1
CHECKPOINT_V2 = 2
# A state file lists paths, a few hundred bytes each; anything near this is not one.
MAX_STATE_FILE_BYTES = 64 << 20
# The files of a V2 bundle besides the index: shard number and count, five digits each.
DATA_FILE_GLOB = ".data-?????-of-?????"
# Sharded-name tails that `meta_graph_filename` drops (V1 shards, and their `?????` pattern).
_SHARD_TAIL = re.compile(r"-[\d?]+-of-\d+$")
# Characters that make a path a glob pattern for TensorFlow's file matching.
_WILDCARDS = "*?[\\"


def checkpoint_state_filename(save_dir: str, latest_filename: Optional[str] = None) -> str:
    """Returns the path of the state file: `save_dir/latest_filename` ("checkpoint")."""
    if latest_filename is None:
        latest_filename = DEFAULT_STATE_FILENAME
    return os.path.join(save_dir, latest_filename)


def check_latest_filename(latest_filename: Optional[str]) -> None:
    """Raises ValueError when a state file name has directory components, as `Saver.save` does."""
    if latest_filename is not None and os.path.split(latest_filename)[0]:
        raise ValueError(f"'latest_filename' must not contain path components, "
                         f"got {latest_filename!r}")


def checkpoint_state_to_text(state: CheckpointState) -> str:
    """Returns the state in the exact text TensorFlow writes (protobuf text format)."""
    return text_format.MessageToString(state)


def checkpoint_state_from_text(data: bytes | str, source: str = "<text>") -> CheckpointState:
    """Parses state-file text; raw UTF-8 and octal-escaped strings both work.

    Raises:
      DataLossError: the text is not a CheckpointState (bad syntax, unknown field, or a
        string that is not UTF-8). `source` names the file in the message.
    """
    state = CheckpointState()
    try:
        # Merge, not Parse: a repeated singular field keeps its last value, as TF reads it.
        text_format.Merge(data, state)
    except (text_format.ParseError, UnicodeDecodeError) as exc:
        raise errors.DataLossError(
            f"{source}: not a CheckpointState text proto: {type(exc).__name__}: {exc}") from exc
    return state


def generate_checkpoint_state_proto(save_dir: str,
                                    model_checkpoint_path: str,
                                    all_model_checkpoint_paths: Optional[Sequence[str]] = None,
                                    all_model_checkpoint_timestamps: Optional[Sequence[float]] = None,
                                    last_preserved_timestamp: Optional[float] = None
                                    ) -> CheckpointState:
    """Builds the CheckpointState TensorFlow would write for these checkpoints.

    The model path is appended to the list when the list does not already end with it.
    When `save_dir` is itself relative, every relative path is rewritten relative to it
    (so saving to "run/model-1" records "model-1").

    Args:
      save_dir: the directory the state file goes in.
      model_checkpoint_path: the newest checkpoint prefix.
      all_model_checkpoint_paths: prefixes still kept, oldest first. Not modified.
      all_model_checkpoint_timestamps: seconds since epoch, one per path, or None/empty.
      last_preserved_timestamp: seconds since epoch of the last checkpoint kept for good.

    Raises:
      ValueError: timestamps given, but not one per path (after the append).
    """
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        _log.info("%s is not in all_model_checkpoint_paths; adding it", model_checkpoint_path)
        paths.append(model_checkpoint_path)
    timestamps = list(all_model_checkpoint_timestamps or [])
    if timestamps and len(timestamps) != len(paths):
        raise ValueError(f"Checkpoint timestamps, if given, must match checkpoint paths one to "
                         f"one: got {len(paths)} paths {paths} and {len(timestamps)} "
                         f"timestamps {timestamps}")
    # A relative save_dir means the caller's paths include it ("run/model-1"); the reader
    # joins entries onto the directory, so the entries must be relative to that directory.
    if storage.is_url(save_dir):
        # A URL in the same directory is written relative, as TensorFlow (whose isabs is
        # false for URLs) writes it; a URL elsewhere stays whole.
        model_checkpoint_path = _relative_url(model_checkpoint_path, save_dir)
        paths = [_relative_url(p, save_dir) for p in paths]
    elif not os.path.isabs(save_dir):
        if not os.path.isabs(model_checkpoint_path):
            model_checkpoint_path = os.path.relpath(model_checkpoint_path, save_dir)
        paths = [p if os.path.isabs(p) else os.path.relpath(p, save_dir) for p in paths]
    return CheckpointState(model_checkpoint_path=model_checkpoint_path,
                           all_model_checkpoint_paths=paths,
                           all_model_checkpoint_timestamps=timestamps,
                           last_preserved_timestamp=last_preserved_timestamp)


def _relative_url(path: str, save_dir: str) -> str:
    directory, base = os.path.split(path)
    return base if storage.is_url(path) and storage.same_directory(directory, save_dir) \
        else path


def update_checkpoint_state(save_dir: str,
                            model_checkpoint_path: str,
                            all_model_checkpoint_paths: Optional[Sequence[str]] = None,
                            latest_filename: Optional[str] = None,
                            all_model_checkpoint_timestamps: Optional[Sequence[float]] = None,
                            last_preserved_timestamp: Optional[float] = None,
                            save_relative_paths: bool = False, sync: bool = False) -> None:
    """Writes the state file `save_dir/latest_filename` atomically.

    Locally: a temporary file (this call's own, `checkpoint.tmp<uuid>`) renamed into place;
    with `sync`, fsynced before the rename and the directory after it. On an object store:
    one PUT, so readers see the old state or the new one.

    With `save_relative_paths`, absolute paths are first made relative to `save_dir`
    (TensorFlow's `update_checkpoint_state_internal`); the rules of
    `generate_checkpoint_state_proto` then apply.

    Raises:
      ValueError: `latest_filename` has directory components, or the timestamps do not
        match the paths.
      RuntimeError: the state file would overwrite the model checkpoint path.
      OSError: the file could not be written; the old state file is then unchanged.
    """
    check_latest_filename(latest_filename)
    model_path = model_checkpoint_path
    paths = list(all_model_checkpoint_paths or [])
    if save_relative_paths:
        def relative(p: str) -> str:
            return os.path.relpath(p, save_dir) if os.path.isabs(p) \
                and not storage.is_url(save_dir) else p
        model_path = relative(model_path)
        paths = [relative(p) for p in paths]
    state = generate_checkpoint_state_proto(save_dir, model_path, paths,
                                            all_model_checkpoint_timestamps,
                                            last_preserved_timestamp)
    state_path = checkpoint_state_filename(save_dir, latest_filename)
    if state_path == state.model_checkpoint_path:
        raise RuntimeError(f"Save path '{model_checkpoint_path}' conflicts with the checkpoint "
                           f"state file '{state_path}'; use a different save path.")
    storage.write_atomic(state_path, checkpoint_state_to_text(state).encode("utf-8"),
                         sync=sync)


def join_checkpoint_paths(state: CheckpointState, checkpoint_dir: str) -> None:
    """Joins the state's relative paths onto `checkpoint_dir` as given, in place."""
    if not storage.isabs(state.model_checkpoint_path):
        state.model_checkpoint_path = os.path.join(checkpoint_dir, state.model_checkpoint_path)
    for i, p in enumerate(state.all_model_checkpoint_paths):
        if not storage.isabs(p):
            state.all_model_checkpoint_paths[i] = os.path.join(checkpoint_dir, p)


def read_checkpoint_state(checkpoint_dir: str, latest_filename: Optional[str] = None,
                          join_paths: bool = True) -> Optional[CheckpointState]:
    """Reads the state file strictly: None if absent, typed errors otherwise.

    Args:
      checkpoint_dir: the directory holding the state file.
      latest_filename: the state file's name; "checkpoint" by default.
      join_paths: join relative entries onto `checkpoint_dir` as given (what TensorFlow
        returns); False keeps them as written in the file.

    Raises:
      ValueError: the state names no model checkpoint path.
      DataLossError: the file is not a CheckpointState text proto, or absurdly large.
      OSError: the file exists but cannot be read (e.g. it is a directory).
    """
    checkpoint_dir = os.fspath(checkpoint_dir)
    state_path = checkpoint_state_filename(checkpoint_dir, latest_filename)
    if not storage.exists(state_path):
        return None
    data = storage.read_bytes(state_path, MAX_STATE_FILE_BYTES)
    if len(data) > MAX_STATE_FILE_BYTES:
        raise errors.DataLossError(f"{state_path}: larger than {MAX_STATE_FILE_BYTES} bytes, "
                                   f"not a checkpoint state file")
    state = checkpoint_state_from_text(data, state_path)
    if not state.model_checkpoint_path:
        raise ValueError("Invalid checkpoint state loaded from " + checkpoint_dir)
    if join_paths:
        join_checkpoint_paths(state, checkpoint_dir)
    return state


def get_checkpoint_state(checkpoint_dir: str,
                         latest_filename: Optional[str] = None) -> Optional[CheckpointState]:
    """Returns the directory's CheckpointState, or None when there is no usable one.

    A file that cannot be read or parsed logs a warning and gives None, as in TensorFlow.
    Relative paths in the file are joined onto `checkpoint_dir` as given.

    Raises:
      ValueError: the file parses but has an empty `model_checkpoint_path`.
    """
    try:
        return read_checkpoint_state(checkpoint_dir, latest_filename)
    except (errors.OpError, OSError) as exc:
        # TensorFlow ignores a broken state file so that training can start afresh; the
        # warning is the only trace, so it names the file and the cause.
        state_path = checkpoint_state_filename(os.fspath(checkpoint_dir), latest_filename)
        _log.warning("%s: %s", type(exc).__name__, exc)
        _log.warning("%s: Checkpoint ignored", state_path)
        return None


def _bracket_regex(body: str) -> str:
    """Translates the inside of an fnmatch `[...]` (negation already removed) to regex."""
    out, k = [], 0
    while k < len(body):
        c = body[k]
        if c == "\\" and k + 1 < len(body):
            out.append(re.escape(body[k + 1]))
            k += 2
            continue
        out.append("-" if c == "-" else re.escape(c))
        k += 1
    return "".join(out)


def _component_regex(part: str) -> Optional[re.Pattern]:
    """Translates one path component of a glob into a regex, as POSIX fnmatch reads it.

    `*` and `?` also match a leading dot; a backslash escapes the next character, and a
    trailing lone backslash matches nothing; `[...]` is negated by `!` or `^`, and a `[`
    without a closing `]` is literal. Returns None when the component can match nothing.
    """
    out, i, n = [], 0, len(part)
    while i < n:
        c = part[i]
        i += 1
        if c == "\\":
            if i == n:
                return None
            out.append(re.escape(part[i]))
            i += 1
        elif c in "*?":
            out.append(".*" if c == "*" else ".")
        elif c == "[":
            start = i + 1 if i < n and part[i] in "!^" else i
            j = start + 1 if start < n and part[start] == "]" else start  # "[]...]"
            while j < n and part[j] != "]":
                j += 2 if part[j] == "\\" else 1
            if j >= n:
                out.append(re.escape(c))
                continue
            out.append(("[^" if start > i else "[") + _bracket_regex(part[start:j]) + "]")
            i = j + 1
        else:
            out.append(re.escape(c))
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error:  # a reversed range such as [z-a]; fnmatch matches nothing either
        return None


def get_matching_files(pattern: str) -> list[str]:
    """Returns the paths matching a glob pattern as TensorFlow matches them, sorted.

    TensorFlow's local file system uses POSIX fnmatch rules, which differ from Python's
    `glob`: wildcards match names starting with "." and a backslash escapes (so a
    checkpoint path ending in a backslash never matches). A pattern without wildcard
    characters matches itself when it exists. POSIX classes like `[[:alpha:]]` are not
    supported (they match nothing); checkpoint paths do not use them.
    """
    if "\0" in pattern:  # no file name holds one; os calls would raise ValueError
        return []
    parts = pattern.split("/")
    if not any(_has_wildcard(part) for part in parts):
        return [pattern] if storage.exists(pattern) else []
    found = [""]
    for k, part in enumerate(parts):
        if not _has_wildcard(part):
            found = [part if k == 0 else f"{base}/{part}" for base in found]
            continue
        regex = _component_regex(part)
        if regex is None:
            return []
        grown = []
        for base in found:
            directory = base if k == 0 or base else "/"
            try:
                names = storage.listdir(directory or ".")
            except OSError:  # not a directory, or unreadable: no matches below it
                continue
            # TensorFlow spells matches of a leading wildcard as "./name".
            prefix = "./" if k == 0 else base.rstrip("/") + "/"
            grown += [prefix + name for name in names if regex.fullmatch(name)]
        found = grown
    if storage.is_url(pattern):   # listed just now: asking again costs a request each
        return sorted(found)
    return sorted(p for p in found if os.path.exists(p))


def _has_wildcard(part: str) -> bool:
    return any(ch in part for ch in _WILDCARDS)


_matches = get_matching_files


def checkpoint_exists(checkpoint_prefix: str) -> bool:
    """Returns whether `P.index` (V2) or `P` itself (V1) matches any file; both are globs."""
    return bool(_matches(checkpoint_prefix + ".index") or _matches(checkpoint_prefix))


def latest_checkpoint(checkpoint_dir: str, latest_filename: Optional[str] = None) -> Optional[str]:
    """Returns the newest checkpoint prefix named by the state file, if its files exist.

    Returns:
      The (joined) `model_checkpoint_path`, or None when there is no state file or the
      prefix matches no file (logged as an error, as TensorFlow does).
    """
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None or not state.model_checkpoint_path:
        return None
    if checkpoint_exists(state.model_checkpoint_path):
        return state.model_checkpoint_path
    _log.error("Couldn't match files for checkpoint %s", state.model_checkpoint_path)
    return None


def get_checkpoint_mtimes(checkpoint_prefixes: Iterable[str]) -> list[float]:
    """Returns the modification times, in seconds, of the checkpoints that exist.

    For each prefix the first match of `P.index`, else of `P`, is used; prefixes that
    match nothing are skipped, so the result may be shorter than the input. Times are
    whole seconds, as TensorFlow's local file system reports them.
    """
    mtimes = []
    for prefix in checkpoint_prefixes:
        found = _matches(prefix + ".index") or _matches(prefix)
        if found:
            mtimes.append(float(storage.getmtime_ns(found[0]) // 1_000_000_000))
    return mtimes


def meta_graph_filename(checkpoint_filename: str, meta_graph_suffix: str = "meta") -> str:
    """Returns the `.meta` path of a checkpoint, dropping a `-NNNNN-of-NNNNN` shard tail."""
    return _SHARD_TAIL.sub("", checkpoint_filename) + "." + meta_graph_suffix


def _remove_matching(pattern: str) -> None:
    for path in _matches(pattern):
        try:
            storage.remove(path)
        except FileNotFoundError:
            # Another process (a second Saver, a cleanup job) got there first; the goal,
            # that the file is gone, is met.
            _log.warning("File %s vanished before it could be deleted", path)


def remove_checkpoint(checkpoint_prefix: str,
                      checkpoint_format_version: int = CHECKPOINT_V2,
                      meta_graph_suffix: str = "meta") -> None:
    """Deletes a checkpoint's files: `.meta`, then `.index` and `.data-?????-of-?????` (V2),
    or the file(s) matching `P` itself (V1). Missing files are not an error.

    Raises:
      OSError: a file exists but could not be deleted.
    """
    _remove_matching(meta_graph_filename(checkpoint_prefix, meta_graph_suffix))
    if checkpoint_format_version == CHECKPOINT_V2:
        _remove_matching(checkpoint_prefix + ".index")
        _remove_matching(checkpoint_prefix + DATA_FILE_GLOB)
    else:
        _remove_matching(checkpoint_prefix)


def delete_checkpoint_files(checkpoint_prefix: str, meta_graph_suffix: str = "meta") -> list[str]:
    """Deletes a V2 checkpoint's files by their exact names; returns the paths deleted.

    Unlike `remove_checkpoint` (TensorFlow's, which treats the prefix as a glob pattern),
    nothing in the prefix is a wildcard: `P.meta` and `P.index` are deleted, in that order
    (the index's absence uncommits the checkpoint), then the data files
    `P.data-NNNNN-of-NNNNN` found by listing P's directory. Missing files are fine.

    Raises:
      OSError: a file exists but could not be deleted.
    """
    directory, base = os.path.split(checkpoint_prefix)
    targets = [meta_graph_filename(checkpoint_prefix, meta_graph_suffix),
               checkpoint_prefix + ".index"]
    data_name = re.compile(re.escape(base) + r"\.data-\d{5}-of-\d{5}")
    try:
        names = storage.listdir(directory or ".")
    except OSError:
        names = []
    targets += sorted(os.path.join(directory, n) for n in names if data_name.fullmatch(n))
    deleted = []
    for path in targets:
        try:
            storage.remove(path)
        except FileNotFoundError:
            continue
        deleted.append(path)
    return deleted
