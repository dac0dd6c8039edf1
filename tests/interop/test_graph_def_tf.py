"""Graph-building programs must give TensorFlow's exact GraphDef and TensorFlow's results.

Each row is a TF1 program ``build(api)`` run once with ``api = flowsaver`` and once with
TensorFlow's ``tf.compat.v1`` in TF1 mode. Both GraphDefs must be identical (node names,
op types, inputs, devices, attrs, node order), and the fetched values equal (for programs
drawing random numbers: equal shapes, dtypes and value ranges).
"""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, tf1_mode

X = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], np.float32)


def _x(api):
    return api.placeholder(np.float32, [2, 3], name="x")


# ---- name scopes --------------------------------------------------------------------------
def name_scopes(api):
    x = _x(api)
    with api.name_scope("a"):
        c = api.constant(1.0, name="c")
        with api.name_scope("b"):
            d = api.add(x, c)
            d2 = api.add(d, c)
        with api.name_scope("b"):  # made unique: a/b_1
            e = api.multiply(d2, 2.0)
    with api.name_scope("a"):  # a_1
        f = api.identity(e)
    with api.name_scope("a/b/"):  # re-entered as is
        g = api.subtract(f, 1.0)
    with api.name_scope("a"):
        with api.name_scope(None):  # back to the top level
            h = api.identity(g, name="top")
        with api.name_scope(""):
            i = api.identity(h, name="top")
    with api.name_scope("A"):  # unique case-insensitively: "a" and "a_1" are taken
        j = api.identity(i)
    return [d, e, f, g, h, i, j]


def name_scope_values(api):
    x = _x(api)
    with api.name_scope(None, "default", [x]):
        y = api.identity(x, name="y")
    with api.name_scope(None, "default", [x]):
        z = api.identity(y)
    with api.name_scope("given", "default", [x]) as scope:
        w = api.multiply(z, 3.0, name=scope)  # an op named exactly as its scope
    return [y, z, w]


def op_name_collisions(api):
    x = _x(api)
    a = api.identity(x, name="same")
    b = api.identity(x, name="same")
    c = api.identity(x, name="Same")
    d = api.identity(x, name="same_1")  # taken by b: becomes same_1_1
    e = api.add(a, b)
    f = api.add(e, c)
    g = api.add(f, d, name="Add")
    return [e, f, g]


# ---- variables ------------------------------------------------------------------------------
def variable_names(api):
    w = api.Variable(1.0, name="w")
    w1 = api.Variable(2.0, name="w")
    v = api.Variable([1, 2, 3])
    v1 = api.Variable(np.array([[1.5, 2.5]], np.float32))
    with api.name_scope("scope"):
        sw = api.Variable(api.zeros([2, 2]), name="w")
        sd = api.Variable(4.0, dtype=api.float64)
    u = api.Variable(5, trainable=False, name="untrained")
    return [w, w1, v, v1, sw, sd, u]


def variable_with_tensor_initial_value(api):
    x = api.constant([1.0, 2.0], name="init")
    v = api.Variable(x * 3.0, name="v")
    w = api.Variable(api.ones([2, 3], dtype=api.int32), name="w")
    return [v, w, v.initial_value, v.value(), v.read_value()]


def variable_scopes(api):
    with api.variable_scope("layer"):
        w = api.get_variable("w", [2, 2], initializer=api.zeros_initializer())
        with api.variable_scope("inner"):
            b = api.get_variable("b", [2], initializer=api.ones_initializer())
    with api.variable_scope("layer", reuse=True):
        w_again = api.get_variable("w")
        prod = api.multiply(w_again, 2.0)
    with api.variable_scope("shared", reuse=api.AUTO_REUSE):
        s1 = api.get_variable("s", [], initializer=api.constant_initializer(3.0))
    with api.variable_scope("shared", reuse=api.AUTO_REUSE):
        s2 = api.get_variable("s", [], initializer=api.constant_initializer(3.0))
        total = s1 + s2
    with api.variable_scope(None, default_name="block"):
        k1 = api.get_variable("k", [1], initializer=api.zeros_initializer())
    with api.variable_scope(None, default_name="block"):
        k2 = api.get_variable("k", [1], initializer=api.zeros_initializer())
    return [w, b, prod, total, k1, k2]


