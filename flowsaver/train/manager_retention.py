"""Which checkpoints a CheckpointManager keeps: TensorFlow's rule, plus keep-best-N.

Pure: a function of the records (path, time, metric), oldest first, and of the last
preserved time; tested without files (orbax's preservation policies are the model).

TensorFlow's rule (``tf.train.CheckpointManager._sweep``): while more than
``max_to_keep`` records are active, the oldest leaves the active set; it is *preserved*
(its files kept, the record forgotten) when ``keep_checkpoint_every_n_hours`` is set and
it is at least that long after the last preserved checkpoint, which it then becomes;
otherwise it is deleted. ``max_to_keep`` of None keeps everything active.

flowsaver's addition, ``BestN``: also keep active the ``n`` records with the best metric
(highest, or lowest with ``mode="min"``; ties go to the newer). A record leaves the
active set only when neither rule keeps it; leaving, it is preserved or deleted as above.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class ManagedRecord:
    path: str
    time: float
    metric: float | None = None


@dataclass(frozen=True)
class BestN:
    """Keep the ``n`` checkpoints with the best metric: ``mode`` "max" or "min"."""

    n: int
    mode: str = "max"

    def __post_init__(self):
        if self.n < 1:
            raise ValueError(f"keep_best needs a positive number of checkpoints, got {self.n}")
        if self.mode not in ("max", "min"):
            raise ValueError(f"best mode must be 'max' or 'min', got {self.mode!r}")

    def best(self, records) -> set[str]:
        """Paths of the ``n`` best records that have a (non-NaN) metric."""
        scored = [(r.metric if self.mode == "max" else -r.metric, i, r.path)
                  for i, r in enumerate(records)
                  if r.metric is not None and not math.isnan(r.metric)]
        scored.sort(reverse=True)   # best metric first; on a tie, the newer (larger i)
        return {path for _, _, path in scored[:self.n]}


@dataclass(frozen=True)
class Sweep:
    """What one sweep decides."""

    active: tuple            # records still managed, oldest first
    last_preserved: float    # the new last preserved time
    delete: tuple = ()       # paths whose files go
    preserve: tuple = ()     # paths kept for good and forgotten


@dataclass(frozen=True)
class ManagerPolicy:
    max_to_keep: int | None = 5
    keep_checkpoint_every_n_hours: float | None = None
    best: BestN | None = None

    def sweep(self, records, last_preserved: float) -> Sweep:
        """Apply the rule to ``records`` (oldest first) after a save."""
        records = tuple(records)
        if not self.max_to_keep:
            return Sweep(records, last_preserved)
        keep = {r.path for r in records[-self.max_to_keep:]}
        if self.best is not None:
            keep |= self.best.best(records)
        active, delete, preserve = [], [], []
        interval = (self.keep_checkpoint_every_n_hours or 0.0) * SECONDS_PER_HOUR
        for record in records:
            if record.path in keep:
                active.append(record)
            elif self.keep_checkpoint_every_n_hours and \
                    record.time - interval >= last_preserved:
                last_preserved = record.time
                preserve.append(record.path)
            else:
                delete.append(record.path)
        return Sweep(tuple(active), last_preserved, tuple(delete), tuple(preserve))
