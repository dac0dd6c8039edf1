"""The registry's bookkeeping: every op accounted for in every table, no double registration,
every family module installed, and explicit "not differentiable" entries behaving as in TF."""
import pathlib

import pytest

import flowsaver as tf
from flowsaver.ops import families, registry

OPS = pathlib.Path(registry.__file__).resolve().parent


def test_every_op_has_a_shape_function_and_a_kernel():
    assert set(registry.OP_DEFS) == set(registry.SHAPES)
    assert set(registry.OP_DEFS) == set(registry.KERNELS)


def test_every_op_has_a_gradient_or_says_why_not():
    unaccounted = sorted(op for op in registry.OP_DEFS if op not in registry.GRADIENTS
                         and not registry.has_trait(op, registry.NO_GRADIENT_YET)
                         and not registry.has_trait(op, registry.NO_GRADIENT))
    assert not unaccounted, (f"no gradient, no not_differentiable, no NO_GRADIENT_YET, no "
                             f"NO_GRADIENT: {unaccounted}")
    both = sorted(op for op in registry.GRADIENTS
                  if registry.has_trait(op, registry.NO_GRADIENT_YET)
                  or registry.has_trait(op, registry.NO_GRADIENT))
    assert not both


def test_every_table_module_is_installed():
    installed = {t.name for tables in families.FAMILIES.values() for t in tables}
    found = set()
    for path in OPS.rglob("*.py"):
        name = "flowsaver." + ".".join(path.relative_to(OPS.parent.parent).with_suffix("").parts[1:])
        if "\nTABLE = OpTable(__name__)" in path.read_text():
            found.add(name)
    assert found == installed


def test_traits_name_registered_ops():
    for trait, op_types in registry.TRAITS.items():
        assert op_types <= set(registry.OP_DEFS), (trait, op_types - set(registry.OP_DEFS))


def test_registering_twice_is_an_error():
    table = registry.OpTable("test")
    table.define("FlowsaverTestOp(x: T) -> (y: T); T: type")
    with pytest.raises(registry.RegistryError, match="registered twice"):
        table.define("FlowsaverTestOp(x: T) -> (y: T); T: type")
    table.not_differentiable("FlowsaverTestOp")
    with pytest.raises(registry.RegistryError, match="gradient for 'FlowsaverTestOp'"):
        table.gradient("FlowsaverTestOp")(lambda op, grad: [grad])
    with pytest.raises(registry.RegistryError, match="unknown trait"):
        table.mark("no_such_trait", "FlowsaverTestOp")


def test_installing_an_op_type_again_is_an_error():
    table = registry.OpTable("again")
    table.define("MatMul(a: T, b: T) -> (product: T); T: type")
    with pytest.raises(registry.RegistryError, match="OpDef registered twice .*MatMul"):
        registry.install(table)
    assert registry.OP_DEFS["MatMul"].attrs[0].name == "transpose_a"  # untouched


def test_install_is_idempotent():
    before = dict(registry.KERNELS)
    families.install()
    assert registry.KERNELS == before


def test_gradient_of_floor_is_none_as_in_tensorflow():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [3])
        assert tf.gradients(tf.floor(x) * 2, x) == [None]
        assert tf.gradients(tf.ceil(x) + x, x)[0] is not None


def test_an_op_without_a_gradient_yet_says_so():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2, 3])
        from flowsaver.ops.op_builder import create_op
        y = create_op("DynamicStitch", [[tf.constant([1, 0])], [x]])
        with pytest.raises(LookupError, match=r"No gradient defined for operation.*DynamicStitch.*in flowsaver yet"):
            tf.gradients(tf.reduce_sum(y), x)


def test_facade_loads_names_lazily_in_a_fresh_process():
    import subprocess
    import sys
    code = ("import sys, flowsaver\n"
            "assert 'flowsaver.ops.registry' not in sys.modules\n"
            "assert 'flowsaver.graph.graph' not in sys.modules\n"
            "import flowsaver as tf\n"
            "assert float(tf.Session().run(tf.constant(2.0) * 3)) == 6.0\n"
            "assert 'placeholder' in dir(tf) and tf.compat.v1 is tf\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