def variable_scope_object_reentry(api):
    with api.variable_scope("outer") as scope:
        a = api.get_variable("a", [2], initializer=api.constant_initializer([1.0, 2.0]))
        c = api.identity(a)
    with api.variable_scope(scope, reuse=True):
        a2 = api.get_variable("a")
        d = api.add(a2, c)
    with api.variable_scope(scope) as again:
        again.reuse_variables()
        a3 = api.get_variable("a")
        e = api.identity(a3)
    return [c, d, e]


def _initializer_program(make_init, shape=(3, 4), dtype=None):
    def build(api):
        kwargs = {} if dtype is None else {"dtype": getattr(api, dtype)}
        init = make_init(api)
        return api.get_variable("v", list(shape), initializer=init, **kwargs)
    return build


INITIALIZERS = [
    ("zeros", lambda api: api.zeros_initializer(), None, True),
    ("ones", lambda api: api.ones_initializer(), None, True),
    ("constant_scalar", lambda api: api.constant_initializer(0.5), None, True),
    ("constant_list", lambda api: api.constant_initializer(list(range(12))), None, True),
    ("random_normal", lambda api: api.random_normal_initializer(0.0, 0.3), None, False),
    ("truncated_normal", lambda api: api.truncated_normal_initializer(stddev=0.1), None, False),
    ("random_uniform", lambda api: api.random_uniform_initializer(-1.0, 1.0), None, False),
    ("glorot_default", lambda api: None, None, False),
    ("glorot_uniform", lambda api: api.glorot_uniform_initializer(), None, False),
    ("glorot_normal", lambda api: api.glorot_normal_initializer(), None, False),
    ("int_zeros", lambda api: api.zeros_initializer(), "int32", True),
    ("int_default", lambda api: None, "int32", True),
    ("int_constant", lambda api: api.constant_initializer(7), "int64", True),
    ("double_uniform", lambda api: api.random_uniform_initializer(), "float64", False),
]


# ---- control dependencies, devices, colocation -------------------------------------------------
def control_dependencies(api):
    x = _x(api)
    a = api.identity(x, name="a")
    b = api.no_op(name="b")
    with api.control_dependencies([a, b]):
        c = api.constant(1.0, name="c")
        d = api.add(x, c)  # x is from outside the block: gets the control inputs
        e = api.multiply(d, 2.0)  # d is inside: no control inputs repeated
        with api.control_dependencies([e]):
            f = api.identity(x, name="f")
        with api.control_dependencies(None):
            g = api.identity(x, name="g")
    return [f, g]


def devices(api):
    x = _x(api)
    with api.device("/cpu:0"):
        a = api.identity(x, name="a")
        v = api.Variable(1.0, name="v")
        with api.device(None):
            b = api.identity(a, name="b")
        with api.device("/device:GPU:1"):
            c = api.identity(a, name="c")
    with api.device("cpu:0"):
        e = api.identity(x, name="e")
    return [b, c, e, v]


def job_devices(api):
    """Devices of other tasks and device functions: recorded, as TensorFlow records them."""
    x = _x(api)
    with api.device("/job:worker/task:1"):
        d = api.identity(x, name="d")
        with api.device("/cpu:0"):
            e = api.identity(d, name="e")
        with api.device("/job:ps"):
            f = api.identity(d, name="f")
    with api.device(lambda op: "/device:CPU:0" if op.type == "Identity" else ""):
        g = api.identity(x, name="g")
        h = api.add(g, 1.0, name="h")
    return [e, f, h]


def colocation(api):
    x = _x(api)
    v = api.Variable(1.0, name="v")
    with api.colocate_with(x):
        a = api.identity(x, name="a")
        with api.colocate_with(v.op):
            b = api.add(a, 1.0, name="b")
        with api.colocate_with(v.op, ignore_existing=True):
            c = api.identity(a, name="c")
    with api.device("/cpu:0"):
        cpu = api.identity(x, name="cpu")
    with api.colocate_with(cpu):
        d = api.identity(cpu, name="d")
    return [a, b, c, d]


