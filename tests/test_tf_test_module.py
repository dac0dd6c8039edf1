"""``tf.test``: a TF1-style test file (tests/tf1_style/test_tf1_testcase.py) runs under
``tf.test.main()`` in a fresh process, and a failing TestCase is reported as failed."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "tf1_style" / "test_tf1_testcase.py"


def _run(path, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=ROOT)


def test_tf1_test_file_runs_under_tf_test_main():
    result = _run(SCRIPT, "-v")
    assert result.returncode == 0, result.stderr
    # 8 tests and test_session, which unittest collects and TensorFlow skips ("Not a test.")
    assert "Ran 9 tests" in result.stderr and "OK (skipped=1)" in result.stderr
    assert "testGradientCheck" in result.stderr


def test_a_failing_test_case_is_reported_as_failed():
    import io
    import unittest

    import flowsaver as tf

    class Failing(tf.test.TestCase):
        def testWrongValue(self):
            with self.session() as sess:
                self.assertAllClose(sess.run(tf.constant(1.0)), 2.0)

    stream = io.StringIO()
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Failing)
    result = unittest.TextTestRunner(stream=stream).run(suite)
    assert len(result.failures) == 1 and len(result.skipped) == 1  # test_session: skipped
    assert "Mismatched value" in stream.getvalue()
