"""``tf.train.CheckpointManager`` over a Saver, with background, fsynced and best-N saves.

TensorFlow's arguments and behaviour: checkpoints ``directory/checkpoint_name-N`` numbered
by a save counter (or ``checkpoint_number``), the ``checkpoint`` state file written with
relative paths, timestamps and ``last_preserved_timestamp`` (so TensorFlow's own manager
and ``tf.train.latest_checkpoint`` read it), ``max_to_keep`` and
``keep_checkpoint_every_n_hours`` applied as TensorFlow applies them (manager_retention.py),
``step_counter``/``checkpoint_interval`` to skip saves, ``restore_or_initialize``.

flowsaver's additions, all keyword-only:

  async_save=True   ``save`` takes the values into memory (one Session.run, copies) and
                    returns; a background thread writes the files, the state file and
                    the deletions. The next ``save``, ``wait_until_finished()`` or
                    ``restore_or_initialize`` first waits for it, and raises its error
                    if it failed.
  keep_best=N       also keep the N checkpoints with the best ``metric`` passed to
                    ``save`` (``best_mode`` "max" or "min"). The metrics are kept in
                    ``directory/checkpoint.metrics.json``, written before the state file.
  sync=True         fsync data, index and directory before each commit, and the state
                    file too: a saved checkpoint survives a power cut (bench/results_sync.md
                    says what it costs).

Like TensorFlow's, a manager assumes it is the only writer of its prefix family in the
directory.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time

import numpy as np

from flowsaver.format import state as ckpt_state, storage
from flowsaver.format.checkpoint_write import write_checkpoint
from flowsaver.format.leftovers import remove_leftovers
from flowsaver.graph.default_session import get_default_session
from flowsaver.train.background import BackgroundJob
from flowsaver.train.manager_retention import BestN, ManagedRecord, ManagerPolicy
from flowsaver.train.saver import delete_owned_checkpoint

_log = logging.getLogger(__name__)

METRICS_FILENAME = "checkpoint.metrics.json"
_NUMBER = re.compile(r"-(\d+)$")


class CheckpointManager:
    """Saves checkpoints of a Saver's variables and keeps the right ones.

    Example:
      >>> manager = tf.train.CheckpointManager(saver, "runs/a", max_to_keep=3,
      ...                                      async_save=True, keep_best=2)
      >>> manager.save(session=sess, metric=accuracy)   # returns at once
      >>> manager.wait_until_finished()
    """

    def __init__(self, checkpoint, directory, max_to_keep, keep_checkpoint_every_n_hours=None,
                 checkpoint_name="ckpt", step_counter=None, checkpoint_interval=None,
                 init_fn=None, *, session=None, async_save: bool = False,
                 keep_best: int | None = None, best_mode: str = "max", sync: bool = False):
        if max_to_keep is not None and max_to_keep <= 0:
            raise ValueError(f"Expected a positive integer or `None` for `max_to_keep`, got "
                             f"{max_to_keep}.")
        if checkpoint_interval is not None and step_counter is None:
            raise ValueError("`step_counter` should be passed if `checkpoint_interval` is "
                             "not None.")
        if not hasattr(checkpoint, "take_snapshot"):
            raise TypeError(f"CheckpointManager manages a tf.train.Saver; got {checkpoint!r}")
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._prefix = os.path.join(self._directory, checkpoint_name)
        self._policy = ManagerPolicy(max_to_keep, keep_checkpoint_every_n_hours,
                                     BestN(keep_best, best_mode) if keep_best else None)
        self._step_counter = step_counter
        self._checkpoint_interval = checkpoint_interval
        self._last_checkpoint_step = None
        self._init_fn = init_fn
        self._session = session
        self._async = async_save
        self._sync = sync
        self._job = BackgroundJob(f"CheckpointManager({self._prefix})")
        self._recover(time.time())

    def _recover(self, now: float) -> None:
        """Adopt the directory's state file, as TensorFlow's manager does."""
        state = ckpt_state.get_checkpoint_state(self._directory)
        if state is None:
            self._latest = None
            # A second back: a manager re-created at once does not preserve its first save.
            self._last_preserved = now - 1.0
            self._records = ()
            self._save_counter = 0
            return
        self._latest = state.model_checkpoint_path
        self._last_preserved = state.last_preserved_timestamp
        if now < self._last_preserved:
            _log.warning("time.time() returned a value %f seconds behind the last preserved "
                         "checkpoint timestamp.", self._last_preserved - now)
            self._last_preserved = now
        paths = list(state.all_model_checkpoint_paths)
        stamps = list(state.all_model_checkpoint_timestamps) or \
            [self._last_preserved] * len(paths)
        metrics = self._read_metrics() if self._policy.best else {}
        self._records = tuple(
            ManagedRecord(p, min(t, now), metrics.get(os.path.basename(p)))
            for p, t in zip(paths, stamps) if min(t, now) > self._last_preserved)
        m = _NUMBER.search(self._latest)
        self._save_counter = int(m.group(1)) if m else 0

    # ---- TensorFlow's properties ----------------------------------------------------------
    @property
    def directory(self) -> str:
        return self._directory

    @property
    def checkpoint(self):
        return self._checkpoint

    @property
    def checkpoint_interval(self):
        return self._checkpoint_interval

    @property
    def latest_checkpoint(self) -> str | None:
        """The newest checkpoint written completely (an async save counts once written)."""
        return self._latest

    @property
    def checkpoints(self) -> list[str]:
        """The managed checkpoints, oldest first (preserved ones are not listed)."""
        return [r.path for r in self._records]

    # ---- saving ----------------------------------------------------------------------------
    def _sess(self, session):
        sess = session or self._session or get_default_session()
        if sess is None:
            raise ValueError("CheckpointManager.save needs a session: pass session=, give "
                             "one to the constructor, or save inside `with sess.as_default()`")
        return sess

    def save(self, checkpoint_number=None, check_interval: bool = True, options=None, *,
             session=None, metric=None) -> str | None:
        """Save a checkpoint and apply retention; returns its prefix, or None if skipped.

        Args:
          checkpoint_number: an int, or a variable/tensor evaluated in the session, to
            number the checkpoint; the save counter numbers it otherwise.
          check_interval: with ``checkpoint_interval``, skip the save unless the step
            counter moved on by that much.
          options: accepted for TensorFlow's signature; unused.
          session: (flowsaver) the Session holding the variables.
          metric: (flowsaver) the value ``keep_best`` ranks this checkpoint by.

        Raises:
          Any error of the previous background save (``async_save``).
          ValueError: ``keep_best`` is set and ``metric`` is None.
        """
        del options
        self._job.wait()
        sess = self._sess(session)
        if self._policy.best is not None and metric is None:
            raise ValueError("this CheckpointManager keeps the best checkpoints: save() "
                             "needs a metric")
        if self._checkpoint_interval is not None:
            step = int(sess.run(self._step_counter))
            if self._last_checkpoint_step is not None:
                if step == self._last_checkpoint_step:
                    return None
                if check_interval and step < self._last_checkpoint_step + \
                        self._checkpoint_interval:
                    return None
            self._last_checkpoint_step = step
        self._save_counter += 1
        if checkpoint_number is None:
            checkpoint_number = self._save_counter
        elif not isinstance(checkpoint_number, (int, np.integer)):
            checkpoint_number = sess.run(checkpoint_number)
        prefix = "%s-%d" % (self._prefix, int(checkpoint_number))
        shards = self._checkpoint.take_snapshot(sess, prefix)
        metric = None if metric is None else float(metric)
        if self._async:
            self._job.start(lambda: self._write(prefix, shards, metric))
        else:
            self._write(prefix, shards, metric)
        return prefix

    def wait_until_finished(self) -> None:
        """Blocks until the background save (if any) is done; raises its error."""
        self._job.wait()

    def _write(self, prefix: str, shards, metric) -> None:
        remove_leftovers(self._prefix)
        write_checkpoint(prefix, shards, sync=self._sync)
        record = ManagedRecord(prefix, time.time(), metric)
        self._records = tuple(r for r in self._records if r.path != prefix) + (record,)
        self._latest = prefix
        # The new checkpoint is recorded before anything is deleted, so that a process
        # killed while deleting still finds it; the second write drops the deleted ones.
        self._record_state()
        sweep = self._policy.sweep(self._records, self._last_preserved)
        self._records, self._last_preserved = sweep.active, sweep.last_preserved
        for path in sweep.delete:
            delete_owned_checkpoint(path, self._directory)
        self._record_state()

    def _record_state(self) -> None:
        if self._policy.best is not None:
            metrics = {os.path.basename(r.path): r.metric for r in self._records}
            storage.write_atomic(os.path.join(self._directory, METRICS_FILENAME),
                                 json.dumps(metrics, sort_keys=True).encode(), sync=self._sync)
        ckpt_state.update_checkpoint_state(
            self._directory, self._latest,
            all_model_checkpoint_paths=[r.path for r in self._records],
            all_model_checkpoint_timestamps=[r.time for r in self._records],
            last_preserved_timestamp=self._last_preserved, save_relative_paths=True,
            sync=self._sync)

    def _read_metrics(self) -> dict:
        path = os.path.join(self._directory, METRICS_FILENAME)
        try:
            data = json.loads(storage.read_bytes(path, 64 << 20))
        except (OSError, ValueError) as exc:
            _log.warning("%s unreadable (%s): recovered checkpoints have no metric", path, exc)
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: float(v) for k, v in data.items()
                if isinstance(k, str) and isinstance(v, (int, float))}

    # ---- restoring -------------------------------------------------------------------------
    def restore_or_initialize(self, session=None) -> str | None:
        """Restore the latest checkpoint, else run ``init_fn``; returns the path or None."""
        self._job.wait()
        if self._latest is not None:
            sess = self._sess(session)
            self._checkpoint.restore(sess, self._latest)
            if self._checkpoint_interval is not None:
                self._last_checkpoint_step = int(sess.run(self._step_counter))
            return self._latest
        if self._init_fn is not None:
            self._init_fn()
        return None
