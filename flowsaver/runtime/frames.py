"""Loop frames among the ops one ``Session.run`` needs, found before anything runs.

TensorFlow 1.x runs a ``tf.while_loop`` as a *frame*: ``Enter`` nodes take values into the
frame (``frame_name`` attr), ``Exit`` nodes take them out, and every other node runs in
the frame of its inputs, once per iteration. This module does what TensorFlow's executor
does when it builds its control-flow info (each node's frame, inputs of one node all from
one frame) and then cuts each loop into the parts flowsaver runs as one structured step::

    iteration 0:   Merge <- Enter            (loop variables; invariants from constant Enters)
    head:          every op not downstream of a loop Switch: computes LoopCond
    pred false:    Exit <- Switch:0          (the loop's results; the frame ends)
    body:          every op downstream of Switch:1: computes the NextIteration values
    iteration k+1: Merge <- NextIteration

A loop nested in a frame is one unit of that frame's head or body. Which nodes play which
role is registry data (traits ``ENTERS_FRAME``, ``EXITS_FRAME``, ``NEXT_ITERATION``,
``LOOP_COND``, ``MAKES_DEAD``, ``FORWARDS_LIVE``). A graph these rules do not cover is
reported here, naming its node, never halfway through a run.
"""
from __future__ import annotations

from flowsaver import errors
from flowsaver.graph.operation import Operation
from flowsaver.ops import registry

WHILE_LOOP = "(while loop)"


def has_frames(ops) -> bool:
    """Whether any of ``ops`` enters a loop frame."""
    return any(registry.has_trait(op.type, registry.ENTERS_FRAME) for op in ops)


class Frame:
    """The root frame or one loop frame, with its parts; a loop stands in a plan as one step.

    A loop frame quacks like an Operation where a plan step needs one: its ``inputs`` are
    the values its Enters take in, its ``outputs`` those its Exits give out.
    """

    type = WHILE_LOOP
    op_def = None

    def __init__(self, name: str, parent: "Frame | None"):
        self.name = name
        self.parent = parent
        self.children: dict = {}
        self.ops: list = []       # ops that run in this frame, in dependency order
        self.units: list = []     # root: ops and loops, in dependency order
        self.enters: list = []    # loop frames: the parts named in the module docstring
        self.exits: list = []
        self.merges: list = []
        self.nexts: list = []
        self.switches: list = []
        self.loop_cond = None
        self.head: list = []
        self.body: list = []

    @property
    def inputs(self) -> list:
        return [enter.inputs[0] for enter in self.enters]

    @property
    def outputs(self) -> list:
        return [exit_.outputs[0] for exit_ in self.exits]

    @property
    def control_inputs(self) -> list:
        seen = []
        for enter in self.enters:
            seen.extend(c for c in enter.control_inputs if c not in seen)
        return seen

    def child(self, name: str) -> "Frame":
        if name not in self.children:
            self.children[name] = Frame(name, self)
        return self.children[name]

    def __repr__(self):
        return f"<loop frame '{self.name}'>"


def _unsupported(op: Operation, why: str) -> errors.UnimplementedError:
    return errors.UnimplementedError(
        op.node_def, op, f"flowsaver cannot run the loop frame of node {op.name} ({op.type}): "
                         f"{why}")


def _is_back_edge(op: Operation, producer: Operation) -> bool:
    return registry.has_trait(op.type, registry.FORWARDS_LIVE) and \
        registry.has_trait(producer.type, registry.NEXT_ITERATION)


class _Deps:
    """The edges a run follows: data inputs not fed, control inputs but a fed placeholder's,
    among the needed ops; a loop's back edges (NextIteration into Merge) left out."""

    def __init__(self, ops, fed: set):
        self.needed = set(ops)
        self.fed = fed

    def data(self, op: Operation) -> list:
        return [t for t in op.inputs if t not in self.fed and t.op in self.needed
                and not _is_back_edge(op, t.op)]

    def control(self, op: Operation) -> list:
        return [c for c in op.control_inputs if c in self.needed and not (
            registry.has_trait(c.type, registry.PLACEHOLDER) and c.outputs[0] in self.fed)]

    def of(self, op: Operation) -> list:
        return [t.op for t in self.data(op)] + self.control(op)


