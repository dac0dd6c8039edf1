"""``tf.test``: ``TestCase`` and ``main`` for TensorFlow 1.x style test files.

A repository's own tests written against ``tf.test.TestCase`` run unchanged: each test
starts with a fresh default graph and TensorFlow's default seeds; ``self.session()`` opens
a session on it (``cached_session()``/``test_session()`` reuse one per test);
``self.evaluate`` runs tensors; ``assertAllClose``, ``assertAllEqual``, ``assertAllInRange``,
``assertShapeEqual``, ``assertRaisesOpError`` and their relatives compare values the way
TensorFlow's do (NaNs equal, nested structures walked). ``tf.test.main()`` runs the file's
tests with unittest, and pytest collects the same classes.
"""
from __future__ import annotations

import contextlib
import math
import random
import re
import tempfile
import unittest
from collections.abc import Mapping

import numpy as np

from flowsaver import errors
from flowsaver.graph.graph import get_default_graph, get_default_session, reset_default_graph
from flowsaver.graph.operation import Tensor

# TensorFlow's test seed (random_seed.DEFAULT_GRAPH_SEED).
DEFAULT_GRAPH_SEED = 87654321
_TEMP_ROOT: list = []

__all__ = ["TestCase", "main", "get_temp_dir", "is_gpu_available", "gpu_device_name",
           "is_built_with_cuda", "is_built_with_gpu_support", "compute_gradient",
           "compute_gradient_error"]


def main(argv=None):
    """Run the calling module's tests (``unittest.main``), as ``tf.test.main()`` does."""
    return unittest.main(module="__main__", argv=argv)


def get_temp_dir() -> str:
    """A temporary directory kept for the whole process."""
    if not _TEMP_ROOT:
        _TEMP_ROOT.append(tempfile.mkdtemp(prefix="flowsaver_test_"))
    return _TEMP_ROOT[0]


def is_gpu_available(cuda_only=False, min_cuda_compute_capability=None) -> bool:
    """flowsaver runs on the CPU: always False."""
    return False


def gpu_device_name() -> str:
    return ""


def is_built_with_cuda() -> bool:
    return False


def is_built_with_gpu_support() -> bool:
    return False


def _session_class():
    from flowsaver.runtime.session import Session
    return Session


