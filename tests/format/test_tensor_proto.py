"""TensorProto <-> array: golden bytes from TensorFlow 2.21, decode rules, hostile sizes."""
import ml_dtypes
import numpy as np
import pytest
from test_helpers import tensor_proto
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flowsaver import errors
from flowsaver.format.protos import TensorProto
from flowsaver.format.tensor_proto import (MAX_FILL_BYTES, as_dtype, from_array, proto_shape,
                                           to_array)

# (values, dtype, serialized bytes as tf.make_tensor_proto wrote them) [TF 2.21].
GOLDEN = [
    ("model", None, "0807120042056d6f64656c"),                 # spec 4.2 example
    (np.int32(0), None, "080312003a0100"),                     # spec 4.2 example
    (0, None, "080312003a0100"),
    (1.5, None, "080112002a040000c03f"),
    (1, None, "080312003a0101"),
    (2**40, None, "080912005206808080808020"),
    (True, None, "080a12005a0101"),
    (1 + 2j, None, "081212006210000000000000f03f0000000000000040"),
    (b"x", None, "08071200420178"),
    ([1, 2], None, "080312041202080222080100000002000000"),
    ([1.0, 2.0], None, "080112041202080222080000803f00000040"),
    ([1, 2.5], None, "080112041202080222080000803f00002040"),
    ([True, False], None, "080a1204120208025a020100"),
    ([2**31], None, "080912041202080152058080808008"),
    ([2**63], None, "08171204120208018a010a80808080808080808001"),
    ([-2**31 - 1], None, "0809120412020801520afffffffff7ffffffff01"),
    (["a", b"b"], None, "0807120412020802420161420162"),
    ([], None, "080112021200"),
    ([[]], None, "08011206120208011200"),
    ([np.float64(1)], None, "08011204120208012a040000803f"),
    ([np.int64(1), np.int64(2)], None, "080312041202080222080100000002000000"),
    (np.float64(2.5), None, "0802120032080000000000000440"),
    (np.array([2.5], np.float32), None, "08011204120208012a0400002040"),
    (np.array(["ab", "c"]), None, "080712041202080242026162420163"),
    (np.array(["é"]), "string", "08071204120208014202c3a9"),
    (np.float16(1.5), None, "081312006a02807c"),
    (np.array([1.5], np.float16), None, "08131204120208016a02807c"),
    (np.array([1, 2], np.float16), None, "08131204120208022204003c0040"),
    (1.5, "bfloat16", "080e12006a02c07f"),
    ([1.5, 2.0], "bfloat16", "080e1204120208022204c03f0040"),
    (np.array([1, 2], np.uint16), None, "08111204120208023a020102"),   # int_val, not content
    (np.array([[1], [0]], np.uint16), None, "0811120812020802120208013a020100"),
    (np.array(1, np.uint32), "uint32", "0816120082010101"),
    (np.array([2**32 - 1], np.uint32), None, "0816120412020801820105ffffffff0f"),
    (np.array([2**64 - 1], np.uint64), None, "08171204120208018a010affffffffffffffffff01"),
    (np.array([1, 2], np.uint32), None, "081612041202080222080100000002000000"),
    (np.int64(-5), None, "08091200520afbffffffffffffffff01"),
    (np.array([1, 2], np.int8), "qint8", "080b12041202080222020102"),
    (np.array(1, np.int32), "qint32", "080d12003a0101"),
    (np.array([1, 2], np.complex64), None,
     "08081204120208024a100000803f000000000000004000000000"),
    (1 + 2j, "complex64", "080812004a080000803f00000040"),
    (np.array([1, 1, 1], ml_dtypes.float8_e5m2), None, "081812041202080322033c3c3c"),
    (np.array(1, ml_dtypes.float8_e4m3fn), None, "0819120092010138"),
    (np.array([1, 2], ml_dtypes.float8_e4m3fnuz), None, "081a12041202080222024048"),
    (np.array([1, -2], ml_dtypes.int4), None, "081d1204120208023a0b01feffffffffffffffff01"),
    (np.array([1, 1, 1], ml_dtypes.uint4), None, "081e1204120208033a03010101"),
    (-1, "uint8", "080412003a02ff01"),                          # wraps, as TF does
    (300, "int8", "080612003a012c"),
    (np.array([1.5, 2.7]), "int32", "080312041202080222080100000002000000"),
    (np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)), None,
     "0801120812020802120208032218000000000000803f0000004000004040000080400000a040"),
    (float("nan"), None, "080112002a040000c07f"),
    (-0.0, None, "080112002a0400000080"),
]


