"""The TF1-style test file of tests/tf1_style runs the same under real TensorFlow's
``tf.test.main()`` as under flowsaver's: same number of tests, all passing, the same
skipped (``test_session``)."""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "tests" / "tf1_style" / "test_tf1_testcase.py"


def _summary(backend: str) -> tuple:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF1_TEST_BACKEND": backend,
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                            env=env, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    ran = re.search(r"^Ran (\d+) tests?", result.stderr, re.M)
    status = re.search(r"^(OK.*)$", result.stderr, re.M)
    return int(ran.group(1)), status.group(1)


def test_same_summary_as_tensorflow(tf):
    # flowsaver's run of the same file gives this summary (tests/test_tf_test_module.py)
    assert _summary("tensorflow") == (9, "OK (skipped=1)")
