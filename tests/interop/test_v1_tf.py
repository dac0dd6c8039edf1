"""V1 checkpoints and TensorProtos against real TensorFlow, in both directions.

1. V1Reader reads what ``Saver(write_version=SaverDef.V1)`` writes: every dtype the V1
   writer accepts, a scalar, an empty tensor, a partitioned variable and a sharded save,
   with the same names, dtypes, shapes and bit-identical values as TensorFlow's reader.
2. ``from_array`` writes the bytes ``tf.make_tensor_proto`` writes, for every dtype and
   several shapes; ``tf.make_ndarray`` reads them back; ``to_array`` decodes TensorFlow's.
3. ``to_array`` decodes hand-made protos (fill, truncation, wrapping, bad sizes) as the C++
   ``Tensor::FromProto`` behind ``tf.io.parse_tensor`` does.

The TF1 graphs are built inside explicit ``tf.Graph()`` contexts with RefVariables
(``use_resource=False``): what ``disable_v2_behavior()`` gives, without switching the
whole test session out of eager mode.
"""
from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from test_helpers import alternate_cpus, tensor_proto

from flowsaver.format import dtypes
from flowsaver.format.protos import TensorProto
from flowsaver.format.slices import TensorSlice
from flowsaver.format.tensor_proto import from_array, to_array
from flowsaver.format.v1 import V1Reader

# dtypes the V1 writer takes (it refuses bfloat16, uint32 and uint64), with a value each.
V1_VARIABLES = {
    "f32": np.array([[1.5, -2.0, np.inf], [0.0, -0.0, 3.25]], np.float32),
    "f64": np.array([np.pi, -1e300], np.float64),
    "f16": np.array([1.5, -65504, 0.0001], np.float16),
    "i32": np.array([-(2**31), 2**31 - 1, 0], np.int32),
    "i64": np.array([-(2**63), 2**63 - 1], np.int64),
    "i8": np.array([-128, 127], np.int8),
    "i16": np.array([-32768, 32767], np.int16),
    "u8": np.array([0, 255], np.uint8),
    "u16": np.array([0, 65535], np.uint16),
    "b": np.array([True, False, True]),
    "c64": np.array([1 + 2j, -3.5j], np.complex64),
    "c128": np.array([[1e200 + 1j]], np.complex128),
    "s": np.array([b"", b"\xff\x00binary", "ünï".encode()], dtype=object),
    "scalar": np.float32(7.5),
    "scalar_s": np.array(b"one", dtype=object),
    "empty": np.zeros((0, 3), np.float32),
    "layer/w": np.arange(6, dtype=np.int64).reshape(3, 2),
}
PARTITIONED = ("emb", np.arange(28, dtype=np.float32).reshape(7, 4) * 0.5, 3)


def _variable(tf, name, value, use_resource):
    dtype = tf.string if value.dtype == object else tf.as_dtype(value.dtype)
    return tf.compat.v1.get_variable(name, initializer=tf.constant(value, dtype=dtype),
                                     use_resource=use_resource)


def _save_v1(tf, prefix, sharded=False):
    """Saves V1_VARIABLES and PARTITIONED with a V1 Saver; returns the saved path and the
    values TensorFlow's session holds."""
    tf1 = tf.compat.v1
    graph = tf.Graph()
    alternate = alternate_cpus()

    with graph.as_default(), tf1.device(alternate if sharded else ""):
        for i, (name, value) in enumerate(V1_VARIABLES.items()):
            _variable(tf, name, value, use_resource=bool(i % 2))
        name, full, parts = PARTITIONED
        partitions = tf1.get_variable(name, shape=full.shape, dtype=tf.float32,
                                      partitioner=tf1.fixed_size_partitioner(parts),
                                      use_resource=False)
        assigns = []
        for p in partitions:
            (r, c), (nr, nc) = p._save_slice_info.var_offset, p._save_slice_info.var_shape
            assigns.append(p.assign(full[r:r + nr, c:c + nc]))
        saver = tf1.train.Saver(write_version=tf1.train.SaverDef.V1, sharded=sharded)
        config = tf1.ConfigProto(device_count={"CPU": 2})
        with tf1.Session(graph=graph, config=config) as sess:
            sess.run(tf1.global_variables_initializer())
            sess.run(assigns)
            path = saver.save(sess, prefix, write_meta_graph=False, write_state=False)
    return path