@pytest.mark.parametrize("values,dtype,golden", GOLDEN, ids=lambda x: repr(x)[:30])
def test_from_array_matches_tensorflow_bytes(values, dtype, golden):
    assert from_array(values, dtype).SerializeToString().hex() == golden


@pytest.mark.parametrize("values,dtype,golden", GOLDEN, ids=lambda x: repr(x)[:30])
def test_golden_bytes_decode_to_the_values(values, dtype, golden):
    got = to_array(TensorProto.FromString(bytes.fromhex(golden)))
    want = from_array(values, dtype)
    assert got.shape == proto_shape(want)
    assert got.tobytes() == to_array(want).tobytes() or got.dtype == object


@pytest.mark.parametrize("values,shape,golden", [
    (0.0, [2], "08011204120208022a0400000000"),               # tf.zeros: one value
    ([0.0], [2], "08011204120208022a0400000000"),
    (np.array([0.0], np.float32), [2, 2], "0801120812020802120208022a0400000000"),
    ([1.0, 2.0], [2, 1], "08011208120208021202080122080000803f00000040"),
    ([1.0, 2.0], [3], "08011204120208032a080000803f00000040"),
    ([], [2], "0801120412020802"),
    ("a", [2], "0807120412020802420161"),
    (True, [3], "080a1204120208035a0101"),
    (np.float16(1.5), [2], "08131204120208026a02807c"),
])
def test_from_array_with_shape_matches_tensorflow(values, shape, golden):
    assert from_array(values, shape=shape).SerializeToString().hex() == golden


def test_big_endian_array_is_stored_little_endian():
    # TensorFlow copies a big-endian array's bytes unswapped; we store the values.
    proto = from_array(np.array([1.0, 2.0], dtype=">f4"))
    assert proto.tensor_content == np.array([1.0, 2.0], "<f4").tobytes()
    assert from_array(np.array([7], ">i4")).int_val == [7]


@pytest.mark.parametrize("values,dtype,error", [
    (1.5, "int32", TypeError), ("a", "int32", TypeError), (1, "string", TypeError),
    (1, "bool", TypeError), (1j, "float32", TypeError), ([b"a", 1], None, TypeError),
    (None, None, ValueError), ([1.0, None], None, ValueError), ([[1, 2], [3]], None, ValueError),
    (np.array(1.5), "string", TypeError), (np.array(["1"]), "int32", TypeError),
    ([2**64], None, TypeError), ([object()], None, TypeError),
])
def test_from_array_rejects_what_tensorflow_rejects(values, dtype, error):
    with pytest.raises(error):
        from_array(values, dtype)


def test_from_array_rejects_too_many_values_for_shape():
    with pytest.raises(ValueError, match="Too many elements"):
        from_array([1.0, 2.0, 3.0], shape=[2])


@pytest.mark.parametrize("value,name", [
    (1.5, "float32"), (1, "int32"), (2**31, "int64"), (2**63, "uint64"), (True, "bool"),
    ("s", "string"), (b"s", "string"), (1j, "complex128"), ([1, True], "int32"),
    (np.float64(1), "float64"), (np.int8(1), "int8"), (np.array([1], np.int64), "int64"),
    (np.bool_(True), "bool"), (np.str_("x"), "string"),
])
def test_dtype_inference(value, name):
    assert from_array(value).dtype == as_dtype(name).enum


