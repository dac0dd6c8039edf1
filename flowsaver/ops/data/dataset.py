"""``tf.data.Dataset`` in graph mode: each transformation adds the dataset op TensorFlow
adds (same op types, node names and attrs), and remembers the element structure.

``output_types`` / ``output_shapes`` are nests matching the element; the op attrs hold
them flattened. Functions (map, filter, flat_map, interleave) are traced once into
FuncGraphs; tensors of the enclosing graph they use become the op's other_arguments.
"""
from __future__ import annotations

import numpy as np

from flowsaver.format.graph_protos import AttrValue, NameAttrList
from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.data import func_graph, generator as generator_module, structure as nest
from flowsaver.ops.op_builder import convert_to_tensor, create_op
from flowsaver.ops.scope_api import name_scope

AUTOTUNE = -1


def _func_attr(name: str) -> NameAttrList:
    return NameAttrList(name=name, attr={"_tf_data_function": AttrValue(b=True)})


def _int64(value, name: str) -> Tensor:
    return convert_to_tensor(value, dtype="int64", name=name)


def _most_specific(a: TensorShape, b: TensorShape) -> TensorShape:
    """The shape both ``a`` and ``b`` are instances of (TensorFlow's most specific
    compatible shape)."""
    if a.ndims is None or b.ndims is None or a.ndims != b.ndims:
        return TensorShape(None)
    return TensorShape([x if x == y else None for x, y in zip(a.as_list(), b.as_list())])


