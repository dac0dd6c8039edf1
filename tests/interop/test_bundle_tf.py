"""Tensor bundles against real TensorFlow, live, in both directions and byte for byte.

1. TensorFlow reads what flowsaver writes: every dtype (extreme values, scalars, empty and
   3-D tensors), partitioned tensors (``add_slice``) and sharded checkpoints, through
   ``tf.train.load_checkpoint`` and through the ``RestoreV2`` op, sub-slices included.
2. flowsaver reads what TensorFlow writes: eager ``SaveV2`` of every dtype (unsorted names,
   so data order differs from key order), a TF1 graph ``Saver`` with a partitioned
   variable, a ``Saver(sharded=True)`` over two CPU devices, and a TF2 object-based
   ``tf.train.Checkpoint``.
3. Byte identity: the same tensors written by TensorFlow and by flowsaver, added in the
   same order, give identical ``.index`` and ``.data`` files, including an index of two
   256 KiB blocks.

Values are compared bit for bit (NaN payloads, -0.0), dtypes by TensorFlow's name.
TensorFlow 2.21 writes (SaveV2) and reads (load_checkpoint, RestoreV2) every storable dtype,
the five float8 types, int4/uint4 (one byte an element) and the quantized types included.
Only its *sliced* reads are narrower: see TF_SLICE_REFUSED. The checkpoint state file is covered by
test_state_tf.py.
"""
from __future__ import annotations

import os

import ml_dtypes
import numpy as np
import pytest
from test_helpers import alternate_cpus

import flowsaver.train as fst
from flowsaver.format import dtypes
from flowsaver.format.block import BlockReader
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import BundleWriter, save_tensors
from flowsaver.format.merge import ShardedBundleWriter
from flowsaver.format.slices import TensorSlice
from flowsaver.format.table import BLOCK_SIZE, TableReader

# --- dtype cases ---------------------------------------------------------------------------

FLOATS = ["float16", "bfloat16", "float32", "float64"]
FLOAT8 = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e4m3b11fnuz",
          "float8_e5m2fnuz"]
INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
INT4 = ["int4", "uint4"]
QUANTIZED = ["qint8", "quint8", "qint16", "quint16", "qint32"]
OTHERS = ["bool", "complex64", "complex128", "string"]
ALL_DTYPES = FLOATS + FLOAT8 + INTS + INT4 + QUANTIZED + OTHERS
# TensorFlow's sliced reads (a partitioned tensor, or RestoreV2 with a slice spec) handle
# only some dtypes. For these it writes slices but cannot read them back: "Dtype half not
# supported." from get_tensor (ValueError) and RestoreV2 (InvalidArgumentError). flowsaver
# reads them.
TF_SLICE_REFUSED = ["float16", *FLOAT8, "uint16", "uint32", "uint64", "qint16", "quint16",
                    "string"]
SLICE_REFUSED_MESSAGE = r"Dtype \w+ not supported"

SPECIAL_FLOATS = [np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, -1.5, 1e-40, 3.4e38,
                  -65504.0, 6e-8]
SIGNALLING_NANS = {"float16": 0x7C01, "bfloat16": 0x7F81, "float32": 0x7F800001,
                   "float64": 0x7FF0000000000001}
STRINGS = [b"", b"\xff\xfe\x00\x80 not utf-8", "h\u00e9llo \u2713".encode("utf-8"),
           b"x" * 300, b"\x00", b"trailing nul\x00", b"a"]


def _random_bits(dtype: np.dtype, n: int, seed: int) -> np.ndarray:
    """``n`` values of ``dtype`` with uniformly random bit patterns (NaN payloads too)."""
    raw = np.random.default_rng(seed).integers(0, 256, size=n * dtype.itemsize, dtype=np.uint8)
    return raw.view(dtype)


