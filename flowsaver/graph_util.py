"""``tf.graph_util``: freezing and pruning GraphDefs (re-exports; the work is in
flowsaver.graph.graph_util and flowsaver.graph.freezing)."""
from flowsaver.graph.freezing import convert_variables_to_constants
from flowsaver.graph.graph_util import (extract_sub_graph, must_run_on_cpu,
                                        remove_training_nodes, tensor_shape_from_node_def_name)
from flowsaver.ops.importer import import_graph_def

__all__ = ["convert_variables_to_constants", "extract_sub_graph", "import_graph_def",
           "must_run_on_cpu", "remove_training_nodes", "tensor_shape_from_node_def_name"]
