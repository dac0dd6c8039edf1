"""flowsaver: TensorFlow 1.x graphs, sessions and checkpoints in pure Python and NumPy.

``import flowsaver as tf`` gives TensorFlow's names: ``tf.Graph``, ``tf.Session``,
``tf.Variable``, ``tf.placeholder``, ``tf.nn.relu``, ``tf.train.load_checkpoint``, ...
Importing the package loads nothing of the graph library: the first TensorFlow name a
program asks for loads ``flowsaver.namespace`` (which re-exports each name from the layer
that implements it) and installs every op family into the registry.
"""
import importlib as _importlib

__version__ = "0.1.0"

# flowsaver's own subpackages and modules: imported as such, never looked up in the namespace
_SUBMODULES = frozenset({"cli", "errors", "format", "graph", "namespace", "ops", "runtime",
                         "compat", "data", "debugging", "dtypes", "gfile", "graph_util",
                         "image", "initializers", "io", "layers", "linalg", "logging", "losses",
                         "math", "metrics", "nn", "python_io", "random", "raw_ops",
                         "saved_model", "sparse", "summary", "test", "train"})
# the public ones among them that hand out graph-building functions
_GRAPH_MODULES = frozenset({"compat", "data", "debugging", "graph_util", "image",
                            "initializers", "io", "layers", "linalg", "losses", "math",
                            "metrics", "nn", "python_io", "random", "raw_ops", "saved_model",
                            "sparse", "summary", "test", "train"})


def _namespace():
    families = _importlib.import_module("flowsaver.ops.families")
    families.install()
    return _importlib.import_module("flowsaver.namespace")


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(f"module 'flowsaver' has no attribute {name!r}")
    if name in _SUBMODULES:
        if name in _GRAPH_MODULES:
            _namespace()
        return _importlib.import_module(f"flowsaver.{name}")
    try:
        value = getattr(_namespace(), name)
    except AttributeError:
        raise AttributeError(f"module 'flowsaver' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | {n for n in dir(_namespace()) if not n.startswith("_")})


# The toolbox (flowsaver.cli.convert): these import the converter only when called.
def convert(src, dst, **options):
    """Convert the tensors of a checkpoint, SavedModel, .safetensors, .npz or PyTorch file
    into a V2 checkpoint, .safetensors, .npz or PyTorch file, in bounded memory; the
    options are those of flowsaver.cli.convert.convert (include, exclude, rename, dtype,
    transpose, skip_unsupported, names, metadata, to, progress)."""
    from flowsaver.cli.convert import convert as _convert
    return _convert(src, dst, **options)


def iter_tensors(src, names: str = "stored"):
    """``(name, array)`` for every tensor of any file ``convert`` reads, read lazily."""
    from flowsaver.cli.convert import iter_tensors as _iter_tensors
    return _iter_tensors(src, names=names)


def save_tensors(dst, tensors: dict, **options) -> str:
    """Write ``{name: array}`` as a V2 checkpoint (or .safetensors/.npz/PyTorch by suffix
    or ``to=``); see flowsaver.cli.convert.save_tensors."""
    from flowsaver.cli.convert import save_tensors as _save_tensors
    return _save_tensors(dst, tensors, **options)