def _dependency_order(ops, deps: _Deps) -> list:
    """``ops`` with every op after the ops it depends on (back edges aside)."""
    order, state = [], {}
    for root in ops:
        if state.get(root):
            continue
        stack = [(root, False)]
        while stack:
            op, expanded = stack.pop()
            if expanded:
                state[op] = 2
                order.append(op)
                continue
            if state.get(op) == 2:
                continue
            if state.get(op) == 1:
                raise _unsupported(op, "it lies on a cycle that does not pass through a "
                                       "NextIteration into a Merge")
            state[op] = 1
            stack.append((op, True))
            for dep in reversed(deps.of(op)):
                if state.get(dep) != 2:
                    stack.append((dep, False))
    return order


def analyse(ops, fed: set, fetch_ops, target_ops) -> Frame:
    """The root frame of the ops ``ops`` (a pruned run), with every loop cut into parts.

    Raises:
      InvalidArgumentError: a node has inputs from two frames, or an Exit in the root frame.
      UnimplementedError: a fetch, feed or loop shape this runtime does not run.
    """
    deps = _Deps(ops, fed)
    order = _dependency_order(ops, deps)
    root = Frame("", None)
    out_frame, home = {}, {}
    for op in order:
        frame = _input_frame(op, deps, out_frame, root)
        if registry.has_trait(op.type, registry.ENTERS_FRAME):
            out_frame[op] = home[op] = frame.child(_frame_name(op))
        elif registry.has_trait(op.type, registry.EXITS_FRAME):
            if frame.parent is None:
                raise errors.InvalidArgumentError(
                    op.node_def, op, f"Exit node {op.name} is in the root frame: it has no "
                                     f"loop to leave")
            out_frame[op], home[op] = frame.parent, frame
        else:
            out_frame[op] = home[op] = frame
        home[op].ops.append(op)
    for op in fetch_ops:
        if op in out_frame and out_frame[op] is not root:
            raise _unsupported(op, "it is fetched, but it runs inside the loop (fetch the "
                                   "loop's results instead)")
    for frame in reversed(list(_frames(root))):  # nested loops first: they are units
        if frame is not root:
            _cut_loop(frame, deps, home)
    root.units = _region_order([op for op in root.ops], root, deps, home, set())
    return root


def _frame_name(enter: Operation) -> str:
    name = enter.get_attr("frame_name")
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else name


def _frames(frame: Frame):
    yield frame
    for child in frame.children.values():
        yield from _frames(child)


def _input_frame(op: Operation, deps: _Deps, out_frame: dict, root: Frame) -> Frame:
    """The one frame all of ``op``'s inputs come from (the root for an op without any; a
    fed tensor is in the root frame)."""
    sources = [(dep.name, out_frame[dep]) for dep in deps.of(op)]
    sources += [(t.name, root) for t in op.inputs if t in deps.fed]
    if not sources:
        return root
    first, frame = sources[0]
    for name, other in sources[1:]:
        if other is not frame:
            raise errors.InvalidArgumentError(
                op.node_def, op, f"The node '{op.name}' has inputs from different frames. The "
                                 f"input '{name}' is in frame '{other.name}'. The input "
                                 f"'{first}' is in frame '{frame.name}'.")
    return frame


