"""The op registry: one table per job, keyed by TensorFlow's op type ("MatMul").

- ``OP_DEFS``   the op's signature: inputs, outputs, attrs with types and defaults
- ``SHAPES``    static shape inference: ``fn(op) -> [shape per output]``
- ``KERNELS``   NumPy kernels: ``fn(op, ctx) -> run(*input_values)``, built once per plan
- ``GRADIENTS`` gradient builders, or None for an op that is not differentiable
- ``FUSIONS``   kernels computing two ops at once, keyed by (producer, consumer) op types:
  ``fn(producer, consumer, ctx) -> run(*producer_inputs, *other_consumer_inputs)`` or None
- ``TRAITS``    flags the runtime and the constant evaluator ask (identity-like, ...)

Modules fill an ``OpTable`` of their own; ``flowsaver.ops.families.install`` copies every
table into these, in one place.

Signatures are written one per line in TensorFlow's own notation, e.g.::

    MatMul(a: T, b: T) -> (product: T); transpose_a: bool = false; T: type {float, double}

An input is ``name: T`` (dtype from attr T), ``name: float`` (fixed dtype),
``name: N * T`` (N tensors), ``name: Tlist`` (a list(type) attr) or ``Ref(...)`` of any;
attrs are ``name: type [{allowed}] [>= min] [= default]``; flags start with ``!``.
``tests/interop/test_op_defs_tf.py`` checks every line against TensorFlow's registry.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flowsaver.format.graph_protos import FULL_TYPE_IDS, AttrValue, OpDef as OpDefProto
from flowsaver.graph import attr_value
from flowsaver.graph.tensor_shape import TensorShape


@dataclass(frozen=True)
class ArgDef:
    name: str
    type_attr: str = ""       # "T": dtype given by an attr
    fixed_type: str = ""      # "float": a fixed dtype
    number_attr: str = ""     # "N": a list of N tensors of one dtype
    type_list_attr: str = ""  # "dtypes": a list of tensors of those dtypes
    is_ref: bool = False


@dataclass(frozen=True)
class AttrDef:
    name: str
    type: str
    default: object = None    # AttrValue proto, or None for a required attr
    allowed: tuple = ()       # allowed types (DTypes) or strings
    minimum: int | None = None


@dataclass(frozen=True)
class OpDef:
    name: str
    inputs: tuple
    outputs: tuple
    attrs: tuple
    flags: frozenset = field(default_factory=frozenset)

    @property
    def is_stateful(self) -> bool:
        return "stateful" in self.flags

    def attr(self, name: str) -> AttrDef:
        for a in self.attrs:
            if a.name == name:
                return a
        raise KeyError(name)

    def to_proto(self) -> OpDefProto:
        """The OpDef message, as a metagraph's stripped op list holds it."""
        proto = OpDefProto(name=self.name)
        for args, target in ((self.inputs, proto.input_arg), (self.outputs, proto.output_arg)):
            for arg in args:
                out = target.add(name=arg.name, type_attr=arg.type_attr,
                                 number_attr=arg.number_attr,
                                 type_list_attr=arg.type_list_attr, is_ref=arg.is_ref)
                if arg.fixed_type:
                    out.type = attr_value.as_dtype(arg.fixed_type).as_datatype_enum
                full = ARG_FULL_TYPES.get((self.name, arg.name))
                if hasattr(full, "SerializeToString"):   # a whole FullTypeDef message
                    out.experimental_full_type.CopyFrom(full)
                elif full is not None:
                    # "TFT_ARRAY/TFT_TENSOR": nested, outermost first, around TFT_VAR(attr)
                    node = out.experimental_full_type
                    for i, type_id in enumerate(full[0].split("/")):
                        if i:
                            node = node.args.add()
                        node.type_id = FULL_TYPE_IDS[type_id]
                    node.args.add(type_id=FULL_TYPE_IDS["TFT_VAR"], s=full[1])
        for a in self.attrs:
            out = proto.attr.add(name=a.name, type=a.type)
            if a.default is not None:
                out.default_value.CopyFrom(a.default)
            if a.allowed:
                kind = "list(type)" if a.type in ("type", "list(type)") else "list(string)"
                out.allowed_values.CopyFrom(attr_value.encode(a.allowed, kind))
            if a.minimum is not None:
                out.has_minimum = True
                out.minimum = a.minimum
        if self.name in DEPRECATIONS:
            proto.deprecation.version, proto.deprecation.explanation = DEPRECATIONS[self.name]
        proto.is_stateful = "stateful" in self.flags
        proto.is_commutative = "commutative" in self.flags
        proto.is_aggregate = "aggregate" in self.flags
        proto.allows_uninitialized_input = "allows_uninitialized_input" in self.flags
        proto.is_distributed_communication = "distributed_communication" in self.flags
        return proto


