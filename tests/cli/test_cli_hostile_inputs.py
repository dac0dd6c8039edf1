"""Issue 16's untyped exceptions, hangs and blow-ups in `flowsaver inspect` and `verify`,
each rebuilt from the file the issue describes. Every command must end with a result or
a one-line error naming the file (exit 2), never a traceback, in bounded time and memory.
"""
from __future__ import annotations

import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.cli.main import main
from flowsaver.format.bundle_write import save_tensors
from flowsaver.format.coding import crc32c, mask
from flowsaver.format.graph_protos import MetaGraphDef
from flowsaver.format.protos import (BundleEntryProto, CheckpointState,
                                     TensorShapeProto, TrackableObjectGraph)
from flowsaver.format.state import checkpoint_state_to_text
from test_helpers import time_limit

# Time bounds below are CPU seconds of this process (time.process_time): what separates
# linear from quadratic work, whatever else the machine is running. time_limit (wall
# clock) only stops a hang.

sys.path.insert(0, str(Path(__file__).parents[1] / "format"))
from bundle_builders import header, write_bundle  # noqa: E402
from test_hostile_scale import rows_bundle  # noqa: E402

MB = 1 << 20


def cli(capsys, *argv) -> tuple[int, str, str]:
    with time_limit(60):
        code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def strict_json(text: str):
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A checkpoint and its .meta, written by Saver."""
    directory = tmp_path_factory.mktemp("saved")
    with tf.Graph().as_default():
        tf.Variable(np.ones((2, 2), np.float32), name="v")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = saver.save(sess, str(directory / "model"))
    return prefix


# --- untyped exceptions ----------------------------------------------------------------------

def test_verify_an_entry_with_a_negative_offset(capsys, tmp_path):
    prefix = str(tmp_path / "m")
    write_bundle(prefix, {"x": BundleEntryProto(dtype=1, shape=TensorShapeProto(
        dim=[TensorShapeProto.Dim(size=1)]), offset=-4, size=4)}, bytes(4))
    code, out, _ = cli(capsys, "verify", prefix)
    assert code == 1
    assert "BAD x: tensor 'x' in " + prefix + ".index: 4 bytes at offset -4" in out
    assert "4 bytes at offset 0 are not covered by any index entry" in out


def test_inspect_meta_with_a_corrupt_variable_def(capsys, tmp_path, saved):
    meta = MetaGraphDef.FromString(Path(saved + ".meta").read_bytes())
    meta.collection_def["variables"].bytes_list.value[0] = b"\xff\xff\xff"
    path = tmp_path / "bad.meta"
    path.write_bytes(meta.SerializeToString())
    code, out, err = cli(capsys, "inspect", path)
    assert (code, out) == (2, "")
    assert f"{path}: item 0 of collection 'variables' is not a serialized VariableDef" in err
    with pytest.raises(tf.errors.OpError, match=str(path)):   # the import agrees
        with tf.Graph().as_default():
            tf.train.import_meta_graph(str(path))


def test_inspect_meta_json_with_a_nan_keep_hours(capsys, tmp_path, saved):
    meta = MetaGraphDef.FromString(Path(saved + ".meta").read_bytes())
    meta.saver_def.keep_checkpoint_every_n_hours = float("nan")
    path = tmp_path / "nan.meta"
    path.write_bytes(meta.SerializeToString())
    code, out, err = cli(capsys, "inspect", "--json", path)
    assert (code, err) == (0, "")
    assert strict_json(out)["saver"]["keep_checkpoint_every_n_hours"] == "nan"


STAMPS = [("inf", float("inf"), "inf"), ("1e20", 1e20, 1e20), ("nan", float("nan"), "nan"),
          ("milliseconds", 1.7e12, 1.7e12)]


@pytest.mark.parametrize("label, stamp, in_json", STAMPS, ids=[s[0] for s in STAMPS])
def test_inspect_a_directory_whose_state_has_an_odd_timestamp(capsys, tmp_path, label, stamp,
                                                              in_json):
    save_tensors(str(tmp_path / "old"), {"x": np.zeros(1, np.float32)})
    save_tensors(str(tmp_path / "new"), {"x": np.ones(1, np.float32)})
    state = CheckpointState(model_checkpoint_path="new",
                            all_model_checkpoint_paths=["old", "new"],
                            all_model_checkpoint_timestamps=[1.7e9, stamp])
    (tmp_path / "checkpoint").write_text(checkpoint_state_to_text(state))
    code, out, err = cli(capsys, "inspect", tmp_path)
    assert (code, err) == (0, "")
    # the whole listing, the good timestamp as a time, the odd one as the number it is
    assert "  old  (2023-11-14 22:13:20+00:00)" in out
    assert f"  new  (latest, timestamp {stamp!r} is not a valid time)" in out
    code, out, err = cli(capsys, "inspect", "--json", tmp_path)
    assert (code, err) == (0, "")
    assert [e["timestamp"] for e in strict_json(out)["state"]] == [1.7e9, in_json]


# --- hangs and blow-ups --------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_inspect_a_directory_whose_state_file_is_a_fifo(capsys, tmp_path):
    save_tensors(str(tmp_path / "model"), {"x": np.zeros(1, np.float32)})
    os.mkfifo(tmp_path / "checkpoint")
    code, out, err = cli(capsys, "inspect", tmp_path)
    assert (code, out) == (2, "")
    assert f"{tmp_path / 'checkpoint'} is not a regular file (a FIFO)" in err


def test_inspect_object_graph_of_a_30000_node_chain(capsys, tmp_path):
    depth = 30_000
    graph = TrackableObjectGraph()
    for i in range(depth):
        node = graph.nodes.add()
        if i + 1 < depth:
            node.children.add(node_id=i + 1, local_name="c")
    graph.nodes[-1].attributes.add(name="VARIABLE_VALUE", checkpoint_key="v")
    prefix = str(tmp_path / "chain")
    save_tensors(prefix, {"_CHECKPOINTABLE_OBJECT_GRAPH":
                          np.array(graph.SerializeToString(), dtype=object),
                          "v": np.float32(1.0)})
    assert os.path.getsize(prefix + ".data-00000-of-00001") > 100_000   # the 313 KB
    tracemalloc.start()
    try:
        code, out, err = cli(capsys, "inspect", "--object-graph", prefix)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (code, err) == (0, "")
    assert peak < 64 * MB          # 2.6 GB before: indentation grew with depth
    lines = out.splitlines()
    assert len(lines) == depth + 2 and f"c #{depth - 1}" in lines[-2]
    assert f"[depth {depth - 1}] c #{depth - 1}" in lines[-2]
    assert max(map(len, lines)) < 200


def test_verify_a_terabyte_tensor_over_a_sparse_file(capsys, tmp_path):
    prefix = str(tmp_path / "big")
    write_bundle(prefix, {"x": BundleEntryProto(
        dtype=1, shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=10**12 // 4)]),
        size=10**12, crc32c=0x1234)}, b"")
    try:
        os.truncate(prefix + ".data-00000-of-00001", 10**12)
    except OSError as exc:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(f"the file system refuses a sparse 10**12-byte file: {exc}")
    tracemalloc.start()
    try:
        code, out, _ = cli(capsys, "verify", prefix)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 1 and "BAD x: Checksum does not match for tensor 'x'" in out
    assert peak < 8 * MB
    code, _, err = cli(capsys, "inspect", prefix, "-t", "x")
    assert code == 2 and "more than this machine's memory" in err


def test_verify_4000_slices_in_linear_time(capsys, tmp_path):
    prefix = str(tmp_path / "rows")
    rows_bundle(prefix, 4000)
    start = time.process_time()
    code, out, _ = cli(capsys, "verify", prefix)
    assert code == 0 and "verified 1 tensor (32000 bytes) in 1 shard: 0 bad" in out
    assert time.process_time() - start < 10     # 42 s before, on an idle machine


def test_verify_a_header_claiming_65536_shards(capsys, tmp_path):
    prefix = str(tmp_path / "m")
    data = np.float32([1.5]).tobytes()
    write_bundle(prefix, {"x": BundleEntryProto(
        dtype=1, shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]), size=4,
        crc32c=mask(crc32c(data)))}, {0: data}, head=header(num_shards=65536))
    start = time.process_time()
    code, out, _ = cli(capsys, "verify", prefix)
    assert code == 0 and "verified 1 tensor (4 bytes) in 65536 shards: 0 bad" in out
    assert "data file is missing, and so are 65534 more of the 65536 the index names" in out
    assert len(out.splitlines()) < 5 and time.process_time() - start < 30
