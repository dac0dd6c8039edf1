"""V1 (TensorSliceWriter) checkpoints: the s7 sample, hand-made files, corrupted copies."""
import os
import shutil

import numpy as np
import pytest

from fixture_paths import SAMPLES
from flowsaver import errors
from flowsaver.format.protos import SavedTensorSlices, TensorProto
from flowsaver.format.slices import TensorSlice, encode_tensor_name_slice
from flowsaver.format.table import TableBuilder
from flowsaver.format.tensor_proto import from_array
from flowsaver.format.v1 import V1Reader, v1_files

# Written by TensorFlow 2.21 (gen_s7.py in tf_samples/README.txt).
SAMPLE = str(SAMPLES / "s7_v1_format" / "v1model.ckpt")

FLOAT, INT32, STRING = 1, 3, 7


def write_table(path, entries):
    with open(path, "wb") as f:
        builder = TableBuilder(f)
        for key, value in sorted(entries.items()):
            builder.add(key, value)
        builder.finish()


def v1_entries(tensors, producer=1):
    """Table entries as TensorSliceWriter makes them.

    tensors: [(name, dtype enum, shape, [(slice spec or None, TensorProto data), ...])]
    """
    meta = SavedTensorSlices()
    meta.meta.versions.producer = producer
    entries = {}
    for name, dtype, shape, slices in tensors:
        item = meta.meta.tensor.add(name=name, type=dtype)
        item.shape.SetInParent()
        for d in shape:
            item.shape.dim.add(size=d)
        for spec, data in slices:
            tslice = TensorSlice.full(len(shape)) if spec is None else TensorSlice.parse(spec)
            item.slice.add().CopyFrom(tslice.to_proto())
            saved = SavedTensorSlices()
            saved.data.name = name
            saved.data.slice.CopyFrom(tslice.to_proto())
            saved.data.data.CopyFrom(data)
            entries[encode_tensor_name_slice(name.encode(), tslice)] = \
                saved.SerializeToString()
    entries[b""] = meta.SerializeToString()
    return entries


def write_v1(path, tensors, **kw):
    write_table(path, v1_entries(tensors, **kw))
    return str(path)


def floats(*values):
    return TensorProto(float_val=values)


EMB = np.arange(12, dtype=np.float32).reshape(6, 2)
EMB_PARTS = [(f"{r},2:0,2", floats(*EMB[r:r + 2].ravel())) for r in (0, 2, 4)]


# --- the sample TensorFlow wrote --------------------------------------------------------

def test_sample_v1_checkpoint():
    with V1Reader(SAMPLE) as reader:
        assert reader.names() == ["v"]
        assert reader.has_tensor("v") and not reader.has_tensor("w")
        assert reader.dtype("v").name == "float32"
        assert reader.shape("v") == (3,)
        value = reader.get_tensor("v")
        assert value.dtype == np.float32 and value.tolist() == [1.0, 2.0, 3.0]
        assert reader.get_slice("v", TensorSlice.parse("1,2")).tolist() == [2.0, 3.0]


def test_sample_missing_tensor_is_not_found():
    reader = V1Reader(SAMPLE)
    with pytest.raises(errors.NotFoundError, match=r"Key w not found in checkpoint"):
        reader.get_tensor("w")
    with pytest.raises(errors.NotFoundError):
        reader.dtype("w")


def test_writer_helper_reproduces_the_sample_bytes(tmp_path):
    path = write_v1(tmp_path / "v1model.ckpt", [("v", FLOAT, [3], [(None, floats(1, 2, 3))])])
    with open(path, "rb") as a, open(SAMPLE, "rb") as b:
        assert a.read() == b.read()


def test_read_after_close_reloads():
    reader = V1Reader(SAMPLE)
    reader.close()
    assert reader.get_tensor("v").tolist() == [1.0, 2.0, 3.0]


# --- hand-made files: slices, shards, dtypes --------------------------------------------

def test_partitioned_tensor_is_assembled(tmp_path):
    path = write_v1(tmp_path / "ck", [("emb", FLOAT, [6, 2], EMB_PARTS)])
    reader = V1Reader(path)
    np.testing.assert_array_equal(reader.get_tensor("emb"), EMB)
    np.testing.assert_array_equal(reader.get_slice("emb", TensorSlice.parse("1,3:1,1")),
                                  EMB[1:4, 1:2])