OP_DEFS: dict[str, OpDef] = {}
# Full types some OpDef args declare: (op, arg) -> (type id name, the attr it is of).
ARG_FULL_TYPES: dict[tuple[str, str], tuple[str, str]] = {}
# Ops TensorFlow marks deprecated from a GraphDef version on: op -> (version, explanation).
DEPRECATIONS: dict[str, tuple[int, str]] = {}
SHAPES: dict[str, object] = {}
KERNELS: dict[str, object] = {}
# op type -> gradient builder, or None: the op is explicitly not differentiable
GRADIENTS: dict[str, object] = {}
# (producer type, consumer type) -> builder of a kernel computing both (runtime/fusion.py)
FUSIONS: dict[tuple[str, str], object] = {}

# ---- traits: what the runtime and the constant evaluator ask instead of op type names -------
# outputs may be the very array a variable or a feed holds: fetches are copied
ALIASING = "aliasing"
# output 0 is input 0 unchanged (compiled plans pass the value through, no call)
IDENTITY = "identity"
# output fixed for a whole session (a constant, a variable's ref or handle)
SESSION_CONSTANT = "session_constant"
# never evaluated while building: its value is only known when a session runs it
NOT_FOLDABLE = "not_foldable"
# may output dead tensors (a Switch): plans holding one track dead tensors
MAKES_DEAD = "makes_dead"
# dead only when every input is dead; forwards the live one (a Merge)
FORWARDS_LIVE = "forwards_live"
# a placeholder: when fed, the feed stands in for its control edges too
PLACEHOLDER = "placeholder"
# its value follows from its input's static shape (Shape, Size, Rank)
SHAPE_OF = "shape_of"
# folded by TensorFlow's Python ``constant_value`` (gradient and API code decide on it)
PYTHON_CONSTANT = "python_constant"
# TensorFlow has a gradient for it that flowsaver does not implement yet
NO_GRADIENT_YET = "no_gradient_yet"
# loop frames (TensorFlow 1.x while loops): its output is in the child frame its
# ``frame_name`` attr names (an Enter) ...
ENTERS_FRAME = "enters_frame"
# ... in the parent frame (an Exit) ...
EXITS_FRAME = "exits_frame"
# ... or in the next iteration of its frame (a NextIteration: the loop's back edge)
NEXT_ITERATION = "next_iteration"
# the predicate of its frame's iterations (a LoopCond)
LOOP_COND = "loop_cond"
# its output is live even when its inputs are dead (a ControlTrigger)
NEVER_DEAD = "never_dead"
# TensorFlow has no gradient for it either: differentiating through it is a LookupError
NO_GRADIENT = "no_gradient"
# no outputs and no effect, only control edges (a NoOp): compiled plans call nothing for it
NOTHING_TO_RUN = "nothing_to_run"
TRAIT_NAMES = (NO_GRADIENT_YET, NO_GRADIENT, ALIASING, IDENTITY, SESSION_CONSTANT, NOT_FOLDABLE,
               MAKES_DEAD, FORWARDS_LIVE, PLACEHOLDER, SHAPE_OF, PYTHON_CONSTANT, ENTERS_FRAME,
               EXITS_FRAME, NEXT_ITERATION, LOOP_COND, NEVER_DEAD, NOTHING_TO_RUN)
TRAITS: dict[str, set] = {name: set() for name in TRAIT_NAMES}


def has_trait(op_type: str, trait: str) -> bool:
    """Whether ``op_type`` was marked with ``trait`` (one of ``TRAIT_NAMES``)."""
    return op_type in TRAITS[trait]


class RegistryError(Exception):
    """An op type registered twice in one table, or a trait nobody defined."""


