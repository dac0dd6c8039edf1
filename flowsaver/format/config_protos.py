"""Session configuration messages with TensorFlow's names and field numbers:
``ConfigProto``, ``GPUOptions``, ``GraphOptions``, ``OptimizerOptions``, ``RunOptions``,
``RunMetadata`` and what they hold.

They are what TF1 programs pass to ``tf.Session(config=...)`` and ``Session.run(options=...,
run_metadata=...)``, and what TF writes into serialized configs. Field numbers were read
from TensorFlow's runtime descriptors (``tensorflow/core/protobuf/config.proto``);
``tests/interop/test_config_protos_tf.py`` compares every field with them. Parts a
flowsaver session never uses are left out and survive parsing as unknown fields: the
cluster definition, the graph rewriter's options, GPU virtual devices and stream merging,
coordination service and run-handler pool settings, debug watches, step statistics and
cost graphs.

Usage: ``from flowsaver.format.config_protos import ConfigProto``.
"""
from __future__ import annotations

from flowsaver.format import graph_protos as _graph  # noqa: F401 - builds graph.proto first
from flowsaver.format.proto_builder import build

_ENUMS = {
    "OptimizerOptions.Level": {"L1": 0, "L0": -1},
    "OptimizerOptions.GlobalJitLevel": {"DEFAULT": 0, "OFF": -1, "ON_1": 1, "ON_2": 2},
    "ConfigProto.Experimental.MlirBridgeRollout": {
        "MLIR_BRIDGE_ROLLOUT_UNSPECIFIED": 0, "MLIR_BRIDGE_ROLLOUT_ENABLED": 1,
        "MLIR_BRIDGE_ROLLOUT_DISABLED": 2},
    "RunOptions.TraceLevel": {"NO_TRACE": 0, "SOFTWARE_TRACE": 1, "HARDWARE_TRACE": 2,
                              "FULL_TRACE": 3},
}

