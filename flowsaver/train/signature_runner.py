"""Running a SignatureDef of a loaded SavedModel: its input keys fed, its output keys
fetched. Not a TensorFlow API (TensorFlow Serving does this); ``flowsaver run`` and tests
use it. Every tensor name is checked against the graph first, so a signature naming a
tensor the graph lacks is a NotFoundError naming the SavedModel, the signature, the key and
the tensor, and an unknown input key is an InvalidArgumentError listing the right ones.
"""
from __future__ import annotations

from flowsaver import errors
from flowsaver.format.saved_model_file import find_signature
from flowsaver.train.signature_defs import get_tensor_from_tensor_info


def signature_tensors(meta_graph_def, key: str, graph, where: str, import_scope=None):
    """``(inputs, outputs)``: ``{key: Tensor or SparseTensor}`` for signature ``key``.

    Raises:
      NotFoundError: no such signature, or a TensorInfo names no tensor of ``graph``.
    """
    signature = find_signature(meta_graph_def, key, where)
    resolved = []
    for kind, infos in (("input", signature.inputs), ("output", signature.outputs)):
        tensors = {}
        for name in sorted(infos):
            info = infos[name]
            try:
                tensors[name] = get_tensor_from_tensor_info(info, graph, import_scope)
            except (KeyError, ValueError) as exc:
                text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
                raise errors.NotFoundError(
                    f"{where}: signature {key!r} {kind} {name!r} names "
                    f"{_described(info)}, which the graph cannot give: {text}") from None
        resolved.append(tensors)
    return resolved[0], resolved[1]


def _described(info) -> str:
    encoding = info.WhichOneof("encoding")
    if encoding == "name":
        return f"tensor {info.name!r}"
    if encoding == "coo_sparse":
        return f"the sparse tensor {info.coo_sparse.values_tensor_name!r}"
    return f"a {encoding or 'TensorInfo without encoding'}"


def run_signature(sess, meta_graph_def, key: str, inputs: dict, where: str,
                  import_scope=None) -> dict:
    """``{output key: value}`` of signature ``key`` run in ``sess`` on ``inputs``
    (``{input key: value}``).

    Raises:
      NotFoundError: see ``signature_tensors``.
      InvalidArgumentError: an input key the signature lacks, or a placeholder left unfed.
    """
    feeds, fetches = signature_tensors(meta_graph_def, key, sess.graph, where, import_scope)
    unknown = sorted(set(inputs) - set(feeds))
    if unknown:
        raise errors.InvalidArgumentError(
            f"{where}: signature {key!r} takes the inputs {sorted(feeds)}; {unknown} "
            f"{'is' if len(unknown) == 1 else 'are'} not among them")
    # An input left out is the session's to judge: a placeholder with a default needs none.
    return sess.run(fetches, {feeds[name]: value for name, value in inputs.items()})