def _same(got, want, label):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, label
    if want.dtype == object or got.dtype == object:
        assert got.tolist() == want.tolist(), label
    elif got.dtype in (ml_dtypes.int4, ml_dtypes.uint4):
        # 4-bit values live in a byte each; TF's C++ sign-extends -2 to 0xfe, ml_dtypes
        # keeps the nibble 0x0e. Both are -2, so compare values.
        assert got.dtype == want.dtype, label
        assert got.astype(np.int8).tolist() == want.astype(np.int8).tolist(), label
    else:
        assert got.dtype == want.dtype, label
        assert got.tobytes() == want.tobytes(), label


def _check_against_tf(tf, path, reader):
    # TensorFlow's Python CheckpointReader lists V1 tensors but cannot read half,
    # uint16, complex or sliced ones ("Data type not supported", "Sliced checkpoints are
    # not supported"); the RestoreV2 op, which falls back to V1 files, reads them all.
    tf_reader = tf.compat.v1.train.NewCheckpointReader(path)
    shapes = tf_reader.get_variable_to_shape_map()
    types = tf_reader.get_variable_to_dtype_map()
    assert sorted(reader.names()) == sorted(shapes)
    for name in shapes:
        assert reader.shape(name) == tuple(shapes[name]), name
        assert reader.dtype(name).enum == types[name].as_datatype_enum, name
        restored = tf.raw_ops.RestoreV2(prefix=path, tensor_names=[name],
                                        shape_and_slices=[""], dtypes=[types[name]])[0]
        _same(reader.get_tensor(name), restored.numpy(), name)


@pytest.fixture(scope="module")
def v1_checkpoint(tf, tmp_path_factory):
    return _save_v1(tf, str(tmp_path_factory.mktemp("v1") / "model.ckpt"))


def test_v1reader_reads_tf_v1_saver(tf, v1_checkpoint):
    reader = V1Reader(v1_checkpoint)
    assert reader.files == [v1_checkpoint]   # a single file named exactly the prefix
    for name, value in V1_VARIABLES.items():
        _same(reader.get_tensor(name), value, name)
    _same(reader.get_tensor(PARTITIONED[0]), PARTITIONED[1], PARTITIONED[0])
    _check_against_tf(tf, v1_checkpoint, reader)


def test_v1reader_slices_tf_partitioned_variable(v1_checkpoint):
    name, full, _ = PARTITIONED
    got = V1Reader(v1_checkpoint).get_slice(name, TensorSlice.parse("1,5:1,2"))
    _same(got, full[1:6, 1:3], name)


def test_v1reader_reads_tf_sharded_v1_saver(tf, tmp_path):
    prefix = str(tmp_path / "model.ckpt")
    path = _save_v1(tf, prefix, sharded=True)
    assert path == prefix + "-?????-of-00002"
    for name in (path, prefix, prefix + "-00001-of-00002"):
        reader = V1Reader(name)
        assert len(reader.files) == 2
        _same(reader.get_tensor(PARTITIONED[0]), PARTITIONED[1], name)
        for key, value in V1_VARIABLES.items():
            _same(reader.get_tensor(key), value, key)
    _check_against_tf(tf, path, V1Reader(path))


# --- TensorProto ------------------------------------------------------------------------

PROTO_DTYPES = ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32",
                "int64", "uint8", "uint16", "uint32", "uint64", "bool", "complex64",
                "complex128", "string", "qint8", "quint8", "qint16", "quint16", "qint32",
                "float8_e5m2", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz",
                "float8_e5m2fnuz", "int4", "uint4"]