def extremes(name: str) -> np.ndarray:
    """A 1-D array of the awkward values of TensorFlow dtype ``name``, in its storage form."""
    info = dtypes.BY_NAME[name]
    np_dtype = info.numpy
    if name == "string":
        return np.array(STRINGS, dtype=object)
    if name == "bool":
        return np.array([True, False, False, True, True], dtype=np.bool_)
    if name in FLOAT8:
        return np.arange(256, dtype=np.uint8).view(np_dtype)  # every bit pattern
    if name in FLOATS:
        with np.errstate(over="ignore"):
            special = np.array(SPECIAL_FLOATS).astype(np_dtype)
        snan = np.array([SIGNALLING_NANS[name]], f"<u{np_dtype.itemsize}").view(np_dtype)
        return np.concatenate([special, snan, _random_bits(np_dtype, 32, seed=len(name))])
    if name.startswith("complex"):
        part = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 2.5])
        out = np.empty((len(part), len(part)), np_dtype)  # no arithmetic: keeps -0.0, inf
        out.real, out.imag = part[:, None], part[None, :]
        return out.reshape(-1)
    if name in INT4:
        lo, hi = (-8, 7) if name == "int4" else (0, 15)
        return np.arange(lo, hi + 1).astype(np_dtype)
    limits = np.iinfo(np_dtype)  # plain and quantized integers
    fixed = np.array([limits.min, limits.max, 0, 1, limits.max - 1], dtype=np_dtype)
    return np.concatenate([fixed, _random_bits(np_dtype, 16, seed=len(name))])


def sample_tensors(name: str) -> dict[str, np.ndarray]:
    """Tensors of dtype ``name`` under distinct names: scalar, empty, 2-D, 3-D, extremes."""
    values = extremes(name)
    out = {
        f"{name}/extremes": values,
        f"{name}/scalar": values[1:2].reshape(()),
        f"{name}/empty": values[:0],
        f"{name}/empty_rows": values[:0].reshape(0, 3),
        f"{name}/matrix": np.resize(values, 6).reshape(2, 3),
        f"{name}/cube": np.resize(values, 24).reshape(2, 3, 4),
    }
    if name == "string":
        out["string/long_scalar"] = np.array(b"L" * 200 + b"\xc3", dtype=object)
    return out


def tf_dtype(tf, name: str):
    return tf.dtypes.as_dtype(dtypes.BY_NAME[name].enum)


def as_array(value) -> np.ndarray:
    """A reader's result as an array; bytes scalars kept whole (np.asarray strips NULs)."""
    if isinstance(value, bytes):
        out = np.empty((), dtype=object)
        out[()] = value
        return out
    return np.asarray(value)


def assert_same_tensor(actual, expected, label: str) -> None:
    """Same shape, same NumPy dtype and the same bytes (or byte strings)."""
    actual, expected = as_array(actual), as_array(expected)
    assert actual.shape == expected.shape, (label, actual.shape, expected.shape)
    if expected.dtype == object:
        assert actual.dtype == object, (label, actual.dtype)
        assert actual.reshape(-1).tolist() == expected.reshape(-1).tolist(), label
    else:
        assert actual.dtype == expected.dtype, (label, actual.dtype, expected.dtype)
        assert actual.tobytes() == expected.tobytes(), (label, actual, expected)


def assert_maps_equal(tf_reader, ours) -> None:
    """Shape and dtype maps (dtype by TensorFlow name) and debug strings agree."""
    assert ours.get_variable_to_shape_map() == tf_reader.get_variable_to_shape_map()
    tf_dtypes = {k: v.name for k, v in tf_reader.get_variable_to_dtype_map().items()}
    assert {k: v.name for k, v in ours.get_variable_to_dtype_map().items()} == tf_dtypes
    assert ours.debug_string() == tf_reader.debug_string()


def file_bytes(prefix: str, num_shards: int = 1) -> dict[str, bytes]:
    names = [".index"] + [".data-%05d-of-%05d" % (i, num_shards) for i in range(num_shards)]
    out = {}
    for suffix in names:
        with open(prefix + suffix, "rb") as f:
            out[suffix] = f.read()
    return out


def assert_same_files(ours: str, theirs: str, num_shards: int = 1) -> None:
    a, b = file_bytes(ours, num_shards), file_bytes(theirs, num_shards)
    for suffix in a:
        assert a[suffix] == b[suffix], (f"{suffix} differs: flowsaver {len(a[suffix])} bytes, "
                                        f"TensorFlow {len(b[suffix])} bytes; first difference "
                                        f"at byte {_first_difference(a[suffix], b[suffix])}")


