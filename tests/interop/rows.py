"""Op rows run in flowsaver and in TensorFlow: same GraphDef, static shapes, outputs, and
(for rows that ask) the same gradient graph and gradient values.

A row is ``row(name, fn, inputs, shapes=None, grad=False)``: ``fn(api, *placeholders)``
builds over placeholders ``in0, in1, ...`` (shapes from the inputs unless ``shapes`` says
otherwise, ``None`` meaning unknown rank). With ``grad`` the row is also differentiated:
``tf.gradients`` of the sum of its float outputs, each weighted by a fixed random tensor,
with respect to every float placeholder.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, run_both

RNG = np.random.default_rng(23)


def arr(*shape, low=-2.0, high=2.0, dtype=np.float32):
    return RNG.uniform(low, high, shape).astype(dtype)


def row(name, fn, inputs=(), shapes=None, grad=False, rtol=None):
    return pytest.param(fn, list(inputs), shapes, grad, rtol, id=name)


def _flat(fetches):
    if isinstance(fetches, (list, tuple)):
        return [t for f in fetches for t in _flat(f)]
    return [fetches]


def _static(t):
    return None if t.shape.ndims is None else t.shape.as_list()


def _placeholders(api, inputs, shapes):
    dims = shapes or [np.shape(v) for v in inputs]
    return [api.placeholder("string" if np.asarray(v).dtype == object else np.asarray(v).dtype,
                            d, name=f"in{i}") for i, (v, d) in enumerate(zip(inputs, dims))]


def _weights(fetches):
    out = []
    for t in _flat(fetches):
        shape = t.shape.as_list() if t.shape.is_fully_defined() else None
        out.append(None if shape is None else RNG.standard_normal(shape))
    return out


def check_row(tf, fn, inputs, shapes, grad, rtol=None):
    """Build ``fn`` both ways and compare GraphDefs, static shapes and values."""
    def build(api):
        return fn(api, *_placeholders(api, inputs, shapes))
    (g1, ours), (g2, theirs) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
    assert [_static(t) for t in _flat(ours)] == [_static(t) for t in _flat(theirs)]
    feeds = {f"in{i}": v for i, v in enumerate(inputs)}
    got, want = run_both(tf, build, feeds)
    assert_close(got, want, rtol=rtol)
    if grad:
        check_gradient(tf, fn, inputs, shapes, rtol)


def check_gradient(tf, fn, inputs, shapes, rtol=None):
    """The gradient graph and values of ``sum(w_i * y_i)`` match TensorFlow's."""
    weights = {}

    def build(api):
        phs = _placeholders(api, inputs, shapes)
        ys = [y for y in _flat(fn(api, *phs)) if y.dtype.base_dtype.is_floating]
        if "w" not in weights:
            weights["w"] = _weights(ys)
        terms = [api.reduce_sum(y * api.constant(w, dtype=y.dtype.base_dtype))
                 if w is not None else api.reduce_sum(y) for y, w in zip(ys, weights["w"])]
        wrt = [p for p in phs if p.dtype.base_dtype.is_floating]
        grads = api.gradients(api.add_n(terms), wrt)
        return [api.convert_to_tensor(g) for g in grads if g is not None]
    (g1, _), (g2, _) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
    got, want = run_both(tf, build, {f"in{i}": v for i, v in enumerate(inputs)})
    assert len(got) == len(want)
    assert_close(got, want, rtol=rtol)


def check_build_error(tf, build, error):
    """Both systems raise ``error`` while building; flowsaver's message contains the core of
    TensorFlow's (what precedes the node description)."""
    with pytest.raises(error) as theirs:
        build_both(tf, lambda api: None if api is flowsaver else build(api))
    with pytest.raises(error) as ours:
        build_both(tf, lambda api: build(api) if api is flowsaver else None)
    if error is ValueError:  # type errors are worded by each op builder its own way
        core = str(theirs.value).split(" for '{{node")[0]
        assert core in str(ours.value), f"ours: {ours.value}\ntheirs: {theirs.value}"


def check_run_error(tf, fn, inputs, error_name="InvalidArgumentError"):
    """Both systems fail at ``Session.run`` with the same error class."""
    def build(api, failing):
        phs = _placeholders(api, inputs, None)
        return fn(api, *phs) if failing(api) else phs[0]
    feeds = {f"in{i}": v for i, v in enumerate(inputs)}
    with pytest.raises(getattr(tf.errors, error_name)):
        run_both(tf, lambda api: build(api, lambda m: m is not flowsaver), feeds)
    with pytest.raises(getattr(flowsaver.errors, error_name)):
        run_both(tf, lambda api: build(api, lambda m: m is flowsaver), feeds)