_proto = tensor_proto


# (dtype enum, shape, fields, expected) as tf.io.parse_tensor (C++ FromProto) reads them.
DECODE = [
    (1, [4], dict(float_val=[1, 2]), np.array([1, 2, 2, 2], np.float32)),    # repeat last
    (1, [2], dict(float_val=[1, 2, 3]), np.array([1, 2], np.float32)),       # extra dropped
    (1, [3], {}, np.zeros(3, np.float32)),                                   # none: zeros
    (1, [2], dict(tensor_content=b"\0" * 8, float_val=[5]), np.zeros(2, np.float32)),
    (1, [0], dict(tensor_content=b"\0" * 7), np.zeros(0, np.float32)),      # ignored
    (1, [0, 3], dict(float_val=[1]), np.zeros((0, 3), np.float32)),
    (1, [2], dict(int_val=[1, 2]), np.zeros(2, np.float32)),                 # other field
    (1, [2, 2], dict(float_val=[7]), np.full((2, 2), 7, np.float32)),
    (2, [], dict(double_val=[2.5]), np.array(2.5)),
    (4, [2], dict(int_val=[300, -1]), np.array([44, 255], np.uint8)),       # wraps
    (6, [2], dict(int_val=[200, -1]), np.array([-56, -1], np.int8)),
    (17, [2], dict(int_val=[-1, 70000]), np.array([65535, 4464], np.uint16)),
    (13, [2], dict(int_val=[7]), np.array([7, 7], np.int32)),               # qint32
    (19, [3], dict(half_val=[0x3C00, 0x13C00]), np.ones(3, np.float16)),     # low 16 bits
    (14, [2], dict(half_val=[0x3F80]), np.ones(2, ml_dtypes.bfloat16)),
    (24, [3], dict(float8_val=b"\x3c\x40"), np.array([1, 2, 2], ml_dtypes.float8_e5m2)),
    (8, [3], dict(scomplex_val=[1, 2, 3]), np.full(3, 1 + 2j, np.complex64)),  # odd: 1 pair
    (8, [2], {}, np.zeros(2, np.complex64)),
    (18, [2], dict(dcomplex_val=[1, 2, 3, 4]), np.array([1 + 2j, 3 + 4j])),
    (10, [3], dict(bool_val=[False, True]), np.array([False, True, True])),
    (9, [2], dict(int64_val=[2**40]), np.full(2, 2**40, np.int64)),
    (22, [2], dict(uint32_val=[7, 2**32 - 1]), np.array([7, 2**32 - 1], np.uint32)),
    (23, [1], dict(uint64_val=[2**64 - 1]), np.array([2**64 - 1], np.uint64)),
    (29, [3], dict(int_val=[1, -2]), np.array([1, -2, -2], ml_dtypes.int4)),
    (29, [3], dict(tensor_content=b"\x01\x0e\x07"), np.array([1, -2, 7], ml_dtypes.int4)),
    (10, [2], dict(tensor_content=b"\x01\x00"), np.array([True, False])),
    (3, [2], dict(tensor_content=b"\x01\0\0\0\xff\xff\xff\xff"), np.array([1, -1], np.int32)),
]


@pytest.mark.parametrize("dtype,shape,fields,want", DECODE, ids=lambda x: repr(x)[:30])
def test_decode_follows_tensorflow(dtype, shape, fields, want):
    got = to_array(_proto(dtype, shape, **fields))
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("fields,shape,want", [
    (dict(string_val=[b"a", b"bc"]), [3], [b"a", b"bc", b"bc"]),
    ({}, [2], [b"", b""]),
    (dict(tensor_content=bytes.fromhex("020003") + b"abxyz"), [3], [b"ab", b"", b"xyz"]),
    (dict(string_val=[b"\xff\x00"]), [], b"\xff\x00"),
])
def test_decode_strings(fields, shape, want):
    got = to_array(_proto(7, shape, **fields))
    assert got.dtype == object and got.tolist() == want


