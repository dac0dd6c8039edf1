"""The retention rule as a pure function of saves and a fake clock (spec section 3.4)."""
from hypothesis import given, strategies as st

from flowsaver.train.retention import RetentionPolicy


def _run(policy, saves, built_at=0.0):
    state = policy.start(built_at)
    deleted, preserved, listed = [], [], []
    for path, t in saves:
        state = policy.record(state, path, t)
        listed.append(state.paths)
        state, decision = policy.settle(state)
        deleted += decision.delete
        preserved += decision.preserve
    return state, deleted, preserved, listed


def test_tensorflow_measured_timeline():
    # max_to_keep=1, N = 1 second, saves as measured on TensorFlow (spec's s8 timeline).
    policy = RetentionPolicy(1, 1.0 / 3600)
    times = [0.48, 0.94, 1.39, 1.84, 2.30, 2.75, 3.20, 3.66]
    state, deleted, preserved, _ = _run(policy, [(f"m-{i}", t) for i, t in enumerate(times)])
    assert deleted == ["m-0", "m-1", "m-3", "m-5"]
    assert preserved == ["m-2", "m-4", "m-6"]
    assert state.paths == ["m-7"]
    assert state.next_keep_time == 4.0


def test_default_is_plain_fifo():
    policy = RetentionPolicy(2)
    state, deleted, _, listed = _run(policy, [(f"c-{i}", float(i)) for i in range(1, 4)])
    assert deleted == ["c-1"]
    assert listed == [["c-1"], ["c-1", "c-2"], ["c-2", "c-3"]]


def test_same_path_moves_to_the_end():
    policy = RetentionPolicy(3)
    state, deleted, _, _ = _run(policy, [("a", 1.0), ("b", 2.0), ("a", 3.0)])
    assert state.paths == ["b", "a"] and deleted == []


def test_zero_or_none_keeps_everything_and_records_nothing():
    for max_to_keep in (0, None):
        state, deleted, preserved, listed = _run(RetentionPolicy(max_to_keep),
                                                 [(f"c-{i}", float(i)) for i in range(10)])
        assert deleted == [] and preserved == [] and state.paths == []


@given(st.integers(1, 6), st.lists(st.floats(0, 1e6), min_size=1, max_size=40),
       st.floats(1e-4, 10))
def test_every_queued_checkpoint_is_settled_once(max_to_keep, gaps, hours):
    times, t = [], 0.0
    for g in gaps:
        t += g
        times.append(t)
    policy = RetentionPolicy(max_to_keep, hours)
    saves = [(f"c-{i}", x) for i, x in enumerate(times)]
    state, deleted, preserved, listed = _run(policy, saves)
    assert len(state.kept) == min(max_to_keep, len(saves))
    assert all(len(paths) <= max_to_keep for paths in listed)
    assert set(deleted).isdisjoint(preserved)
    assert set(deleted) | set(preserved) | set(state.paths) | {r.path for r in state.queue} \
        == {p for p, _ in saves}
