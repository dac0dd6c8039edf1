"""Session configuration messages against TensorFlow's: descriptor parity (names, numbers,
types, nesting, enums) for every field flowsaver models, and byte-identical serialization
both ways of configs as TF1 programs write them."""
from __future__ import annotations

import pytest

from flowsaver.format import config_protos
from test_graph_protos_tf import _compare

# TensorFlow fields flowsaver leaves out on purpose; they survive parsing as unknown fields.
NOT_MODELLED = {
    ("tensorflow.ConfigProto", "cluster_def"),
    ("tensorflow.ConfigProto.Experimental", "coordination_config"),
    ("tensorflow.GPUOptions.Experimental", "virtual_devices"),
    ("tensorflow.GPUOptions.Experimental", "stream_merge_options"),
    ("tensorflow.GraphOptions", "rewrite_options"),
    ("tensorflow.RunOptions", "debug_options"),
    ("tensorflow.RunOptions.Experimental", "run_handler_pool_options"),
    ("tensorflow.RunMetadata", "step_stats"),
    ("tensorflow.RunMetadata", "cost_graph"),
    ("tensorflow.GraphDef", "debug_info"),
    ("tensorflow.MetaGraphDef", "object_graph_def"),
    ("tensorflow.ResourceHandleProto", "dtypes_and_shapes"),
}


@pytest.fixture(scope="module")
def tf_config(tf):
    from tensorflow.core.protobuf import config_pb2
    return config_pb2


@pytest.mark.parametrize("name", sorted(config_protos.MESSAGES))
def test_message_matches_tensorflow(tf_config, name, monkeypatch):
    import test_graph_protos_tf
    monkeypatch.setattr(test_graph_protos_tf, "NOT_MODELLED", NOT_MODELLED)
    from google.protobuf import descriptor_pool
    from tensorflow.core.protobuf import rpc_options_pb2  # noqa: F401 - RPCOptions lives here
    theirs = descriptor_pool.Default().FindMessageTypeByName(f"tensorflow.{name}")
    problems: list = []
    _compare(config_protos.MESSAGES[name].DESCRIPTOR, theirs, set(), problems)
    assert not problems, "\n".join(problems)


def _configs(module):
    return [
        module.ConfigProto(log_device_placement=True, allow_soft_placement=True,
                           gpu_options=module.GPUOptions(allow_growth=True,
                                                         per_process_gpu_memory_fraction=0.4),
                           device_count={"GPU": 0, "CPU": 2},
                           intra_op_parallelism_threads=2, inter_op_parallelism_threads=1),
        module.ConfigProto(graph_options=module.GraphOptions(
            optimizer_options=module.OptimizerOptions(
                opt_level=module.OptimizerOptions.L0,
                global_jit_level=module.OptimizerOptions.ON_1))),
        module.RunOptions(trace_level=module.RunOptions.FULL_TRACE, timeout_in_ms=1000,
                          output_partition_graphs=True),
    ]


def test_configs_serialize_as_tensorflows(tf_config):
    for ours, theirs in zip(_configs(config_protos), _configs(tf_config)):
        assert ours.SerializeToString(deterministic=True) == \
            theirs.SerializeToString(deterministic=True)
        again = type(ours).FromString(theirs.SerializeToString())
        assert again == ours


def test_unmodelled_fields_survive_a_round_trip(tf_config):
    theirs = tf_config.ConfigProto(log_device_placement=True)
    theirs.graph_options.rewrite_options.constant_folding = 2
    theirs.cluster_def.job.add(name="worker")
    ours = config_protos.ConfigProto.FromString(theirs.SerializeToString())
    assert ours.log_device_placement
    assert tf_config.ConfigProto.FromString(ours.SerializeToString()) == theirs