def test_full_extent_and_explicit_extent_slices(tmp_path):
    parts = [("0,3:-", floats(*EMB[:3].ravel())), ("3,3:0,2", floats(*EMB[3:].ravel()))]
    reader = V1Reader(write_v1(tmp_path / "ck", [("emb", FLOAT, [6, 2], parts)]))
    np.testing.assert_array_equal(reader.get_tensor("emb"), EMB)


def test_scalar_string_empty_and_content_data(tmp_path):
    path = write_v1(tmp_path / "ck", [
        ("scalar", INT32, [], [(None, TensorProto(int_val=[7]))]),
        ("s", STRING, [3], [(None, TensorProto(string_val=[b"ab", b"", b"\xff"]))]),
        ("empty", FLOAT, [0, 3], [(None, TensorProto())]),
        ("content", FLOAT, [2], [(None, TensorProto(tensor_content=from_array(
            np.array([1.5, 2.5], np.float32)).tensor_content))]),
    ])
    reader = V1Reader(path)
    assert reader.names() == ["content", "empty", "s", "scalar"]
    assert reader.get_tensor("scalar").shape == () and reader.get_tensor("scalar") == 7
    assert reader.get_tensor("s").tolist() == [b"ab", b"", b"\xff"]
    assert reader.get_tensor("empty").shape == (0, 3)
    assert reader.get_tensor("content").tolist() == [1.5, 2.5]


@pytest.fixture
def sharded(tmp_path):
    write_v1(tmp_path / "ck-00000-of-00002", [("a", FLOAT, [2], [(None, floats(1, 2))]),
                                              ("emb", FLOAT, [6, 2], EMB_PARTS[:1])])
    write_v1(tmp_path / "ck-00001-of-00002", [("b", INT32, [1], [(None, TensorProto(
        int_val=[3]))]), ("emb", FLOAT, [6, 2], EMB_PARTS[1:])])
    return tmp_path


@pytest.mark.parametrize("name", ["ck", "ck-00001-of-00002", "ck-?????-of-00002"])
def test_sharded_checkpoint_from_any_name(sharded, name):
    reader = V1Reader(str(sharded / name))
    assert len(reader.files) == 2
    assert reader.names() == ["a", "b", "emb"]
    assert reader.get_tensor("b").tolist() == [3]
    np.testing.assert_array_equal(reader.get_tensor("emb"), EMB)


def test_missing_shard_is_not_found(sharded):
    os.remove(sharded / "ck-00001-of-00002")
    with pytest.raises(errors.NotFoundError, match=r"\[1\] of 2"):
        V1Reader(str(sharded / "ck-00000-of-00002"))


def test_missing_file_is_not_found(tmp_path):
    with pytest.raises(errors.NotFoundError, match="Failed to find any matching files"):
        v1_files(str(tmp_path / "nothing"))


# --- malformed files: each raises a flowsaver error naming the file and tensor ---------

def _raises_on_open_or_read(path, error, match):
    with pytest.raises(error, match=match):
        reader = V1Reader(path)
        for name in reader.names():
            reader.get_tensor(name)


@pytest.mark.parametrize("tensors,error,match", [
    ([("v", FLOAT, [3], [(None, floats(1, 2))])], errors.DataLossError,
     r"'v'.*float_val holds 2 values for 3"),
    ([("v", FLOAT, [3], [(None, floats(1, 2, 3, 4))])], errors.DataLossError, "4 values"),
    ([("v", 999, [3], [(None, floats(1, 2, 3))])], errors.DataLossError, "dtype enum 999"),
    ([("v", 21, [1], [(None, TensorProto())])], errors.DataLossError, "variant"),
    ([("v", FLOAT, [-3], [])], errors.DataLossError, "'v'.*invalid"),
    ([("v", FLOAT, [6, 2], EMB_PARTS + [("1,2:-", floats(*[0] * 4))])],
     errors.DataLossError, "overlap"),
    ([("v", FLOAT, [6, 2], EMB_PARTS[:2])], errors.InvalidArgumentError,
     "Does not have sufficient slices for partitioned tensor v"),
    ([("v", FLOAT, [2**40], [(None, floats(1))])], errors.DataLossError,
     "1099511627776 elements"),
    ([("v", FLOAT, [3], [(None, TensorProto(tensor_content=b"\0" * 11))])],
     errors.DataLossError, "tensor_content has 11 bytes"),
    ([("v", FLOAT, [3], [(None, TensorProto(dtype=2, float_val=[1, 2, 3]))])],
     errors.DataLossError, "dtype enum 2"),
])
def test_malformed_contents(tmp_path, tensors, error, match):
    path = write_v1(tmp_path / "ck", tensors)
    _raises_on_open_or_read(path, error, match=match)


