"""Which checkpoints a Saver keeps: TensorFlow's ``max_to_keep`` and
``keep_checkpoint_every_n_hours`` rule, as a pure policy over records and a clock.

The rule (measured on TensorFlow, spec section 3.4): every save appends ``(path, time)``
to the kept list (a path saved again moves to the end). When the list outgrows
``max_to_keep``, its oldest entry moves to a queue. After the state file is written, at
most one queued entry is settled: kept for good (and forgotten) when it was saved after
``next_keep_time``, which then advances by N hours from its old value; deleted otherwise.
``max_to_keep`` of 0 or None records nothing and deletes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Record:
    path: str
    time: float


@dataclass(frozen=True)
class RetentionState:
    """The Saver's bookkeeping: kept records (oldest first) and the deletion queue."""

    kept: tuple = ()
    queue: tuple = ()
    next_keep_time: float = 0.0

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.kept]


@dataclass(frozen=True)
class Decision:
    """What one save means for the files: delete these, keep those for good."""

    delete: tuple = ()
    preserve: tuple = ()


@dataclass(frozen=True)
class RetentionPolicy:
    max_to_keep: int | None = 5
    keep_checkpoint_every_n_hours: float = 10000.0

    @property
    def interval(self) -> float:
        return self.keep_checkpoint_every_n_hours * SECONDS_PER_HOUR

    @property
    def enabled(self) -> bool:
        return bool(self.max_to_keep)

    def start(self, now: float) -> RetentionState:
        """The state of a Saver built at time ``now``."""
        return RetentionState(next_keep_time=now + self.interval)

    def record(self, state: RetentionState, path: str, now: float) -> RetentionState:
        """``state`` after saving ``path`` at ``now``, before any file is deleted."""
        if not self.enabled:
            return state
        kept = tuple(r for r in state.kept if r.path != path) + (Record(path, now),)
        queue = state.queue
        while len(kept) > self.max_to_keep:
            queue += (kept[0],)
            kept = kept[1:]
        return replace(state, kept=kept, queue=queue)

    def settle(self, state: RetentionState) -> tuple[RetentionState, Decision]:
        """Settle at most one queued record: the step after the state file is written."""
        if not state.queue:
            return state, Decision()
        oldest, queue = state.queue[0], state.queue[1:]
        if oldest.time > state.next_keep_time:
            return (replace(state, queue=queue, next_keep_time=state.next_keep_time + self.interval),
                    Decision(preserve=(oldest.path,)))
        return replace(state, queue=queue), Decision(delete=(oldest.path,))

    def with_records(self, state: RetentionState, records) -> RetentionState:
        """``state`` holding ``records`` (``set_last_checkpoints_with_time``)."""
        return replace(state, kept=tuple(Record(p, float(t)) for p, t in records))
