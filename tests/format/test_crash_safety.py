"""A writer killed at any moment (SIGKILL) never damages a checkpoint that was complete
before, and never leaves anything that reads back wrong values.

A child process saves checkpoints in a loop; the test kills it after a random delay, then
reads what is on disk. Two patterns:
- a new prefix per save (``m-<step>``, as Saver does with global_step): every prefix with
  an index is complete and correct; temporary files never count as checkpoints;
- the same prefix overwritten: the files read back as the old or the new values, or (if
  the kill fell between the data file's rename and the index's) fail with DataLossError
  from the CRCs. Two files cannot be replaced in one atomic step; see bundle_write.py.
"""
import glob
import os
import random
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from flowsaver import errors
from flowsaver.format.atomic import find_temp_files
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.paths import resolve_checkpoint_prefix

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

TENSORS, ELEMENTS = 24, 1 << 16   # 24 tensors of 256 KiB: a save takes a few ms

CHILD = textwrap.dedent(f"""
    import sys, numpy as np
    from flowsaver.format.bundle_write import BundleWriter
    directory, same_prefix = sys.argv[1], sys.argv[2] == "same"
    print("ready", flush=True)
    step = 1
    while True:
        prefix = directory + ("/m" if same_prefix else "/m-%d" % step)
        with BundleWriter(prefix) as w:
            for i in range({TENSORS}):
                w.add("t%02d" % i, np.full({ELEMENTS}, step * 100 + i, np.float32))
        step += 1
""")


def values_of(prefix: str) -> int:
    """The step whose values the checkpoint holds; asserts every tensor agrees."""
    reader = BundleReader(prefix)
    steps = set()
    for i, name in enumerate(reader.names()):
        value = reader.get_tensor(name)
        assert value.shape == (ELEMENTS,) and np.all(value == value[0]), name
        steps.add((int(value[0]) - i) // 100)
    assert len(reader.names()) == TENSORS and len(steps) == 1, steps
    return steps.pop()


def run_and_kill(directory: str, same: bool, delay: float) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, "-c", CHILD, directory,
                              "same" if same else "new"], stdout=subprocess.PIPE, env=env)
    assert child.stdout.readline().strip() == b"ready"
    try:
        child.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL, "the child should still have been saving"


@pytest.mark.parametrize("trial", range(6))
def test_kill_during_saves_to_new_prefixes(tmp_path, trial):
    rng = random.Random(trial)
    run_and_kill(str(tmp_path), same=False, delay=rng.uniform(0.05, 0.4))
    steps = sorted(int(p[len(str(tmp_path)) + 3:-6])
                   for p in glob.glob(str(tmp_path / "m-*.index")))
    assert steps, "no save completed before the kill"
    for step in steps:
        prefix = str(tmp_path / f"m-{step}")
        assert values_of(prefix) == step
        assert resolve_checkpoint_prefix(prefix).prefix == prefix
    assert steps == list(range(1, len(steps) + 1))
    # The save in flight left at most temporary files, and they are no checkpoint.
    newest = str(tmp_path / f"m-{steps[-1] + 1}")
    for leftover in find_temp_files(newest):
        assert ".tempstate" in leftover
    with pytest.raises(errors.NotFoundError):
        resolve_checkpoint_prefix(newest)


@pytest.mark.parametrize("trial", range(6))
def test_kill_during_overwrites_of_one_prefix(tmp_path, trial):
    rng = random.Random(100 + trial)
    run_and_kill(str(tmp_path), same=True, delay=rng.uniform(0.05, 0.4))
    prefix = str(tmp_path / "m")
    try:
        assert values_of(prefix) >= 1
    except errors.DataLossError as exc:      # killed between the two renames
        assert "Checksum does not match" in str(exc) or "Invalid size" in str(exc)
