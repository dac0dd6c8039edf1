"""``tf.train``: checkpoint reading and the checkpoint state file."""
from flowsaver.format.example_protos import (BytesList, Example, Feature, FeatureList,
                                             FeatureLists, Features, FloatList, Int64List,
                                             SequenceExample)
from flowsaver.format.graph_protos import SaverDef
from flowsaver.format.state import (checkpoint_exists, generate_checkpoint_state_proto,
                                    get_checkpoint_mtimes, get_checkpoint_state,
                                    latest_checkpoint, remove_checkpoint,
                                    update_checkpoint_state)
from flowsaver.format.shared_checkpoint import merge_shards, write_shard
from flowsaver.train.checkpoint_manager import CheckpointManager
from flowsaver.train.checkpoint_utils import list_variables, load_checkpoint, load_variable
from flowsaver.train.init_from_checkpoint import init_from_checkpoint
from flowsaver.train.learning_rate_decay import (cosine_decay, inverse_time_decay,
                                                 natural_exp_decay, piecewise_constant,
                                                 polynomial_decay)
from flowsaver.train.meta_graph import export_meta_graph, write_graph
from flowsaver.train.meta_graph_import import import_meta_graph
from flowsaver.train.more_optimizers import AdadeltaOptimizer, FtrlOptimizer
from flowsaver.train.optimizer import Optimizer
from flowsaver.train.optimizers import (AdagradOptimizer, AdamOptimizer,
                                        GradientDescentOptimizer, MomentumOptimizer,
                                        RMSPropOptimizer)
from flowsaver.train.coordinator import Coordinator
from flowsaver.train.input import (batch, input_producer, limit_epochs, range_input_producer,
                                   shuffle_batch, slice_input_producer, string_input_producer)
from flowsaver.train.queue_runner import QueueRunner, add_queue_runner, start_queue_runners
from flowsaver.train.saver import Saver
from flowsaver.train.scaffold import Scaffold
from flowsaver.train.summary_writer import summary_iterator
from flowsaver.train.training_util import (create_global_step, exponential_decay,
                                           get_global_step, get_or_create_global_step)

NewCheckpointReader = load_checkpoint

__all__ = [
    "BytesList", "Example", "Feature", "FeatureList", "FeatureLists", "Features", "FloatList",
    "Int64List", "SequenceExample", "summary_iterator", "Coordinator", "QueueRunner",
    "add_queue_runner", "batch", "input_producer", "limit_epochs", "range_input_producer",
    "shuffle_batch", "slice_input_producer", "start_queue_runners", "string_input_producer",
    "AdadeltaOptimizer", "FtrlOptimizer", "init_from_checkpoint", "cosine_decay", "piecewise_constant",
    "inverse_time_decay", "natural_exp_decay", "polynomial_decay", "Scaffold",
    "AdagradOptimizer", "AdamOptimizer", "GradientDescentOptimizer", "MomentumOptimizer",
    "Optimizer", "RMSPropOptimizer", "create_global_step", "exponential_decay",
    "get_global_step", "get_or_create_global_step",
    "CheckpointManager", "merge_shards", "write_shard", "NewCheckpointReader", "Saver", "SaverDef", "checkpoint_exists", "export_meta_graph", "import_meta_graph", "write_graph", "generate_checkpoint_state_proto",
    "get_checkpoint_mtimes", "get_checkpoint_state", "latest_checkpoint", "list_variables",
    "load_checkpoint", "load_variable", "remove_checkpoint", "update_checkpoint_state",
]