def tuples_and_groups(api):
    x = _x(api)
    a = api.no_op(name="a")
    pair = api.tuple([x, x * 2.0], control_inputs=[a])
    named = api.tuple([x, None], name="named")
    gated = api.group(x, a, name="gated")  # a control edge from a fed placeholder
    with api.control_dependencies([x]):
        after = api.identity(pair[1], name="after")
    return pair + [named[0], gated, after]


# ---- initializers and assignments ---------------------------------------------------------
def initializers(api):
    v1 = api.Variable(1.0, name="v1")
    v2 = api.Variable([2.0, 3.0], name="v2")
    api.Variable(0, name="local", collections=[api.GraphKeys.LOCAL_VARIABLES])
    init_all = api.global_variables_initializer()
    init_some = api.variables_initializer([v2, v1], name="some")
    init_none = api.variables_initializer([])
    init_local = api.local_variables_initializer()
    grouped = api.group(init_all, init_local, name="everything")
    grouped_default = api.group(v1.initializer, v2.initializer)
    return [init_all, init_some, init_none, grouped, grouped_default]


def assignments(api):
    v = api.Variable([1.0, 2.0], name="v")
    c = api.Variable(10, name="c")
    a1 = api.assign(v, [5.0, 6.0])
    a2 = api.assign_add(v, [1.0, 1.0], name="plus")
    a3 = api.assign_sub(c, 3)
    a4 = v.assign([7.0, 8.0])
    a5 = v.assign_add([0.5, 0.5], name="half")
    a6 = c.assign_sub(1, use_locking=True)
    a7 = v.assign([9.0, 9.0], read_value=False)
    a8 = api.assign(v, [1.0, 2.0, 3.0], validate_shape=False, name="reshape")
    return [a1, a2, a3, a4, a5, a6, a7, a8]


def placeholders_identity_noop(api):
    x = _x(api)
    d = api.placeholder_with_default(api.constant([1.0, 2.0]), [2], name="d")
    d2 = api.placeholder_with_default(np.float32(3.0), [])
    n = api.placeholder(api.int32, name="unshaped")
    p = api.placeholder(api.float32, [None, 3])
    i = api.identity(x)
    i2 = api.identity(i, name="renamed")
    nop = api.no_op()
    nop2 = api.no_op(name="nothing")
    return [d, d2, i, i2, nop, nop2, n, p]


def variables_in_expressions(api):
    x = _x(api)
    w = api.Variable(np.ones([3, 2], np.float32), name="w")
    b = api.Variable(np.zeros([2], np.float32), name="b")
    y = api.add(api.matmul(x, w), b, name="y")
    z = w * 2.0 + 1.0
    return [y, z]


def conditionals(api):
    x = _x(api)
    p = api.placeholder(api.bool, [], name="p")
    v = api.Variable(np.ones([2, 3], np.float32), name="v")
    r1 = api.cond(p, lambda: x * 2.0, lambda: x + v)
    r2 = api.cond(p, lambda: (x, api.constant(1)), lambda: (api.identity(x), api.constant(2)),
                  name="pair")
    r3 = api.cond(p, lambda: api.cond(p, lambda: x, lambda: x - 1.0), lambda: x * 0.5)
    return [r1, r2, r3]


def conditionals_with_state(api):
    x = _x(api)
    p = api.placeholder(api.bool, [], name="p")
    flag = api.Variable(True, name="flag")
    v = api.Variable(np.zeros([2, 3], np.float32), name="v")
    by_flag = api.cond(flag, lambda: api.constant(1), lambda: api.constant(0))

    def true_fn():
        with api.control_dependencies([v.assign_add(x)]):
            return api.identity(v.read_value())
    stateful = api.cond(p, true_fn, lambda: v.read_value() - 1.0, name="stateful")
    as_op = api.cond(p, lambda: v.assign(x).op, lambda: api.no_op())
    return [by_flag, stateful, as_op]