def _first_difference(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def tf_constant(tf, value: np.ndarray, name: str):
    return tf.constant(value, dtype=tf_dtype(tf, name))


# --- 1. TensorFlow reads what flowsaver writes --------------------------------------------

@pytest.mark.parametrize("name", ALL_DTYPES)
def test_tf_reads_flowsaver_dtype(tf, tmp_path, name):
    tensors = sample_tensors(name)
    prefix = str(tmp_path / "ck")
    with BundleWriter(prefix) as writer:
        for key, value in tensors.items():
            writer.add(key, value, dtype=name)

    tf_reader = tf.train.load_checkpoint(prefix)
    for key, value in tensors.items():
        assert_same_tensor(tf_reader.get_tensor(key), value, key)
    assert {v.name for v in tf_reader.get_variable_to_dtype_map().values()} == {name}
    ours = fst.load_checkpoint(prefix)
    assert_maps_equal(tf_reader, ours)
    for key in tensors:
        assert_same_tensor(ours.get_tensor(key), tf_reader.get_tensor(key), key)

    keys = list(tensors)
    restored = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=keys,
                                    shape_and_slices=[""] * len(keys),
                                    dtypes=[tf_dtype(tf, name)] * len(keys))
    for key, tensor in zip(keys, restored):
        assert_same_tensor(tensor.numpy(), tensors[key], key)
    # A tensor stored whole reads back as a slice too, for the dtypes TF slices.
    cube = tensors[f"{name}/cube"]
    if name in TF_SLICE_REFUSED:
        with pytest.raises(tf.errors.InvalidArgumentError, match=SLICE_REFUSED_MESSAGE):
            restore_slice(tf, prefix, f"{name}/cube", name, cube.shape, "1,1:-:1,2")
    else:
        assert_same_tensor(
            restore_slice(tf, prefix, f"{name}/cube", name, cube.shape, "1,1:-:1,2"),
            cube[1:2, :, 1:3], "cube")


# (case, dtype, full shape, stored slices, sub-slices RestoreV2 reads back)
PARTITIONED = [
    ("rows_uneven", "float32", (7, 3), ["0,3:-", "3,2:-", "5,2:-"],
     ["2,3:-", "6,1:1,2", "0,7:-"]),
    ("cols_uneven", "int64", (4, 7), ["-:0,3", "-:3,2", "-:5,2"],
     ["1,2:2,4", "-:4,3", "-:-"]),
    ("rows_explicit", "bfloat16", (5, 2, 3), ["0,2:0,2:0,3", "2,2:0,2:0,3", "4,1:0,2:0,3"],
     ["1,3:1,1:-"]),
    ("one_full_slice", "float64", (3, 2), ["-:-"], ["1,2:-"]),
    ("big_offsets", "int8", (300, 2), ["0,100:-", "100,150:-", "250,50:-"], ["90,70:-"]),
]
REFUSED_PARTITIONS = [(f"{name}_rows", name, (5, 2), ["0,2:-", "2,2:-", "4,1:-"], ["1,3:1,1"])
                      for name in TF_SLICE_REFUSED]


def partition_values(name: str, shape) -> np.ndarray:
    count = int(np.prod(shape))
    if name == "string":
        return np.array([b"s%d\xff" % i for i in range(count)], dtype=object).reshape(shape)
    return np.arange(count).astype(dtypes.BY_NAME[name].numpy).reshape(shape)


def box(tslice: TensorSlice, shape) -> tuple[slice, ...]:
    return tuple(slice(s, s + n) for s, n in tslice.resolve(shape))


def write_partitioned(prefix, cases) -> dict[str, np.ndarray]:
    full = {}
    with BundleWriter(prefix) as writer:
        for case, name, shape, stored, _ in cases:
            full[case] = partition_values(name, shape)
            for spec in stored:
                tslice = TensorSlice.parse(spec)
                writer.add_slice(case, shape, tslice, full[case][box(tslice, shape)],
                                 dtype=name)
    return full


def savev2_slices(tf, prefix: str, case) -> np.ndarray:
    """SaveV2 of one partitioned case, one shape_and_slices spec per stored slice."""
    key, name, shape, stored, _ = case
    full = partition_values(name, shape)
    specs, values = [], []
    for spec in stored:
        specs.append(" ".join(str(d) for d in shape) + " " + spec)
        values.append(tf_constant(tf, full[box(TensorSlice.parse(spec), shape)], name))
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=[key] * len(stored),
                      shape_and_slices=specs, tensors=values)
    return full


def restore_slice(tf, prefix, key, name, shape, spec):
    shape_and_slice = " ".join(str(d) for d in shape) + " " + spec
    (tensor,) = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=[key],
                                     shape_and_slices=[shape_and_slice],
                                     dtypes=[tf_dtype(tf, name)])
    return tensor.numpy()