def test_slice_out_of_shape(tmp_path):
    entries = v1_entries([("v", FLOAT, [3], [("0,2", floats(1, 2))])])
    meta = SavedTensorSlices.FromString(entries[b""])
    meta.meta.tensor[0].slice[0].extent[0].start = 5
    entries[b""] = meta.SerializeToString()
    write_table(tmp_path / "ck", entries)
    _raises_on_open_or_read(str(tmp_path / "ck"), errors.DataLossError, "does not fit")


def test_missing_slice_entry(tmp_path):
    entries = v1_entries([("v", FLOAT, [3], [(None, floats(1, 2, 3))])])
    del entries[encode_tensor_name_slice(b"v", TensorSlice.full(1))]
    write_table(tmp_path / "ck", entries)
    _raises_on_open_or_read(str(tmp_path / "ck"), errors.DataLossError,
                            r"tensor 'v' slice - in .*ck: listed in the meta")


def test_slice_entry_of_another_tensor(tmp_path):
    entries = v1_entries([("v", FLOAT, [3], [(None, floats(1, 2, 3))]),
                          ("w", FLOAT, [3], [(None, floats(4, 5, 6))])])
    key = encode_tensor_name_slice(b"v", TensorSlice.full(1))
    entries[key] = entries[encode_tensor_name_slice(b"w", TensorSlice.full(1))]
    write_table(tmp_path / "ck", entries)
    _raises_on_open_or_read(str(tmp_path / "ck"), errors.DataLossError, "holds tensor 'w'")


@pytest.mark.parametrize("meta_value,match", [
    (None, "no SavedTensorSlices meta"),
    (b"\xff\xff\xff", "does not parse"),
    (SavedTensorSlices().SerializeToString(), "holds no meta"),
])
def test_bad_meta(tmp_path, meta_value, match):
    entries = v1_entries([("v", FLOAT, [3], [(None, floats(1, 2, 3))])])
    if meta_value is None:
        del entries[b""]
    else:
        entries[b""] = meta_value
    write_table(tmp_path / "ck", entries)
    _raises_on_open_or_read(str(tmp_path / "ck"), errors.DataLossError, match)


def test_unreadable_versions(tmp_path):
    entries = v1_entries([("v", FLOAT, [3], [(None, floats(1, 2, 3))])])
    meta = SavedTensorSlices.FromString(entries[b""])
    meta.meta.versions.min_consumer = 7
    entries[b""] = meta.SerializeToString()
    write_table(tmp_path / "ck", entries)
    _raises_on_open_or_read(str(tmp_path / "ck"), errors.InvalidArgumentError, "min_consumer 7")


def test_shards_disagree_on_shape(tmp_path):
    write_v1(tmp_path / "ck-00000-of-00002", [("v", FLOAT, [2], [("0,1", floats(1))])])
    write_v1(tmp_path / "ck-00001-of-00002", [("v", FLOAT, [3], [("1,1", floats(2))])])
    _raises_on_open_or_read(str(tmp_path / "ck"), errors.DataLossError,
                            r"ck-00001-of-00002.*another shard lists it as float32 \[2\]")


def test_not_a_table(tmp_path):
    (tmp_path / "ck").write_bytes(b"not a checkpoint at all, just some text" * 3)
    _raises_on_open_or_read(str(tmp_path / "ck"), errors.DataLossError, "ck")


# --- damaged copies: a typed error naming the file, or the original values -----------

TYPED = (errors.DataLossError, errors.InvalidArgumentError, errors.NotFoundError)


def read_everything(path):
    """``(open error or None, {name: (dtype, shape, value) or OpError})``.

    Any exception that is not a flowsaver OpError propagates and fails the test.
    """
    try:
        reader = V1Reader(path)
    except errors.OpError as exc:
        return exc, {}
    results = {}
    for name in reader.names():
        try:
            results[name] = (reader.dtype(name), reader.shape(name), reader.get_tensor(name))
        except errors.OpError as exc:
            results[name] = exc
    return None, results


