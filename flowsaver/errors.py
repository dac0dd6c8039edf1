"""Error classes named as TensorFlow names them, so that code catching
``tf.errors.NotFoundError`` keeps working with flowsaver.

TensorFlow's constructor is ``NotFoundError(node_def, op, message)``; flowsaver
code mostly raises ``NotFoundError(message)``. Both forms are accepted.
"""
from __future__ import annotations

# Canonical error codes, as in TensorFlow's error_codes.proto.
OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
PERMISSION_DENIED = 7
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
OUT_OF_RANGE = 11
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
DATA_LOSS = 15
UNAUTHENTICATED = 16


class OpError(Exception):
    """Base of every flowsaver runtime error, mirroring ``tf.errors.OpError``."""

    error_code = UNKNOWN

    def __init__(self, *args):
        if len(args) == 1:
            node_def, op, message = None, None, args[0]
        elif len(args) in (3, 4):  # TensorFlow's (node_def, op, message[, error_code])
            node_def, op, message = args[:3]
        else:
            raise TypeError(f"{type(self).__name__} takes (message) or (node_def, op, message)")
        super().__init__(message)
        self._message = str(message)
        self._node_def = node_def
        self._op = op

    @property
    def message(self) -> str:
        return self._message

    @property
    def node_def(self):
        return self._node_def

    @property
    def op(self):
        return self._op

    def __str__(self) -> str:
        return self._message


def _make(name: str, code: int, doc: str) -> type:
    return type(name, (OpError,), {"error_code": code, "__doc__": doc})


CancelledError = _make("CancelledError", CANCELLED, "An operation was cancelled.")
UnknownError = _make("UnknownError", UNKNOWN, "An error of no other class.")
InvalidArgumentError = _make("InvalidArgumentError", INVALID_ARGUMENT,
                             "An argument was invalid: a bad shape, dtype or name.")
DeadlineExceededError = _make("DeadlineExceededError", DEADLINE_EXCEEDED, "A deadline passed.")
NotFoundError = _make("NotFoundError", NOT_FOUND, "A file, tensor or key was not found.")
AlreadyExistsError = _make("AlreadyExistsError", ALREADY_EXISTS, "The entity already exists.")
PermissionDeniedError = _make("PermissionDeniedError", PERMISSION_DENIED, "Permission denied.")
ResourceExhaustedError = _make("ResourceExhaustedError", RESOURCE_EXHAUSTED,
                               "A size limit or memory budget would be exceeded.")
FailedPreconditionError = _make("FailedPreconditionError", FAILED_PRECONDITION,
                                "The system is not in a state to run the operation, "
                                "for example an uninitialized variable.")
AbortedError = _make("AbortedError", ABORTED, "The operation was aborted.")
OutOfRangeError = _make("OutOfRangeError", OUT_OF_RANGE, "Iteration or a read went past the end.")
UnimplementedError = _make("UnimplementedError", UNIMPLEMENTED,
                           "The operation or format variant is not supported.")
InternalError = _make("InternalError", INTERNAL, "An internal invariant was broken.")
UnavailableError = _make("UnavailableError", UNAVAILABLE, "The service is unavailable.")
DataLossError = _make("DataLossError", DATA_LOSS,
                      "A file is corrupted or truncated: bad checksum, length or structure.")
UnauthenticatedError = _make("UnauthenticatedError", UNAUTHENTICATED, "No valid credentials.")


_DUAL: dict = {}


def with_python_base(error_class: type, python_class: type) -> type:
    """``error_class`` that is also an instance of ``python_class`` (one class per pair).

    Where TensorFlow raises a plain ValueError or TypeError for a bad file (an invalid
    GraphDef or MetaGraphDef), flowsaver raises this: code catching TensorFlow's Python
    exception keeps working, and code catching flowsaver's typed errors sees an OpError.

    Example:
      >>> InvalidGraph = with_python_base(InvalidArgumentError, ValueError)
      >>> isinstance(InvalidGraph("bad node"), (ValueError, OpError))
      True
    """
    key = (error_class, python_class)
    if key not in _DUAL:
        # Named as the TensorFlow class; found by pickle under its qualified name.
        qualname = f"{error_class.__name__}_{python_class.__name__}"
        cls = type(error_class.__name__, (error_class, python_class),
                   {"__doc__": error_class.__doc__, "__module__": __name__,
                    "__qualname__": qualname})
        _DUAL[key] = globals()[qualname] = cls
    return _DUAL[key]