def conditionals_lifting(api):
    """Variables and initialized_value() inside a branch are made outside the cond."""
    x = _x(api)
    p = api.placeholder(api.bool, [], name="p")
    v = api.Variable(np.ones([2, 3], np.float32), name="v")
    r = api.cond(p, lambda: v.initialized_value() + x, lambda: x)

    def true_fn():
        w = api.Variable(np.full([2, 3], 3.0, np.float32), name="inner")
        return w + x
    return [r, api.cond(p, true_fn, lambda: x)]


def initialized_values(api):
    w = api.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
    b = api.Variable(1.0, name="b")
    w2 = api.Variable(w.initialized_value(), name="w2")
    w3 = api.Variable(w.initialized_value() * 0.2 + b.initialized_value())
    with api.variable_scope("s"):
        w4 = api.Variable(w2.initialized_value() - w.initialized_value(), name="w4")
    plain = api.Variable(w.initial_value * 2.0, name="plain")  # no variable read: no copy
    direct = api.Variable(w, name="direct")  # reads w/read: rebuilt on initialized_value()
    packed = api.Variable(api.stack([b, b]) + 1.0, name="packed")
    return [w, w2, w3, w4, plain, direct, packed]


EXACT, RANDOM, GRAPH_ONLY = "exact", "random", "graph"
CASES = [
    ("name_scopes", name_scopes, EXACT),
    ("name_scope_values", name_scope_values, EXACT),
    ("op_name_collisions", op_name_collisions, EXACT),
    ("variable_names", variable_names, EXACT),
    ("variable_with_tensor_initial_value", variable_with_tensor_initial_value, EXACT),
    ("variable_scopes", variable_scopes, EXACT),
    ("variable_scope_object_reentry", variable_scope_object_reentry, EXACT),
    ("control_dependencies", control_dependencies, EXACT),
    ("devices", devices, EXACT),
    ("job_devices", job_devices, GRAPH_ONLY),
    ("colocation", colocation, EXACT),
    ("initializers", initializers, EXACT),
    ("tuples_and_groups", tuples_and_groups, EXACT),
    ("assignments", assignments, GRAPH_ONLY),  # run step by step below
    ("placeholders_identity_noop", placeholders_identity_noop, GRAPH_ONLY),
    ("variables_in_expressions", variables_in_expressions, EXACT),
    ("conditionals", conditionals, EXACT),
    ("conditionals_with_state", conditionals_with_state, GRAPH_ONLY),
    ("conditionals_lifting", conditionals_lifting, EXACT),
    ("initialized_values", initialized_values, EXACT),
] + [(f"get_variable_{name}", _initializer_program(make, dtype=dtype),
      EXACT if exact else RANDOM) for name, make, dtype, exact in INITIALIZERS]


@pytest.mark.parametrize("name,build,_", CASES, ids=[c[0] for c in CASES])
def test_graph_def_matches_tensorflow(tf, name, build, _):
    (ours, _f), (theirs, _t) = build_both(tf, build)
    assert_same_graph_def(ours, theirs)


def _run_steps(tf, build, steps, feeds, init=True):
    """Build in both systems, initialize, then run each of ``steps(fetches)`` in turn."""
    (ours, our_fetches), (theirs, their_fetches) = build_both(tf, build)
    results = []
    for graph, fetches, session_cls, mode in (
            (ours, our_fetches, flowsaver.Session, contextlib.nullcontext()),
            (theirs, their_fetches, None, tf1_mode(tf))):
        with mode as v1:
            # devices are recorded only: TensorFlow may place ops on its one CPU
            config = v1.ConfigProto(allow_soft_placement=True) if v1 else None
            with graph.as_default(), (session_cls or v1.Session)(graph=graph,
                                                                 config=config) as sess:
                names = {op.name for op in graph.get_operations()}
                present = {k + ":0": v for k, v in feeds.items() if k in names}
                if init:
                    sess.run(graph.get_operation_by_name("init_all"))
                results.append([sess.run(step, present) for step in steps(fetches)])
    return results


def _with_init(build):
    def program(api):
        fetches = build(api)
        api.group(api.global_variables_initializer(), api.local_variables_initializer(),
                  name="init_all")
        return fetches
    return program


