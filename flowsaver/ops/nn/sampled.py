"""``tf.nn.nce_loss`` and ``tf.nn.sampled_softmax_loss``: losses over the true classes and
a sample of the others, laid out as TensorFlow builds them.

Both gather the rows of the true and sampled classes from ``weights``/``biases`` (one
embedding lookup each, partitioned tables allowed), score them against ``inputs``, and
subtract the log of each class's expected count. Without ``sampled_values`` the classes
come from ``LogUniformCandidateSampler``.
"""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.nn import api as nn_ops
from flowsaver.ops.nn.embedding import embedding_lookup
from flowsaver.ops.nn.logistic import sigmoid_cross_entropy_with_logits
from flowsaver.ops.op_builder import create_op, graph_of
from flowsaver.ops.random.api import get_seed
from flowsaver.ops.state.partitioned import PartitionedVariable

__all__ = ["nce_loss", "sampled_softmax_loss", "log_uniform_candidate_sampler"]


def log_uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max,
                                  seed=None, name=None):
    """(sampled classes, true classes' expected counts, sampled ones' expected counts)."""
    seed1, seed2 = get_seed(seed)
    with graph_of([true_classes]).as_default():
        return create_op("LogUniformCandidateSampler", [true_classes],
                         {"num_true": num_true, "num_sampled": num_sampled, "unique": unique,
                          "range_max": range_max, "seed": seed1 or 0, "seed2": seed2 or 0},
                         name=name)


def _sum_rows(x):
    """The sum of each row of a matrix, as a product with a column of ones."""
    cols = array_ops.shape(x)[1]
    ones = array_ops.ones(array_ops.stack([cols, 1]), x.dtype.base_dtype)
    return array_ops.reshape(math_ops.matmul(x, ones), [-1])


def _compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes,
                            num_true=1, sampled_values=None, subtract_log_q=True,
                            remove_accidental_hits=False, partition_strategy="mod",
                            name=None, seed=None):
    if isinstance(weights, PartitionedVariable):
        weights = list(weights)
    if not isinstance(weights, list):
        weights = [weights]
    g = graph_of(weights + [biases, inputs, labels])
    with g.as_default(), g.name_scope(name or "compute_sampled_logits"):
        labels = math_ops.cast(labels, "int64")
        labels_flat = array_ops.reshape(labels, [-1])
        if sampled_values is None:
            sampled_values = log_uniform_candidate_sampler(labels, num_true, num_sampled,
                                                           True, num_classes, seed)
        sampled, true_expected, sampled_expected = (array_ops.stop_gradient(s)
                                                    for s in sampled_values)
        sampled = math_ops.cast(sampled, "int64")
        all_ids = array_ops.concat([labels_flat, sampled], 0)
        all_w = embedding_lookup(weights, all_ids, partition_strategy=partition_strategy)
        if all_w.dtype.base_dtype != inputs.dtype.base_dtype:
            all_w = math_ops.cast(all_w, inputs.dtype.base_dtype)
        true_w = array_ops.slice(all_w, [0, 0],
                                 array_ops.stack([array_ops.shape(labels_flat)[0], -1]))
        sampled_w = array_ops.slice(
            all_w, array_ops.stack([array_ops.shape(labels_flat)[0], 0]), [-1, -1])
        sampled_logits = math_ops.matmul(inputs, sampled_w, transpose_b=True)
        all_b = embedding_lookup(biases, all_ids, partition_strategy=partition_strategy)
        if all_b.dtype.base_dtype != inputs.dtype.base_dtype:
            all_b = math_ops.cast(all_b, inputs.dtype.base_dtype)
        true_b = array_ops.slice(all_b, [0], array_ops.shape(labels_flat))
        sampled_b = array_ops.slice(all_b, array_ops.shape(labels_flat), [-1])
        dim = array_ops.shape(true_w)[1:2]
        new_true_w_shape = array_ops.concat([[-1, num_true], dim], 0)
        row_wise_dots = math_ops.multiply(array_ops.expand_dims(inputs, 1),
                                          array_ops.reshape(true_w, new_true_w_shape))
        dots = array_ops.reshape(row_wise_dots, array_ops.concat([[-1], dim], 0))
        true_logits = array_ops.reshape(_sum_rows(dots), [-1, num_true])
        true_b = array_ops.reshape(true_b, [-1, num_true])
        true_logits += true_b
        sampled_logits += sampled_b
        if remove_accidental_hits:
            indices, ids, hit_weights = create_op("ComputeAccidentalHits", [labels, sampled],
                                                  {"num_true": num_true})
            indices_2d = array_ops.reshape(indices, [-1, 1])
            ids_2d = array_ops.reshape(math_ops.cast(ids, "int32"), [-1, 1])
            sparse_indices = array_ops.concat([indices_2d, ids_2d], 1, "sparse_indices")
            logits_shape = array_ops.concat([array_ops.shape(labels)[:1],
                                             array_ops.expand_dims(num_sampled, 0)], 0)
            if sampled_logits.dtype.base_dtype != hit_weights.dtype.base_dtype:
                hit_weights = math_ops.cast(hit_weights, sampled_logits.dtype.base_dtype)
            sampled_logits += create_op("SparseToDense",
                                        [sparse_indices, logits_shape, hit_weights, 0.0],
                                        {"validate_indices": False})
        if subtract_log_q:
            true_logits -= math_ops.log(true_expected)
            sampled_logits -= math_ops.log(sampled_expected)
        out_logits = array_ops.concat([true_logits, sampled_logits], 1)
        out_labels = array_ops.concat([array_ops.ones_like(true_logits) / num_true,
                                       array_ops.zeros_like(sampled_logits)], 1)
        return out_logits, out_labels


def nce_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1,
             sampled_values=None, remove_accidental_hits=False, partition_strategy="mod",
             name="nce_loss"):
    """Noise-contrastive estimation loss per example (Gutmann and Hyvarinen, 2010)."""
    logits, labels = _compute_sampled_logits(
        weights, biases, labels, inputs, num_sampled, num_classes, num_true=num_true,
        sampled_values=sampled_values, subtract_log_q=True,
        remove_accidental_hits=remove_accidental_hits,
        partition_strategy=partition_strategy, name=name)
    sampled_losses = sigmoid_cross_entropy_with_logits(labels=labels, logits=logits,
                                                       name="sampled_losses")
    return _sum_rows(sampled_losses)


def sampled_softmax_loss(weights, biases, labels, inputs, num_sampled, num_classes,
                         num_true=1, sampled_values=None, remove_accidental_hits=True,
                         partition_strategy="mod", name="sampled_softmax_loss", seed=None):
    """Softmax cross entropy over the true classes and a sample of the others."""
    logits, labels = _compute_sampled_logits(
        weights, biases, labels, inputs, num_sampled, num_classes, num_true=num_true,
        sampled_values=sampled_values, subtract_log_q=True,
        remove_accidental_hits=remove_accidental_hits,
        partition_strategy=partition_strategy, name=name, seed=seed)
    labels = array_ops.stop_gradient(labels, name="labels_stop_gradient")
    return nn_ops.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
