"""The default session stack: what ``Tensor.eval()`` and ``Operation.run()`` use."""
from __future__ import annotations

import contextlib
import threading


class _Sessions(threading.local):
    def __init__(self):
        self.stack: list = []


_sessions = _Sessions()


@contextlib.contextmanager
def session_as_default(session):
    """Make ``session`` the default one inside the block (``with sess.as_default():``)."""
    _sessions.stack.append(session)
    try:
        yield session
    finally:
        _sessions.stack.remove(session)


def get_default_session():
    """The innermost default session, or None."""
    return _sessions.stack[-1] if _sessions.stack else None


def default_session_for(graph, session, what: str):
    """The session ``Tensor.eval()`` uses, checked to run ``graph``."""
    session = session or get_default_session()
    if session is None:
        raise ValueError(f"Cannot evaluate tensor using `eval()` ({what}): No default session "
                         f"is registered. Use `with sess.as_default()` or pass an explicit "
                         f"session to `eval(session=sess)`")
    if session.graph is not graph:
        raise ValueError(f"Cannot use the given session to evaluate tensor ({what}): the "
                         f"tensor's graph is different from the session's graph.")
    return session
