"""``tf.case`` as TensorFlow 1.x builds it: nested ``tf.cond``s, first predicate outermost.

``case([(p0, f0), (p1, f1), ...], default)`` under scope ``case/`` is
``cond(p0, f0, lambda: cond(p1, f1, ... default))``: each later conditional is built
inside the false branch of the one before. Without a ``default`` the last pair becomes
the default, guarded by two ``Assert``s (none of the other predicates is true; its own
predicate is). With ``exclusive=True`` the whole chain runs after an ``Assert`` that at
most one predicate is true (``preds_c`` stacked, cast to int32 and summed).
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops.array.basic import stack
from flowsaver.ops.control_flow.cond import cond
from flowsaver.ops.logging.checks import Assert
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import constant, graph_of

__all__ = ["case"]


def _assert_at_most_n_true(predicates, n: int, msg: str):
    preds_c = stack(list(predicates), name="preds_c")
    true_count = math_ops.reduce_sum(math_ops.cast(preds_c, "int32"), name="num_true_conds")
    condition = math_ops.less_equal(true_count, constant(n, name="n_true_conds"))
    names = ", ".join(getattr(p, "name", "?") for p in predicates)
    data = [f"{msg}: more than {n} conditions ({names}) evaluated as True:", preds_c]
    return Assert(condition, data=data, summarize=len(predicates))


def _default_from_last(predicates, actions):
    """The last pair as the default action, asserting that it alone holds."""
    last, action = predicates[-1], actions[-1]
    others, other_actions = predicates[:-1], actions[:-1]
    k = len(predicates) - 1

    def default_action():
        others_msg = (f"Implementation error: selected default action #{k} was called, but "
                      f"some of other predicates are True: ")
        default_msg = ("Input error: None of conditions evaluated as True:",
                       stack(list(predicates), name="preds_c"))
        graph = graph_of([last])
        with graph.control_dependencies([
                _assert_at_most_n_true(others, n=0, msg=others_msg),
                Assert(last, data=default_msg)]):
            return action()
    return default_action, others, other_actions


def _checked_pairs(pred_fn_pairs, exclusive: bool):
    if not isinstance(pred_fn_pairs, (list, tuple, dict)):
        raise TypeError(f"'pred_fn_pairs' must be a list, tuple, or dict. Received: "
                        f"{type(pred_fn_pairs)}")
    if isinstance(pred_fn_pairs, dict):
        # a plain dict's order is not the program's: TensorFlow sorts by predicate name
        pred_fn_pairs = sorted(pred_fn_pairs.items(), key=lambda item: item[0].name)
    for pair in pred_fn_pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"Each entry in 'pred_fn_pairs' must be a 2-tuple. Received "
                            f"{pair}.")
        pred, fn = pair
        if not isinstance(pred, Tensor):
            raise TypeError(f"pred must be a Tensor, got: {pred}")
        if pred.dtype.base_dtype.name != "bool":
            raise TypeError(f"pred must be Tensor of type bool: {pred.name}")
        if not callable(fn):
            raise TypeError(f"fn for pred {pred.name} must be callable.")
    predicates, actions = zip(*pred_fn_pairs)
    return list(predicates), list(actions)


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """The result of the first ``fn`` whose predicate is true, else of ``default()``.

    Args:
      pred_fn_pairs: (boolean scalar tensor, callable) pairs, in order (a dict is taken in
        the order of its predicates' names).
      default: a callable for when no predicate holds; without it the last pair's ``fn``
        serves, asserted at run time.
      exclusive: assert at run time that at most one predicate is true.
    """
    predicates, actions = _checked_pairs(pred_fn_pairs, exclusive)
    graph = graph_of(predicates)
    with graph.as_default(), graph.name_scope(name or "case"):
        if default is None:
            default, predicates, actions = _default_from_last(predicates, actions)
        fn = default
        for predicate, action in reversed(list(zip(predicates, actions))):
            fn = _nested(predicate, action, fn, strict)
        if exclusive:
            with graph.control_dependencies([_assert_at_most_n_true(
                    predicates, n=1, msg="Input error: exclusive=True")]):
                return fn()
        return fn()


def _nested(predicate, true_fn, false_fn, strict):
    return lambda: cond(predicate, true_fn=true_fn, false_fn=false_fn, strict=strict)
