"""tf.train.Saver in flowsaver alone: file names, restore, var_list forms, retention,
bookkeeping, SaverDef round trips and the errors (spec section 3)."""
import os

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from test_helpers import alternate_cpus


def _graph(values=None):
    """A fresh graph with variables ``a`` (scalar) and ``b`` ([2, 3]), both float32."""
    values = values or {"a": np.float32(1.5), "b": np.arange(6, dtype=np.float32).reshape(2, 3)}
    g = tf.Graph()
    with g.as_default():
        variables = {k: tf.Variable(v, name=k) for k, v in values.items()}
    return g, variables


def _setup(var_list=lambda v: None, **saver_kwargs):
    """(variables, saver, session with the variables initialised) over ``_graph()``."""
    g, v = _graph()
    with g.as_default():
        saver = tf.train.Saver(var_list(v), **saver_kwargs)
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=g)
    sess.run(init)
    return v, saver, sess


def _saved(tmp_path, name="model", **save_kwargs):
    """Save the default two-variable graph; (prefix, values saved)."""
    _, saver, sess = _setup()
    prefix = saver.save(sess, str(tmp_path / name), **save_kwargs)
    return prefix, {"a": np.float32(1.5), "b": np.arange(6, dtype=np.float32).reshape(2, 3)}


def _files(directory):
    return sorted(os.listdir(directory))


def _initialized(sess, variable) -> bool:
    with sess.graph.as_default():
        return bool(sess.run(tf.is_variable_initialized(variable)))


# ---- save: prefixes and files ----------------------------------------------------------------

def test_save_writes_tensorflows_files_and_returns_the_prefix(tmp_path):
    prefix, _ = _saved(tmp_path, global_step=1000)
    assert prefix == str(tmp_path / "model-1000")
    assert _files(tmp_path) == ["checkpoint", "model-1000.data-00000-of-00001",
                                "model-1000.index", "model-1000.meta"]
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix


@pytest.mark.parametrize("kind", ["int", "numpy_int", "tensor", "variable", "tensor_name"])
def test_global_step_forms(tmp_path, kind):
    g, v = _graph()
    with g.as_default():
        step_var = tf.Variable(np.int64(42), name="global_step", trainable=False)
        step = {"int": 42, "numpy_int": np.int64(42), "tensor": tf.constant(42),
                "variable": step_var, "tensor_name": "global_step:0"}[kind]
        saver = tf.train.Saver()
        init = tf.global_variables_initializer()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        assert saver.save(sess, str(tmp_path / "m"), global_step=step) == str(tmp_path / "m-42")
    assert os.path.exists(tmp_path / "m-42.index")


def test_pad_step_number(tmp_path):
    _, saver, sess = _setup(pad_step_number=True)
    assert saver.save(sess, str(tmp_path / "m"), global_step=1000) == str(tmp_path / "m-00001000")
    assert "m-00001000.index" in _files(tmp_path) and "m-00001000.meta" in _files(tmp_path)


def test_write_meta_graph_and_write_state_off(tmp_path):
    prefix, _ = _saved(tmp_path, write_meta_graph=False, write_state=False)
    assert _files(tmp_path) == ["model.data-00000-of-00001", "model.index"]
    assert tf.train.checkpoint_exists(prefix)


def test_latest_filename_names_the_state_file(tmp_path):
    prefix, _ = _saved(tmp_path, global_step=3, latest_filename="my_state")
    assert "my_state" in _files(tmp_path) and "checkpoint" not in _files(tmp_path)
    assert tf.train.latest_checkpoint(str(tmp_path), "my_state") == prefix
    assert tf.train.latest_checkpoint(str(tmp_path)) is None


def test_save_relative_paths(tmp_path):
    _, saver, sess = _setup(save_relative_paths=True)
    saver.save(sess, str(tmp_path / "m"), global_step=1)
    saver.save(sess, str(tmp_path / "m"), global_step=2)
    text = (tmp_path / "checkpoint").read_text()
    assert text == ('model_checkpoint_path: "m-2"\nall_model_checkpoint_paths: "m-1"\n'
                    'all_model_checkpoint_paths: "m-2"\n')
    # Readers join relative entries onto the directory, so a moved directory still works.
    moved = tmp_path.parent / (tmp_path.name + "_moved")
    os.rename(tmp_path, moved)
    assert tf.train.latest_checkpoint(str(moved)) == str(moved / "m-2")


