"""The format layer starts fast: slow imports are left for when they are needed.

ml_dtypes (about a second to import) is loaded only when a tensor of one of its types is
met; the crc32c package's __init__ (which imports importlib.metadata) is skipped. Each check
runs in a fresh interpreter, since this test process may have loaded them already. Values
read are compared with what TensorFlow recorded in the manifest.
"""
import json
import os
import subprocess
import sys

import numpy as np

from fixture_paths import FIXTURES

ROOT = FIXTURES.parent.parent
MANIFEST = json.loads((FIXTURES / "tf" / "manifest.json").read_text())["checkpoints"]

READ_ALL = """
import json, sys
from flowsaver.format.reader import CheckpointReader
reader = CheckpointReader(sys.argv[1])
names = sys.argv[2:] or reader.names()
values = {n: reader.get_tensor(n).tobytes().hex() for n in names}
dtypes = {n: str(reader.get_tensor(n).dtype) for n in names}
print(json.dumps({"values": values, "dtypes": dtypes,
                  "ml_dtypes": "ml_dtypes" in sys.modules}))
"""


def run_child(script: str, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def expected(checkpoint: str, name: str) -> str:
    return MANIFEST[checkpoint]["variables"][name]["value"]["hex"]


def test_reading_a_float32_checkpoint_never_imports_ml_dtypes():
    prefix = str(FIXTURES / "tf" / MANIFEST["refvar"]["prefix"])
    out = run_child(READ_ALL, prefix)
    assert set(out["values"]) == {"global_step", "model/b", "model/scale", "model/w"}
    for name, value in out["values"].items():
        assert value == expected("refvar", name), name
    assert out["ml_dtypes"] is False


def test_importing_the_format_layer_does_not_import_ml_dtypes():
    script = ("import sys\n"
              "import flowsaver.format.bundle_read, flowsaver.format.reader\n"
              "import flowsaver.format.bundle_write, flowsaver.format.tensor_proto\n"
              "from flowsaver.format import dtypes\n"
              "print('{\"ml_dtypes\": %s}' % str('ml_dtypes' in sys.modules).lower())\n")
    assert run_child(script) == {"ml_dtypes": False}


ML_NAMES = ["bfloat16", "float8_e4m3fn", "int4"]
FROM_NUMPY = """
import json, sys
import ml_dtypes, numpy as np
from flowsaver.format import dtypes
names = [dtypes.from_numpy(np.dtype(getattr(ml_dtypes, n))).name
         for n in ("bfloat16", "float8_e5m2", "int4", "uint2")]
print(json.dumps({"names": names, "max": float(dtypes.BY_NAME["bfloat16"].max),
                  "float32_max": float(dtypes.BY_NAME["float32"].max)}))
"""


def test_reading_ml_dtypes_tensors_loads_ml_dtypes_and_the_right_values():
    # One child for all three: importing ml_dtypes takes about a second.
    prefix = str(FIXTURES / "tf" / MANIFEST["dtypes"]["prefix"])
    out = run_child(READ_ALL, prefix, *ML_NAMES)
    assert out["values"] == {name: expected("dtypes", name) for name in ML_NAMES}
    assert out["dtypes"] == {name: name for name in ML_NAMES}
    assert out["ml_dtypes"] is True


def test_from_numpy_knows_ml_dtypes_types_in_a_fresh_process():
    out = run_child(FROM_NUMPY)
    assert out["names"] == ["bfloat16", "float8_e5m2", "int4", "uint2"]
    assert out["max"] == 3.3895313892515355e38
    assert out["float32_max"] == float(np.finfo(np.float32).max)


def test_crc32c_comes_from_the_extension_without_the_package_init():
    script = ("import json, sys\n"
              "from flowsaver.format import coding\n"
              "loaded = ['importlib.metadata' in sys.modules, 'crc32c' in sys.modules]\n"
              "data = bytes(range(256)) * 41\n"
              "mine = [coding.crc32c(data), coding.crc32c(data[7:], coding.crc32c(data[:7]))]\n"
              "import crc32c\n"
              "print(json.dumps({'loaded': loaded, 'mine': mine,\n"
              "                  'package': crc32c.crc32c(data)}))\n")
    out = run_child(script)
    assert out["loaded"] == [False, False]
    assert out["mine"] == [out["package"]] * 2
