"""``Dataset.from_generator``: the GeneratorDataset op whose functions name a Python
generator held in this process (func_graph's registry), as TensorFlow keeps its
generators in a Python-side registry too."""
from __future__ import annotations

import itertools

from flowsaver.format.graph_protos import AttrValue, NameAttrList
from flowsaver.graph.graph import get_default_graph
from flowsaver.ops.data import func_graph, structure as nest
from flowsaver.ops.op_builder import create_op

_GENERATOR_IDS = itertools.count()


class GeneratorSource:
    """What a GeneratorDataset's functions name: the Python generator and its nest."""

    def __init__(self, generator, args, types):
        self.generator, self.args, self.types = generator, args, types

    def make(self):
        return iter(self.generator(*self.args) if self.args else self.generator())

    def flatten(self, value):
        if not nest.is_nested(self.types):
            return [value]
        return nest.flatten(tuple(value) if isinstance(value, list) else value)


def next_generator_id() -> int:
    return next(_GENERATOR_IDS)


def generator_dataset(source: GeneratorSource, types, shapes):
    """A GeneratorDataset op over ``source`` in the graph being built (a flat_map body)."""
    current = get_default_graph()
    name = func_graph.unique_function_name("generator_next_fn")
    func_graph.register(current, name, source)
    return create_op("GeneratorDataset", [[], [], []], {
        "init_func": NameAttrList(name=name),
        "next_func": NameAttrList(name=name, attr={"_tf_data_function": AttrValue(b=True)}),
        "finalize_func": NameAttrList(name=name), "output_types": nest.flatten(types),
        "output_shapes": nest.flatten(shapes)}, name="GeneratorDataset")