SHAPES = [(), (1,), (4,), (2, 3), (0,), (3, 0, 2)]


def _values(name, shape):
    count = int(np.prod(shape))
    base = np.arange(count).reshape(shape)
    if name == "string":
        return np.array([b"s%d\xff" % i for i in range(count)], dtype=object).reshape(shape)
    if name == "bool":
        return base % 2 == 1
    info = dtypes.BY_NAME[name]
    if info.is_complex:
        return (base - 1.5 + 2j * base).astype(info.numpy)
    if name in ("int4", "uint4"):
        return ((base % 7) - (3 if name == "int4" else 0)).astype(info.numpy)
    if info.is_floating:
        return ((base - 2) * 0.5).astype(info.numpy)
    signed = np.issubdtype(info.numpy, np.signedinteger)
    return (base - 2 if signed else base + 250 if info.numpy.itemsize > 1 else base)\
        .astype(info.numpy)


def _plain(array):
    """TensorFlow's quantized arrays are one-field records; their field's plain array."""
    array = np.asarray(array)
    return array[array.dtype.names[0]] if array.dtype.names else array


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", PROTO_DTYPES)
def test_from_array_is_byte_identical_to_make_tensor_proto(tf, name, shape):
    values = _values(name, shape)
    ours = from_array(values, dtype=name)
    tf_dtype = tf.dtypes.as_dtype(name)
    try:
        theirs = tf.make_tensor_proto(values, dtype=tf_dtype)
    except TypeError:
        # TF 2.21's Python has no typed-field writer for the fnuz float8 types (only
        # tensor_content works: 2+ elements); its C++ reader takes our float8_val.
        assert name.endswith("fnuz") and not ours.tensor_content
        got = tf.io.parse_tensor(ours.SerializeToString(), tf_dtype).numpy()
        _same(got.view(values.dtype), values, name)
        return
    assert ours.SerializeToString() == theirs.SerializeToString()
    # Both directions of reading.
    decoded = to_array(TensorProto.FromString(theirs.SerializeToString()))
    _same(decoded, _plain(tf.make_ndarray(theirs)).astype(decoded.dtype), name)
    tf_proto = type(theirs).FromString(ours.SerializeToString())
    _same(_plain(tf.make_ndarray(tf_proto)).astype(values.dtype), values, name)


@pytest.mark.parametrize("values", [
    1.5, 1, -7, 2**31, 2**63, 2**40, True, 1 + 2j, "model", b"\xff", [1, 2], [1.0, 2.5],
    [1, 2.5], [True, False], [[1, 2], [3, 4]], [], [[]], ["a", b"b"], [np.float64(1)],
    [np.int64(1), np.int64(2)], np.float64(2.5), np.int8(-3), (1, 2), [np.float16(1)],
    float("nan"), -0.0, [1, True],
], ids=repr)
def test_python_values_infer_like_make_tensor_proto(tf, values):
    assert from_array(values).SerializeToString() == \
        tf.make_tensor_proto(values).SerializeToString()


@pytest.mark.parametrize("values,dtype", [
    (1, "float32"), (1.5, "float64"), (-1, "uint8"), (300, "int8"), ([1, 2], "int64"),
    (1.5, "float16"), (1.5, "bfloat16"), (1.0, "complex64"), (True, "int32"),
    (np.array([1.5, 2.7]), "int32"), (np.arange(3), "float16"), ([1, 2], "uint16"),
], ids=repr)
def test_explicit_dtype_like_make_tensor_proto(tf, values, dtype):
    assert from_array(values, dtype).SerializeToString() == \
        tf.make_tensor_proto(values, dtype=tf.dtypes.as_dtype(dtype)).SerializeToString()