_config = build("flowsaver/config.proto", "tensorflow", _ENUMS, {
    "GPUOptions": [
        "1 per_process_gpu_memory_fraction double", "4 allow_growth bool",
        "2 allocator_type string", "3 deferred_deletion_bytes int64",
        "5 visible_device_list string", "6 polling_active_delay_usecs int32",
        "7 polling_inactive_delay_msecs int32", "8 force_gpu_compatible bool",
        "9 experimental GPUOptions.Experimental",
    ],
    "GPUOptions.Experimental": [
        "15 num_virtual_devices_per_gpu int32", "2 use_unified_memory bool",
        "3 num_dev_to_dev_copy_streams int32", "4 collective_ring_order string",
        "5 timestamped_allocator bool", "7 kernel_tracker_max_interval int32",
        "8 kernel_tracker_max_bytes int32", "9 kernel_tracker_max_pending int32",
        "10 internal_fragmentation_fraction double", "11 use_cuda_malloc_async bool",
        "12 disallow_retry_on_allocation_failure bool", "13 gpu_host_mem_limit_in_mb float",
        "14 gpu_host_mem_disallow_growth bool", "16 gpu_system_memory_size_in_mb int32",
        "17 populate_pjrt_gpu_client_creation_info bool", "18 node_id int32",
    ],
    "OptimizerOptions": [
        "1 do_common_subexpression_elimination bool", "2 do_constant_folding bool",
        "6 max_folded_constant_in_bytes int64", "4 do_function_inlining bool",
        "3 opt_level OptimizerOptions.Level",
        "5 global_jit_level OptimizerOptions.GlobalJitLevel", "7 cpu_global_jit bool",
    ],
    "GraphOptions": [
        "2 enable_recv_scheduling bool", "3 optimizer_options OptimizerOptions",
        "4 build_cost_model int64", "9 build_cost_model_after int64", "5 infer_shapes bool",
        "6 place_pruned_graph bool", "7 enable_bfloat16_sendrecv bool",
        "8 timeline_step int32",
    ],
    "ThreadPoolOptionProto": ["1 num_threads int32", "2 global_name string"],
    "RPCOptions": [
        "1 use_rpc_for_inprocess_master bool", "2 compression_algorithm string",
        "3 compression_level int32", "4 cache_rpc_response bool",
        "5 disable_session_connection_sharing bool", "6 num_channels_per_target int32",
    ],
    "SessionMetadata": ["1 name string", "2 version int64"],
    "ConfigProto": [
        "1 device_count map<string,int32>", "2 intra_op_parallelism_threads int32",
        "5 inter_op_parallelism_threads int32", "9 use_per_session_threads bool",
        "12 session_inter_op_thread_pool repeated ThreadPoolOptionProto",
        "3 placement_period int32", "4 device_filters repeated string",
        "6 gpu_options GPUOptions", "18 pluggable_device_options GPUOptions",
        "7 allow_soft_placement bool", "8 log_device_placement bool",
        "10 graph_options GraphOptions", "11 operation_timeout_in_ms int64",
        "13 rpc_options RPCOptions", "15 isolate_session_state bool",
        "17 share_cluster_devices_in_session bool", "16 experimental ConfigProto.Experimental",
    ],
    "ConfigProto.Experimental": [
        "1 collective_group_leader string", "3 executor_type string",
        "4 recv_buf_max_chunk int32", "5 use_numa_affinity bool",
        "6 collective_deterministic_sequential_execution bool", "7 collective_nccl bool",
        "8 share_session_state_in_clusterspec_propagation bool",
        "9 disable_thread_spinning bool", "10 share_cluster_devices_in_session bool",
        "11 session_metadata SessionMetadata", "12 optimize_for_static_graph bool",
        "13 enable_mlir_bridge bool",
        "17 mlir_bridge_rollout ConfigProto.Experimental.MlirBridgeRollout",
        "16 enable_mlir_graph_optimization bool", "14 disable_output_partition_graphs bool",
        "15 xla_fusion_autotuner_thresh int64", "18 use_tfrt bool", "27 enable_multi_host bool",
        "32 tfrt_use_ifrt bool", "28 backend_server_port int32", "29 target_tpu bool",
        "30 target_gpu bool", "31 stream_merge_threshold int32",
        "21 disable_functional_ops_lowering bool", "22 xla_prefer_single_graph_cluster bool",
        "24 disable_optimize_for_static_graph bool",
        "26 disable_eager_executor_streaming_enqueue bool",
        "33 finalize_function_library_runtime bool", "34 finalize_resource_manager bool",
        "35 tf2xla_dump_dir string", "36 online_cost_analysis bool",
    ],
    "RunOptions": [
        "1 trace_level RunOptions.TraceLevel", "2 timeout_in_ms int64",
        "3 inter_op_thread_pool int32", "5 output_partition_graphs bool",
        "7 report_tensor_allocations_upon_oom bool", "8 experimental RunOptions.Experimental",
    ],
    "RunOptions.Experimental": ["1 collective_graph_key int64", "2 use_run_handler_pool bool"],
    "RunMetadata": [
        "3 partition_graphs repeated GraphDef",
        "4 function_graphs repeated RunMetadata.FunctionGraphs",
        "5 session_metadata SessionMetadata",
    ],
    "RunMetadata.FunctionGraphs": [
        "1 partition_graphs repeated GraphDef", "2 pre_optimization_graph GraphDef",
        "3 post_optimization_graph GraphDef",
    ],
}, deps=["flowsaver/graph.proto"])

GPUOptions = _config["GPUOptions"]
OptimizerOptions = _config["OptimizerOptions"]
GraphOptions = _config["GraphOptions"]
ThreadPoolOptionProto = _config["ThreadPoolOptionProto"]
RPCOptions = _config["RPCOptions"]
SessionMetadata = _config["SessionMetadata"]
ConfigProto = _config["ConfigProto"]
RunOptions = _config["RunOptions"]
RunMetadata = _config["RunMetadata"]

# Every top-level message class, by its name in package ``tensorflow``.
MESSAGES = {name: cls for name, cls in _config.items() if "." not in name}
