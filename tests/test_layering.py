"""Layers point one way: cli -> train -> runtime -> ops -> graph -> format.

Walks every module's imports (statically, with ast, imports inside functions included) and
fails when a layer imports one above it, when format/ imports anything but the standard
library, NumPy, ml_dtypes, crc32c and protobuf, or when anything in the package imports
TensorFlow. The command line works on the format layer alone: cli/ may import only format/
and flowsaver.errors, which a run of its commands checks too. The two commands that run
graphs (`freeze`, `run`) are the exception: they load the runtime, but only inside the
function that runs them, so that loading the command line loads nothing above format/.
"""
import ast
import json
import os
import pathlib
import subprocess
import sys

import pytest

from fixture_paths import FIXTURES

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "flowsaver"
ORDER = ["format", "graph", "ops", "runtime", "train", "cli"]  # lowest first
FORMAT_THIRD_PARTY = {"numpy", "ml_dtypes", "crc32c", "google"}
# Optional extras format/ may load, each in one module only and only when used: fsspec
# (flowsaver[s3], flowsaver[gcs]) for URLs. tests/format/test_storage_memory.py checks that
# local paths never load it.
FORMAT_OPTIONAL = {"fsspec": "format/remote.py"}
# The flowsaver modules (second name part) each of these layers may import, itself included.
# flowsaver.dtypes is not among them: it re-exports graph's as_dtype too.
ALLOWED = {"format": {"format", "errors"}, "cli": {"cli", "format", "errors"}}
# cli/ modules that run graphs, and what they may import besides (lazily, see below).
RUNS_GRAPHS = {"cli/run_cmd.py": {"ops", "train"}, "cli/freeze_cmd.py": {"ops", "train"}}


def _layer(module_path: pathlib.Path) -> str | None:
    parts = module_path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 and parts[0] in ORDER else None


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import of {node.module}"
            yield node.module
            if node.module == "flowsaver":   # `from flowsaver import errors`
                for alias in node.names:
                    yield f"flowsaver.{alias.name}"


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
        elif layer == "format" and FORMAT_OPTIONAL.get(top) == \
                str(path.relative_to(PACKAGE)):
            continue
        elif layer == "format":
            assert top in sys.stdlib_module_names or top in FORMAT_THIRD_PARTY, \
                f"format/ may use only the standard library, NumPy and protobuf: {path} " \
                f"imports {name}"


@pytest.mark.parametrize("path", [p for p in MODULES if _layer(p) in ALLOWED],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_format_and_cli_import_only_what_they_may(path):
    allowed = ALLOWED[_layer(path)] | RUNS_GRAPHS.get(str(path.relative_to(PACKAGE)), set())
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] == "flowsaver" and len(parts) > 1:
            assert parts[1] in allowed, f"{path.relative_to(PACKAGE)} imports {name}"


# Runs the commands in a child whose `flowsaver` package is a bare one, so that what is
# loaded is what cli/ and format/ load themselves, whatever flowsaver/__init__.py imports.
RUN_COMMANDS = """
import contextlib, io, json, sys, types
package = types.ModuleType("flowsaver")
package.__path__ = [sys.argv[1]]
sys.modules["flowsaver"] = package
from flowsaver.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    codes = [main(args) for args in (["inspect", sys.argv[2]], ["verify", sys.argv[2]],
                                     ["inspect", sys.argv[3]], ["inspect", "--json",
                                     "--tensor", "model/w", sys.argv[2]])]
layers = sorted({m.split(".")[1] for m in sys.modules if m.startswith("flowsaver.")})
print(json.dumps({"codes": codes, "layers": layers}))
"""


def test_cli_commands_load_only_format_and_errors():
    prefix = FIXTURES / "tf" / "refvar" / "model.ckpt-5"
    done = subprocess.run(
        [sys.executable, "-c", RUN_COMMANDS, str(PACKAGE), str(prefix), f"{prefix}.meta"],
        capture_output=True, text=True, timeout=120, cwd=PACKAGE.parent,
        env=dict(os.environ, PYTHONPATH=str(PACKAGE.parent)))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["codes"] == [0, 0, 0, 0]
    assert set(out["layers"]) <= ALLOWED["cli"], out["layers"]
    assert {"cli", "format"} <= set(out["layers"])


@pytest.mark.parametrize("rel", sorted(RUNS_GRAPHS))
def test_graph_running_commands_load_the_runtime_lazily(rel):
    tree = ast.parse((PACKAGE / rel).read_text())
    top_level = set()
    for node in tree.body:   # module-level statements only: functions' bodies are lazy
        if isinstance(node, ast.ImportFrom):
            top_level.add(node.module)
        elif isinstance(node, ast.Import):
            top_level.update(alias.name for alias in node.names)
    reached = {name.split(".")[1] for name in top_level
               if name.startswith("flowsaver.") and name.count(".") >= 1}
    assert reached <= ALLOWED["cli"], f"{rel} imports {reached} when loaded"


def test_modules_found():
    assert len(MODULES) > 10
