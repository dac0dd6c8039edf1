"""Private methods TF1 programs reach for anyway (estimator-era code calls them on partitioned
variables): they exist in flowsaver and answer as TensorFlow's do."""
from __future__ import annotations

from parity import build_both


def test_partitioned_variable_lists_and_partitions(tf):
    def build(api):
        return api.get_variable("table", [6, 4], partitioner=api.fixed_size_partitioner(3))

    (_, ours), (_, theirs) = build_both(tf, build)
    assert ours._get_partitions() == list(theirs._get_partitions())
    assert [v.name for v in ours._get_variable_list()] == \
        [v.name for v in theirs._get_variable_list()]