class Dataset(nest.ElementStructure):
    """A graph-mode dataset: a ``variant`` tensor plus its element structure."""

    def __init__(self, variant: Tensor, types, shapes):
        self._variant_tensor = variant
        self._types = types      # nest of DTypes
        self._shapes = shapes    # nest of TensorShapes, same nest

    # ---- structure -------------------------------------------------------------------------

    def _flat_types(self) -> list:
        return nest.flatten(self._types)

    def _flat_shapes(self) -> list:
        return nest.flatten(self._shapes)

    def _attrs(self, types=None, shapes=None, types_key="output_types") -> dict:
        types = self._flat_types() if types is None else types
        shapes = self._flat_shapes() if shapes is None else shapes
        return {types_key: types, "output_shapes": shapes}

    def _derive(self, op_type, inputs, attrs, types=None, shapes=None, name=None):
        types = self._types if types is None else types
        shapes = self._shapes if shapes is None else shapes
        attrs = dict(attrs)
        attrs.setdefault("output_types", nest.flatten(types))
        attrs.setdefault("output_shapes", nest.flatten(shapes))
        variant = create_op(op_type, inputs, attrs, name=name)
        return Dataset(variant, types, shapes)

    # ---- sources ---------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors) -> "Dataset":
        """One element per slice along the first dimension of every component."""
        with name_scope("normalize_element"):
            flat = [convert_to_tensor(t, name=f"component_{i}")
                    for i, t in enumerate(nest.flatten(tensors))]
        firsts = {t.shape.as_list()[0] for t in flat if t.shape.ndims}
        if any(t.shape.ndims == 0 for t in flat):
            raise ValueError("Unbatching a tensor is only supported for rank >= 1")
        if len(firsts - {None}) > 1:
            raise ValueError(f"Dimension 0 in all components of from_tensor_slices must be "
                             f"equal, got shapes {[str(t.shape) for t in flat]}")
        types = nest.pack(tensors, [t.dtype.base_dtype for t in flat])
        shapes = nest.pack(tensors, [TensorShape(t.shape.as_list()[1:]) if t.shape.ndims
                                     else TensorShape(None) for t in flat])
        variant = create_op("TensorSliceDataset", [flat], {
            "output_shapes": nest.flatten(shapes)}, name="TensorSliceDataset")
        return Dataset(variant, types, shapes)

    @staticmethod
    def from_tensors(tensors) -> "Dataset":
        """One element: ``tensors`` themselves."""
        with name_scope("normalize_element"):
            flat = [convert_to_tensor(t, name=f"component_{i}")
                    for i, t in enumerate(nest.flatten(tensors))]
        types = nest.pack(tensors, [t.dtype.base_dtype for t in flat])
        shapes = nest.pack(tensors, [t.shape for t in flat])
        variant = create_op("TensorDataset", [flat], {"output_shapes": nest.flatten(shapes)},
                            name="TensorDataset")
        return Dataset(variant, types, shapes)

    @staticmethod
    def range(*args) -> "Dataset":
        """``range(stop)``, ``range(start, stop)`` or ``range(start, stop, step)`` as int64."""
        if len(args) == 1:
            start, stop, step = 0, args[0], 1
        elif len(args) == 2:
            (start, stop), step = args, 1
        elif len(args) == 3:
            start, stop, step = args
        else:
            raise ValueError(f"Invalid arguments to RangeDataset: {args}")
        inputs = [_int64(start, "start"), _int64(stop, "stop"), _int64(step, "step")]
        variant = create_op("RangeDataset", inputs, {"output_types": [as_dtype("int64")],
                                                     "output_shapes": [TensorShape([])]},
                            name="RangeDataset")
        return Dataset(variant, as_dtype("int64"), TensorShape([]))

    @staticmethod
    def zip(datasets) -> "Dataset":
        """Elements of ``datasets`` (a nest of datasets) side by side."""
        flat = nest.flatten(datasets)
        types = nest.pack(datasets, [d._types for d in flat])
        shapes = nest.pack(datasets, [d._shapes for d in flat])
        variant = create_op("ZipDataset", [[d._variant_tensor for d in flat]], {
            "output_types": nest.flatten(types), "output_shapes": nest.flatten(shapes)},
            name="ZipDataset")
        return Dataset(variant, types, shapes)

    @staticmethod
    def list_files(file_pattern, shuffle=None, seed=None, name=None) -> "Dataset":
        """The files matching ``file_pattern`` (sorted; shuffled unless ``shuffle=False``)."""
        with name_scope("list_files"):
            pattern = convert_to_tensor(file_pattern, dtype="string", name="file_pattern")
            matches = create_op("MatchingFiles", [pattern], name="MatchingFiles")
            variant = create_op("TensorSliceDataset", [[matches]], {
                "output_shapes": [TensorShape([])], "is_files": True},
                name="TensorSliceDataset")
            dataset = Dataset(variant, as_dtype("string"), TensorShape([]))
            if shuffle is None or shuffle:
                from flowsaver.ops.array.api import shape
                dataset = dataset.shuffle(shape(matches, out_type="int64")[0], seed=seed)
            return dataset

    def apply(self, transformation_func) -> "Dataset":
        """``transformation_func(self)``, which must return a dataset."""
        dataset = transformation_func(self)
        if not isinstance(dataset, Dataset):
            raise TypeError("`transformation_func` must return a Dataset.")
        return dataset

    @staticmethod
    def from_generator(generator, output_types, output_shapes=None, args=None):
        """Elements a Python generator yields, converted to ``output_types``."""
        if not callable(generator):
            raise TypeError("`generator` must be callable.")
        types = nest.normalize_types(output_types, output_types)
        shapes = nest.normalize_shapes(output_shapes, types)
        source = generator_module.GeneratorSource(generator, tuple(args or ()), types)
        ids = Dataset.from_tensors(np.int64(generator_module.next_generator_id()))
        return ids.flat_map(lambda _: Dataset(
            generator_module.generator_dataset(source, types, shapes), types, shapes))

    # ---- transformations -------------------------------------------------------------------
    def concatenate(self, dataset) -> "Dataset":
        if self._flat_types() != dataset._flat_types():
            raise TypeError(f"Two datasets to concatenate have different types "
                            f"{self._types} and {dataset._types}")
        shapes = nest.pack(self._types, [_most_specific(a, b) for a, b in zip(
            self._flat_shapes(), dataset._flat_shapes())])
        return self._derive("ConcatenateDataset", [self._variant_tensor,
                                                   dataset._variant_tensor], {},
                            shapes=shapes, name="ConcatenateDataset")

    def _trace(self, fn, prefix: str, convert=None):
        return func_graph.trace(fn, self._types, self._flat_types(), self._flat_shapes(),
                                prefix, convert)

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """Elements transformed by ``map_func`` (traced once as a function)."""
        function = self._trace(map_func, "Dataset_map_lambda")
        outputs = function.flat_outputs
        types = nest.pack(function.output_structure, [t.dtype.base_dtype for t in outputs])
        shapes = nest.pack(function.output_structure, [t.shape for t in outputs])
        captured = function.captured_outer
        attrs = {"f": _func_attr(function.name),
                 "Targuments": [t.dtype.base_dtype for t in captured]}
        if num_parallel_calls is None:
            return self._derive("MapDataset", [self._variant_tensor, captured], attrs,
                                types, shapes, name="MapDataset")
        attrs["deterministic"] = "default" if deterministic is None else \
            ("true" if deterministic else "false")
        return self._derive("ParallelMapDatasetV2", [
            self._variant_tensor, captured, _int64(num_parallel_calls, "num_parallel_calls")],
            attrs, types, shapes, name="ParallelMapDatasetV2")

    def filter(self, predicate, name=None) -> "Dataset":
        """Elements for which ``predicate`` returns a scalar True."""
        function = self._trace(predicate, "Dataset_filter_lambda")
        (out,) = function.flat_outputs or (None,)
        if out is None or out.dtype.base_dtype.name != "bool" or out.shape.ndims not in (0, None):
            raise ValueError("`predicate` return type must be convertible to a scalar boolean "
                             "tensor.")
        captured = function.captured_outer
        return self._derive("FilterDataset", [self._variant_tensor, captured], {
            "predicate": _func_attr(function.name),
            "Targuments": [t.dtype.base_dtype for t in captured]}, name="FilterDataset")

    def _dataset_function(self, fn, prefix: str):
        function = self._trace(fn, prefix, convert=_require_dataset)
        inner = function.output_structure
        return function, inner

    def flat_map(self, map_func, name=None) -> "Dataset":
        """The elements of the dataset ``map_func`` returns for each element, in order."""
        function, inner = self._dataset_function(map_func, "Dataset_flat_map_lambda")
        captured = function.captured_outer
        return self._derive("FlatMapDataset", [self._variant_tensor, captured], {
            "f": _func_attr(function.name),
            "Targuments": [t.dtype.base_dtype for t in captured]},
            inner._types, inner._shapes, name="FlatMapDataset")

    def interleave(self, map_func, cycle_length=AUTOTUNE, block_length=1,
                   num_parallel_calls=None, deterministic=None, name=None) -> "Dataset":
        """Elements of several ``map_func`` datasets, ``block_length`` at a time in turn."""
        function, inner = self._dataset_function(map_func, "Dataset_interleave_lambda")
        captured = function.captured_outer
        return self._derive("InterleaveDataset", [
            self._variant_tensor, captured, _int64(cycle_length, "cycle_length"),
            _int64(block_length, "block_length")], {
            "f": _func_attr(function.name),
            "Targuments": [t.dtype.base_dtype for t in captured]},
            inner._types, inner._shapes, name="InterleaveDataset")

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None,
              deterministic=None, name=None) -> "Dataset":
        """Consecutive elements stacked ``batch_size`` at a time."""
        size = _int64(batch_size, "batch_size")
        drop = convert_to_tensor(drop_remainder, dtype="bool", name="drop_remainder")
        known = batch_size if isinstance(batch_size, int) and drop_remainder is True else None
        shapes = nest.map_structure(lambda s: TensorShape([known]).concatenate(s),
                                    self._shapes)
        return self._derive("BatchDatasetV2", [self._variant_tensor, size, drop], {},
                            shapes=shapes, name="BatchDatasetV2")

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None,
                     drop_remainder=False, name=None) -> "Dataset":
        """Batches whose components are padded to ``padded_shapes`` (None: the longest)."""
        if padded_shapes is None:
            padded_shapes = self._shapes
        size = _int64(batch_size, "batch_size")
        flat_shapes = nest.flatten(nest.normalize_shapes(padded_shapes, self._types)) \
            if not isinstance(padded_shapes, TensorShape) or nest.is_nested(self._types) \
            else [padded_shapes]
        shape_tensors = []
        for shape in flat_shapes:
            dims = [-1 if d is None else int(d) for d in TensorShape(shape).as_list()]
            shape_tensors.append(convert_to_tensor(np.array(dims, np.int64), dtype="int64",
                                                   name="Const"))
        types = self._flat_types()
        if padding_values is None:
            values = [convert_to_tensor(b"" if t.name == "string" else
                                        np.zeros((), t.as_numpy_dtype), dtype=t,
                                        name="padding_value") for t in types]
        else:
            values = [convert_to_tensor(v, dtype=t, name="padding_value") for v, t in
                      zip(nest.flatten(padding_values), types)]
        drop = convert_to_tensor(drop_remainder, dtype="bool", name="drop_remainder")
        known = batch_size if isinstance(batch_size, int) and drop_remainder is True else None
        out_shapes = nest.pack(self._types, [TensorShape([known]).concatenate(TensorShape(s))
                                             for s in flat_shapes])
        variant = create_op("PaddedBatchDatasetV2", [self._variant_tensor, size,
                                                     shape_tensors, values, drop],
                            {"output_shapes": nest.flatten(out_shapes)},
                            name="PaddedBatchDatasetV2")
        return Dataset(variant, self._types, out_shapes)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None,
                name=None) -> "Dataset":
        """Elements drawn at random from a buffer of ``buffer_size``."""
        size = _int64(buffer_size, "buffer_size")
        seed_t, seed2_t = _seed_tensors(seed)
        return self._derive("ShuffleDataset", [self._variant_tensor, size, seed_t, seed2_t], {
            "reshuffle_each_iteration": True if reshuffle_each_iteration is None
            else bool(reshuffle_each_iteration)}, name="ShuffleDataset")

    def repeat(self, count=None, name=None) -> "Dataset":
        return self._derive("RepeatDataset", [self._variant_tensor,
                                              _int64(-1 if count is None else count, "count")],
                            {}, name="RepeatDataset")

    def take(self, count, name=None) -> "Dataset":
        return self._derive("TakeDataset", [self._variant_tensor, _int64(count, "count")], {},
                            name="TakeDataset")

    def skip(self, count, name=None) -> "Dataset":
        return self._derive("SkipDataset", [self._variant_tensor, _int64(count, "count")], {},
                            name="SkipDataset")

    def cache(self, filename="", name=None) -> "Dataset":
        return self._derive("CacheDataset", [
            self._variant_tensor, convert_to_tensor(filename, dtype="string", name="filename")],
            {}, name="CacheDataset")

    def prefetch(self, buffer_size, name=None) -> "Dataset":
        return self._derive("PrefetchDataset", [self._variant_tensor,
                                                _int64(buffer_size, "buffer_size")], {},
                            name="PrefetchDataset")

    # ---- iterators -------------------------------------------------------------------------
    def make_one_shot_iterator(self):
        from flowsaver.ops.data.iterator import make_one_shot_iterator
        return make_one_shot_iterator(self)

    def make_initializable_iterator(self, shared_name=None):
        from flowsaver.ops.data.iterator import make_initializable_iterator
        return make_initializable_iterator(self, shared_name)


def _require_dataset(value):
    if not isinstance(value, Dataset):
        raise TypeError(f"`map_func` must return a `Dataset` object. Got {type(value)}")
    return value


def _seed_tensors(seed):
    """The seed and seed2 tensors of a shuffle, built as TensorFlow builds them."""
    from flowsaver.ops.array.api import where_v2
    from flowsaver.ops.math.api import equal, logical_and
    from flowsaver.ops.random.api import get_seed
    seed, seed2 = get_seed(seed)
    seed_t = _int64(0 if seed is None else seed, "seed")
    if seed2 is None:
        return seed_t, _int64(0, "seed2")
    with name_scope("seed2") as scope:
        seed2_t = _int64(seed2, "Const")
        both_zero = logical_and(equal(seed_t, 0), equal(seed2_t, 0))
        return seed_t, where_v2(both_zero, _int64(2**31 - 1, "Const"), seed2_t,
                                name=scope)

