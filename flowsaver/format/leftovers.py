"""What killed saves leave behind, found and removed by the next save of the same family.

A save of ``D/B-<step>`` (or of ``D/B`` itself) killed at a bad moment leaves files that
no checkpoint owns, and that nothing would ever delete (on object stores as on disks):

    B-N.index.tempstate…, B-N.data-….tempstate…,   temporaries of a write in progress
    B-N.meta.tmp<uuid>                              (renamed into place on success)
    B-N.data-KKKKK-of-NNNNN  without B-N.index      data written, index never committed
                                                    (killed before the commit), or left
                                                    by a deletion killed after the index
    B-N_temp/part-KKKKK-of-NNNNN.{index,data-…}     parts of a sharded save (and
    B-N.part-KKKKK-of-NNNNN.{index,data-…}          their S3 form) never merged

A complete checkpoint (its ``.index`` present) is never a leftover, recorded in the state
file or not: ``Saver.save(write_state=False)`` makes such checkpoints on purpose.

Only names of the family are considered: ``B`` followed by nothing or ``-<digits>``, then
one of the suffixes above, matched as literal text (never as a glob). The state file's own
temporaries (``checkpoint.tmp…``) are not ours to touch: another Saver in the directory
may be writing one right now.
"""
from __future__ import annotations

import os
import re

from flowsaver.format import storage
from flowsaver.format.atomic import discard

_TEMP_TAIL = r"(\.tmp[0-9a-f]{32}|\.tempstate\d+)"
_DATA = r"\.data-\d{5}-of-\d{5}"
_PART = r"-\d{5}-of-\d{5}(\.index|" + _DATA + r")" + _TEMP_TAIL + "?"


def _family(base: str) -> str:
    return re.escape(base) + r"(-\d+)?"


def find_leftovers(save_path: str, meta_graph_suffix: str = "meta") -> list[str]:
    """Paths of leftovers of killed saves of ``save_path``'s family, sorted.

    Returns:
      Full paths of files (part directories are listed by their files); [] when the
      directory cannot be listed.
    """
    directory, base = os.path.split(save_path)
    try:
        names = storage.listdir(directory or ".")
    except OSError:
        return []
    family = _family(base)
    temp = re.compile(family + r"(\.index|" + _DATA + r"|\." + re.escape(meta_graph_suffix)
                      + r")?" + _TEMP_TAIL)
    data = re.compile("(" + family + ")" + _DATA)
    s3_part = re.compile("(" + family + r")\.part" + _PART)
    temp_dir = re.compile("(" + family + ")_temp")
    present = set(names)
    found = []
    for name in names:
        if temp.fullmatch(name):
            found.append(name)
            continue
        m = data.fullmatch(name) or s3_part.fullmatch(name)
        if m and m.group(1) + ".index" not in present:
            found.append(name)
    found = [os.path.join(directory, n) for n in found]
    for name in names:
        m = temp_dir.fullmatch(name)
        if m and m.group(1) + ".index" not in present:
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


def remove_leftovers(save_path: str, meta_graph_suffix: str = "meta") -> list[str]:
    """Deletes what ``find_leftovers`` finds (and emptied part directories); returns it."""
    found = find_leftovers(save_path, meta_graph_suffix)
    for path in found:
        if storage.is_url(path):
            try:
                storage.remove(path)
            except FileNotFoundError:
                pass
        else:
            discard(path)
    directory, base = os.path.split(save_path)
    temp_dir = re.compile(_family(base) + "_temp")
    for part_dir in sorted({os.path.dirname(p) for p in found if not storage.is_url(p)}):
        if temp_dir.fullmatch(os.path.basename(part_dir)) and \
                not storage.same_directory(part_dir, directory):
            try:
                os.rmdir(part_dir)
            except OSError:   # not empty: something else lives there; leave it
                pass
    return found
