"""What killed saves leave behind, found and removed by the next save of the same family.

A save of ``D/B-<step>`` (or of ``D/B`` itself) killed at a bad moment leaves files that
no checkpoint owns, and that nothing would ever delete (on object stores as on disks):

    B-N.index.tempstate…, B-N.data-….tempstate…,   temporaries of a write in progress
    B-N.meta.tmp<uuid>                              (renamed into place on success)
    B-N.data-KKKKK-of-NNNNN  without B-N.index      data written, index never committed
                                                    (killed before the commit), or left
                                                    by a deletion killed after the index
    B-N_temp/part-KKKKK-of-NNNNN.{index,data-…}     parts of a sharded save (and
    B-N.part-KKKKK-of-NNNNN.{index,data-…}          their S3 form), never merged, or
                                                    merged by a save killed before it
                                                    deleted them

A complete checkpoint (its ``.index`` present) is never a leftover by itself, recorded in
the state file or not: ``Saver.save(write_state=False)`` makes such checkpoints on purpose,
and ``keep_checkpoint_every_n_hours`` keeps some for good. The one exception is a
checkpoint that retention had decided to delete. A Saver writes the state file without
it, then deletes it; a kill between the two would leave a complete checkpoint that no
state file lists and nothing deletes (TensorFlow's Saver leaks it so). So before writing
that state file the Saver notes the doomed checkpoints' names in a sidecar,
``D/B.retiring`` (one atomic write, one PUT on a store), and removes it once they are
deleted; the next save of the family that finds a sidecar deletes the checkpoints named
in it that the state file does not list (a kill before the state file was written left
them listed: they stay), then the sidecar.

Only names of the family are considered: ``B`` followed by nothing or ``-<digits>``, then
one of the suffixes above, matched as literal text (never as a glob). The state file's own
temporaries (``checkpoint.tmp…``) are not ours to touch: another Saver in the directory
may be writing one right now.
"""
from __future__ import annotations

import os
import re

from flowsaver import errors
from flowsaver.format import state, storage
from flowsaver.format.atomic import discard

_TEMP_TAIL = r"(\.tmp[0-9a-f]{32}|\.tempstate\d+)"
_DATA = r"\.data-\d{5}-of-\d{5}"
_PART = r"-\d{5}-of-\d{5}(\.index|" + _DATA + r")" + _TEMP_TAIL + "?"
RETIRING_SUFFIX = ".retiring"
RETIRING_MAX_BYTES = 1 << 20   # a sidecar names a few checkpoints; never read more


def _family(base: str) -> str:
    return re.escape(base) + r"(-\d+)?"


def _names(directory: str) -> list[str] | None:
    """The names in ``directory`` (one listing: one request on a store); None if unlistable."""
    try:
        return storage.listdir(directory or ".")
    except OSError:
        return None


def find_leftovers(save_path: str, meta_graph_suffix: str = "meta",
                   names: list[str] | None = None) -> list[str]:
    """Paths of leftovers of killed saves of ``save_path``'s family, sorted.

    Args:
      names: the directory's listing when the caller has it (else it is listed here).

    Returns:
      Full paths of files (part directories are listed by their files); [] when the
      directory cannot be listed.
    """
    directory, base = os.path.split(save_path)
    if names is None:
        names = _names(directory)
        if names is None:
            return []
    family = _family(base)
    temp = re.compile(family + r"(\.index|" + _DATA + r"|\." + re.escape(meta_graph_suffix)
                      + r"|" + re.escape(RETIRING_SUFFIX) + r")?" + _TEMP_TAIL)
    data = re.compile("(" + family + ")" + _DATA)
    s3_part = re.compile("(" + family + r")\.part" + _PART)
    temp_dir = re.compile("(" + family + ")_temp")
    present = set(names)
    found = []
    for name in names:
        if temp.fullmatch(name):
            found.append(name)
            continue
        if s3_part.fullmatch(name):   # a part outlives no save, merged or not
            found.append(name)
            continue
        m = data.fullmatch(name)
        if m and m.group(1) + ".index" not in present:
            found.append(name)
    found = [os.path.join(directory, n) for n in found]
    for name in names:
        if temp_dir.fullmatch(name):
            found += _part_files(os.path.join(directory, name))
    return sorted(found)


