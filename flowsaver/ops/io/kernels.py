"""Checkpoint ops: ``SaveV2``, ``RestoreV2``, ``MergeV2Checkpoints`` and filename helpers.

This is the one place where graph execution reaches the file format layer. The ops do
what TensorFlow's do, on the same files: a Saver graph exported by TensorFlow saves and
restores through these kernels, and a checkpoint written here is TensorFlow's format.
"""
from __future__ import annotations

import re

import numpy as np

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.merge import merge_bundles
from flowsaver.format.slices import parse_shape_and_slice
from flowsaver.format.v1 import V1Reader, v1_files
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'SaveV2(prefix: string, tensor_names: string, shape_and_slices: string, tensors: dtypes) -> (); dtypes: list(type) >= 1; !stateful',
    'RestoreV2(prefix: string, tensor_names: string, shape_and_slices: string) -> (tensors: dtypes); dtypes: list(type) >= 1; !stateful',
    'MergeV2Checkpoints(checkpoint_prefixes: string, destination_prefix: string) -> (); delete_old_dirs: bool = true; allow_missing_files: bool = false; !stateful',
    'ShardedFilename(basename: string, shard: int32, num_shards: int32) -> (filename: string)',
    'ShardedFilespec(basename: string, num_shards: int32) -> (filename: string)',
    'StringJoin(inputs: N * string) -> (output: string); N: int >= 0; separator: string = ""',
    'StaticRegexFullMatch(input: string) -> (output: bool); pattern: string',
)
TABLE.not_differentiable("MergeV2Checkpoints", "RestoreV2", "SaveV2", "ShardedFilename",
                         "ShardedFilespec", "StaticRegexFullMatch", "StringJoin")


def _text(value) -> str:
    value = value.item() if isinstance(value, np.ndarray) else value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _bytes(value) -> bytes:
    # A string tensor fed from Python may hold str elements; TensorFlow's are bytes.
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _texts(value, count: int | None, what: str, op) -> list[str]:
    flat = np.reshape(np.asarray(value, dtype=object), -1)
    if count is not None and flat.size != count:
        raise errors.InvalidArgumentError(
            None, op, f"{op.type} {what} has {flat.size} entries for {count} tensors")
    return [_text(v) for v in flat]


@shape_fn("SaveV2", "MergeV2Checkpoints")
def _no_outputs(op):
    return []


@kernel("SaveV2")
def _save_v2(op, ctx):
    def save(prefix, names, specs, *tensors):
        names = _texts(names, len(tensors), "tensor_names", op)
        specs = _texts(specs, len(tensors), "shape_and_slices", op)
        writer = BundleWriter(_text(prefix))
        try:
            for name, spec, value in zip(names, specs, tensors):
                value = value.read() if hasattr(value, "read") else value
                if spec:
                    full_shape, tslice = parse_shape_and_slice(spec)
                    writer.add_slice(name, full_shape, tslice, value)
                else:
                    writer.add(name, value)
            writer.finish()
        except BaseException:
            writer.abort()
            raise
    return save


@shape_fn("RestoreV2")
def _restore_shapes(op):
    """Known only for slices: a constant ``shape_and_slices`` entry fixes that output."""
    from flowsaver.ops.const_eval import value_of as constant_value
    specs = constant_value(op.inputs[2])
    specs = [] if specs is None else [_text(v) for v in np.reshape(specs, -1)]
    shapes = []
    for i in range(len(op.outputs)):
        if i < len(specs) and specs[i]:
            full_shape, tslice = parse_shape_and_slice(specs[i])
            shapes.append([n for _, n in tslice.resolve(full_shape)])
        else:
            shapes.append(None)
    return shapes


@kernel("RestoreV2")
def _restore_v2(op, ctx):
    want = op.get_attr("dtypes")

    def restore(prefix, names, specs):
        names = _texts(names, len(want), "tensor_names", op)
        specs = _texts(specs, len(want), "shape_and_slices", op)
        path = _text(prefix)
        with open_checkpoint(path) as reader:
            out = []
            for name, spec, dtype in zip(names, specs, want):
                if not reader.has_tensor(name):
                    raise errors.NotFoundError(
                        None, op, f"Key {name} not found in checkpoint {path}")
                stored = reader.dtype(name)
                if stored != dtype:
                    raise errors.InvalidArgumentError(
                        None, op, f"tensor_name = {name}; expected dtype {dtype.name} does "
                                  f"not equal original dtype {stored.name} (checkpoint {path})")
                if spec:
                    _, tslice = parse_shape_and_slice(spec)
                    out.append(reader.get_slice(name, tslice))
                else:
                    out.append(reader.get_tensor(name))
            return out
    return restore


def open_checkpoint(prefix: str):
    """The reader RestoreV2 uses: the V2 bundle at ``prefix``, else a legacy V1 file there.

    Raises:
      NotFoundError: neither form exists at ``prefix``.
    """
    if storage.exists(prefix + ".index"):
        return BundleReader(prefix)
    try:
        v1_files(prefix)
    except errors.NotFoundError:
        raise errors.NotFoundError(
            f"Failed to find any matching files for {prefix}: looked for the V2 index "
            f"{prefix}.index and a V1 checkpoint file {prefix} (or {prefix}-?????-of-?????)"
        ) from None
    return V1Reader(prefix)


@kernel("MergeV2Checkpoints")
def _merge(op, ctx):
    delete_old = op.get_attr("delete_old_dirs")
    allow_missing = op.get_attr("allow_missing_files")

    def merge(prefixes, destination):
        merge_bundles(_texts(prefixes, None, "checkpoint_prefixes", op), _text(destination),
                      delete_old_dirs=delete_old, allow_missing_files=allow_missing)
    return merge


@shape_fn("ShardedFilename", "ShardedFilespec", "StaticRegexFullMatch")
def _scalar_like_first(op):
    return [op.inputs[0].shape]


@kernel("ShardedFilename")
def _sharded_filename(op, ctx):
    return lambda base, shard, num: np.array(
        ("%s-%05d-of-%05d" % (_text(base), int(shard), int(num))).encode(), dtype=object)


@kernel("ShardedFilespec")
def _sharded_filespec(op, ctx):
    return lambda base, num: np.array(
        ("%s-?????-of-%05d" % (_text(base), int(num))).encode(), dtype=object)


@shape_fn("StringJoin")
def _join_shape(op):
    shapes = [t.shape for t in op.inputs if t.shape.ndims != 0]
    return [shapes[0] if shapes else []]


@kernel("StringJoin")
def _string_join(op, ctx):
    separator = op.get_attr("separator")
    separator = separator if isinstance(separator, bytes) else separator.encode()

    def join(*inputs):
        arrays = np.broadcast_arrays(*[np.asarray(x, dtype=object) for x in inputs])
        out = np.empty(arrays[0].shape if arrays else (), dtype=object)
        flat = out.reshape(-1)
        for i, parts in enumerate(zip(*[a.reshape(-1) for a in arrays])):
            flat[i] = separator.join(_bytes(p) for p in parts)
        return out
    return join


@kernel("StaticRegexFullMatch")
def _regex_full_match(op, ctx):
    pattern = re.compile(_text(op.get_attr("pattern")).encode())

    def match(values):
        values = np.asarray(values, dtype=object)
        if not values.size:
            return np.zeros(values.shape, bool)
        return np.vectorize(lambda s: pattern.fullmatch(_bytes(s)) is not None,
                            otypes=[bool])(values)
    return match
