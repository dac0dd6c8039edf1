"""``tf.Print`` (TF1's pass-through printer), ``tf.print`` and ``tf.strings.format``.

``tf.print(*inputs)`` turns its Python arguments into one template: tensors become
placeholders, other values their ``pprint`` text (nested lists and dicts keep their
structure, with tensors inside), joined by ``sep``; a ``StringFormat`` op fills it in and a
``PrintV2`` op writes it, to stderr unless ``output_stream`` says otherwise. As in
TensorFlow's graph mode the print runs only when fetched or made a control dependency.
"""
from __future__ import annotations

import collections
import logging
import os
import pprint
import random
import sys

from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ['Print', 'print_v2', 'string_format']


def _tensor_like(value) -> bool:
    return isinstance(value, Tensor) or (hasattr(value, "_as_graph_element") and
                                         not isinstance(value, Operation))


def Print(input_, data, message=None, first_n=None, summarize=None, name=None):  # noqa: N802
    """``input_`` unchanged; each time it is computed (the first ``first_n`` times) the
    ``data`` summaries are written to stderr after ``message`` (``Print``)."""
    attrs = {k: v for k, v in (("message", message), ("first_n", first_n),
                                ("summarize", summarize)) if v is not None}
    with graph_of([input_] + list(data)).as_default():
        return create_op("Print", [input_, list(data)], attrs, name=name)


def string_format(template, inputs, placeholder="{}", summarize=3, name=None):
    """``template`` with each ``placeholder`` replaced by a summary of one tensor
    (``StringFormat``).

    Raises:
      ValueError: the template's placeholders do not match the inputs.
    """
    if _tensor_like(inputs):
        inputs = [inputs]
    if template.count(placeholder) != len(inputs):
        raise ValueError(f"The template expects {template.count(placeholder)} tensors, but "
                         f"the inputs only has {len(inputs)}. Please ensure the number of "
                         f"placeholders in template matches inputs length.")
    with graph_of(list(inputs)).as_default():
        return create_op("StringFormat", [list(inputs)], {
            "template": template, "placeholder": placeholder, "summarize": summarize},
            name=name)


def _stream_name(stream) -> str:
    if isinstance(stream, str) and stream.startswith("file://"):
        return stream
    from flowsaver import logging as tf_logging
    known = [(sys.stdout, "stdout"), (sys.stderr, "stderr"),
             (tf_logging.INFO, "log(info)"), (tf_logging.info, "log(info)"),
             (tf_logging.WARN, "log(warning)"), (tf_logging.warning, "log(warning)"),
             (tf_logging.warn, "log(warning)"), (tf_logging.ERROR, "log(error)"),
             (tf_logging.error, "log(error)"), (logging.info, "log(info)"),
             (logging.warning, "log(warning)"), (logging.error, "log(error)")]
    for value, name in known:
        if stream is value:
            return name
    for level, name in ((logging.INFO, "log(info)"), (logging.WARNING, "log(warning)"),
                        (logging.ERROR, "log(error)")):
        if isinstance(stream, int) and not isinstance(stream, bool) and stream == level:
            return name
    raise ValueError(f"Unsupported output stream, logging level, or file.{stream}. Supported "
                     f"streams are sys.stdout, sys.stderr, tf.logging.info, "
                     f"tf.logging.warning, tf.logging.error. File needs to be in the form of "
                     f"'file://<filepath>'.")


def _placeholder_for(text: str) -> str:
    """``{}``, lengthened with seeded random digits until it does not occur in ``text``."""
    placeholder = "{}"
    rng = random.Random(5)
    while placeholder in text:
        placeholder += str(rng.randint(0, 9))
    return placeholder


def _flatten(value) -> list:
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in _flatten(value[k])]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _flatten(item)]
    return [value]


def _map(value, fn):
    """``value``'s structure with every leaf replaced by ``fn(leaf)`` (dict keys sorted)."""
    if isinstance(value, dict):
        items = [(k, _map(value[k], fn)) for k in sorted(value)]
        return type(value)(items)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*[_map(v, fn) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_map(v, fn) for v in value)
    return fn(value)


def print_v2(*inputs, **kwargs):
    """Print ``inputs`` (tensors summarized, other values as Python prints them) when the
    returned op runs (``StringFormat`` + ``PrintV2``).

    Keyword arguments: ``output_stream`` (sys.stderr, sys.stdout, a tf.logging level or
    function, or ``file://path``), ``summarize`` (3; -1 for all), ``sep``, ``end``, ``name``.
    """
    output_stream = kwargs.pop("output_stream", sys.stderr)
    name = kwargs.pop("name", None)
    summarize = kwargs.pop("summarize", 3)
    sep = kwargs.pop("sep", " ")
    end = kwargs.pop("end", os.linesep)
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments for tf.print: {kwargs}")
    stream = _stream_name(output_stream)
    g = graph_of([leaf for x in inputs for leaf in _flatten(x) if _tensor_like(leaf)])
    with g.as_default():
        if len(inputs) == 1 and _tensor_like(inputs[0]) and \
                inputs[0].shape.ndims == 0 and inputs[0].dtype.base_dtype.name == "string":
            formatted = inputs[0]
        else:
            ordered = [collections.OrderedDict(sorted(x.items()))
                       if isinstance(x, collections.OrderedDict) else x for x in inputs]
            tensor_free = _map(ordered, lambda v: "" if _tensor_like(v) else v)
            placeholder = _placeholder_for(" ".join(pprint.pformat(x) for x in tensor_free))
            templates, tensors = [], []
            for value in inputs:
                if isinstance(value, str):
                    templates.append(value)
                    continue
                for leaf in _flatten(value):
                    if _tensor_like(leaf):
                        tensors.append(convert_to_tensor(leaf))
                templates.append(pprint.pformat(_map(
                    value, lambda v: placeholder if _tensor_like(v) else v)))
            template = sep.join(templates).replace(f"'{placeholder}'", placeholder)
            formatted = string_format(template, tensors, placeholder=placeholder,
                                      summarize=summarize,
                                      name=None if not name else f"{name}_format")
        return create_op("PrintV2", [formatted], {"output_stream": stream, "end": end},
                         name=name)
