"""Queues, queue runners and the Coordinator without TensorFlow: waiting and waking,
closing, padding, random-shuffle minimums, errors reported through the coordinator."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import flowsaver as tf


def test_dequeue_waits_for_an_enqueue_from_another_thread():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(2, tf.int32)
        enqueue = q.enqueue(tf.constant(7))
        dequeue = q.dequeue()
        with tf.Session() as sess:
            timer = threading.Timer(0.2, lambda: sess.run(enqueue))
            timer.start()
            start = time.monotonic()
            assert sess.run(dequeue) == 7
            assert time.monotonic() - start >= 0.15
            timer.join()


def test_full_queue_blocks_until_closed_with_cancel():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(1, tf.int32)
        enqueue = q.enqueue(1)
        cancel = q.close(cancel_pending_enqueues=True)
        with tf.Session() as sess:
            sess.run(enqueue)
            errors = []

            def blocked():
                try:
                    sess.run(enqueue)
                except tf.errors.CancelledError as exc:
                    errors.append(exc)
            thread = threading.Thread(target=blocked)
            thread.start()
            time.sleep(0.1)
            assert thread.is_alive()
            sess.run(cancel)
            thread.join(5)
            assert errors and not thread.is_alive()


def test_closing_the_session_wakes_a_waiting_dequeue():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(1, tf.int32)
        dequeue = q.dequeue()
        sess = tf.Session()
        failures = []

        def waiting():
            try:
                sess.run(dequeue)
            except (tf.errors.CancelledError, tf.errors.OutOfRangeError) as exc:
                failures.append(exc)
        thread = threading.Thread(target=waiting)
        thread.start()
        time.sleep(0.1)
        sess.close()
        thread.join(5)
        assert failures and not thread.is_alive()


def test_padding_queue_pads_to_the_longest():
    with tf.Graph().as_default():
        q = tf.PaddingFIFOQueue(4, [tf.int32, tf.string], shapes=[[None], []])
        values = tf.placeholder(tf.int32, [None])
        enqueue = q.enqueue([values, "s"])
        batch = q.dequeue_many(2)
        with tf.Session() as sess:
            sess.run(enqueue, {values: [1]})
            sess.run(enqueue, {values: [2, 3, 4]})
            numbers, strings = sess.run(batch)
    np.testing.assert_array_equal(numbers, [[1, 0, 0], [2, 3, 4]])
    assert list(strings) == [b"s", b"s"]


def test_shuffle_queue_keeps_its_minimum_until_closed():
    with tf.Graph().as_default():
        q = tf.RandomShuffleQueue(10, 3, tf.int32, shapes=[[]], seed=4)
        fill = q.enqueue_many([list(range(5))])
        take = q.dequeue_up_to(10)
        with tf.Session() as sess:
            sess.run(fill)
            first = sess.run(q.dequeue_many(2))
            sess.run(q.close())
            rest = sess.run(take)
    assert sorted(list(first) + list(rest)) == [0, 1, 2, 3, 4]


def test_coordinator_reraises_a_thread_error():
    coord = tf.train.Coordinator()

    def work():
        with coord.stop_on_exception():
            raise ValueError("broken input")
    thread = threading.Thread(target=work)
    thread.start()
    with pytest.raises(ValueError, match="broken input"):
        coord.join([thread], stop_grace_period_secs=5)
    clean = tf.train.Coordinator()
    clean.request_stop(tf.errors.OutOfRangeError(None, None, "done"))
    clean.join([])


def test_queue_runner_closes_its_queue_at_the_end_of_input():
    with tf.Graph().as_default():
        names = tf.train.string_input_producer(["a", "b"], num_epochs=2, shuffle=False)
        item = names.dequeue()
        with tf.Session() as sess:
            sess.run(tf.local_variables_initializer())
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            got = []
            with pytest.raises(tf.errors.OutOfRangeError):
                while True:
                    got.append(sess.run(item))
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=5)
    assert got == [b"a", b"b", b"a", b"b"]