RUNNABLE = [c for c in CASES if c[2] != GRAPH_ONLY]


@pytest.mark.parametrize("name,build,kind", RUNNABLE, ids=[c[0] for c in RUNNABLE])
def test_run_results_match_tensorflow(tf, name, build, kind):
    ours, theirs = _run_steps(tf, _with_init(build), lambda f: [f], {"x": X, "p": True})
    if kind == EXACT:
        assert_close(ours, theirs, what=name)
    else:  # random draws: same shapes and dtypes, values within the distribution's range
        a, b = np.asarray(ours[0]), np.asarray(theirs[0])
        assert (a.shape, a.dtype) == (b.shape, b.dtype)
        assert np.all(np.abs(a) <= 2.0) and np.std(a) > 0


def test_assignments_run_in_sequence_like_tensorflow(tf):
    """Each assignment runs alone, in order, so that both see the same variable history."""
    def steps(fetches):
        v, c = fetches[-2:]
        # an assignment and a read of its variable in one run may run in either order
        return [step for a in fetches[:-2] for step in ([a], [v, c])]

    def program(api):
        fetches = assignments(api)
        graph = api.get_default_graph()
        return fetches + [graph.get_tensor_by_name("v:0"), graph.get_tensor_by_name("c:0")]
    ours, theirs = _run_steps(tf, _with_init(program), steps, {})
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_close([x for x in a if x is not None], [x for x in b if x is not None],
                     what=f"step {i}")


@pytest.mark.parametrize("p", [True, False])
def test_conditionals_take_the_branch_tensorflow_takes(tf, p):
    ours, theirs = _run_steps(tf, _with_init(conditionals), lambda f: [f], {"x": X, "p": p})
    assert_close(ours, theirs)


@pytest.mark.parametrize("p", [True, False])
def test_conditionals_change_state_like_tensorflow(tf, p):
    def steps(fetches):
        by_flag, stateful, as_op = fetches
        return [[by_flag], [stateful], [stateful], [as_op], [stateful]]
    ours, theirs = _run_steps(tf, _with_init(conditionals_with_state), steps,
                              {"x": X, "p": p})
    assert_close(ours, theirs)


def test_placeholders_with_defaults_run_like_tensorflow(tf):
    def steps(fetches):
        d, d2, i, i2 = fetches[:4]
        return [[d, d2, i, i2]]
    ours, theirs = _run_steps(tf, _with_init(placeholders_identity_noop), steps, {"x": X})
    assert_close(ours, theirs)
    ours, theirs = _run_steps(tf, _with_init(placeholders_identity_noop), steps,
                              {"x": X, "d": np.array([5.0, 6.0], np.float32)})
    assert_close(ours, theirs)


def uninitialized_report(api):
    v = api.Variable([1.0, 2.0], name="v")
    w = api.Variable(3, name="w")
    with api.variable_scope("s"):
        api.get_variable("u", [2], initializer=api.zeros_initializer())
    local = api.Variable(0, name="local", collections=[api.GraphKeys.LOCAL_VARIABLES])
    everything = api.report_uninitialized_variables()
    just_w = api.report_uninitialized_variables([w], name="just_w")
    nothing = api.report_uninitialized_variables([])
    return [everything, just_w, nothing, v.initializer, local.initializer]


def test_report_uninitialized_variables_matches_tensorflow(tf):
    (ours, _), (theirs, _) = build_both(tf, uninitialized_report)
    assert_same_graph_def(ours, theirs)

    def steps(fetches):
        reports, init_v, init_local = fetches[:3], fetches[3], fetches[4]
        init_all = init_v.graph.get_operation_by_name("init_all")
        return [reports, [init_v], reports, [init_local], reports, [init_all], reports]
    ours, theirs = _run_steps(tf, _with_init(uninitialized_report), steps, {}, init=False)
    assert [list(r) for r in ours[0][0:1]] == [[b"v", b"w", b"s/u", b"local"]]
    assert_close([r for step in ours for r in step if r is not None],
                 [r for step in theirs for r in step if r is not None])