def test_running_the_save_tensor_saves(tmp_path):
    _, saver, sess = _setup()
    path = str(tmp_path / "direct")
    out = sess.run(saver.saver_def.save_tensor_name, {saver.saver_def.filename_tensor_name: path})
    # TensorFlow returns bytes; flowsaver's session hands a fed str back as str.
    assert (out.decode() if isinstance(out, bytes) else out) == path
    assert _files(tmp_path) == ["direct.data-00000-of-00001", "direct.index"]
    np.testing.assert_array_equal(tf.train.load_variable(path, "b"),
                                  np.arange(6, dtype=np.float32).reshape(2, 3))


def test_default_filename_is_the_filename_tensors_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, saver, sess = _setup(filename="fallback")
    sess.run(saver.saver_def.save_tensor_name)
    assert os.path.exists(tmp_path / "fallback.index")


# ---- restore -----------------------------------------------------------------------------------

def test_restore_without_initializers(tmp_path):
    prefix, saved = _saved(tmp_path, global_step=7)
    g, v = _graph({"a": np.float32(0), "b": np.zeros((2, 3), np.float32)})
    with g.as_default():
        saver = tf.train.Saver()
    with tf.Session(graph=g) as sess:
        assert not _initialized(sess, v["a"])
        saver.restore(sess, prefix)
        a, b = sess.run([v["a"], v["b"]])
    assert a == saved["a"]
    np.testing.assert_array_equal(b, saved["b"])


def test_restore_in_another_session_of_the_same_graph(tmp_path):
    g, v = _graph()
    with g.as_default():
        saver = tf.train.Saver()
        init = tf.global_variables_initializer()
        bump = tf.assign_add(v["a"], 10.0)
    with tf.Session(graph=g) as sess:
        sess.run(init)
        prefix = saver.save(sess, str(tmp_path / "m"))
        sess.run(bump)
        assert sess.run(v["a"]) == np.float32(11.5)
        saver.restore(sess, prefix)
        assert sess.run(v["a"]) == np.float32(1.5)


def test_reshape_restores_into_another_shape_of_the_same_size(tmp_path):
    prefix, saved = _saved(tmp_path)
    g, v = _graph({"a": np.float32(0), "b": np.zeros((3, 2), np.float32)})
    with g.as_default():
        strict, reshaping = tf.train.Saver(), tf.train.Saver(reshape=True)
    with tf.Session(graph=g) as sess:
        with pytest.raises(errors.InvalidArgumentError, match=r"\[3, 2\]"):
            strict.restore(sess, prefix)
        reshaping.restore(sess, prefix)
        np.testing.assert_array_equal(sess.run(v["b"]), saved["b"].reshape(3, 2))


def test_sharded_save_and_restore(tmp_path):
    g = tf.Graph()
    with g.as_default(), tf.device(alternate_cpus()):
        v = {k: tf.Variable(np.full(2, i, np.int32), name=k) for i, k in enumerate("wxyz")}
        saver = tf.train.Saver(sharded=True, max_to_keep=1)
        init = tf.global_variables_initializer()
    assert saver.saver_def.sharded and saver.saver_def.save_tensor_name == "save/Identity:0"
    with tf.Session(graph=g) as sess:
        sess.run(init)
        for step in (1, 2):
            assert saver.save(sess, str(tmp_path / "m"), global_step=step) == \
                str(tmp_path / f"m-{step}")
    assert _files(tmp_path) == ["checkpoint", "m-2.data-00000-of-00002",
                                "m-2.data-00001-of-00002", "m-2.index", "m-2.meta"]
    with tf.Session(graph=g) as sess:
        saver.restore(sess, str(tmp_path / "m-2"))
        for i, k in enumerate("wxyz"):
            np.testing.assert_array_equal(sess.run(v[k]), [i, i])