def test_decode_variant_and_resource_messages():
    proto = _proto(21, [2])
    proto.variant_val.add(type_name="TensorList", metadata=b"\x01")
    got = to_array(proto)
    assert got.shape == (2,) and [v.type_name for v in got] == ["TensorList"] * 2
    proto = _proto(20, [])
    proto.resource_handle_val.add(device="/cpu:0", name="v")
    assert to_array(proto)[()].name == "v"
    assert to_array(_proto(20, [1]))[0].name == ""                      # none: empty
    with pytest.raises(TypeError):
        from_array(np.array([b"x"], dtype=object), dtype="variant")


def test_decode_returns_a_writable_copy():
    proto = from_array(np.arange(4, dtype=np.float32))
    got = to_array(proto)
    got[0] = 9
    assert to_array(proto)[0] == 0


def test_override_dtype_and_shape_for_v1_slice_data():
    # V1 slice data: float_val only, no dtype, no shape.
    got = to_array(TensorProto(float_val=[1, 2, 3, 4]), dtype=1, shape=[2, 2], fill=False)
    assert got.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(errors.InvalidArgumentError, match="3 values for 4 elements"):
        to_array(TensorProto(float_val=[1, 2, 3]), dtype=1, shape=[4], fill=False)


@pytest.mark.parametrize("proto,error", [
    (_proto(1, [2], tensor_content=b"\0" * 7), errors.InvalidArgumentError),
    (_proto(1, [2], tensor_content=b"\0" * 9), errors.InvalidArgumentError),
    (_proto(10, [3], tensor_content=b"\x00\x01\x02"), errors.InvalidArgumentError),
    (_proto(7, [3], tensor_content=bytes.fromhex("020003") + b"abxyzq"),
     errors.InvalidArgumentError),
    (_proto(7, [3], tensor_content=bytes.fromhex("020003") + b"abxy"),
     errors.InvalidArgumentError),
    (_proto(7, [2], tensor_content=b"\xff\xff"), errors.InvalidArgumentError),
    (_proto(7, [9], tensor_content=b"\x00"), errors.InvalidArgumentError),
    (_proto(1, [-1], float_val=[1]), errors.InvalidArgumentError),
    (_proto(1, [2**62, 4], float_val=[1]), errors.InvalidArgumentError),   # > 2**63-1
    (_proto(1, [1] * 255, float_val=[1]), errors.InvalidArgumentError),
    (_proto(0, [1], float_val=[1]), errors.InvalidArgumentError),
    (_proto(101, [1], float_val=[1]), errors.InvalidArgumentError),      # a _REF type
    (_proto(999, [1]), errors.InvalidArgumentError),
    (_proto(33, [1]), errors.UnimplementedError),                        # float4_e2m1fn
    (_proto(21, [1], tensor_content=b"\x00"), errors.UnimplementedError),
])
def test_decode_errors(proto, error):
    with pytest.raises(error):
        to_array(proto)


def test_unknown_rank_is_rejected():
    proto = TensorProto(dtype=1, float_val=[1])
    proto.tensor_shape.unknown_rank = True
    with pytest.raises(errors.InvalidArgumentError, match="unknown rank"):
        to_array(proto)


# --- hostile sizes: a few bytes of proto asking for terabytes --------------------------

@pytest.mark.parametrize("fields", [dict(float_val=[1.0]), {}])
def test_fill_beyond_the_limit_is_resource_exhausted(fields):
    proto = _proto(1, [2**40], **fields)   # 4 TiB from one value, or from none
    with pytest.raises(errors.ResourceExhaustedError, match="limit"):
        to_array(proto)


