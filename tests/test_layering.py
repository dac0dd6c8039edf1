"""Layers point one way: cli -> train -> runtime -> ops -> graph -> format.

Walks every module's imports (statically, with ast) and fails when a layer imports one
above it, when format/ imports anything but the standard library, NumPy, ml_dtypes,
crc32c and protobuf, or when anything in the package imports TensorFlow.
"""
import ast
import pathlib
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "flowsaver"
ORDER = ["format", "graph", "ops", "runtime", "train", "cli"]  # lowest first
FORMAT_THIRD_PARTY = {"numpy", "ml_dtypes", "crc32c", "google"}


def _layer(module_path: pathlib.Path) -> str | None:
    parts = module_path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 and parts[0] in ORDER else None


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    layer = _layer(path)
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in ("tensorflow", "tf_keras", "keras"), f"{path} imports {name}"
        if top == "flowsaver":
            parts = name.split(".")
            target = parts[1] if len(parts) > 1 else None
            if layer and target in ORDER:
                assert ORDER.index(target) <= ORDER.index(layer), \
                    f"{path.relative_to(PACKAGE)} ({layer}) reaches up into {name}"
        elif layer == "format":
            assert top in sys.stdlib_module_names or top in FORMAT_THIRD_PARTY, \
                f"format/ may use only the standard library, NumPy and protobuf: {path} " \
                f"imports {name}"


def test_modules_found():
    assert len(MODULES) > 10
