"""``tf.train.Saver``: save and restore variables, and keep the right checkpoints.

Files are TensorFlow's: ``prefix.index``, ``prefix.data-*``, ``prefix.meta`` and the
``checkpoint`` state file. A save writes data and index under temporary names and renames
them into place, index last, then replaces the state file atomically; a restore checks
every key, dtype and shape against the checkpoint before changing any variable, and puts
every value back if it fails anyway. A save path may be a URL (``s3://bucket/run/model``):
the values are then taken in one run and written by format/checkpoint_write.py, shards in
parallel, in the commit order of an object store (bundle_write.py).

Deletion is bounded: each save first removes leftovers of killed saves of its own prefix
family (format/leftovers.py), never the state file's temporaries (another Saver in the
directory may be writing one), and retention deletes only checkpoints in the directory
it saves into, by their exact file names (never through glob characters).
"""
from __future__ import annotations

import logging
import numbers
import os
import time

import numpy as np

from flowsaver import errors
from flowsaver.format import atomic, state as ckpt_state, storage
from flowsaver.format.checkpoint_write import write_checkpoint
from flowsaver.format.leftovers import clear_retiring, note_retiring, remove_leftovers
from flowsaver.format.graph_protos import SaverDef
from flowsaver.graph.graph import get_default_graph
from flowsaver.train import meta_graph, restore_check, saveables as saveable_util, saver_graph
from flowsaver.train.retention import RetentionPolicy
from flowsaver.train.save_snapshot import take_snapshot

_log = logging.getLogger(__name__)


