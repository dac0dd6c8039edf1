"""The regularization loss ``get_variable`` collects: a tensor rebuilt at each use.

TensorFlow keeps, in ``REGULARIZATION_LOSSES``, an object that builds the regularizer's
ops once when made (its "master" tensor, under ``<var>/Regularizer/``) and again every
time it is converted to a tensor (``..._1``, ``..._2``); a session fetches the master.
flowsaver does the same, so that graphs using the collection match TensorFlow's node for
node.
"""
from __future__ import annotations



class LazyEvalTensor:
    """Stands for a tensor that ``thunk()`` builds; built anew at each conversion."""

    def __init__(self, thunk):
        self._thunk = thunk
        self._master_tensor = thunk()

    def _as_tensor(self, dtype=None):
        if dtype is not None and dtype != self.dtype:
            raise ValueError(f"Incompatible type conversion requested to type "
                             f"'{dtype.name}' for a regularization loss of type "
                             f"'{self.dtype.name}'")
        return self._thunk()

    def _as_graph_element(self):
        return self._master_tensor

    def get_shape(self):
        return self._master_tensor.get_shape()

    def __str__(self):
        return str(self._master_tensor)

    def __repr__(self):
        return repr(self._master_tensor)

    def __hash__(self):
        return id(self)


def _master(name):
    return property(lambda self: getattr(self._master_tensor, name))


for _name in ("device", "dtype", "graph", "name", "op", "shape", "value_index"):
    setattr(LazyEvalTensor, _name, _master(_name))


def _on_new_tensor(name):
    def method(self, *args):
        return getattr(self._as_tensor(), name)(*args)
    return method


for _name in ("__abs__", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__neg__", "__pow__", "__getitem__", "eval"):
    setattr(LazyEvalTensor, _name, _on_new_tensor(_name))


def to_tensor(value, dtype=None, name=None, as_ref=False):
    """Conversion rule for ``convert_to_tensor``: build the regularizer's ops again."""
    if as_ref:
        raise ValueError(f"A regularization loss ({value.name}) has no reference to take")
    return value._as_tensor(dtype)
