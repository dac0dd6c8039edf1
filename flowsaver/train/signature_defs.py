"""SignatureDefs and TensorInfos: ``tf.saved_model.signature_def_utils`` and
``tf.saved_model.utils``, with TensorFlow's names, checks and messages.

A TensorInfo names a tensor of the graph (or, for a SparseTensor, its three component
tensors) with its dtype and static shape; a SignatureDef maps input and output keys to
TensorInfos, plus a method name TensorFlow Serving dispatches on.
"""
from __future__ import annotations

from flowsaver import errors
from flowsaver.format import saved_model as constants
from flowsaver.format.graph_protos import SignatureDef, TensorInfo
from flowsaver.format.protos import DATA_TYPES
from flowsaver.graph.graph import get_default_graph
from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.train.meta_graph_import import prepend_name_scope

DT_INVALID = DATA_TYPES["DT_INVALID"]
DT_STRING = DATA_TYPES["DT_STRING"]
DT_FLOAT = DATA_TYPES["DT_FLOAT"]


def _is_sparse(value) -> bool:
    from flowsaver.ops.sparse.sparse_tensor import SparseTensor
    return isinstance(value, SparseTensor)


def build_tensor_info(tensor) -> TensorInfo:
    """The TensorInfo of a Tensor (its name) or SparseTensor (its three tensors' names).

    Example: ``build_tensor_info(x)`` -> ``name: "x:0" dtype: DT_FLOAT tensor_shape {...}``
    """
    if hasattr(tensor, "_as_graph_element") and not isinstance(tensor, Tensor) \
            and not _is_sparse(tensor):
        tensor = tensor._as_graph_element()
    info = TensorInfo(dtype=tensor.dtype.as_datatype_enum,
                      tensor_shape=tensor.get_shape().as_proto())
    if _is_sparse(tensor):
        info.coo_sparse.values_tensor_name = tensor.values.name
        info.coo_sparse.indices_tensor_name = tensor.indices.name
        info.coo_sparse.dense_shape_tensor_name = tensor.dense_shape.name
    else:
        info.name = tensor.name
    return info


def build_tensor_info_from_op(op) -> TensorInfo:
    """A TensorInfo naming an operation (dtype DT_INVALID, unknown shape): how init and
    train ops travel in SignatureDefs."""
    return TensorInfo(dtype=DT_INVALID, tensor_shape=TensorShape(None).as_proto(),
                      name=op.name)


def get_tensor_from_tensor_info(tensor_info, graph=None, import_scope=None):
    """The Tensor (or SparseTensor) ``tensor_info`` describes, looked up in ``graph``.

    Raises:
      KeyError: the graph has no such tensor. ValueError: an encoding flowsaver cannot
        rebuild (composite tensors other than sparse ones).
    """
    graph = graph or get_default_graph()

    def tensor(name):
        return graph.get_tensor_by_name(prepend_name_scope(name, import_scope))
    encoding = tensor_info.WhichOneof("encoding")
    if encoding == "name":
        return tensor(tensor_info.name)
    if encoding == "coo_sparse":
        from flowsaver.ops.sparse.sparse_tensor import SparseTensor
        sparse = tensor_info.coo_sparse
        return SparseTensor(tensor(sparse.indices_tensor_name),
                            tensor(sparse.values_tensor_name),
                            tensor(sparse.dense_shape_tensor_name))
    raise ValueError(f"Invalid TensorInfo.encoding: {encoding}. Expected `coo_sparse` or "
                     f"`name` for a dense tensor (flowsaver does not rebuild composite "
                     f"tensors).")


def get_element_from_tensor_info(tensor_info, graph=None, import_scope=None):
    """The Operation or Tensor ``tensor_info.name`` names."""
    graph = graph or get_default_graph()
    return graph.as_graph_element(prepend_name_scope(tensor_info.name, import_scope))


def build_signature_def(inputs=None, outputs=None, method_name=None,
                        defaults=None) -> SignatureDef:
    """A SignatureDef from maps of TensorInfos (and Const tensors as input defaults)."""
    signature = SignatureDef()
    for key, info in (inputs or {}).items():
        signature.inputs[key].CopyFrom(info)
    for key, info in (outputs or {}).items():
        signature.outputs[key].CopyFrom(info)
    if method_name is not None:
        signature.method_name = method_name
    for key, default in (defaults or {}).items():
        if not isinstance(default, Tensor) or default.op.type != "Const":
            raise ValueError(f"Unable to convert object {default} of type {type(default)} to "
                             f"TensorProto.")
        signature.defaults[key].CopyFrom(default.op.node_def.attr["value"].tensor)
    return signature


def predict_signature_def(inputs, outputs) -> SignatureDef:
    """A Predict signature of ``{key: tensor}`` inputs and outputs."""
    if not inputs:
        raise ValueError("Prediction `inputs` cannot be None or empty.")
    if not outputs:
        raise ValueError("Prediction `outputs` cannot be None or empty.")
    return build_signature_def({k: build_tensor_info(t) for k, t in inputs.items()},
                               {k: build_tensor_info(t) for k, t in outputs.items()},
                               constants.PREDICT_METHOD_NAME)