class OpTable:
    """The entries one module contributes to the registry.

    A module fills its own table when imported (``TABLE = OpTable(__name__)``, then
    ``TABLE.define(...)``, ``@TABLE.kernel("MatMul")``, ``@TABLE.gradient("MatMul")``);
    nothing reaches the global tables until ``flowsaver.ops.families.install`` installs
    every family's tables, in one visible place. Registering an op type twice, in one table
    or across tables, is a ``RegistryError``.
    """

    def __init__(self, name: str):
        self.name = name
        self.op_defs: dict = {}
        self.full_types: dict = {}
        self.shapes: dict = {}
        self.kernels: dict = {}
        self.gradients: dict = {}
        self.fusions: dict = {}
        self.deprecations: dict = {}
        self.traits: dict = {trait: set() for trait in TRAIT_NAMES}

    def _put(self, table: dict, key, value, what: str) -> None:
        if key in table:
            raise RegistryError(f"{what} for '{key}' registered twice in {self.name}")
        table[key] = value

    def define(self, *lines: str) -> None:
        """Add op signatures, one line each, in the notation of this module's docstring."""
        for line in lines:
            op_def = parse_signature(line)
            self._put(self.op_defs, op_def.name, op_def, "OpDef")

    def arg_full_type(self, op_type: str, arg: str, type_id: str, of_attr: str) -> None:
        """Declare the full type TensorFlow's OpDef gives an argument (e.g. Shape's output
        is a TFT_SHAPE_TENSOR of its ``out_type``; a TensorList is
        ``"TFT_ARRAY/TFT_TENSOR"`` of its ``element_dtype``); the notation has no place
        for it."""
        self._put(self.full_types, (op_type, arg), (type_id, of_attr), "full type")

    def deprecate(self, op_type: str, version: int, explanation: str) -> None:
        """Record TensorFlow's deprecation of ``op_type`` (it goes into the OpDef)."""
        self._put(self.deprecations, op_type, (version, explanation), "deprecation")

    def shape_fn(self, *op_types: str):
        """Decorator: the shape function of ``op_types``."""
        def register(fn):
            for op_type in op_types:
                self._put(self.shapes, op_type, fn, "shape function")
            return fn
        return register

    def kernel(self, *op_types: str):
        """Decorator: the kernel builder ``fn(op, ctx) -> run(*inputs)`` of ``op_types``."""
        def register(fn):
            for op_type in op_types:
                self._put(self.kernels, op_type, fn, "kernel")
            return fn
        return register

    def simple_kernel(self, op_type: str, fn) -> None:
        """A kernel that needs no attrs: ``fn(*inputs)`` is the output."""
        self._put(self.kernels, op_type, lambda op, ctx: fn, "kernel")

    def fusion(self, producer: str, consumer: str):
        """Decorator: ``fn(producer_op, consumer_op, ctx)``, the builder of one kernel that
        computes ``consumer_op`` straight from ``producer_op``'s inputs when the consumer's
        first input is the producer's only output and nothing else reads it (see
        ``runtime/fusion.py``). The kernel takes the producer's inputs, then the
        consumer's other inputs, and returns the consumer's output, or ``NotImplemented``
        when these values do not suit it (the two kernels then run one after the other);
        the builder returns None when the ops' attrs do not suit it. The result may
        differ from the two kernels' only by float rounding."""
        def register(fn):
            self._put(self.fusions, (producer, consumer), fn, "fusion")
            return fn
        return register

    def gradient(self, op_type: str):
        """Decorator: the gradient builder ``fn(op, *grads) -> [grad per input]``."""
        def register(fn):
            self._put(self.gradients, op_type, fn, "gradient")
            return fn
        return register

    def not_differentiable(self, *op_types: str) -> None:
        """Mark ``op_types`` as having no gradient: the backward walk passes None through."""
        for op_type in op_types:
            self._put(self.gradients, op_type, None, "gradient")

    def mark(self, trait: str, *op_types: str) -> None:
        """Give ``op_types`` a trait the runtime or the constant evaluator asks about."""
        if trait not in self.traits:
            raise RegistryError(f"unknown trait {trait!r} in {self.name}")
        for op_type in op_types:
            if op_type in self.traits[trait]:
                raise RegistryError(f"trait {trait!r} of '{op_type}' registered twice in "
                                    f"{self.name}")
            self.traits[trait].add(op_type)


def install(table: OpTable) -> None:
    """Copy ``table`` into the global tables; a second registration of anything raises."""
    for mine, theirs, what in ((table.op_defs, OP_DEFS, "OpDef"),
                               (table.full_types, ARG_FULL_TYPES, "full type"),
                               (table.shapes, SHAPES, "shape function"),
                               (table.kernels, KERNELS, "kernel"),
                               (table.gradients, GRADIENTS, "gradient"),
                               (table.fusions, FUSIONS, "fusion"),
                               (table.deprecations, DEPRECATIONS, "deprecation")):
        clash = sorted(str(k) for k in mine if k in theirs)
        if clash:
            raise RegistryError(f"{what} registered twice (again in {table.name}): "
                                f"{', '.join(clash)}")
        theirs.update(mine)
    for trait, op_types in table.traits.items():
        clash = sorted(op_types & TRAITS[trait])
        if clash:
            raise RegistryError(f"trait {trait!r} registered twice (again in {table.name}): "
                                f"{', '.join(clash)}")
        TRAITS[trait].update(op_types)


def returns_single(op) -> bool:
    """Whether the op's kernel returns its one output bare (else a sequence of outputs)."""
    outputs = op.op_def.outputs if op.op_def is not None else ()
    return len(outputs) == 1 and not outputs[0].number_attr and \
        not outputs[0].type_list_attr


