"""``tf.logging``: TensorFlow's names and levels over Python logging's ``tensorflow`` logger."""
import logging

import flowsaver as tf


def test_levels_are_pythons():
    assert (tf.logging.DEBUG, tf.logging.INFO, tf.logging.WARN, tf.logging.ERROR,
            tf.logging.FATAL) == (10, 20, 30, 40, 50)


def test_messages_go_to_the_tensorflow_logger(caplog):
    old = tf.logging.get_verbosity()
    try:
        tf.logging.set_verbosity(tf.logging.INFO)
        assert tf.logging.get_verbosity() == logging.INFO
        with caplog.at_level(logging.DEBUG, logger="tensorflow"):
            tf.logging.info("step %d loss %.2f", 3, 0.5)
            tf.logging.warn("careful")
            tf.logging.error("bad")
            tf.logging.log(tf.logging.WARN, "via log")
            tf.logging.log_if(tf.logging.INFO, "never", False)
        records = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
        assert records == [("tensorflow", 20, "step 3 loss 0.50"), ("tensorflow", 30, "careful"),
                           ("tensorflow", 40, "bad"), ("tensorflow", 30, "via log")]
    finally:
        tf.logging.set_verbosity(old)


def test_log_first_n_and_every_n_count_per_call_site(caplog):
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        for i in range(5):
            tf.logging.log_first_n(tf.logging.INFO, "first %d", 2, i)
        for i in range(5):
            tf.logging.log_every_n(tf.logging.INFO, "every %d", 2, i)
    assert [r.getMessage() for r in caplog.records] == ["first 0", "first 1", "every 0",
                                                         "every 2", "every 4"]


def test_logger_is_tensorflows():
    assert tf.logging.get_logger() is logging.getLogger("tensorflow")