def assert_typed(exc, path, name=None):
    assert isinstance(exc, TYPED), repr(exc)
    assert path in str(exc), str(exc)
    assert name is None or name in str(exc), str(exc)


def same_value(a, b) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype == object:
        return [bytes(x) for x in a.reshape(-1)] == [bytes(x) for x in b.reshape(-1)]
    return a.tobytes() == b.tobytes()


def check_damaged(path, original, damaged_boxes=None):
    """Asserts that reading ``path`` gives typed errors or ``original``'s values.

    ``original``: {name: (dtype, shape, value)} of the undamaged file. ``damaged_boxes``
    ({name: box}) names the slice whose entry was changed behind a valid checksum: its
    elements may differ (nothing can tell), every other element must be the original,
    and the tensor list must be too. Returns whether anything raised.
    """
    open_error, results = read_everything(path)
    if open_error is not None:
        assert_typed(open_error, path)
        return True
    if damaged_boxes is not None:
        assert set(results) == set(original)
    failed = False
    for name, result in results.items():
        if isinstance(result, errors.OpError):
            assert_typed(result, path, name)
            failed = True
            continue
        assert name in original, f"{name!r} is not in the checkpoint, yet reads"
        dtype, shape, value = result
        want_dtype, want_shape, want = original[name]
        assert (dtype, shape) == (want_dtype, want_shape), name
        assert value.dtype == want.dtype and value.shape == want.shape, name
        box = (damaged_boxes or {}).get(name)
        if box is not None:   # outside the changed slice, the values must not move
            value, want = value.copy(), want.copy()
            value[box] = want[box]
        assert same_value(value, want), f"wrong value for {name!r}"
    return failed


def test_every_byte_flip_and_truncation_of_the_sample(tmp_path):
    data = open(SAMPLE, "rb").read()
    _, original = read_everything(SAMPLE)
    path = str(tmp_path / "ck")
    unnoticed = []
    for i in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            open(path, "wb").write(data[:i] + bytes([data[i] ^ flip]) + data[i + 1:])
            if not check_damaged(path, original):
                unnoticed.append((i, flip))
    for n in range(len(data)):
        open(path, "wb").write(data[:n])
        if not check_damaged(path, original):
            unnoticed.append(("truncated", n))
    # The table's checksums, footer and padding checks see every change to the file.
    assert unnoticed == []


def test_every_byte_flip_inside_the_protos_with_valid_checksums(tmp_path):
    # The table CRCs catch flips in the file; these flips reach the proto parser. A flip
    # in a slice's entry may change that slice's values (V1 data has no checksum of its
    # own), but never another slice's, another tensor's, or the tensor list.
    tensors = [("emb", FLOAT, [6, 2], EMB_PARTS),
               ("s", STRING, [2], [(None, TensorProto(string_val=[b"a", b"b"]))])]
    entries = v1_entries(tensors)
    path = str(tmp_path / "ck")
    write_table(path, entries)
    _, original = read_everything(path)
    boxes = {}
    for name, _, shape, slices in tensors:
        for spec, _ in slices:
            tslice = TensorSlice.full(len(shape)) if spec is None else TensorSlice.parse(spec)
            box = tuple(slice(s, s + n) for s, n in tslice.resolve(tuple(shape)))
            boxes[encode_tensor_name_slice(name.encode(), tslice)] = {name: box}
    for key, value in entries.items():
        damaged = boxes.get(key)   # None for the meta: then values may not change at all
        for i in range(len(value)):
            for flip in (0x01, 0x08, 0x80, 0xFF):
                bad = dict(entries)
                bad[key] = value[:i] + bytes([value[i] ^ flip]) + value[i + 1:]
                write_table(path, bad)
                check_damaged(path, original, damaged)
            bad = dict(entries)
            bad[key] = value[:i]
            write_table(path, bad)
            check_damaged(path, original, damaged)


def test_sample_copy_reads_like_the_original(tmp_path):
    shutil.copy(SAMPLE, tmp_path / "copy")
    assert V1Reader(str(tmp_path / "copy")).get_tensor("v").tolist() == [1, 2, 3]