def _cut_loop(frame: Frame, deps: _Deps, home: dict) -> None:
    """Find ``frame``'s Enters, Merges, LoopCond, Switches, NextIterations and Exits, and
    split the rest into head and body (see the module docstring)."""
    for op in frame.ops:
        if registry.has_trait(op.type, registry.ENTERS_FRAME):
            frame.enters.append(op)
        elif registry.has_trait(op.type, registry.EXITS_FRAME):
            frame.exits.append(op)
        elif registry.has_trait(op.type, registry.NEXT_ITERATION):
            frame.nexts.append(op)
        elif registry.has_trait(op.type, registry.LOOP_COND):
            if frame.loop_cond is not None:
                raise _unsupported(op, f"frame '{frame.name}' has a second LoopCond")
            frame.loop_cond = op
        elif registry.has_trait(op.type, registry.FORWARDS_LIVE) and any(
                registry.has_trait(t.op.type, registry.NEXT_ITERATION) for t in op.inputs):
            frame.merges.append(op)
    if frame.loop_cond is None:
        raise _unsupported(frame.enters[0], f"frame '{frame.name}' has no LoopCond")
    frame.switches = [op for op in frame.ops if registry.has_trait(op.type, registry.MAKES_DEAD)
                      and op.inputs[1].op is frame.loop_cond]
    _check_loop(frame, deps.needed)
    structural = set(frame.enters + frame.exits + frame.nexts + frame.merges + frame.switches)
    units = _region_order([op for op in frame.ops if op not in structural], frame, deps, home,
                          structural)
    seeds = {s.outputs[1] for s in frame.switches} | set(frame.switches)
    body = set()
    for unit in units:
        if isinstance(unit, Frame):
            uses = [t for e in unit.enters for t in e.inputs] + unit.control_inputs
        else:
            uses = list(unit.inputs) + list(unit.control_inputs)
        if any(u in seeds or u in body or (not isinstance(u, Operation) and u.op in body)
               for u in uses):
            body.add(unit)
            if isinstance(unit, Frame):
                body.update(unit.exits)
    frame.head = [u for u in units if u not in body]
    frame.body = [u for u in units if u in body]


def _check_loop(frame: Frame, needed: set) -> None:
    merges, nexts, switches = set(frame.merges), set(frame.nexts), set(frame.switches)
    variables = [e for e in frame.enters if not e.get_attr("is_constant")]
    for merge in frame.merges:
        kinds = sorted((t.op in variables, t.op in nexts) for t in merge.inputs)
        if kinds != [(False, True), (True, False)]:
            raise _unsupported(merge, "a loop Merge must join one Enter of its frame and one "
                                      "NextIteration")
    for op in variables + frame.nexts:
        users = [c for t in op.outputs for c in t.consumers() if c in needed]
        if any(c not in merges for c in users):
            raise _unsupported(op, "its value may only go to the loop's Merge nodes")
    for exit_ in frame.exits:
        source = exit_.inputs[0]
        if source.op not in switches or source.value_index != 0:
            raise _unsupported(exit_, "an Exit must take the false output of a Switch on the "
                                      "frame's LoopCond")
    for switch in frame.switches:
        if any(c not in frame.exits for c in switch.outputs[0].consumers() if c in needed):
            raise _unsupported(switch, "the false output of a loop Switch may only go to Exit")
    for op in frame.merges + frame.switches + frame.exits:
        if op.control_inputs:
            raise _unsupported(op, "control inputs on a loop's Merge, Switch or Exit")


def _unit_of(dep: Operation, region: Frame, home: dict):
    """What ``dep`` is a part of in ``region``: itself, or the nested loop holding it."""
    frame = home[dep]
    if frame is region:
        return dep
    while frame is not None and frame.parent is not region:
        frame = frame.parent
    if frame is None:
        raise _unsupported(dep, f"a node of frame '{region.name}' depends on it, but it is in "
                                f"frame '{home[dep].name}'")
    return frame


def _region_order(ops, region: Frame, deps: _Deps, home: dict, structural: set) -> list:
    """The ops and nested loops of ``region``, each after what it depends on."""
    units = list(ops)
    units += [child for child in region.children.values()]
    unit_deps = {}
    for unit in units:
        members = unit.enters if isinstance(unit, Frame) else [unit]
        found = []
        for member in members:
            for dep in deps.of(member):
                if dep in structural:
                    continue
                u = _unit_of(dep, region, home)
                if u is not unit and u not in found:
                    found.append(u)
        unit_deps[unit] = found
    order, state = [], {}
    for start in units:
        stack = [(start, False)]
        while stack:
            unit, expanded = stack.pop()
            if expanded:
                state[unit] = 2
                order.append(unit)
                continue
            if state.get(unit):
                if state[unit] == 1:
                    raise _unsupported(_named(unit), "its loop's results feed back into the "
                                                     "loop's own inputs")
                continue
            state[unit] = 1
            stack.append((unit, True))
            stack.extend((d, False) for d in reversed(unit_deps[unit]) if state.get(d) != 2)
    return order


def _named(unit):
    return unit.enters[0] if isinstance(unit, Frame) else unit