@pytest.mark.parametrize("case", PARTITIONED, ids=[c[0] for c in PARTITIONED])
def test_tf_assembles_flowsaver_slices(tf, tmp_path, case):
    prefix = str(tmp_path / "ck")
    full = write_partitioned(prefix, [case])[case[0]]
    key, name, shape, _, reads = case

    tf_reader = tf.train.load_checkpoint(prefix)
    assert list(tf_reader.get_variable_to_shape_map()) == [key]  # slice keys hidden
    assert_same_tensor(tf_reader.get_tensor(key), full, key)
    assert_maps_equal(tf_reader, fst.load_checkpoint(prefix))

    (whole,) = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=[key], shape_and_slices=[""],
                                    dtypes=[tf_dtype(tf, name)])
    assert_same_tensor(whole.numpy(), full, key)
    for spec in reads:
        expected = full[box(TensorSlice.parse(spec), shape)]
        assert_same_tensor(restore_slice(tf, prefix, key, name, shape, spec), expected, spec)
        assert_same_tensor(fst.load_checkpoint(prefix).get_slice(key, TensorSlice.parse(spec)),
                           expected, spec)


@pytest.mark.parametrize("writer", ["flowsaver", "tensorflow"])
@pytest.mark.parametrize("case", REFUSED_PARTITIONS, ids=TF_SLICE_REFUSED)
def test_partitioned_dtypes_tf_cannot_read_back(tf, tmp_path, case, writer):
    key, name, shape, stored, reads = case
    prefix = str(tmp_path / "ck")
    if writer == "flowsaver":
        full = write_partitioned(prefix, [case])[key]
    else:
        full = savev2_slices(tf, prefix, case)
    tf_reader = tf.train.load_checkpoint(prefix)
    assert tf_reader.get_variable_to_shape_map() == {key: list(shape)}
    with pytest.raises(ValueError, match=SLICE_REFUSED_MESSAGE):
        tf_reader.get_tensor(key)
    with pytest.raises(tf.errors.InvalidArgumentError, match=SLICE_REFUSED_MESSAGE):
        restore_slice(tf, prefix, key, name, shape, reads[0])
    ours = fst.load_checkpoint(prefix)
    assert_same_tensor(ours.get_tensor(key), full, key)
    expected = full[box(TensorSlice.parse(reads[0]), shape)]
    assert_same_tensor(ours.get_slice(key, TensorSlice.parse(reads[0])), expected, reads[0])


def test_tf_reads_flowsaver_sharded(tf, tmp_path):
    prefix = str(tmp_path / "sharded")
    emb = np.arange(21, dtype=np.float32).reshape(7, 3) - 10.5
    plain = {"a": np.float64([[1.5, -0.0]]), "b": np.array([b"x", b""], dtype=object),
             "c": np.int64(-(2 ** 63)), "d/e": np.zeros((0,), np.uint16)}
    writer = ShardedBundleWriter(prefix, 3)
    writer.shard(0).add("a", plain["a"])
    writer.shard(2).add("b", plain["b"])
    writer.shard(1).add("c", plain["c"])
    writer.shard(1).add("d/e", plain["d/e"])
    for shard, spec in [(2, "0,3:-"), (0, "3,2:-"), (1, "5,2:-")]:
        tslice = TensorSlice.parse(spec)
        writer.shard(shard).add_slice("emb", (7, 3), tslice, emb[box(tslice, (7, 3))])
    writer.finish()

    tf_reader = tf.train.load_checkpoint(prefix)
    for key, value in {**plain, "emb": emb}.items():
        assert_same_tensor(tf_reader.get_tensor(key), value, key)
    assert_maps_equal(tf_reader, fst.load_checkpoint(prefix))
    assert_same_tensor(restore_slice(tf, prefix, "emb", "float32", (7, 3), "2,4:1,2"),
                       emb[2:6, 1:3], "emb")
    restored = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=["b", "c"],
                                    shape_and_slices=["", ""], dtypes=[tf.string, tf.int64])
    assert_same_tensor(restored[0].numpy(), plain["b"], "b")
    assert_same_tensor(restored[1].numpy(), plain["c"], "c")


# --- 2. flowsaver reads what TensorFlow writes --------------------------------------------

