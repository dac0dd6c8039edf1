"""``tf.logging``: TensorFlow 1.x's logging functions, a thin layer over Python's ``logging``.

Everything goes to the ``tensorflow`` logger, as in TensorFlow: when the program has set
up no logging of its own (the root logger has no handler), the logger gets one handler
writing ``LEVEL:tensorflow:message`` to stderr (stdout in an interactive session, where
INFO is also shown). Levels are Python's: DEBUG 10, INFO 20, WARN 30, ERROR 40, FATAL 50.
"""
from __future__ import annotations

import logging as _logging
import sys as _sys
import threading as _threading
import traceback as _traceback

DEBUG = _logging.DEBUG
INFO = _logging.INFO
WARN = _logging.WARN
ERROR = _logging.ERROR
FATAL = _logging.FATAL

_logger = None
_lock = _threading.Lock()
_counts: dict = {}


def get_logger() -> _logging.Logger:
    """The ``tensorflow`` logger, with TensorFlow's default handler when none is set up."""
    global _logger
    with _lock:
        if _logger is None:
            logger = _logging.getLogger("tensorflow")
            if not _logging.getLogger().handlers:
                interactive = bool(getattr(_sys, "ps1", None) or _sys.flags.interactive)
                if interactive:
                    logger.setLevel(INFO)
                handler = _logging.StreamHandler(_sys.stdout if interactive else _sys.stderr)
                handler.setFormatter(_logging.Formatter(_logging.BASIC_FORMAT, None))
                logger.addHandler(handler)
            _logger = logger
    return _logger


def log(level, msg, *args, **kwargs):
    """Log ``msg % args`` at ``level``."""
    get_logger().log(level, msg, *args, **kwargs)


def debug(msg, *args, **kwargs):
    get_logger().debug(msg, *args, **kwargs)


def info(msg, *args, **kwargs):
    get_logger().info(msg, *args, **kwargs)


def warning(msg, *args, **kwargs):
    get_logger().warning(msg, *args, **kwargs)


def warn(msg, *args, **kwargs):
    get_logger().warning(msg, *args, **kwargs)


def error(msg, *args, **kwargs):
    get_logger().error(msg, *args, **kwargs)


def fatal(msg, *args, **kwargs):
    get_logger().fatal(msg, *args, **kwargs)


def vlog(level, msg, *args, **kwargs):
    """Log at a numeric ``level`` (TensorFlow's verbose logging)."""
    get_logger().log(level, msg, *args, **kwargs)


def TaskLevelStatusMessage(msg):  # noqa: N802 - TensorFlow's name
    error(msg)


def flush():
    """Not implemented in TensorFlow either."""
    raise NotImplementedError()


def _next_count(token) -> int:
    """How many times before this one ``token`` (a call site) was counted."""
    _counts[token] = _counts.get(token, -1) + 1
    return _counts[token]


def _call_site():
    frame = _traceback.extract_stack(limit=3)[0]
    return frame.filename, frame.lineno


def log_if(level, msg, condition, *args):
    """Log ``msg % args`` at ``level`` when ``condition`` holds."""
    if condition:
        vlog(level, msg, *args)


def log_every_n(level, msg, n, *args):
    """Log once every ``n`` calls from the same line (the first call logs)."""
    log_if(level, msg, not _next_count(_call_site()) % n, *args)


def log_first_n(level, msg, n, *args):
    """Log only the first ``n`` calls from the same line."""
    log_if(level, msg, _next_count(_call_site()) < n, *args)


def get_verbosity() -> int:
    """The ``tensorflow`` logger's effective level."""
    return get_logger().getEffectiveLevel()


def set_verbosity(v) -> None:
    """Show messages at level ``v`` and above (``tf.logging.set_verbosity(tf.logging.INFO)``)."""
    get_logger().setLevel(v)