class TestCase(unittest.TestCase):
    """TensorFlow's ``tf.test.TestCase`` for graph-mode tests."""

    _set_default_seed = True

    def __init__(self, methodName="runTest"):  # noqa: N803 - unittest's name
        super().__init__(methodName)
        self._cached_session = None
        self._cached_graph = None
        self._tempdir = None

    # ---- lifetime ---------------------------------------------------------------------------
    def setUp(self):
        super().setUp()
        self._clear_cached_session()
        random.seed(DEFAULT_GRAPH_SEED)
        np.random.seed(DEFAULT_GRAPH_SEED)
        reset_default_graph()
        if self._set_default_seed:
            from flowsaver.ops.random.api import set_random_seed
            set_random_seed(DEFAULT_GRAPH_SEED)
        if self.id().endswith(".test_session"):
            self.skipTest("Not a test.")

    def tearDown(self):
        self._clear_cached_session()
        super().tearDown()

    def _clear_cached_session(self):
        if self._cached_session is not None:
            self._cached_session.close()
        self._cached_session = None
        self._cached_graph = None

    def get_temp_dir(self) -> str:
        """A temporary directory for this test case."""
        if not self._tempdir:
            self._tempdir = tempfile.mkdtemp(dir=get_temp_dir())
        return self._tempdir

    # ---- sessions ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _as_default(self, sess, use_gpu):
        with sess.graph.as_default(), sess.as_default():
            if use_gpu:
                yield sess
            else:
                with sess.graph.device("/device:CPU:0"):
                    yield sess

    @contextlib.contextmanager
    def session(self, graph=None, config=None, use_gpu=True, force_gpu=False):
        """A new session on ``graph`` (default: the default graph), made the default."""
        if force_gpu:
            self.skipTest("flowsaver has no GPU")
        with _session_class()(graph=graph, config=config) as sess:
            with self._as_default(sess, use_gpu):
                yield sess

    @contextlib.contextmanager
    def cached_session(self, graph=None, config=None, use_gpu=True, force_gpu=False):
        """One session per test, reused by later calls with the same graph."""
        sess = self._get_cached_session(graph, config, strict=True)
        with self._as_default(sess, use_gpu) as cached:
            yield cached

    @contextlib.contextmanager
    def test_session(self, graph=None, config=None, use_gpu=True, force_gpu=False):
        """The deprecated name of ``cached_session`` (a new one for an explicit graph)."""
        if self.id().endswith(".test_session"):
            self.skipTest('Tests that have the name "test_session" are automatically skipped '
                          'by TensorFlow test fixture, as the name is reserved for creating '
                          'sessions within tests. Please rename your test if you have a test '
                          'with this name.')
        if graph is None:
            sess = self._get_cached_session(graph, config, strict=False)
            with self._as_default(sess, use_gpu) as cached:
                yield cached
        else:
            with self.session(graph, config, use_gpu, force_gpu) as sess:
                yield sess

    def _get_cached_session(self, graph, config, strict: bool):
        if self._cached_session is None:
            self._cached_session = _session_class()(graph=graph, config=config)
            self._cached_graph = graph
        elif strict and graph is not None and graph is not self._cached_graph:
            raise ValueError("The graph used to get the cached session is different than "
                             "the one that was used to create the session. Maybe create a "
                             "new session with self.session()")
        return self._cached_session

    def evaluate(self, tensors):
        """The values of ``tensors`` (any nesting), run in the default session."""
        sess = get_default_session()
        if sess is None:
            with self.test_session() as sess:
                return sess.run(tensors)
        return sess.run(tensors)

    # ---- values ----------------------------------------------------------------------------
    def _ndarray(self, a):
        return a if isinstance(a, np.ndarray) else np.array(a)

    def _evaluate_if_both_tensors(self, a, b):
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            return self.evaluate((a, b))
        return a, b

    def _assert_array_close(self, a, b, rtol, atol, msg):
        a, b = self._evaluate_if_both_tensors(a, b)
        a, b = self._ndarray(a), self._ndarray(b)
        self.assertEqual(a.shape, b.shape, f"Shape mismatch: expected {a.shape}, got "
                                           f"{b.shape}.")
        if a.dtype.itemsize == 2 and a.dtype.kind == "V":  # bfloat16
            a = a.astype(np.float32)
        if b.dtype.itemsize == 2 and b.dtype.kind == "V":
            b = b.astype(np.float32)
        if not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True,
                                       err_msg=msg or "")

    def _assert_close_recursive(self, a, b, rtol, atol, path, msg):
        where = "".join(f"[{p}]" for p in path)
        if hasattr(a, "_asdict"):
            a = a._asdict()
        if hasattr(b, "_asdict"):
            b = b._asdict()
        if isinstance(a, Mapping) != isinstance(b, Mapping):
            raise ValueError(f"Can't compare dict to non-dict, a{where} vs b{where}. {msg or ''}")
        if isinstance(a, Mapping):
            self.assertCountEqual(a.keys(), b.keys(), f"mismatched keys: a{where} has keys "
                                                      f"{a.keys()}, but b{where} has keys "
                                                      f"{b.keys()}. {msg or ''}")
            for k in a:
                self._assert_close_recursive(a[k], b[k], rtol, atol, path + [k], msg)
            return
        text = f"Mismatched value: a{where} is different from b{where}. {msg or ''}"
        if isinstance(a, (list, tuple)):
            try:
                self._assert_array_close(a, b, rtol, atol, text)
                return
            except (ValueError, TypeError):
                if len(a) != len(b):
                    raise ValueError(f"Mismatched length: a{where} has {len(a)} items, but "
                                     f"b{where} has {len(b)} items. {msg or ''}") from None
                for i, (x, y) in enumerate(zip(a, b)):
                    self._assert_close_recursive(x, y, rtol, atol, path + [str(i)], msg)
                return
        self._assert_array_close(a, b, rtol, atol, text)

    def assertAllClose(self, a, b, rtol=1e-6, atol=1e-6, msg=None):  # noqa: N802
        """``a`` and ``b`` (arrays, tensors, nested lists/tuples/dicts) are close."""
        self._assert_close_recursive(a, b, rtol, atol, [], msg)

    def assertAllCloseAccordingToType(self, a, b, rtol=1e-6, atol=1e-6,  # noqa: N802
                                      float_rtol=1e-6, float_atol=1e-6, half_rtol=1e-3,
                                      half_atol=1e-3, bfloat16_rtol=1e-2, bfloat16_atol=1e-2,
                                      msg=None):
        """``assertAllClose`` with tolerances loosened for the operands' float type."""
        a, b = self._evaluate_if_both_tensors(a, b)
        a, b = self._ndarray(a), self._ndarray(b)
        kinds = {a.dtype, b.dtype}
        if kinds & {np.dtype(np.float32), np.dtype(np.complex64)}:
            rtol, atol = max(rtol, float_rtol), max(atol, float_atol)
        if np.dtype(np.float16) in kinds:
            rtol, atol = max(rtol, half_rtol), max(atol, half_atol)
        if any(d.kind == "V" and d.itemsize == 2 for d in kinds):
            rtol, atol = max(rtol, bfloat16_rtol), max(atol, bfloat16_atol)
        self.assertAllClose(a, b, rtol=rtol, atol=atol, msg=msg)

    def assertNotAllClose(self, a, b, rtol=1e-6, atol=1e-6, msg=None):  # noqa: N802
        try:
            self.assertAllClose(a, b, rtol=rtol, atol=atol, msg=msg)
        except AssertionError:
            return
        self.fail(msg or "The two values are close at all elements")

    def assertAllEqual(self, a, b, msg=None):  # noqa: N802
        """``a`` and ``b`` have the same shape and equal elements (NaN equals NaN)."""
        a, b = self._evaluate_if_both_tensors(a, b)
        a, b = self._ndarray(a), self._ndarray(b)
        self.assertEqual(a.shape, b.shape, f"Shape mismatch: expected {a.shape}, got "
                                           f"{b.shape}. Contents: {b!r}. \n{msg or ''}.")
        same = a == b
        if a.dtype.kind == "f":
            same = np.logical_or(same, np.logical_and(np.isnan(a), np.isnan(b)))
        if not np.all(same):
            np.testing.assert_array_equal(a, b, err_msg=msg or "")

    def assertNotAllEqual(self, a, b, msg=None):  # noqa: N802
        try:
            self.assertAllEqual(a, b)
        except AssertionError:
            return
        self.fail(msg or "The two values are equal at all elements")

    def _compare_all(self, a, target, op, text):
        a = self._ndarray(self.evaluate(a) if isinstance(a, Tensor) else a)
        self.assertTrue(np.all(op(a, target)), f"{a} is not {text} {target}")

    def assertAllGreater(self, a, comparison_target):  # noqa: N802
        self._compare_all(a, comparison_target, np.greater, "greater than")

    def assertAllLess(self, a, comparison_target):  # noqa: N802
        self._compare_all(a, comparison_target, np.less, "less than")

    def assertAllGreaterEqual(self, a, comparison_target):  # noqa: N802
        self._compare_all(a, comparison_target, np.greater_equal, "greater than or equal to")

    def assertAllLessEqual(self, a, comparison_target):  # noqa: N802
        self._compare_all(a, comparison_target, np.less_equal, "less than or equal to")

    def assertAllInRange(self, target, lower_bound, upper_bound,  # noqa: N802
                         open_lower_bound=False, open_upper_bound=False):
        """Every element lies between the bounds (closed unless said open), none NaN."""
        target = self._ndarray(self.evaluate(target) if isinstance(target, Tensor) else target)
        if not (np.issubdtype(target.dtype, np.floating) or
                np.issubdtype(target.dtype, np.integer)):
            raise AssertionError(f"The value of {target} does not have an ordered numeric "
                                 f"type, instead it has type: {target.dtype}")
        nans = np.argwhere(np.isnan(target)) if target.dtype.kind == "f" else []
        if len(nans):
            raise AssertionError(f"{len(nans)} of the {target.size} element(s) are NaN. "
                                 f"Subscripts(s) of the NaN element(s): {nans.tolist()}")
        below = target <= lower_bound if open_lower_bound else target < lower_bound
        above = target >= upper_bound if open_upper_bound else target > upper_bound
        bad = np.argwhere(np.logical_or(below, above))
        if len(bad):
            bounds = (("(" if open_lower_bound else "[") + f"{lower_bound}, {upper_bound}" +
                      (")" if open_upper_bound else "]"))
            raise AssertionError(f"{len(bad)} of the {target.size} element(s) are outside "
                                 f"the range {bounds}. Subscript(s) of the offending "
                                 f"element(s): {bad.tolist()}")

    def assertAllInSet(self, target, expected_set):  # noqa: N802
        target = self._ndarray(self.evaluate(target) if isinstance(target, Tensor) else target)
        diff = set(np.unique(target).tolist()) - set(expected_set)
        if diff:
            raise AssertionError(f"{len(diff)} unique element(s) are not in the set "
                                 f"{expected_set}: {sorted(diff)}")

    def assertDTypeEqual(self, target, expected_dtype):  # noqa: N802
        target = self._ndarray(target)
        self.assertEqual(target.dtype, np.dtype(expected_dtype))

    def assertShapeEqual(self, np_array, tf_tensor, msg=None):  # noqa: N802
        """The NumPy array's shape equals the tensor's static shape."""
        if not isinstance(np_array, (np.ndarray, np.generic)):
            raise TypeError("np_array must be a Numpy ndarray or Numpy scalar")
        if not isinstance(tf_tensor, Tensor):
            raise TypeError("tf_tensor must be a Tensor")
        self.assertAllEqual(np_array.shape, tf_tensor.shape.as_list(), msg=msg)

    def assertNear(self, f1, f2, err, msg=None):  # noqa: N802
        self.assertTrue(f1 == f2 or math.fabs(f1 - f2) <= err,
                        "%f != %f +/- %f%s" % (f1, f2, err,
                                               f" ({msg})" if msg is not None else ""))

    def assertArrayNear(self, farray1, farray2, err, msg=None):  # noqa: N802
        self.assertEqual(len(farray1), len(farray2), msg=msg)
        for f1, f2 in zip(farray1, farray2):
            self.assertNear(float(f1), float(f2), err, msg=msg)

    def assertNDArrayNear(self, ndarray1, ndarray2, err, msg=None):  # noqa: N802
        self.assertTrue(np.linalg.norm(ndarray1 - ndarray2) < err, msg=msg)

    def assertItemsEqual(self, expected_seq, actual_seq, msg=None):  # noqa: N802
        return self.assertCountEqual(expected_seq, actual_seq, msg=msg)

    def assertStartsWith(self, actual, expected_start, msg=None):  # noqa: N802
        if not actual.startswith(expected_start):
            self.fail(msg or f"{actual!r} does not start with {expected_start!r}")

    def assertProtoEquals(self, expected_message_maybe_ascii, message, msg=None):  # noqa: N802
        """``message`` equals the expected message, given as a message or text format."""
        from google.protobuf import text_format
        expected = expected_message_maybe_ascii
        if isinstance(expected, (str, bytes)):
            expected = text_format.Parse(expected, type(message)())
        self.assertEqual(expected, message, msg)

    # ---- errors ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def assertRaisesWithPredicateMatch(self, exception_type,  # noqa: N802
                                       expected_err_re_or_predicate):
        """The block raises ``exception_type`` whose message matches the pattern (or for
        which the predicate holds)."""
        if callable(expected_err_re_or_predicate):
            predicate = expected_err_re_or_predicate
        else:
            def predicate(e):
                text = e.message if isinstance(e, errors.OpError) else str(e)
                return re.search(expected_err_re_or_predicate, text)
        try:
            yield
            self.fail(exception_type.__name__ + " not raised")
        except Exception as e:  # noqa: BLE001 - re-raised unless it is the expected one
            if not isinstance(e, exception_type) or not predicate(e):
                raise AssertionError(f"Exception of type {type(e)}: {e}") from e

    def assertRaisesOpError(self, expected_err_re_or_predicate):  # noqa: N802
        """The block fails with an OpError (a TensorFlow error) matching the pattern."""
        return self.assertRaisesWithPredicateMatch(errors.OpError,
                                                   expected_err_re_or_predicate)