def test_fill_limit_is_adjustable_and_exact():
    limit = 4 * 1000
    assert to_array(_proto(1, [1000], float_val=[1]), max_fill_bytes=limit).shape == (1000,)
    with pytest.raises(errors.ResourceExhaustedError):
        to_array(_proto(1, [1001], float_val=[1]), max_fill_bytes=limit)
    with pytest.raises(errors.ResourceExhaustedError):       # strings: one pointer each
        to_array(_proto(7, [1001], string_val=[b"x"]), max_fill_bytes=8 * 1000)
    assert MAX_FILL_BYTES == 1 << 31


def test_hostile_content_size_never_allocates():
    with pytest.raises(errors.InvalidArgumentError):
        to_array(_proto(1, [2**40], tensor_content=b"\0" * 4))
    with pytest.raises(errors.InvalidArgumentError):
        to_array(_proto(7, [2**40], tensor_content=b"\x00" * 8))


def test_stored_values_beyond_the_shape_are_not_kept():
    got = to_array(_proto(1, [2], float_val=list(range(10000))))
    owner = got if got.base is None else got.base
    assert got.shape == (2,) and owner.nbytes == 8     # not a view of all 10000 values


def test_stored_values_are_not_limited():
    proto = from_array(np.arange(1000, dtype=np.float32))
    assert to_array(proto, max_fill_bytes=16).shape == (1000,)


def test_large_arrays_are_fast_paths():
    big = np.random.default_rng(0).standard_normal((1000, 1000)).astype(np.float32)
    proto = from_array(big)
    assert len(proto.tensor_content) == big.nbytes
    np.testing.assert_array_equal(to_array(proto), big)
    flags = np.random.default_rng(1).random(100000) < 0.5
    np.testing.assert_array_equal(to_array(from_array(flags)), flags)


# --- round trips ----------------------------------------------------------------------

NUMERIC = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
           np.uint8, np.uint16, np.uint32, np.uint64, np.bool_, np.complex64, np.complex128]
EXTRA = [ml_dtypes.bfloat16, ml_dtypes.float8_e5m2, ml_dtypes.float8_e4m3fn,
         ml_dtypes.float8_e4m3fnuz, ml_dtypes.float8_e4m3b11fnuz, ml_dtypes.float8_e5m2fnuz,
         ml_dtypes.int4, ml_dtypes.uint4]
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NUMERIC).flatmap(lambda t: hnp.arrays(t, SHAPES)))
def test_round_trip_numeric(array):
    got = to_array(TensorProto.FromString(from_array(array).SerializeToString()))
    assert got.dtype == array.dtype and got.shape == array.shape
    assert got.tobytes() == np.ascontiguousarray(array).tobytes()


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(EXTRA), SHAPES, st.integers(0, 2**32 - 1))
def test_round_trip_ml_dtypes(np_type, shape, seed):
    raw = np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
    if np.dtype(np_type).itemsize == 2:
        raw = np.random.default_rng(seed).integers(0, 2**16, size=shape, dtype=np.uint16)
    array = raw.view(np_type) if np_type not in (ml_dtypes.int4, ml_dtypes.uint4) else \
        (raw % 8).astype(np_type)
    got = to_array(TensorProto.FromString(from_array(array).SerializeToString()))
    assert got.dtype == array.dtype and got.shape == array.shape
    assert got.tobytes() == array.tobytes()


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(object, SHAPES, elements=st.binary(max_size=5)))
def test_round_trip_strings(array):
    got = to_array(TensorProto.FromString(from_array(array).SerializeToString()))
    assert got.shape == array.shape and got.tolist() == array.tolist()


def test_a_rank_above_numpys_limit_is_refused_typed():
    # TensorFlow allows rank 254; NumPy arrays have at most 64 dimensions.
    proto = TensorProto(dtype=1, float_val=[2.0])
    for _ in range(100):
        proto.tensor_shape.dim.add(size=1)
    with pytest.raises(errors.UnimplementedError, match="const 'c'.*rank 100"):
        to_array(proto, where="const 'c'")