@pytest.mark.parametrize("values,shape", [
    (0.0, [2]), ([0.0], [2, 3]), ([1.0, 2.0], [3]), ([1.0, 2.0], [2, 1]), ([], [2]),
    ("a", [2]), (True, [3]), (np.float16(1.5), [2]), (1 + 1j, [2]),
], ids=repr)
def test_shape_argument_like_make_tensor_proto(tf, values, shape):
    assert from_array(values, shape=shape).SerializeToString() == \
        tf.make_tensor_proto(values, shape=shape).SerializeToString()


_proto = tensor_proto


PARSE_CASES = [
    (1, [4], dict(float_val=[1, 2])),
    (1, [2], dict(float_val=[1, 2, 3])),
    (1, [3], {}),
    (1, [2], dict(tensor_content=b"\0" * 7)),
    (1, [2], dict(tensor_content=b"\0" * 8, float_val=[5])),
    (1, [0], dict(tensor_content=b"\0" * 7)),
    (1, [0, 3], dict(float_val=[1])),
    (1, [2], dict(int_val=[1, 2])),
    (1, [-1], dict(float_val=[1])),
    (4, [2], dict(int_val=[300, -1])),
    (6, [2], dict(int_val=[200, -1])),
    (17, [2], dict(int_val=[-1, 70000])),
    (13, [2], dict(int_val=[7])),
    (19, [3], dict(half_val=[0x3C00, 0x13C00])),
    (14, [2], dict(half_val=[0x3F80])),
    (24, [3], dict(float8_val=b"\x3c\x40")),
    (26, [1], dict(float8_val=b"\x40")),
    (8, [3], dict(scomplex_val=[1, 2, 3])),
    (18, [2], dict(dcomplex_val=[1, 2, 3, 4])),
    (10, [3], dict(bool_val=[False, True])),
    (10, [3], dict(tensor_content=b"\x00\x01\x02")),
    (10, [2], dict(tensor_content=b"\x01\x00")),
    (9, [2], dict(int64_val=[2**40])),
    (22, [2], dict(uint32_val=[7, 2**32 - 1])),
    (23, [1], dict(uint64_val=[2**64 - 1])),
    (29, [3], dict(int_val=[1, -2])),
    (29, [3], dict(tensor_content=b"\x01\x0e\x07")),
    (7, [3], dict(string_val=[b"a", b"bc"])),
    (7, [2], {}),
    (7, [3], dict(tensor_content=bytes.fromhex("020003") + b"abxyz")),
    (7, [3], dict(tensor_content=bytes.fromhex("020003") + b"abxyzq")),
    (7, [3], dict(tensor_content=bytes.fromhex("020003") + b"abxy")),
    (3, [], dict(int_val=[5, 6])),
]


@pytest.mark.parametrize("dtype,shape,fields", PARSE_CASES, ids=repr)
def test_to_array_decodes_like_parse_tensor(tf, dtype, shape, fields):
    from flowsaver import errors
    proto = _proto(dtype, shape, **fields)
    tf_dtype = tf.dtypes.as_dtype(dtype)
    try:
        want = tf.io.parse_tensor(proto.SerializeToString(), tf_dtype).numpy()
    except tf.errors.InvalidArgumentError:
        with pytest.raises(errors.InvalidArgumentError):
            to_array(proto)
        return
    got = to_array(proto)
    want = _plain(want)
    if got.dtype != object:
        want = want.view(got.dtype) if want.dtype.itemsize == got.dtype.itemsize else want
    _same(got, want, repr(fields))


def test_float8_and_int4_dtypes_are_known_to_tf(tf):
    for name in ("float8_e5m2", "float8_e4m3fnuz", "int4", "uint4"):
        assert tf.dtypes.as_dtype(name).as_datatype_enum == dtypes.BY_NAME[name].enum
    assert np.dtype(tf.dtypes.as_dtype("bfloat16").as_numpy_dtype) == \
        np.dtype(ml_dtypes.bfloat16)