def test_subset_saver_restores_only_its_variables(tmp_path):
    prefix, _ = _saved(tmp_path)
    g, v = _graph({"a": np.float32(-1), "b": np.full((2, 3), -1, np.float32)})
    with g.as_default():
        saver = tf.train.Saver([v["a"]])
    with tf.Session(graph=g) as sess:
        saver.restore(sess, prefix)
        assert sess.run(v["a"]) == np.float32(1.5)
        assert not _initialized(sess, v["b"])
    assert [n for n, _ in tf.train.list_variables(prefix)] == ["a", "b"]


def test_subset_saver_saves_only_its_variables(tmp_path):
    _, saver, sess = _setup(lambda v: [v["b"]])
    assert tf.train.list_variables(saver.save(sess, str(tmp_path / "b"))) == [("b", [2, 3])]


def test_dict_var_list_renames_keys(tmp_path):
    _, saver, sess = _setup(lambda v: {"my_v2": v["b"], "renamed/alpha": v["a"]})
    prefix = saver.save(sess, str(tmp_path / "m"))
    assert [n for n, _ in tf.train.list_variables(prefix)] == ["my_v2", "renamed/alpha"]
    g2, v2 = _graph({"x": np.zeros((2, 3), np.float32)})
    with g2.as_default():
        loader = tf.train.Saver({"my_v2": v2["x"]})
    with tf.Session(graph=g2) as sess:
        loader.restore(sess, prefix)
        np.testing.assert_array_equal(sess.run(v2["x"]), np.arange(6).reshape(2, 3))


def test_set_var_list(tmp_path):
    _, saver, sess = _setup(lambda v: {v["b"], v["a"]})
    assert [n for n, _ in tf.train.list_variables(saver.save(sess, str(tmp_path / "m")))] == \
        ["a", "b"]


def test_var_list_errors():
    g, v = _graph()
    with g.as_default():
        with pytest.raises(TypeError):
            tf.train.Saver([v["a"], tf.constant(1.0)])
        with pytest.raises(ValueError, match="same"):
            tf.train.Saver({"x": v["a"], "y": v["a"]})
        with pytest.raises(ValueError, match="same name: a"):
            tf.train.Saver([v["a"], v["a"]])


def test_several_savers_over_overlapping_variables(tmp_path):
    g, v = _graph()
    with g.as_default():
        both = tf.train.Saver()
        only_a = tf.train.Saver([v["a"]])
        init = tf.global_variables_initializer()
    assert both.saver_def.restore_op_name == "save/restore_all"
    assert only_a.saver_def.restore_op_name == "save_1/restore_all"
    assert only_a.saver_def.filename_tensor_name == "save_1/Const:0"
    with tf.Session(graph=g) as sess:
        sess.run(init)
        p_both = both.save(sess, str(tmp_path / "both"))
        p_a = only_a.save(sess, str(tmp_path / "a_only"))
    assert [n for n, _ in tf.train.list_variables(p_a)] == ["a"]
    with tf.Session(graph=g) as sess:
        only_a.restore(sess, p_both)  # a subset of a bigger checkpoint
        assert sess.run(v["a"]) == np.float32(1.5) and not _initialized(sess, v["b"])
        both.restore(sess, p_both)
        np.testing.assert_array_equal(sess.run(v["b"]), np.arange(6).reshape(2, 3))


# ---- retention and bookkeeping -------------------------------------------------------------

def _saving_graph(**saver_kwargs):
    _, saver, sess = _setup(**saver_kwargs)
    return sess, saver


def _state_paths(directory):
    state = tf.train.get_checkpoint_state(str(directory))
    return [os.path.basename(p) for p in state.all_model_checkpoint_paths]


def test_max_to_keep_deletes_the_oldest_files(tmp_path):
    sess, saver = _saving_graph(max_to_keep=2)
    for step in range(1, 5):
        saver.save(sess, str(tmp_path / "m"), global_step=step)
    assert _files(tmp_path) == ["checkpoint"] + [f"m-{s}.{ext}" for s in (3, 4)
                                                 for ext in ("data-00000-of-00001", "index",
                                                             "meta")]
    assert _state_paths(tmp_path) == ["m-3", "m-4"]
    assert saver.last_checkpoints == [str(tmp_path / "m-3"), str(tmp_path / "m-4")]