def assert_reads_like_tf(tf, prefix: str) -> None:
    """flowsaver's listing, maps and every value equal TensorFlow's for one checkpoint."""
    assert fst.list_variables(prefix) == tf.train.list_variables(prefix)
    tf_reader = tf.train.load_checkpoint(prefix)
    ours = fst.load_checkpoint(prefix)
    assert_maps_equal(tf_reader, ours)
    for key in tf_reader.get_variable_to_shape_map():
        assert ours.has_tensor(key)
        value, expected = ours.get_tensor(key), tf_reader.get_tensor(key)
        assert type(value) is type(expected), (key, type(value), type(expected))
        assert_same_tensor(value, expected, key)


def savev2(tf, prefix: str, tensors: dict, names: dict[str, str]) -> None:
    """Eager SaveV2 of ``tensors`` in their dict order; ``names`` maps key -> dtype name."""
    keys = list(tensors)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=keys, shape_and_slices=[""] * len(keys),
                      tensors=[tf_constant(tf, tensors[k], names[k]) for k in keys])


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_flowsaver_reads_tf_savev2_dtype(tf, tmp_path, name):
    tensors = dict(reversed(sample_tensors(name).items()))
    prefix = str(tmp_path / "ck")
    savev2(tf, prefix, tensors, dict.fromkeys(tensors, name))

    assert_reads_like_tf(tf, prefix)
    ours = fst.load_checkpoint(prefix)
    for key, value in tensors.items():
        assert_same_tensor(ours.get_tensor(key), value, key)
        assert ours.get_variable_to_dtype_map()[key].name == name


def sliced_initializer(tf, full: np.ndarray):
    """A get_variable initializer giving each partition its part of ``full``."""
    def init(shape, dtype=None, partition_info=None):
        offsets = partition_info.var_offset if partition_info else [0] * len(shape)
        return tf.constant(full[tuple(slice(o, o + n) for o, n in zip(offsets, shape))],
                           dtype=dtype)
    return init


# Variables of the TF1 Saver checkpoint: names share prefixes, 21 keys > one restart run.
SAVER_VARIABLES = {
    "layer1/kernel": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
    "layer1/kernel/Momentum": np.full((2, 3), -0.0, np.float32),
    "layer1/bias": np.array([np.nan, np.inf, 1.0], np.float32),
    "layer1/bias/Momentum": np.zeros(3, np.float32),
    "layer2/kernel": np.arange(4, dtype=np.float64).reshape(2, 2),
    "layer2/kernel/Momentum": np.ones((2, 2), np.float64),
    "layer2/bias": np.array([1, 2], np.float16),
    "layer2/bias/Momentum": np.array([-1, 2], np.float16),
    "layer2/scale": np.array([1.5, -2.25], ml_dtypes.bfloat16),
    "counts/int8": np.array([-128, 127], np.int8),
    "counts/uint8": np.array([0, 255], np.uint8),
    "counts/int16": np.array([-32768, 32767], np.int16),
    "counts/uint16": np.array([0, 65535], np.uint16),
    "counts/int32": np.array([-(2 ** 31), 2 ** 31 - 1], np.int32),
    "counts/int64": np.array([-(2 ** 63), 2 ** 63 - 1], np.int64),
    "flags": np.array([True, False, True]),
    "phase": np.array([1 + 2j, -0.0 - 1j], np.complex64),
    "phase128": np.array([np.inf + 0j], np.complex128),
    "vocab": np.array([b"", b"\xff\x00", b"w" * 150], dtype=object),
    "global_step": np.int64(12345),
}
SAVER_PARTITIONED = ("embedding", np.arange(28, dtype=np.float32).reshape(7, 4) * 0.25, 3)


def tf1_saver_save(tf, prefix: str, sharded: bool = False) -> list[tuple]:
    """Saves SAVER_VARIABLES and the partitioned variable with a TF1 graph Saver.

    Ref variables for half of them, resource variables for the rest; with ``sharded``,
    the variables alternate between /cpu:0 and /cpu:1, partitions included, so the
    partitioned variable's slices land in different shards.

    Returns:
      ``(checkpoint key, TensorSlice or None, device)`` of every saved variable (part).
    """
    tf1 = tf.compat.v1
    alternate = alternate_cpus()

    graph = tf.Graph()
    with graph.as_default(), tf1.device(alternate if sharded else ""):
        for i, (name, value) in enumerate(SAVER_VARIABLES.items()):
            dtype = tf.string if value.dtype == object else tf.as_dtype(value.dtype)
            tf1.get_variable(name, initializer=tf.constant(value, dtype=dtype),
                             use_resource=bool(i % 2))
        name, full, parts = SAVER_PARTITIONED
        tf1.get_variable(name, shape=full.shape, dtype=tf.float32,
                         initializer=sliced_initializer(tf, full),
                         partitioner=tf1.fixed_size_partitioner(parts))
        placement = []
        for var in tf1.global_variables():
            info = var._save_slice_info
            if info is None:
                placement.append((var.op.name, None, var.device))
            else:
                tslice = TensorSlice(tuple(zip(info.var_offset, info.var_shape)))
                placement.append((info.full_name, tslice, var.device))
        saver = tf1.train.Saver(sharded=sharded)
        config = tf1.ConfigProto(device_count={"CPU": 2})
        with tf1.Session(graph=graph, config=config) as sess:
            sess.run(tf1.global_variables_initializer())
            saver.save(sess, prefix, write_meta_graph=False, write_state=False)
    return placement


