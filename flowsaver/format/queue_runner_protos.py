"""``QueueRunnerDef``: how a metagraph's ``queue_runners`` collection stores a queue runner
(op names of its queue, enqueue, close and cancel ops), with TensorFlow's field numbers.

    1 queue_name string, 2 enqueue_op_name repeated string, 3 close_op_name string,
    4 cancel_op_name string, 5 queue_closed_exception_types repeated error code

Field 5 is TensorFlow's error-code enum; it is declared here as int32, which has the same
wire encoding (packed varints), holding the codes of flowsaver/errors.py.
"""
from __future__ import annotations

from flowsaver.format.proto_builder import build

_queue_runner = build("flowsaver/queue_runner.proto", "tensorflow", {}, {
    "QueueRunnerDef": ["1 queue_name string", "2 enqueue_op_name repeated string",
                       "3 close_op_name string", "4 cancel_op_name string",
                       "5 queue_closed_exception_types repeated int32"],
})

QueueRunnerDef = _queue_runner["QueueRunnerDef"]
