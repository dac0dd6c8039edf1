"""Byte identity with ``SaveV2``: the same tensors written by TensorFlow and by flowsaver,
added in the same order, give identical ``.index`` and ``.data`` files, including an index
of two 256 KiB blocks, partitioned tensors and empty string tensors."""
from __future__ import annotations

import os

import numpy as np
import pytest

import flowsaver.train as fst
from bundle_cases import (ALL_DTYPES, EMPTY_STRING_SHAPES, PARTITIONED, REFUSED_PARTITIONS,
                          assert_reads_like_tf, assert_same_files, sample_tensors, savev2,
                          savev2_slices, write_partitioned)
from flowsaver.format.block import BlockReader
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.table import BLOCK_SIZE, TableReader


def test_bundle_writer_matches_savev2_bytes(tf, tmp_path):
    """Every dtype sample in one SaveV2 call with unsorted names, against add() in order."""
    tensors, names = {}, {}
    for name in ALL_DTYPES:
        for key, value in sample_tensors(name).items():
            tensors[key], names[key] = value, name
    unicode_key = "na\u00efve/\u043a\u043b\u044e\u0447"  # UTF-8 bytes sort as code points
    tensors[unicode_key], names[unicode_key] = np.float32(1), "float32"
    order = sorted(tensors, key=lambda k: (len(k) % 5, k[::-1]))  # neither key nor dtype order
    tensors = {k: tensors[k] for k in order}
    theirs = str(tmp_path / "tf")
    savev2(tf, theirs, tensors, names)
    ours = str(tmp_path / "ours")
    with BundleWriter(ours) as writer:
        for key, value in tensors.items():
            writer.add(key, value, dtype=names[key])
    assert_same_files(ours, theirs)
    assert_reads_like_tf(tf, theirs)


@pytest.mark.parametrize("case", PARTITIONED + REFUSED_PARTITIONS,
                         ids=[c[0] for c in PARTITIONED + REFUSED_PARTITIONS])
def test_add_slice_matches_savev2_slices_bytes(tf, tmp_path, case):
    """add_slice against SaveV2 given the same shape_and_slices specs."""
    theirs = str(tmp_path / "tf")
    savev2_slices(tf, theirs, case)
    ours = str(tmp_path / "ours")
    write_partitioned(ours, [case])
    assert_same_files(ours, theirs)


def test_two_block_index_matches_savev2_bytes(tf, tmp_path):
    """About 1400 keys of 200 bytes: the index needs two 256 KiB data blocks."""
    tensors = {"%05d_%s" % (i * 7, "x" * 194): np.int8(i % 128) for i in range(1400)}
    keys = list(reversed(tensors))
    theirs = str(tmp_path / "tf")
    savev2(tf, theirs, {k: tensors[k] for k in keys}, dict.fromkeys(keys, "int8"))
    ours = str(tmp_path / "ours")
    with BundleWriter(ours) as writer:
        for key in keys:
            writer.add(key, tensors[key])
    with open(theirs + ".index", "rb") as f:
        table = TableReader(f.read())
    assert len(list(BlockReader(table.read_block(table.index_handle)))) >= 2
    assert os.path.getsize(theirs + ".index") > BLOCK_SIZE
    assert_same_files(ours, theirs)


# --- Regressions found by these tests ------------------------------------------------------


@pytest.mark.parametrize("shape", EMPTY_STRING_SHAPES)
def test_empty_string_tensor_bytes_match_savev2(tf, tmp_path, shape):
    """TensorFlow writes an empty string tensor as its 4-byte length checksum, not nothing."""
    tensors = {"empty": np.empty(shape, dtype=object), "next": np.array([b"x"], dtype=object)}
    theirs, ours = str(tmp_path / "tf"), str(tmp_path / "ours")
    savev2(tf, theirs, tensors, dict.fromkeys(tensors, "string"))
    with BundleWriter(ours) as writer:
        for key, value in tensors.items():
            writer.add(key, value)
    assert_same_files(ours, theirs)


def test_debug_string_lists_slice_keys_like_tf(tf, tmp_path):
    prefix = str(tmp_path / "ck")
    write_partitioned(prefix, PARTITIONED[:1])
    assert fst.load_checkpoint(prefix).debug_string() == \
        tf.train.load_checkpoint(prefix).debug_string()
