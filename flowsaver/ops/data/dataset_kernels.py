"""Dataset ops, as TensorFlow names and defines them; each kernel returns a recipe from
pipeline.py as the op's ``variant`` output. Functions named in ``f``/``predicate`` attrs
are looked up in the op's graph (func_graph.py) and run in the session's context."""
from __future__ import annotations

import itertools

import numpy as np

from flowsaver import errors
from flowsaver.format.graph_protos import FullTypeDef
from flowsaver.ops.data import func_graph, pipeline
from flowsaver.ops.functional import function_import
from flowsaver.ops.registry import NOT_FOLDABLE, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

_T = "output_types: list(type) >= 1; output_shapes: list(shape) >= 1"
_FN = "Targuments: list(type) >= 0"
_META = 'metadata: string = ""'
define(
    f'TensorSliceDataset(components: Toutput_types) -> (handle: variant); Toutput_types: list(type) >= 1; output_shapes: list(shape) >= 1; is_files: bool = false; {_META}; replicate_on_split: bool = false; !stateful',
    f'TensorDataset(components: Toutput_types) -> (handle: variant); Toutput_types: list(type) >= 1; output_shapes: list(shape) >= 1; {_META}; !stateful',
    f'RangeDataset(start: int64, stop: int64, step: int64) -> (handle: variant); {_T}; {_META}; replicate_on_split: bool = false; !stateful',
    f'ZipDataset(input_datasets: N * variant) -> (handle: variant); {_T}; N: int >= 1; {_META}',
    f'ConcatenateDataset(input_dataset: variant, another_dataset: variant) -> (handle: variant); {_T}; {_META}',
    f'MapDataset(input_dataset: variant, other_arguments: Targuments) -> (handle: variant); f: func; {_FN}; {_T}; use_inter_op_parallelism: bool = true; preserve_cardinality: bool = false; force_synchronous: bool = false; {_META}',
    f'ParallelMapDatasetV2(input_dataset: variant, other_arguments: Targuments, num_parallel_calls: int64) -> (handle: variant); f: func; {_FN}; {_T}; use_inter_op_parallelism: bool = true; deterministic: string = "default"; preserve_cardinality: bool = false; use_unbounded_threadpool: bool = false; {_META}',
    f'FilterDataset(input_dataset: variant, other_arguments: Targuments) -> (handle: variant); predicate: func; {_FN}; {_T}; {_META}',
    f'FlatMapDataset(input_dataset: variant, other_arguments: Targuments) -> (handle: variant); f: func; {_FN}; {_T}; {_META}',
    f'InterleaveDataset(input_dataset: variant, other_arguments: Targuments, cycle_length: int64, block_length: int64) -> (handle: variant); f: func; {_FN}; {_T}; {_META}',
    f'BatchDatasetV2(input_dataset: variant, batch_size: int64, drop_remainder: bool) -> (handle: variant); parallel_copy: bool = false; {_T}; {_META}',
    f'PaddedBatchDatasetV2(input_dataset: variant, batch_size: int64, padded_shapes: N * int64, padding_values: Toutput_types, drop_remainder: bool) -> (handle: variant); parallel_copy: bool = false; Toutput_types: list(type) >= 1; output_shapes: list(shape) >= 1; N: int >= 1; {_META}',
    f'ShuffleDataset(input_dataset: variant, buffer_size: int64, seed: int64, seed2: int64) -> (handle: variant); reshuffle_each_iteration: bool = true; {_T}; {_META}',
    f'RepeatDataset(input_dataset: variant, count: int64) -> (handle: variant); {_T}; {_META}',
    f'TakeDataset(input_dataset: variant, count: int64) -> (handle: variant); {_T}; {_META}',
    f'SkipDataset(input_dataset: variant, count: int64) -> (handle: variant); {_T}; {_META}',
    f'CacheDataset(input_dataset: variant, filename: string) -> (handle: variant); {_T}; {_META}',
    f'PrefetchDataset(input_dataset: variant, buffer_size: int64) -> (handle: variant); {_T}; slack_period: int = 0; legacy_autotune: bool = true; buffer_size_min: int = 0; {_META}',
    f'TFRecordDataset(filenames: string, compression_type: string, buffer_size: int64) -> (handle: variant); {_META}; !stateful',
    f'TFRecordDatasetV2(filenames: string, compression_type: string, buffer_size: int64, byte_offsets: int64) -> (handle: variant); {_META}; !stateful',
    f'TextLineDataset(filenames: string, compression_type: string, buffer_size: int64) -> (handle: variant); {_META}; !stateful',
    f'FixedLengthRecordDatasetV2(filenames: string, header_bytes: int64, record_bytes: int64, footer_bytes: int64, buffer_size: int64, compression_type: string) -> (handle: variant); {_META}; !stateful',
    f'GeneratorDataset(init_func_other_args: Tinit_func_args, next_func_other_args: Tnext_func_args, finalize_func_other_args: Tfinalize_func_args) -> (handle: variant); init_func: func; next_func: func; finalize_func: func; Tinit_func_args: list(type) >= 0; Tnext_func_args: list(type) >= 0; Tfinalize_func_args: list(type) >= 0; {_T}; {_META}; !stateful',
    f'OptimizeDatasetV2(input_dataset: variant, optimizations_enabled: string, optimizations_disabled: string, optimizations_default: string) -> (handle: variant); {_T}; optimization_configs: list(string) = []',
    f'ModelDataset(input_dataset: variant) -> (handle: variant); algorithm: int = 0; cpu_budget: int = 0; ram_budget: int = 0; {_T}',
)
DATASET_OPS = sorted(TABLE.op_defs)
TABLE.not_differentiable(*DATASET_OPS)
# A dataset is a recipe made when a session runs its op, never while building a graph.
TABLE.mark(NOT_FOLDABLE, *DATASET_OPS)