def add_in_saver_order(writer: BundleWriter, placement) -> None:
    """Adds variables as TF's Saver does: sorted by key, a partitioned one's parts in order."""
    name, full, _ = SAVER_PARTITIONED
    for key, tslice, _ in sorted(placement, key=lambda p: (p[0], p[1] and p[1].extents)):
        if tslice is None:
            writer.add(key, SAVER_VARIABLES[key])
        else:
            writer.add_slice(key, full.shape, tslice, full[box(tslice, full.shape)])


@pytest.fixture(scope="module")
def tf1_checkpoint(tf, tmp_path_factory):
    """(prefix, placement) of one TF1 graph Saver save."""
    prefix = str(tmp_path_factory.mktemp("tf1_saver") / "model.ckpt")
    return prefix, tf1_saver_save(tf, prefix)


@pytest.fixture(scope="module")
def tf1_sharded_checkpoint(tf, tmp_path_factory):
    """(prefix, placement) of one TF1 graph ``Saver(sharded=True)`` save over two CPUs."""
    prefix = str(tmp_path_factory.mktemp("tf1_sharded") / "model.ckpt")
    return prefix, tf1_saver_save(tf, prefix, sharded=True)


def test_flowsaver_reads_tf1_saver(tf, tf1_checkpoint):
    prefix, _ = tf1_checkpoint
    assert_reads_like_tf(tf, prefix)
    ours = fst.load_checkpoint(prefix)
    for key, value in SAVER_VARIABLES.items():
        assert_same_tensor(ours.get_tensor(key), value, key)
    name, full, _ = SAVER_PARTITIONED
    assert_same_tensor(ours.get_tensor(name), full, name)
    assert len(BundleReader(prefix).raw_entries()[name.encode()].slices) == 3


def test_flowsaver_reads_tf1_sharded_saver(tf, tf1_sharded_checkpoint):
    prefix, placement = tf1_sharded_checkpoint
    assert {device for _, _, device in placement} == {"/device:CPU:0", "/device:CPU:1"}
    reader = BundleReader(prefix)
    assert reader.header.num_shards == 2
    shards = {e.shard_id for k, e in reader.raw_entries().items() if k.startswith(b"\x00")}
    assert shards == {0, 1}  # the partitioned variable is spread over both devices
    assert_reads_like_tf(tf, prefix)
    name, full, _ = SAVER_PARTITIONED
    assert_same_tensor(fst.load_variable(prefix, name), full, name)
    spec = TensorSlice.parse("2,4:1,2")
    assert_same_tensor(fst.load_checkpoint(prefix).get_slice(name, spec),
                       restore_slice(tf, prefix, name, "float32", full.shape, str(spec)), name)


def make_tf2_model(tf):
    """A tf.Module tree with variables of several dtypes, a dict and a list."""
    model = tf.Module()
    model.kernel = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2))
    model.bias = tf.Variable(np.array([0.5, -0.0], np.float64))
    # A key with "." and "/" is escaped by TensorFlow as "a..b.Sc".
    model.table = {"a.b/c": tf.Variable(np.int16(-9)),
                   "words": tf.Variable(np.array([b"\xfe", b""], dtype=object))}
    model.stack = [tf.Variable(np.array([True])),
                   tf.Variable(np.array([1.5], ml_dtypes.bfloat16))]
    return model