def regression_signature_def(examples, predictions) -> SignatureDef:
    """A Regress signature: serialized tf.Examples (string) in, float predictions out."""
    if examples is None:
        raise ValueError("Regression `examples` cannot be None.")
    if not isinstance(examples, Tensor):
        raise ValueError(f"Expected regression `examples` to be of type Tensor. Found "
                         f"`examples` of type {type(examples)}.")
    if predictions is None:
        raise ValueError("Regression `predictions` cannot be None.")
    inputs = build_tensor_info(examples)
    if inputs.dtype != DT_STRING:
        raise ValueError(f"Regression input tensors must be of type string. Found tensors "
                         f"with type {inputs.dtype}.")
    outputs = build_tensor_info(predictions)
    if outputs.dtype != DT_FLOAT:
        raise ValueError(f"Regression output tensors must be of type float. Found tensors "
                         f"with type {outputs.dtype}.")
    return build_signature_def({constants.REGRESS_INPUTS: inputs},
                               {constants.REGRESS_OUTPUTS: outputs},
                               constants.REGRESS_METHOD_NAME)


def classification_signature_def(examples, classes, scores) -> SignatureDef:
    """A Classify signature: serialized tf.Examples in; string classes and/or float scores
    out."""
    if examples is None:
        raise ValueError("Classification `examples` cannot be None.")
    if not isinstance(examples, Tensor):
        raise ValueError(f"Classification `examples` must be a string Tensor. Found "
                         f"`examples` of type {type(examples)}.")
    if classes is None and scores is None:
        raise ValueError("Classification `classes` and `scores` cannot both be None.")
    inputs = build_tensor_info(examples)
    if inputs.dtype != DT_STRING:
        raise ValueError(f"Classification input tensors must be of type string. Found "
                         f"tensors of type {inputs.dtype}")
    outputs = {}
    if classes is not None:
        info = build_tensor_info(classes)
        if info.dtype != DT_STRING:
            raise ValueError(f"Classification classes must be of type string Tensor. Found "
                             f"tensors of type {info.dtype}.`")
        outputs[constants.CLASSIFY_OUTPUT_CLASSES] = info
    if scores is not None:
        info = build_tensor_info(scores)
        if info.dtype != DT_FLOAT:
            raise ValueError("Classification scores must be a float Tensor.")
        outputs[constants.CLASSIFY_OUTPUT_SCORES] = info
    return build_signature_def({constants.CLASSIFY_INPUTS: inputs}, outputs,
                               constants.CLASSIFY_METHOD_NAME)


def _supervised(method_name, inputs, loss=None, predictions=None, metrics=None):
    if not inputs:
        raise ValueError(f"{method_name} `inputs` cannot be None or empty.")
    outputs = {}
    for group in (loss, predictions, metrics):
        outputs.update({k: build_tensor_info(t) for k, t in (group or {}).items()})
    return build_signature_def({k: build_tensor_info(t) for k, t in inputs.items()}, outputs,
                               method_name)


def supervised_train_signature_def(inputs, loss, predictions=None, metrics=None):
    return _supervised(constants.SUPERVISED_TRAIN_METHOD_NAME, inputs, loss, predictions,
                       metrics)


def supervised_eval_signature_def(inputs, loss, predictions=None, metrics=None):
    return _supervised(constants.SUPERVISED_EVAL_METHOD_NAME, inputs, loss, predictions,
                       metrics)


def op_signature_def(op, key) -> SignatureDef:
    """A signature whose one output, ``key``, names ``op`` (init and train ops)."""
    return build_signature_def(outputs={key: build_tensor_info_from_op(op)})


def load_op_from_signature_def(signature_def, key, import_scope=None):
    """The Operation (or Tensor) output ``key`` of ``signature_def`` names."""
    try:
        return get_element_from_tensor_info(signature_def.outputs[key],
                                            import_scope=import_scope)
    except KeyError:
        raise errors.NotFoundError(
            f'The key "{key}" could not be found in the graph. Please make sure the '
            f'SavedModel was created by the internal _SavedModelBuilder. If you are using '
            f'the public API, please make sure the SignatureDef in the SavedModel does not '
            f'contain the key "{key}".') from None


def is_valid_signature(signature_def) -> bool:
    """Whether TensorFlow Serving can serve ``signature_def`` (classify, regress or
    predict, with the inputs, outputs and dtypes each requires)."""
    if signature_def is None:
        return False
    method = signature_def.method_name
    inputs, outputs = signature_def.inputs, signature_def.outputs
    if method == constants.PREDICT_METHOD_NAME:
        return bool(inputs) and bool(outputs)
    if method == constants.REGRESS_METHOD_NAME:
        return (set(inputs) == {constants.REGRESS_INPUTS}
                and inputs[constants.REGRESS_INPUTS].dtype == DT_STRING
                and set(outputs) == {constants.REGRESS_OUTPUTS}
                and outputs[constants.REGRESS_OUTPUTS].dtype == DT_FLOAT)
    if method == constants.CLASSIFY_METHOD_NAME:
        allowed = {constants.CLASSIFY_OUTPUT_CLASSES: DT_STRING,
                   constants.CLASSIFY_OUTPUT_SCORES: DT_FLOAT}
        return (set(inputs) == {constants.CLASSIFY_INPUTS}
                and inputs[constants.CLASSIFY_INPUTS].dtype == DT_STRING
                and bool(outputs) and set(outputs) <= set(allowed)
                and all(outputs[k].dtype == allowed[k] for k in outputs))
    return False

