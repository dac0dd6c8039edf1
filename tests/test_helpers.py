"""Small builders shared by test modules (importable: tests/ is on pytest's pythonpath)."""
import contextlib
import signal

from flowsaver.format.protos import TensorProto


class Hang(Exception):
    """Raised by the SIGALRM guard; never one of the errors the code under test may raise."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Fail (instead of hanging the run) when the body takes longer than ``seconds``."""
    def on_alarm(signum, frame):
        raise Hang(f"took longer than {seconds} s")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def tensor_proto(dtype: int, shape, **fields) -> TensorProto:
    """A TensorProto with a set (possibly empty) shape and the given value fields."""
    proto = TensorProto(dtype=dtype, **fields)
    proto.tensor_shape.SetInParent()
    for d in shape:
        proto.tensor_shape.dim.add(size=d)
    return proto


def alternate_cpus():
    """A TF device function placing successive variables on /device:CPU:1, :0, :1, ...
    so that a sharded Saver gets two shards (needs ConfigProto(device_count={'CPU': 2}))."""
    count = [0]

    def place(op):
        if op.type in ("VariableV2", "VarHandleOp"):
            count[0] += 1
            return "/device:CPU:%d" % (count[0] % 2)
        return op.device
    return place
