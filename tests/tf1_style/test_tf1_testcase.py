"""A test file written the way TF1 repositories wrote theirs, against ``tf.test.TestCase``;
it runs under pytest and, as a script, under ``tf.test.main()``
(``tests/test_tf_test_module.py`` runs it in a subprocess). With
``TF1_TEST_BACKEND=tensorflow`` the same file runs against real TensorFlow's
``tf.compat.v1`` (``tests/interop/test_tf_testcase_tf.py``), which must pass it too."""
import os

import numpy as np

if os.environ.get("TF1_TEST_BACKEND") == "tensorflow":
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
else:
    import flowsaver as tf


class MathTest(tf.test.TestCase):

    def testAddAndMatmul(self):
        x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
        with self.session() as sess:
            self.assertAllClose(sess.run(x + 1.0), [[2.0, 3.0], [4.0, 5.0]])
            self.assertAllEqual(sess.run(tf.shape(x)), [2, 2])
            self.assertIs(tf.get_default_session(), sess)
        self.assertAllClose(self.evaluate(tf.matmul(x, x)), np.array([[7.0, 10.0],
                                                                     [15.0, 22.0]]))

    def testCachedSessionIsReused(self):
        with self.cached_session() as first:
            pass
        with self.cached_session() as second:
            self.assertIs(first, second)
        with self.test_session() as third:
            self.assertIs(first, third)

    def testEachTestStartsWithAFreshGraph(self):
        self.assertEqual(tf.get_default_graph().get_operations(), [])
        tf.constant(1.0, name="only")
        self.assertEqual([op.name for op in tf.get_default_graph().get_operations()], ["only"])

    def testVariablesAndTraining(self):
        w = tf.Variable([1.0, -2.0], name="w")
        loss = tf.reduce_sum(tf.square(w))
        train = tf.train.GradientDescentOptimizer(0.25).minimize(loss)
        with self.session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train)
            self.assertAllClose(sess.run(w), [0.5, -1.0])

    def testNestedStructuresAndRanges(self):
        self.assertAllClose({"a": [1.0, 2.0], "b": (3.0,)},
                            {"a": np.array([1.0, 2.0 + 1e-8]), "b": [3.0]})
        self.assertAllInRange(np.array([0.0, 0.5, 1.0]), 0.0, 1.0)
        with self.assertRaises(AssertionError):
            self.assertAllInRange(np.array([0.0, 1.0]), 0.0, 1.0, open_upper_bound=True)
        self.assertAllEqual([np.nan, 1.0], [np.nan, 1.0])
        self.assertNear(1.0, 1.05, 0.1)
        self.assertArrayNear([1.0, 2.0], [1.01, 1.99], 0.02)

    def testShapesAndErrors(self):
        x = tf.placeholder(tf.float32, [2, 3])
        self.assertShapeEqual(np.zeros((2, 3)), x)
        check = tf.assert_positive(x)
        with self.session() as sess:
            with self.assertRaisesOpError("Condition x > 0 did not hold"):
                sess.run(check, {x: -np.ones((2, 3))})
            with self.assertRaisesOpError(r"must feed a value for placeholder"):
                sess.run(x * 2)

    def testGradientCheck(self):
        x = tf.placeholder(tf.float64, [3])
        y = tf.sin(x) * x
        with self.session():
            error = tf.test.compute_gradient_error(x, [3], y, [3],
                                                   x_init_value=np.array([0.1, 0.5, 2.0]))
        self.assertLess(error, 1e-6)

    def testTempDir(self):
        self.assertTrue(self.get_temp_dir())
        self.assertEqual(self.get_temp_dir(), self.get_temp_dir())


if __name__ == "__main__":
    tf.test.main()