class Saver:
    """Saves and restores variables (TensorFlow 1.x's ``tf.train.Saver``)."""

    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False,
                 saver_def=None, builder=None, defer_build=False, allow_empty=False,
                 write_version=SaverDef.V2, pad_step_number=False, save_relative_paths=False,
                 filename=None):
        if defer_build and var_list:
            raise ValueError("If `var_list` is provided then build cannot be deferred. Either "
                             "set defer_build=False or var_list=None.")
        if write_version != SaverDef.V2:
            raise errors.UnimplementedError(
                "flowsaver writes checkpoint format V2 only (it reads V1 checkpoints)")
        self._var_list = var_list
        self._reshape = reshape
        self._sharded = sharded
        self._name = name
        self._filename = filename
        self._allow_empty = allow_empty
        self._pad_step_number = pad_step_number
        self._save_relative_paths = save_relative_paths
        self._policy = RetentionPolicy(max_to_keep or 0, keep_checkpoint_every_n_hours)
        self._retention = self._policy.start(time.time())
        self._written: set[str] = set()   # checkpoints this Saver wrote, not yet deleted
        self._is_empty = False
        self._is_built = False
        self.saver_def = saver_def
        if saver_def is not None:
            self._adopt(saver_def, name)
        elif not defer_build:
            self.build()

    # ---- building --------------------------------------------------------------------------
    def build(self) -> None:
        """Add the save and restore ops (once)."""
        if self._is_built:
            return
        self._is_built = True
        if self.saver_def is not None:
            return
        var_list = self._var_list
        if var_list is None:
            var_list = saveable_util.all_saveable_objects()
        if not var_list:
            if self._allow_empty:
                self._is_empty = True
                return
            raise ValueError("No variables to save")
        saveables = saveable_util.saveables_for(var_list)
        self.saver_def = saver_graph.build(saveables, self._name, self._sharded,
                                           self._filename, self._reshape)
        self.saver_def.max_to_keep = self._policy.max_to_keep
        self.saver_def.keep_checkpoint_every_n_hours = \
            self._policy.keep_checkpoint_every_n_hours
        self._retention = self._policy.start(time.time())

    def _adopt(self, saver_def, name) -> None:
        self._is_built = True
        if name:  # re-prefix the three names: how import_meta_graph scopes a saver
            saver_def = _prefixed(saver_def, name)
            self.saver_def = saver_def
        self._sharded = saver_def.sharded
        self._policy = RetentionPolicy(saver_def.max_to_keep,
                                       saver_def.keep_checkpoint_every_n_hours)
        self._retention = self._policy.start(time.time())

    def _check_built(self) -> None:
        if not self._is_built:
            raise RuntimeError("`build()` should be called before save if defer_build==True")

    # ---- saving ------------------------------------------------------------------------------
    def save(self, sess, save_path, global_step=None, latest_filename=None,
             meta_graph_suffix="meta", write_meta_graph=True, write_state=True,
             strip_default_attrs=False, save_debug_info=False):
        """Save the variables to ``save_path`` (``-<global_step>`` appended); the prefix.

        Raises:
          TypeError: ``sess`` is not a Session.
          ValueError: ``save_path`` is the state file's own path, or its directory's parent
            does not exist.
        """
        self._check_built()
        latest_filename = latest_filename or "checkpoint"
        if os.path.split(latest_filename)[0]:
            raise ValueError("'latest_filename' must not contain path components")
        save_path = os.fspath(save_path)
        if global_step is not None:
            # TensorFlow takes any Python or NumPy integer as is and runs anything else.
            step = int(global_step) if isinstance(global_step, (numbers.Integral, np.integer)) \
                else _step_value(sess, global_step)
            checkpoint_file = f"{save_path}-{step:08d}" if self._pad_step_number \
                else f"{save_path}-{step}"
        else:
            checkpoint_file = save_path
            if os.path.basename(save_path) == latest_filename and not self._sharded:
                raise ValueError(f"'latest_filename' collides with 'save_path': "
                                 f"'{latest_filename}' and '{save_path}'")
        if not hasattr(sess, "run") or not hasattr(sess, "graph"):
            raise TypeError(f"'sess' must be a Session; {sess!r}")
        parent = os.path.dirname(save_path)
        path = None
        if not self._is_empty:
            remove_leftovers(save_path, meta_graph_suffix,
                             listed=lambda: _listed(parent, latest_filename))
            if storage.is_url(save_path):
                shards = self.take_snapshot(sess, checkpoint_file)
                path = write_checkpoint(checkpoint_file, shards)
            else:
                path = self._run_save_ops(sess, save_path, checkpoint_file)
            if write_state:
                self._record(path, save_path, latest_filename, meta_graph_suffix)
        if write_meta_graph:
            meta_file = ckpt_state.meta_graph_filename(checkpoint_file, meta_graph_suffix)
            with sess.graph.as_default():
                self.export_meta_graph(meta_file, strip_default_attrs=strip_default_attrs)
        return path

    def _run_save_ops(self, sess, save_path: str, checkpoint_file: str) -> str:
        parent = os.path.dirname(save_path)
        try:
            path = sess.run(self.saver_def.save_tensor_name,
                            {self.saver_def.filename_tensor_name: checkpoint_file})
        except (errors.FailedPreconditionError, errors.NotFoundError) as exc:
            if parent and not os.path.isdir(parent):
                raise ValueError(f"Parent directory of {save_path} doesn't exist, can't "
                                 f"save.") from exc
            raise
        return path.decode() if isinstance(path, bytes) else str(path)

    def write_with_ops(self, sess, checkpoint_file: str) -> str:
        """(flowsaver) Write checkpoint ``checkpoint_file`` with this Saver's graph ops
        only: no leftover cleaning, no state file, no retention, no meta graph."""
        self._check_built()
        return self._run_save_ops(sess, checkpoint_file, checkpoint_file)

    def take_snapshot(self, sess, checkpoint_file: str, copy: bool = False) -> list:
        """(flowsaver) The values a save to ``checkpoint_file`` writes, as of this call:
        one list of ``TensorToSave`` per data shard (see train/save_snapshot.py)."""
        self._check_built()
        return take_snapshot(sess, self.saver_def, checkpoint_file, copy)

    def _record(self, path, save_path, latest_filename, meta_graph_suffix) -> None:
        save_dir = os.path.dirname(save_path)
        self._written.add(path)
        self._retention = self._policy.record(self._retention, path, time.time())
        settled, decision = self._policy.settle(self._retention)
        # The state file written next no longer lists what retention deletes: until it is
        # deleted, the family's sidecar names it (format/leftovers.py), so that a save
        # killed in between leaves it to the next save to delete.
        retiring = note_retiring(save_path, decision.delete)
        ckpt_state.update_checkpoint_state(
            save_dir, path, all_model_checkpoint_paths=self._retention.paths,
            latest_filename=latest_filename, save_relative_paths=self._save_relative_paths)
        self._retention = settled
        for old in decision.delete:
            delete_owned_checkpoint(old, save_dir, meta_graph_suffix,
                                    wrote_it=old in self._written)
            self._written.discard(old)
        if retiring:
            clear_retiring(save_path)

    # ---- restoring ---------------------------------------------------------------------------
    def restore(self, sess, save_path) -> None:
        """Set the variables from checkpoint ``save_path``; no initializer needs to have run.

        Raises:
          ValueError: ``save_path`` is None or names no checkpoint.
          NotFoundError: keys missing from the checkpoint (all listed, with near names).
          InvalidArgumentError: a dtype or shape differs (variable and both sides named).
        """
        if self._is_empty:
            return
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        save_path = os.fspath(save_path)
        if storage.isdir(save_path):
            latest = ckpt_state.latest_checkpoint(save_path)
            hint = f" (its latest checkpoint is {latest})" if latest else \
                " (it holds no checkpoint state file)"
            raise ValueError(f"The passed save_path is a directory, not a checkpoint prefix: "
                             f"{save_path}{hint}. Pass a prefix, for example "
                             f"tf.train.latest_checkpoint({save_path!r}).")
        if not ckpt_state.checkpoint_exists(save_path):
            raise ValueError(f"The passed save_path is not a valid checkpoint: {save_path} "
                             f"(neither {save_path}.index, a V2 checkpoint, nor {save_path} "
                             f"itself, a V1 checkpoint, matches a file)")
        restore_op = sess.graph.get_operation_by_name(self.saver_def.restore_op_name)
        try:
            restore_check.check(restore_op, save_path)
        except errors.NotFoundError:
            mapping = restore_check.object_graph_keys(save_path)
            if mapping is None:
                raise
            # A TF2 object-based checkpoint: its keys are found through the object graph.
            self._object_based_saver(sess.graph, mapping).restore(sess, save_path)
            return
        store = getattr(getattr(sess, "_ctx", None), "variables", None)
        before = dict(store) if store is not None else None
        try:
            sess.run(restore_op, {self.saver_def.filename_tensor_name: save_path})
        except BaseException:
            if before is not None:  # nothing half-restored: put every old value back
                store.clear()
                store.update(before)
            raise

    def _object_based_saver(self, graph, mapping: dict) -> "Saver":
        """A Saver reading this Saver's variables under their object-based checkpoint keys."""
        with graph.as_default():
            var_list = self._var_list if self._var_list is not None else \
                saveable_util.all_saveable_objects()
            named = saveable_util.names_to_variables(var_list)
            unmapped = sorted(name for name in named if name not in mapping)
            if unmapped:
                raise errors.NotFoundError(
                    f"The checkpoint is object-based (TF2) and holds no entry for "
                    f"{', '.join(unmapped)}: its object graph maps {len(mapping)} variables")
            return Saver({mapping[name]: value for name, value in named.items()},
                         max_to_keep=None)

    # ---- bookkeeping -----------------------------------------------------------------------
    @property
    def last_checkpoints(self) -> list:
        return self._retention.paths

    def set_last_checkpoints(self, last_checkpoints) -> None:
        """Deprecated in TensorFlow: use ``set_last_checkpoints_with_time``."""
        self._retention = self._policy.with_records(self._retention,
                                                    [(p, 0.0) for p in last_checkpoints])

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time) -> None:
        self._retention = self._policy.with_records(self._retention, last_checkpoints_with_time)

    def recover_last_checkpoints(self, checkpoint_paths) -> None:
        """Adopt the existing ones among ``checkpoint_paths``, timed by their files' mtimes."""
        existing = [p for p in checkpoint_paths if ckpt_state.checkpoint_exists(p)]
        times = ckpt_state.get_checkpoint_mtimes(existing)
        self.set_last_checkpoints_with_time(list(zip(existing, times)))

    def as_saver_def(self) -> SaverDef:
        return self.saver_def

    def to_proto(self, export_scope=None) -> SaverDef | None:
        """The SaverDef with ``export_scope/`` stripped; None if a name lies outside it."""
        if export_scope is None:
            return self.saver_def
        names = (self.saver_def.filename_tensor_name, self.saver_def.save_tensor_name,
                 self.saver_def.restore_op_name)
        if not all(n.startswith(export_scope + "/") for n in names):
            return None
        out = SaverDef()
        out.CopyFrom(self.saver_def)
        strip = len(export_scope) + 1
        out.filename_tensor_name = names[0][strip:]
        out.save_tensor_name = names[1][strip:]
        out.restore_op_name = names[2][strip:]
        return out

    @staticmethod
    def from_proto(saver_def, import_scope=None) -> "Saver":
        return Saver(saver_def=saver_def, name=import_scope)

    def export_meta_graph(self, filename=None, collection_list=None, as_text=False,
                          export_scope=None, clear_devices=False,
                          clear_extraneous_savers=False, strip_default_attrs=False,
                          save_debug_info=False):
        """Write this graph's MetaGraphDef, with this Saver's SaverDef, to ``filename``."""
        return meta_graph.export_meta_graph(
            filename=filename, graph_def=get_default_graph().as_graph_def(add_shapes=True),
            saver_def=self.saver_def, collection_list=collection_list, as_text=as_text,
            export_scope=export_scope, clear_devices=clear_devices,
            clear_extraneous_savers=clear_extraneous_savers,
            strip_default_attrs=strip_default_attrs)