def test_flowsaver_reads_tf2_object_checkpoint(tf, tmp_path):
    step = tf.Variable(7, dtype=tf.int64)
    ckpt = tf.train.Checkpoint(model=make_tf2_model(tf), step=step)
    prefix = ckpt.save(str(tmp_path / "ckpt"))

    assert_reads_like_tf(tf, prefix)
    listed = dict(fst.list_variables(prefix))
    assert listed["_CHECKPOINTABLE_OBJECT_GRAPH"] == []
    assert listed["model/table/a..b.Sc/.ATTRIBUTES/VARIABLE_VALUE"] == []
    assert fst.load_checkpoint(prefix).get_variable_to_dtype_map()[
        "_CHECKPOINTABLE_OBJECT_GRAPH"].name == "string"
    assert fst.latest_checkpoint(str(tmp_path)) == prefix
    # Rewriting every entry in TensorFlow's data order reproduces its files exactly.
    copy = str(tmp_path / "copy")
    rewrite_in_data_order(prefix, copy)
    assert_same_files(copy, prefix)


def rewrite_in_data_order(src: str, dst: str) -> None:
    """Copies a single-shard, unpartitioned bundle with flowsaver, in its data order."""
    reader = BundleReader(src)
    entries = sorted(reader.raw_entries().items(), key=lambda kv: kv[1].offset)
    with BundleWriter(dst) as writer:
        for key, entry in entries:
            writer.add(key.decode("utf-8", "surrogateescape"), reader.get_tensor(key),
                       dtype=entry.dtype)


# --- 3. Byte identity ----------------------------------------------------------------------

def test_bundle_writer_matches_tf1_saver_bytes(tf, tf1_checkpoint, tmp_path):
    theirs, placement = tf1_checkpoint
    ours = str(tmp_path / "model.ckpt")
    with BundleWriter(ours) as writer:
        add_in_saver_order(writer, placement)
    assert_same_files(ours, theirs)


def test_sharded_writer_matches_tf1_sharded_saver_bytes(tf, tf1_sharded_checkpoint, tmp_path):
    """One part per device, devices in sorted order, then the merge: the same three files."""
    theirs, placement = tf1_sharded_checkpoint
    ours = str(tmp_path / "model.ckpt")
    devices = sorted({device for _, _, device in placement})
    writer = ShardedBundleWriter(ours, len(devices))
    for shard, device in enumerate(devices):
        add_in_saver_order(writer.shard(shard), [p for p in placement if p[2] == device])
    writer.finish()
    assert_same_files(ours, theirs, num_shards=2)
    assert sorted(os.listdir(tmp_path)) == sorted(os.listdir(os.path.dirname(theirs)))


def test_save_tensors_matches_tf1_saver_bytes_unpartitioned(tf, tmp_path):
    """save_tensors (sorted keys) against a Saver over the same plain variables."""
    tf1 = tf.compat.v1
    theirs = str(tmp_path / "tf" / "model")
    os.makedirs(os.path.dirname(theirs))
    graph = tf.Graph()
    with graph.as_default():
        for name, value in SAVER_VARIABLES.items():
            dtype = tf.string if value.dtype == object else tf.as_dtype(value.dtype)
            tf1.get_variable(name, initializer=tf.constant(value, dtype=dtype))
        saver = tf1.train.Saver()
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            saver.save(sess, theirs, write_meta_graph=False, write_state=False)
    ours = save_tensors(str(tmp_path / "ours" / "model"), SAVER_VARIABLES)
    assert_same_files(ours, theirs)


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


# --- Regressions found by this module ------------------------------------------------------

EMPTY_STRING_SHAPES = [(0,), (0, 3)]


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


@pytest.mark.parametrize("writer", ["tensorflow", "flowsaver"])
@pytest.mark.parametrize("shape", EMPTY_STRING_SHAPES)
def test_flowsaver_reads_empty_string_tensor(tf, tmp_path, shape, writer):
    """Empty string tensors written by either library read back in both."""
    prefix = str(tmp_path / "ck")
    tensors = {"empty": np.empty(shape, dtype=object)}
    if writer == "tensorflow":
        savev2(tf, prefix, tensors, {"empty": "string"})
    else:
        save_tensors(prefix, tensors)
    assert_reads_like_tf(tf, prefix)


def test_debug_string_lists_slice_keys_like_tf(tf, tmp_path):
    prefix = str(tmp_path / "ck")
    write_partitioned(prefix, PARTITIONED[:1])
    assert fst.load_checkpoint(prefix).debug_string() == \
        tf.train.load_checkpoint(prefix).debug_string()
