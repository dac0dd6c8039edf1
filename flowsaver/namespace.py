"""Every name of ``import flowsaver as tf``, loaded when a program first asks for one.

``flowsaver/__init__.py`` stays light (the checkpoint tools and the format layer need
none of the graph library) and forwards attribute lookups here.
"""
from flowsaver import errors
from flowsaver.dtypes import *  # noqa: F401,F403 - tf.float32, tf.as_dtype, tf.DType, ...
from flowsaver.format.config_protos import (ConfigProto, GPUOptions, GraphOptions,  # noqa: F401
                                            OptimizerOptions, RunMetadata, RunOptions)
from flowsaver.graph.graph import (Graph, GraphKeys, get_default_graph,
                                   get_default_session, reset_default_graph)
from flowsaver.graph.operation import Operation, Tensor
from flowsaver.graph.tensor_shape import Dimension, TensorShape
from flowsaver.ops.array.api import *  # noqa: F401,F403
from flowsaver.ops.control_flow.api import (case, cond, foldl, foldr, group,  # noqa: A004
                                            map_fn, no_op, scan, tuple, while_loop,
                                            with_dependencies)
from flowsaver.ops.data_flow.api import TensorArray
from flowsaver.ops.nn.sort import argsort, sort
from flowsaver.ops.autodiff.gradients import AggregationMethod
from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
from flowsaver.ops.importer import import_graph_def
from flowsaver.ops.state.init_ops import (constant_initializer, glorot_normal_initializer,
                                    glorot_uniform_initializer, ones_initializer,
                                    random_normal_initializer, random_uniform_initializer,
                                    truncated_normal_initializer,
                                    variance_scaling_initializer, zeros_initializer)
from flowsaver.ops.math.api import *  # noqa: F401,F403
from flowsaver.ops.math.special import cos, div_no_nan, erf, log1p, sin  # noqa: F401
from flowsaver.ops.logging.api import *  # noqa: F401,F403
from flowsaver.ops.logging.api import print_v2 as print  # noqa: F401,A004 - tf.print
from flowsaver.ops.op_builder import constant, convert_to_tensor
from flowsaver.ops.state.partitioned import (PartitionedVariable, fixed_size_partitioner,
                                       min_max_variable_partitioner,
                                       variable_axis_size_partitioner)
from flowsaver.ops.image.geometry import random_crop
from flowsaver.ops.random.api import (multinomial, random_gamma, random_normal,
                                      random_poisson, random_shuffle, random_uniform,
                                      set_random_seed, truncated_normal)
from flowsaver.ops.state.api import (assign, assign_add, assign_sub, is_variable_initialized,
                                     scatter_add, scatter_div, scatter_max, scatter_min,
                                     scatter_mul, scatter_sub, scatter_update)
from flowsaver.ops.state.variable_scope import (AUTO_REUSE, VariableScope, get_variable,
                                          get_variable_scope, variable_scope)
from flowsaver.ops.state.variables import (Variable, all_variables, global_variables,
                                     global_variables_initializer, initialize_all_variables,
                                     initialize_local_variables, initialize_variables,
                                     local_variables, local_variables_initializer,
                                     model_variables, trainable_variables,
                                     variables_initializer)
from flowsaver.ops.scope_api import (add_to_collection, add_to_collections,
                                     colocate_with, control_dependencies, device,
                                     get_collection, get_collection_ref, name_scope,
                                     report_uninitialized_variables)
from flowsaver.runtime.fetches import IndexedSlicesValue
from flowsaver.runtime.session import InteractiveSession, Session
from flowsaver import (compat, debugging, initializers, linalg, logging, math,  # noqa: E402
                       nn, random, raw_ops, test, train)
from flowsaver.compat import (disable_control_flow_v2, disable_eager_execution,  # noqa: E402
                              disable_resource_variables, disable_v2_behavior,
                              enable_eager_execution, enable_resource_variables,
                              enable_v2_behavior, executing_eagerly,
                              resource_variables_enabled)
from flowsaver.ops.autodiff.gradients import gradients  # noqa: E402
from flowsaver import dtypes  # noqa: E402,F811

from flowsaver.ops.io.parsing import (FixedLenFeature, FixedLenSequenceFeature,  # noqa: E402
                                      VarLenFeature, decode_csv, decode_raw, parse_example,
                                      parse_single_example, parse_single_sequence_example,
                                      read_file, write_file)
from flowsaver.ops.sparse.api import (SparseTensor, SparseTensorValue,  # noqa: E402
                                      sparse_tensor_to_dense)
from flowsaver import io, python_io, sparse  # noqa: E402
from flowsaver.format.event_protos import (Event, HistogramProto, LogMessage,  # noqa: E402
                                           SessionLog, Summary, SummaryMetadata)
from flowsaver import summary  # noqa: E402
from flowsaver import data  # noqa: E402
from flowsaver import image  # noqa: E402
from flowsaver.ops.queue.api import (FIFOQueue, PaddingFIFOQueue, QueueBase,  # noqa: E402
                                     RandomShuffleQueue)
from flowsaver.train.queue_runner import start_queue_runners  # noqa: E402
from flowsaver.ops.queue.readers import (FixedLengthRecordReader, ReaderBase,  # noqa: E402
                                         TextLineReader, TFRecordReader, WholeFileReader)
from flowsaver import gfile, graph_util, saved_model  # noqa: E402
from flowsaver.format.graph_protos import (AttrValue, GraphDef, MetaGraphDef,  # noqa: E402
                                           NameAttrList, NodeDef, SignatureDef, TensorInfo)
from flowsaver.train.saved_model_builder import tables_initializer  # noqa: E402