@pytest.mark.parametrize("max_to_keep", [0, None])
def test_max_to_keep_zero_or_none_keeps_everything(tmp_path, max_to_keep):
    sess, saver = _saving_graph(max_to_keep=max_to_keep)
    for step in range(1, 5):
        saver.save(sess, str(tmp_path / "m"), global_step=step)
    assert sum(f.endswith(".index") for f in _files(tmp_path)) == 4
    assert saver.last_checkpoints == []
    assert _state_paths(tmp_path) == ["m-4"]


def test_hundred_saves_keep_the_last_five_across_a_restart(tmp_path):
    sess, saver = _saving_graph(max_to_keep=5)
    for step in range(100):
        saver.save(sess, str(tmp_path / "m"), global_step=step, write_meta_graph=False)
    kept = [f"m-{s}" for s in range(95, 100)]
    assert sorted(f[:-6] for f in _files(tmp_path) if f.endswith(".index")) == sorted(kept)
    assert _state_paths(tmp_path) == kept
    # A new process: the Saver does not read the state file; recover_last_checkpoints adopts it.
    sess2, saver2 = _saving_graph(max_to_keep=5)
    saver2.recover_last_checkpoints(tf.train.get_checkpoint_state(
        str(tmp_path)).all_model_checkpoint_paths)
    assert saver2.last_checkpoints == [str(tmp_path / k) for k in kept]
    for step in range(100, 103):
        saver2.save(sess2, str(tmp_path / "m"), global_step=step, write_meta_graph=False)
    kept = [f"m-{s}" for s in range(98, 103)]
    assert sorted(f[:-6] for f in _files(tmp_path) if f.endswith(".index")) == sorted(kept)
    assert _state_paths(tmp_path) == kept


def test_recover_last_checkpoints_skips_missing_ones(tmp_path):
    sess, saver = _saving_graph()
    p1 = saver.save(sess, str(tmp_path / "m"), global_step=1)
    saver2 = _saving_graph()[1]
    saver2.recover_last_checkpoints([p1, str(tmp_path / "gone")])
    assert saver2.last_checkpoints == [p1]


def test_set_last_checkpoints_with_time_drives_deletion(tmp_path):
    sess, saver = _saving_graph(max_to_keep=2)
    old = saver.save(sess, str(tmp_path / "old"))
    sess2, saver2 = _saving_graph(max_to_keep=2)
    saver2.set_last_checkpoints_with_time([(old, 0.0)])
    assert saver2.last_checkpoints == [old]
    saver2.save(sess2, str(tmp_path / "m"), global_step=1)
    saver2.save(sess2, str(tmp_path / "m"), global_step=2)
    assert not tf.train.checkpoint_exists(old) and not os.path.exists(old + ".meta")
    assert _state_paths(tmp_path) == ["m-1", "m-2"]


def test_keep_checkpoint_every_n_hours_on_a_fake_clock(tmp_path, monkeypatch):
    """TensorFlow's measured timeline (spec 3.4): max_to_keep=1, N = 1 s."""
    clock = [0.0]
    monkeypatch.setattr("flowsaver.train.saver.time.time", lambda: clock[0])
    sess, saver = _saving_graph(max_to_keep=1, keep_checkpoint_every_n_hours=1 / 3600)
    for step, t in enumerate([0.48, 0.94, 1.39, 1.84, 2.30, 2.75, 3.20, 3.66]):
        clock[0] = t
        saver.save(sess, str(tmp_path / "m"), global_step=step)
    kept = sorted(f[:-6] for f in _files(tmp_path) if f.endswith(".index"))
    assert kept == ["m-2", "m-4", "m-6", "m-7"]
    assert sorted(f[:-5] for f in _files(tmp_path) if f.endswith(".meta")) == kept
    assert _state_paths(tmp_path) == ["m-7"]