# ---- numeric gradient checks (TF1's tf.test.compute_gradient) -------------------------------
def compute_gradient(x, x_shape, y, y_shape, x_init_value=None, delta=1e-3,
                     init_targets=None, extra_feed_dict=None):
    """``(theoretical, numerical)`` Jacobians of ``y`` with respect to ``x``, each of shape
    ``[x size, y size]``, in the default session."""
    from flowsaver.ops.array.api import placeholder
    from flowsaver.ops.autodiff.gradients import gradients
    sess = get_default_session()
    if sess is None:
        raise ValueError("compute_gradient needs a default session (use `with "
                         "tf.Session():` or self.session())")
    if init_targets is not None:
        sess.run(init_targets)
    feed = dict(extra_feed_dict or {})
    dtype = x.dtype.base_dtype.as_numpy_dtype
    x_value = np.asarray(x_init_value if x_init_value is not None else
                         np.random.random_sample(x_shape), dtype=dtype)
    x_size, y_size = int(np.prod(x_shape)), int(np.prod(y_shape))
    with get_default_graph().as_default():
        dy = placeholder(y.dtype.base_dtype, y_shape)
        grad = gradients(y, x, grad_ys=dy)[0]
    theoretical = np.zeros((x_size, y_size), dtype)
    for j in range(y_size):
        seed = np.zeros(y_size, dtype)
        seed[j] = 1
        g = sess.run(grad, {**feed, x: x_value, dy: seed.reshape(y_shape)})
        theoretical[:, j] = np.reshape(np.asarray(g), -1)
    numerical = np.zeros((x_size, y_size), dtype)
    flat = x_value.reshape(-1)
    for i in range(x_size):
        moved = flat.copy()
        moved[i] += delta
        up = sess.run(y, {**feed, x: moved.reshape(x_shape)})
        moved[i] -= 2 * delta
        down = sess.run(y, {**feed, x: moved.reshape(x_shape)})
        numerical[i, :] = np.reshape((np.asarray(up) - np.asarray(down)) / (2 * delta), -1)
    return theoretical, numerical


def compute_gradient_error(x, x_shape, y, y_shape, x_init_value=None, delta=1e-3,
                           init_targets=None, extra_feed_dict=None) -> float:
    """The largest difference between the theoretical and numerical Jacobians."""
    theoretical, numerical = compute_gradient(x, x_shape, y, y_shape, x_init_value, delta,
                                              init_targets, extra_feed_dict)
    return float(np.max(np.abs(theoretical - numerical))) if theoretical.size else 0.0
