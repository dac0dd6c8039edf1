"""Shared by the tensor-bundle interop tests (tests/interop/test_bundle_tf_*.py).

Values are compared bit for bit (NaN payloads, -0.0), dtypes by TensorFlow's name.
TensorFlow 2.21 writes (SaveV2) and reads (load_checkpoint, RestoreV2) every storable dtype,
the five float8 types, int4/uint4 (one byte an element) and the quantized types included.
Only its *sliced* reads are narrower: see TF_SLICE_REFUSED.
"""
from __future__ import annotations

import numpy as np

import flowsaver.train as fst
from flowsaver.format import dtypes
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.slices import TensorSlice

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
# TensorFlow writes an empty string tensor as its length checksum; both read it back.
EMPTY_STRING_SHAPES = [(0,), (0, 3)]
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


# --- partitioned tensors ------------------------------------------------------------------

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


# --- reading like TensorFlow --------------------------------------------------------------

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