def ref_arg_flags(op) -> list[bool]:
    """For each input tensor of ``op``, whether its argument takes a ref (a variable)."""
    flags = []
    for arg in op.op_def.inputs:
        count = 1
        if arg.number_attr:
            count = op.get_attr(arg.number_attr)
        elif arg.type_list_attr:
            count = len(op.get_attr(arg.type_list_attr))
        flags.extend([arg.is_ref] * count)
    return flags


def get(op_type: str) -> OpDef:
    try:
        return OP_DEFS[op_type]
    except KeyError:
        raise KeyError(f"Op type not registered '{op_type}' in flowsaver") from None


# ---- the signature parser -------------------------------------------------------------------
_HEAD = re.compile(r"^\s*(\w+)\((.*?)\)\s*->\s*\((.*?)\)\s*$")
_ATTR = re.compile(r"^(\w+)\s*:\s*([\w()]+)\s*(\{[^}]*\})?\s*(>=\s*-?\d+)?\s*(=\s*.+)?$")


def parse_signature(line: str) -> OpDef:
    head, *rest = [p.strip() for p in _split_top(line, ";")]
    match = _HEAD.match(head)
    if not match:
        raise ValueError(f"bad op signature: {line!r}")
    name, ins, outs = match.groups()
    flags, attrs = set(), []
    for piece in rest:
        if piece.startswith("!"):
            flags.update(f.strip("! ") for f in piece.split() if f.strip("! "))
            continue
        m = _ATTR.match(piece)
        if not m:
            raise ValueError(f"bad attr {piece!r} in {line!r}")
        aname, atype, allowed, minimum, default = m.groups()
        allowed_values = ()
        if allowed:
            items = [s.strip() for s in allowed[1:-1].split(",") if s.strip()]
            allowed_values = tuple(s.strip('"') if s.startswith('"') else
                                   attr_value.as_dtype(s) for s in items)
        attrs.append(AttrDef(
            aname, atype,
            default=_default(atype, default[1:].strip()) if default else None,
            allowed=allowed_values,
            minimum=int(minimum[2:]) if minimum else None))
    lists = {a.name for a in attrs if a.type == "list(type)"}
    return OpDef(name, _args(ins, lists), _args(outs, lists), tuple(attrs), frozenset(flags))


def _split_top(text: str, sep: str) -> list:
    parts, depth, quoted, current = [], 0, False, ""
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "{[(":
            depth += 1
        elif not quoted and ch in "}])":
            depth -= 1
        if ch == sep and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _args(text: str, type_lists: set) -> tuple:
    out = []
    for piece in (p.strip() for p in _split_top(text, ",") if p.strip()):
        name, _, kind = (s.strip() for s in piece.partition(":"))
        is_ref = kind.startswith("Ref(")
        if is_ref:
            kind = kind[4:-1].strip()
        if "*" in kind:
            number, _, base = (s.strip() for s in kind.partition("*"))
            typed = {"fixed_type": base} if _is_type_name(base) else {"type_attr": base}
            out.append(ArgDef(name, number_attr=number, is_ref=is_ref, **typed))
        elif _is_type_name(kind):
            out.append(ArgDef(name, fixed_type=kind, is_ref=is_ref))
        elif kind in type_lists:
            out.append(ArgDef(name, type_list_attr=kind, is_ref=is_ref))
        else:
            out.append(ArgDef(name, type_attr=kind, is_ref=is_ref))
    return tuple(out)


def _is_type_name(text: str) -> bool:
    try:
        attr_value.as_dtype(text)
        return text[0].islower()
    except TypeError:
        return False


def _default(attr_type: str, text: str) -> AttrValue:
    return attr_value.encode(_literal(attr_type, text), attr_type)


def _literal(attr_type: str, text: str):
    if attr_type.startswith("list("):
        inner = attr_type[5:-1]
        body = text.strip()[1:-1].strip()
        if not body:
            return []
        return [_literal(inner, item.strip()) for item in _split_top(body, ",")]
    if attr_type == "bool":
        return text == "true"
    if attr_type == "int":
        return int(text)
    if attr_type == "float":
        return float(text)
    if attr_type == "string":  # C escapes as in TensorFlow's notation ("\\n" is a newline)
        return text.strip('"').encode("latin-1").decode("unicode_escape")
    if attr_type == "type":
        return attr_value.as_dtype(text)
    if attr_type == "shape":
        if text == "?":
            return TensorShape(None)
        body = text[1:-1].strip()
        return TensorShape([None if int(d) == -1 else int(d)
                            for d in body.split(",")] if body else [])
    raise ValueError(f"no default syntax for attr type {attr_type!r}")