def _prefixed(saver_def, scope: str) -> SaverDef:
    out = SaverDef()
    out.CopyFrom(saver_def)
    out.filename_tensor_name = f"{scope}/{saver_def.filename_tensor_name}"
    out.save_tensor_name = f"{scope}/{saver_def.save_tensor_name}"
    out.restore_op_name = f"{scope}/{saver_def.restore_op_name}"
    return out


def _step_value(sess, global_step) -> int:
    return int(sess.run(global_step))


def clean_temp_files(prefix: str) -> None:
    """Remove what a killed save of ``prefix`` left behind (``*.tempstate*`` files)."""
    for path in atomic.find_temp_files(prefix):
        atomic.discard(path)


def _listed(save_dir: str, latest_filename: str) -> list[str] | None:
    """The checkpoint paths the state file in ``save_dir`` lists; None when it cannot be
    read (then nothing counts as unlisted)."""
    try:
        found = ckpt_state.get_checkpoint_state(save_dir, latest_filename)
    except (OSError, errors.OpError, ValueError):
        return None
    return [] if found is None else list(found.all_model_checkpoint_paths)


def delete_owned_checkpoint(prefix: str, save_dir: str, meta_graph_suffix: str = "meta",
                            wrote_it: bool = False) -> bool:
    """Deletes checkpoint ``prefix`` if the saver wrote it, or it lies in ``save_dir``;
    returns whether it did.

    A checkpoint the saver wrote itself goes wherever it is (a Saver may save into several
    directories, and TensorFlow's retention spans them); one adopted through
    ``set_last_checkpoints`` or a state file only when it is in the directory being saved
    into. Either way only the files named exactly after the prefix go
    (state.delete_checkpoint_files): glob characters in a path match nothing but
    themselves.
    """
    if not wrote_it and not storage.same_directory(os.path.dirname(prefix), save_dir):
        _log.warning("Not deleting old checkpoint %s: it is outside the directory %s this "
                     "Saver saves into", prefix, save_dir or ".")
        return False
    ckpt_state.delete_checkpoint_files(prefix, meta_graph_suffix)
    return True
