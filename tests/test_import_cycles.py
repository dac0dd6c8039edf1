"""No import cycles anywhere in the package, lazy (function-level) imports included.

Every ``import``/``from ... import`` statement of every module is an edge, wherever it
stands in the module; ``from pkg import name`` points at ``pkg.name`` when that is a
module, else at ``pkg``. A strongly connected component of more than one module (or a
module importing itself) fails the test, listing the modules and one edge of each.
"""
import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "flowsaver"


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def import_edges(name: str) -> set:
    path = MODULES[name]
    tree = ast.parse(path.read_text(), filename=str(path))
    edges = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            edges.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, name, path.name == "__init__.py")
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in MODULES:
                    edges.add(full)
                elif base in MODULES:
                    edges.add(base)
    return edges


def strongly_connected(graph: dict) -> list:
    """Tarjan's algorithm, iterative; components in reverse topological order."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(sorted(component))
    return out


def test_tarjan_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert sorted(map(sorted, strongly_connected(graph))) == [["a", "b", "c"], ["d"]]


def test_no_import_cycles():
    graph = {name: import_edges(name) for name in MODULES}
    cycles = [c for c in strongly_connected(graph)
              if len(c) > 1 or c[0] in graph[c[0]]]
    report = []
    for component in cycles:
        members = set(component)
        edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a]) if b in members]
        report.append(f"{len(component)} modules: " + "; ".join(edges))
    assert not cycles, "import cycles:\n" + "\n".join(report)
