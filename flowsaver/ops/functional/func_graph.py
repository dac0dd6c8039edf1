"""A function's body as a graph of its own: ``FuncGraph``, and ``Function`` around it.

Both kinds of function flowsaver runs are FuncGraphs: a Python function traced here (the
``f`` of a ``tf.data`` map; ops/data/func_graph.py) and a FunctionDef of an imported
GraphDef's library (function_import.py: ``While`` bodies, ``If`` branches, called
functions, dataset functions TensorFlow saved). Its ``inputs`` are placeholders for the
arguments, its ``outputs`` the returned tensors, its ``targets`` the ops that must run
although nothing is returned from them (a FunctionDef's ``control_ret``). A tensor of an
enclosing graph that a traced function uses is *captured*: it becomes another placeholder
inside, fed with the outer value. The session's RunContext plans and runs the graph
(``ctx.run_function``), sharing the session's variables and resources.
"""
from __future__ import annotations

from flowsaver.graph.graph import Graph
from flowsaver.graph.operation import Tensor

__all__ = ["FuncGraph", "Function"]


class FuncGraph(Graph):
    """A graph that holds one function; outer tensors it uses are captured."""

    def __init__(self, name: str, outer_graph: Graph):
        super().__init__()
        self.name = name
        self.outer_graph = outer_graph
        self.inputs: list = []
        self.captures: dict = {}      # outer tensor -> inner placeholder
        self.outputs: list = []
        self.targets: list = []
        self.seed = getattr(outer_graph, "seed", None)

    def captures_from(self, graph) -> bool:
        """Whether tensors of ``graph`` (an enclosing graph) can be captured here."""
        outer = self.outer_graph
        while outer is not None:
            if outer is graph:
                return True
            outer = getattr(outer, "outer_graph", None)
        return False

    def capture(self, tensor: Tensor) -> Tensor:
        """The placeholder standing for the outer ``tensor`` inside this function."""
        if tensor.graph is self:
            return tensor
        if not self.captures_from(tensor.graph):
            raise ValueError(f"Tensor {tensor.name} is from a graph this function cannot "
                             f"capture from")
        inner = self.captures.get(tensor)
        if inner is None:
            from flowsaver.ops.op_builder import create_op
            with self.as_default():
                inner = create_op("Placeholder", [], {"dtype": tensor.dtype.base_dtype,
                                                      "shape": tensor.shape},
                                  name="captured")
            self.captures[tensor] = inner
        return inner


class Function:
    """A function ready to run: its graph, and the nest its outputs are returned in."""

    def __init__(self, name: str, graph: FuncGraph, output_structure=None):
        self.name = name
        self.graph = graph
        self.output_structure = output_structure

    @property
    def captured_outer(self) -> list:
        return list(self.graph.captures)

    @property
    def flat_inputs(self) -> list:
        return self.graph.inputs + list(self.graph.captures.values())

    @property
    def flat_outputs(self) -> list:
        return self.graph.outputs

    @property
    def targets(self) -> list:
        return self.graph.targets