def test_saving_the_same_prefix_again_moves_it_to_the_end(tmp_path):
    sess, saver = _saving_graph(max_to_keep=3)
    for name in ("x", "y", "x"):
        saver.save(sess, str(tmp_path / name))
    assert saver.last_checkpoints == [str(tmp_path / "y"), str(tmp_path / "x")]


# ---- SaverDef ---------------------------------------------------------------------------------

def test_saver_def_round_trips(tmp_path):
    g, v = _graph()
    with g.as_default():
        saver = tf.train.Saver(max_to_keep=3, keep_checkpoint_every_n_hours=2)
        init = tf.global_variables_initializer()
    sd = saver.as_saver_def()
    assert (sd.filename_tensor_name, sd.save_tensor_name, sd.restore_op_name) == \
        ("save/Const:0", "save/control_dependency:0", "save/restore_all")
    assert (sd.max_to_keep, sd.keep_checkpoint_every_n_hours, sd.version) == (3, 2.0, 2)
    assert saver.to_proto() == sd
    stripped = saver.to_proto(export_scope="save")
    assert stripped.restore_op_name == "restore_all" and stripped.max_to_keep == 3
    assert saver.to_proto(export_scope="elsewhere") is None
    rebuilt = tf.train.Saver.from_proto(sd)
    assert rebuilt.as_saver_def() == sd
    with tf.Session(graph=g) as sess:
        sess.run(init)
        prefix = rebuilt.save(sess, str(tmp_path / "m"))
    with tf.Session(graph=g) as sess:
        rebuilt.restore(sess, prefix)
        assert sess.run(v["a"]) == np.float32(1.5)


def test_allow_empty_saver(tmp_path):
    g = tf.Graph()
    with g.as_default():
        with pytest.raises(ValueError, match="No variables to save"):
            tf.train.Saver()
        saver = tf.train.Saver(allow_empty=True)
    with tf.Session(graph=g) as sess:
        assert saver.save(sess, str(tmp_path / "empty")) is None
    assert _files(tmp_path) == ["empty.meta"]


def test_defer_build(tmp_path):
    g, v = _graph()
    with g.as_default():
        with pytest.raises(ValueError, match="defer"):
            tf.train.Saver([v["a"]], defer_build=True)
        saver = tf.train.Saver(defer_build=True)
        assert saver.saver_def is None
        saver.build()
        init = tf.global_variables_initializer()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        assert saver.save(sess, str(tmp_path / "m")) == str(tmp_path / "m")


# ---- errors -----------------------------------------------------------------------------------

def test_save_path_equal_to_the_state_file_is_refused(tmp_path):
    sess, saver = _saving_graph()
    with pytest.raises(ValueError, match="collides"):
        saver.save(sess, str(tmp_path / "checkpoint"))
    with pytest.raises(ValueError, match="collides"):
        saver.save(sess, str(tmp_path / "st"), latest_filename="st")
    with pytest.raises(ValueError, match="path components"):
        saver.save(sess, str(tmp_path / "m"), latest_filename="sub/checkpoint")
    assert _files(tmp_path) == []


def test_save_into_a_missing_parent_of_a_missing_parent(tmp_path):
    sess, saver = _saving_graph()
    target = str(tmp_path / "a" / "b" / "model")
    with pytest.raises(ValueError, match=r"Parent directory of .*model doesn't exist, can't save"):
        saver.save(sess, target)
    # One missing level is created, as TensorFlow's kernel creates it.
    assert saver.save(sess, str(tmp_path / "new" / "model")) == str(tmp_path / "new" / "model")


def test_save_needs_a_session(tmp_path):
    _, saver = _saving_graph()
    with pytest.raises(TypeError):
        saver.save(object(), str(tmp_path / "m"))


def test_restore_none_or_no_checkpoint(tmp_path):
    sess, saver = _saving_graph()
    with pytest.raises(ValueError, match="save_path when it is None"):
        saver.restore(sess, None)
    missing = str(tmp_path / "nothing-here")
    with pytest.raises(ValueError, match="not a valid checkpoint") as info:
        saver.restore(sess, missing)
    assert missing in str(info.value) and ".index" in str(info.value)
