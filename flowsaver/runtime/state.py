"""What a session owns: variable values and random streams, handed to kernels as ``ctx``."""
from __future__ import annotations

import threading

import numpy as np

from flowsaver import errors
from flowsaver.ops.random.philox import PhiloxStream


class VariableRef:
    """A ref-typed value: the storage of one variable in one session.

    ``read()`` is how an op takes the variable's value; it fails, naming the variable,
    when nothing was assigned yet.
    """

    __slots__ = ("store", "name", "op")

    def __init__(self, store: dict, name: str, op):
        self.store = store
        self.name = name
        self.op = op

    def read(self) -> np.ndarray:
        try:
            return self.store[self.name]
        except KeyError:
            raise errors.FailedPreconditionError(
                None, self.op,
                f"Attempting to use uninitialized value {self.name}: run its initializer "
                f"(tf.global_variables_initializer() or {self.name}.initializer) or restore "
                f"it from a checkpoint first") from None

    def is_initialized(self) -> bool:
        return self.name in self.store

    def write(self, value: np.ndarray) -> None:
        self.store[self.name] = value


class RunContext:
    """Per-session state that stateful kernels use."""

    def __init__(self, session):
        self.session = session
        self.variables: dict[str, np.ndarray] = {}
        self._refs: dict[str, VariableRef] = {}
        self._streams: dict = {}
        self._op_state: dict = {}
        # session resources other than variables (dataset iterators, queues), by name
        self.resources: dict = {}
        self._resource_lock = threading.Lock()
        self._function_runners: dict = {}   # (graph, inputs, outputs, targets) -> callable
        self._function_lock = threading.RLock()

    def op_state(self, op) -> dict:
        """A dict a stateful kernel keeps for ``op`` across runs of this session (what
        TensorFlow keeps in its kernel object, e.g. how often ``Print`` printed)."""
        return self._op_state.setdefault(op, {})

    def variable(self, op) -> VariableRef:
        """The ref for a ``VariableV2`` node (keyed by its shared name, else its name)."""
        name = _shared_name(op)
        ref = self._refs.get(name)
        if ref is None:
            ref = self._refs[name] = VariableRef(self.variables, name, op)
        return ref

    def random_stream(self, op) -> PhiloxStream:
        """The Philox stream of a random op, started from its ``seed``/``seed2`` attrs.

        As in TensorFlow, each run reserves the next span of the op's stream, and a new
        session with the same seeds starts it over; both seeds 0 picks random seeds.
        """
        stream = self._streams.get(op)
        if stream is None:
            stream = PhiloxStream.from_seeds(op.get_attr("seed"), op.get_attr("seed2"))
            self._streams[op] = stream
        return stream

    def numpy_generator(self, op) -> np.random.Generator:
        """A NumPy generator for draws that are flowsaver's own rather than TensorFlow's
        stream (sampler and shuffle-queue picks), seeded from the op's Philox stream so that
        graph and op seeds reproduce them and each call continues the stream."""
        stream = self.random_stream(op)
        return np.random.default_rng([stream.key, stream.reserve(1 << 16)])

    def intra_op_threads(self) -> int:
        """The session config's ``intra_op_parallelism_threads``, 0 when not set."""
        return int(getattr(self.session._config, "intra_op_parallelism_threads", 0) or 0)

    def resource(self, key, make):
        """The session resource under ``key``, made by ``make()`` the first time; threads
        running the same op at once (queue runners) get the same one."""
        with self._resource_lock:
            value = self.resources.get(key)
            if value is None:
                value = self.resources[key] = make()
            return value

    def run_function(self, graph, inputs, outputs, targets=()):
        """A callable ``f(*input values) -> [output values]`` running a function's ``graph``
        (a FuncGraph: ``inputs`` fed, ``outputs`` fetched, ``targets`` run) with this
        session's variables, resources and random streams, as TensorFlow runs a function
        in the calling session. Planned once per signature, compiled or interpreted like
        any plan; planning errors (an unsupported loop) come here, before anything runs.
        """
        inputs, outputs, targets = list(inputs), list(outputs), list(targets)
        key = (graph, tuple(inputs), tuple(outputs), tuple(targets))
        with self._function_lock:  # reentrant: planning a loop body plans what it calls
            run = self._function_runners.get(key)
            if run is None:
                from flowsaver.runtime import planner   # planner's steps are built with us
                plan = planner.make_runner(outputs, targets, inputs, self)
                reads = [t.dtype._is_ref_dtype for t in outputs]
                run = self._function_runners[key] = _function_call(plan, reads)
        return run

    def close(self) -> None:
        self._function_runners.clear()
        for resource in self.resources.values():
            # wake anything still waiting on a resource (a dequeue), then drop it
            closer = getattr(resource, "cancel", None) or getattr(resource, "close", None)
            if closer is not None:
                closer()
        self.resources.clear()
        self.variables.clear()
        self._refs.clear()
        self._streams.clear()
        self._op_state.clear()


def _shared_name(op) -> str:
    try:
        shared = op.get_attr("shared_name")
    except ValueError:
        shared = b""
    shared = shared.decode() if isinstance(shared, bytes) else shared
    return shared or op.name


def _function_call(run, reads):
    """``run`` (a plan's runner) called with positional values; ref-typed results read
    (resource handles are values and pass through as they are)."""
    def call(*values):
        with np.errstate(all="ignore"):  # as in Session.run: inf and nan come quietly
            results = run(list(values))
        if any(reads):
            results = [v.read() if read else v for v, read in zip(results, reads)]
        return results
    return call