def _part_files(part_dir: str) -> list[str]:
    """The part files in a sharded save's ``P_temp`` directory (nothing else in it)."""
    if storage.is_url(part_dir) or not os.path.isdir(part_dir):
        return []
    part = re.compile(r"part" + _PART)
    try:
        return [os.path.join(part_dir, n) for n in os.listdir(part_dir) if part.fullmatch(n)]
    except OSError:
        return []


def remove_leftovers(save_path: str, meta_graph_suffix: str = "meta",
                     listed=None) -> list[str]:
    """Deletes what ``find_leftovers`` finds (and emptied part directories); returns it.

    With ``listed`` (see ``finish_retiring``) a retiring sidecar of the family in the
    listing is finished first: the one listing serves both, so a save on an object store
    makes no extra request for a sidecar that is not there."""
    directory, base = os.path.split(save_path)
    names = _names(directory)
    if names is None:
        return []
    if listed is not None and base + RETIRING_SUFFIX in names:
        finish_retiring(save_path, listed, meta_graph_suffix)
    found = find_leftovers(save_path, meta_graph_suffix, names)
    for path in found:
        _remove(path)
    temp_dir = re.compile(_family(base) + "_temp")
    for part_dir in sorted({os.path.dirname(p) for p in found if not storage.is_url(p)}):
        if temp_dir.fullmatch(os.path.basename(part_dir)) and \
                not storage.same_directory(part_dir, directory):
            try:
                os.rmdir(part_dir)
            except OSError:   # not empty: something else lives there; leave it
                pass
    return found


# ---- checkpoints retention was deleting when a save was killed -----------------------------
def retiring_path(save_path: str) -> str:
    """The sidecar of ``save_path``'s family: ``D/B.retiring``."""
    return save_path + RETIRING_SUFFIX


def note_retiring(save_path: str, prefixes) -> list[str]:
    """Records, in the family's sidecar, the checkpoints among ``prefixes`` that lie in
    ``save_path``'s directory and belong to its family (by name); returns their names.
    Call before the state file stops listing them; nothing is written for none."""
    directory, base = os.path.split(save_path)
    family = re.compile(_family(base))
    names = [os.path.basename(p) for p in prefixes
             if storage.same_directory(os.path.dirname(p), directory)
             and family.fullmatch(os.path.basename(p))]
    if names:
        storage.write_atomic(retiring_path(save_path), "".join(n + "\n" for n in names).encode())
    return names


def clear_retiring(save_path: str) -> None:
    """Removes the family's sidecar: the checkpoints it names are deleted."""
    _remove(retiring_path(save_path))


def _remove(path: str) -> None:
    """Deletes one file or object; a missing one is fine (a local one that cannot be
    deleted is logged, not raised: a leftover must not fail the save)."""
    if storage.is_url(path):
        storage.remove_if_present(path)
    else:
        discard(path)


def finish_retiring(save_path: str, listed, meta_graph_suffix: str = "meta") -> list[str]:
    """Deletes what a killed save's retention left: the checkpoints the family's sidecar
    names that ``listed()`` (the state file's checkpoint paths, read only when there is a
    sidecar; None when the state file cannot be read, and then nothing is done) does not,
    then the sidecar. Returns the prefixes deleted.

    Only plain names of the family count, in ``save_path``'s directory: a line holding a
    path, glob characters or any other name is skipped, never followed, and a checkpoint
    whose name any listed path ends with is kept."""
    path = retiring_path(save_path)
    try:
        text = storage.read_bytes(path, RETIRING_MAX_BYTES)
    except (OSError, errors.OpError):   # gone, not a regular file, unreadable: leave it
        return []
    listing = listed()
    if listing is None:
        return []
    directory, base = os.path.split(save_path)
    family = re.compile(_family(base))
    kept = {os.path.basename(os.fspath(p)) for p in listing}
    doomed = []
    for line in text[:RETIRING_MAX_BYTES].decode("utf-8", "replace").splitlines():
        if family.fullmatch(line) and line not in kept:
            doomed.append(os.path.join(directory, line))
    for prefix in doomed:
        state.delete_checkpoint_files(prefix, meta_graph_suffix)
    clear_retiring(save_path)
    return doomed