def _full_type(types_attr: str | None) -> FullTypeDef:
    """TensorFlow's full type of a dataset handle: a dataset of tensors of ``types_attr``
    (or of strings, for the file readers)."""
    out = FullTypeDef(type_id=10102)   # TFT_DATASET
    if types_attr is None:
        tensor = out.args.add(type_id=1000)   # TFT_TENSOR of TFT_STRING
        tensor.args.add(type_id=214)
        return out
    each = out.args.add(type_id=20)   # TFT_FOR_EACH
    each.args.add(type_id=3)          # TFT_PRODUCT
    tensor = each.args.add(type_id=1000)
    tensor.args.add(type_id=1, s=types_attr)   # TFT_VAR
    each.args.add(type_id=1, s=types_attr)
    return out


for _op in DATASET_OPS:
    _attr = None if _op in ("TFRecordDataset", "TFRecordDatasetV2", "TextLineDataset",
                            "FixedLengthRecordDatasetV2") else \
        ("Toutput_types" if _op in ("TensorSliceDataset", "TensorDataset",
                                    "PaddedBatchDatasetV2") else "output_types")
    TABLE._put(TABLE.full_types, (_op, "handle"), _full_type(_attr), "full type")


@shape_fn(*DATASET_OPS)
def _scalar_handle(op):
    return [[]]


def _function(op, ctx, attr: str, other_args_index: int = 1):
    """A callable ``f(*element, ...) -> [outputs]`` for the function in ``attr``; captured
    values (the op's other_arguments) are bound when the kernel runs."""
    name = op.get_attr(attr).name
    function = func_graph.lookup(op.graph, name) or function_import.load(op.graph, name)
    if function is None:
        raise errors.UnimplementedError(
            None, op, f"{op.name}: function {name} is neither traced here nor in the "
                      f"graph's function library")
    return ctx.run_function(function.graph, function.flat_inputs, function.flat_outputs)


def _bind(run, captured):
    captured = tuple(captured)
    return lambda *element: run(*element, *captured)


def _simple(op_type, build):
    @kernel(op_type)
    def make(op, ctx):
        return build
    return make


_simple("TensorSliceDataset", lambda *components: pipeline.Slices(components))
_simple("TensorDataset", lambda *components: pipeline.Tensors(components))
_simple("RangeDataset", pipeline.Range)
_simple("ZipDataset", lambda *inputs: pipeline.Zip(inputs))
_simple("ConcatenateDataset", pipeline.Concatenate)
_simple("BatchDatasetV2", pipeline.Batch)
_simple("RepeatDataset", pipeline.Repeat)
_simple("TakeDataset", pipeline.Take)
_simple("SkipDataset", pipeline.Skip)
_simple("CacheDataset", lambda source, filename: pipeline.Cache(source))
_simple("PrefetchDataset", lambda source, size: pipeline.Prefetch(source))
_simple("OptimizeDatasetV2", lambda source, *options: source)
_simple("ModelDataset", lambda source: source)
_simple("TFRecordDataset", lambda name, compression, size: pipeline.TFRecords(name, compression))
_simple("TFRecordDatasetV2", lambda name, compression, size, offsets:
        pipeline.TFRecords(name, compression))
_simple("TextLineDataset", lambda name, compression, size: pipeline.TextLines(name, compression))
_simple("FixedLengthRecordDatasetV2", lambda name, header, record, footer, size, compression:
        pipeline.FixedLengthRecords(name, header, record, footer, compression))


@kernel("MapDataset", "ParallelMapDatasetV2")
def _map(op, ctx):
    run = _function(op, ctx, "f")
    n_captured = len(op.get_attr("Targuments"))
    return lambda source, *args: pipeline.Map(source, _bind(run, args[:n_captured]))


@kernel("FilterDataset")
def _filter(op, ctx):
    run = _function(op, ctx, "predicate")
    return lambda source, *captured: pipeline.Filter(source, _bind(run, captured))


@kernel("FlatMapDataset")
def _flat_map(op, ctx):
    run = _function(op, ctx, "f")
    return lambda source, *captured: pipeline.FlatMap(source, _bind(run, captured))


@kernel("InterleaveDataset")
def _interleave(op, ctx):
    run = _function(op, ctx, "f")

    def build(source, *args):
        captured, (cycle, block) = args[:-2], args[-2:]
        return pipeline.Interleave(source, _bind(run, captured), cycle, block)
    return build


@kernel("PaddedBatchDatasetV2")
def _padded_batch(op, ctx):
    n = op.get_attr("N")

    def build(source, batch_size, *rest):
        shapes, values, drop = rest[:n], rest[n:2 * n], rest[2 * n]
        return pipeline.PaddedBatch(source, batch_size, shapes, values, drop)
    return build


@kernel("ShuffleDataset")
def _shuffle(op, ctx):
    reshuffle = op.get_attr("reshuffle_each_iteration")
    epochs = itertools.count()
    return lambda source, size, seed, seed2: pipeline.Shuffle(source, size, seed, seed2,
                                                               reshuffle, epochs)


@kernel("GeneratorDataset")
def _generator(op, ctx):
    source = func_graph.lookup(op.graph, op.get_attr("next_func").name)
    if source is None:
        raise errors.UnimplementedError(None, op, f"{op.name}: the Python generator of this "
                                                  f"dataset is not in this process")
    types, shapes = op.get_attr("output_types"), op.get_attr("output_shapes")
    return lambda *args: pipeline.Generator(source.make, types, shapes, source.flatten)


__all__ = ["DATASET_OPS", "np"]
