"""`flowsaver graph`: DOT that a DOT parser reads back with every node, scopes as clusters,
--depth collapsing, escaping of hostile names, Graphviz rendering, and --logdir events."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pydot
import pytest

from flowsaver.cli.graph_dot import graph_to_dot
from flowsaver.cli.main import main
from flowsaver.format.events import read_events
from flowsaver.format.graph_protos import GraphDef
from flowsaver.format.meta_file import read_meta_graph_file
from flowsaver.format.graph_file import SavedModel

ROOT = Path(__file__).resolve().parents[2]
METAS = [ROOT / "tests/fixtures/tf/refvar/model.ckpt-5.meta",
         ROOT / "tests/fixtures/tf/resource/model.ckpt-1.meta",
         ROOT / "tests/fixtures/tf_samples/s1_resource_adam/model.ckpt-3.meta"]


@pytest.fixture
def graphviz():
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is required for this test: apt-get install graphviz")


def cli(capsys, *argv):
    code = main(["graph", *[str(a) for a in argv]])
    out, err = capsys.readouterr()
    return code, out, err


def parse(dot_text: str) -> pydot.Dot:
    graphs = pydot.graph_from_dot_data(dot_text)
    assert graphs and len(graphs) == 1
    return graphs[0]


def boxes(graph) -> dict[str, dict]:
    """Every node statement of a parsed DOT graph, clusters included: {id: attributes}."""
    found = {}
    for node in graph.get_nodes():
        if node.get_name() not in ("node", "graph", "edge"):
            found[node.get_name()] = node.get_attributes()
    for sub in graph.get_subgraphs():
        found.update(boxes(sub))
    return found


def clusters(graph) -> list[str]:
    out = []
    for sub in graph.get_subgraphs():
        out.append(sub.get_name().strip('"'))
        out += clusters(sub)
    return out


def unquote(text: str) -> str:
    return text[1:-1].replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def _check_every_node(graph_def, found: dict, edges: set) -> None:
    """Each node of ``graph_def`` is one box (by tooltip) and each input one edge."""
    by_name = {unquote(attrs["tooltip"]): box for box, attrs in found.items()}
    assert set(by_name) == {node.name for node in graph_def.node}
    for node in graph_def.node:
        for name in node.input:
            source = by_name[name.lstrip("^").split(":")[0]]
            assert (source, by_name[node.name]) in edges


@pytest.fixture(scope="module")
def refvar_dot(tmp_path_factory) -> tuple[str, pydot.Dot]:
    """The CLI's DOT of the refvar MetaGraph and pydot's parse of it (pydot is pure Python
    and slow, so it parses this one small graph; Graphviz parses the big ones)."""
    out_path = tmp_path_factory.mktemp("dot") / "g.dot"
    assert main(["graph", str(METAS[0]), "-o", str(out_path), "-q"]) == 0
    text = out_path.read_text()
    return text, parse(text)


def test_dot_holds_every_node_and_parses_with_pydot(refvar_dot):
    _, parsed = refvar_dot
    graph_def = read_meta_graph_file(METAS[0]).graph_def
    edges = {(e.get_source(), e.get_destination()) for e in parsed.get_edges()}
    _check_every_node(graph_def, boxes(parsed), edges)


def graphviz_objects(dot_text: str) -> tuple[dict, set]:
    """Boxes and edges as Graphviz's own parser reads the DOT text (``dot -Tjson0``)."""
    done = subprocess.run(["dot", "-Tjson0"], input=dot_text.encode(), capture_output=True,
                          check=True)
    doc = json.loads(done.stdout)
    objects = doc.get("objects", [])
    found = {o["name"]: {"tooltip": '"' + o["tooltip"].replace("\\", "\\\\")
                         .replace('"', '\\"') + '"'}
             for o in objects if "nodes" not in o and "tooltip" in o}
    names = [o["name"] for o in objects]
    edges = {(names[e["tail"]], names[e["head"]]) for e in doc.get("edges", [])}
    return found, edges


@pytest.mark.usefixtures("graphviz")
@pytest.mark.parametrize("meta", METAS[1:], ids=lambda p: p.parent.name)
def test_big_graphs_hold_every_node(meta):
    graph_def = read_meta_graph_file(meta).graph_def
    found, edges = graphviz_objects(graph_to_dot(graph_def))
    _check_every_node(graph_def, found, edges)


def test_scopes_shapes_and_marks(refvar_dot):
    _, parsed = refvar_dot
    assert "cluster_model" in clusters(parsed) and "cluster_model/w" in clusters(parsed)
    by_name = {unquote(a["tooltip"]): a for a in boxes(parsed).values()}
    assert unquote(by_name["model/w"]["label"]) == "w\nVariableV2\n[2,3]"
    assert by_name["model/w"]["fillcolor"] == '"#fde8a8"'   # variables marked
    assert "Const" in unquote(by_name["model/w/initial_value"]["label"])


def test_depth_collapses_scopes_into_boxes():
    graph_def = read_meta_graph_file(METAS[0]).graph_def
    parsed = parse(graph_to_dot(graph_def, depth=0))
    assert clusters(parsed) == []
    labels = [unquote(a["label"]) for a in boxes(parsed).values()]
    scopes = {n.name.split("/")[0] for n in graph_def.node if "/" in n.name}
    for scope in scopes:
        count = sum(1 for n in graph_def.node if n.name.startswith(scope + "/"))
        assert f"{scope}/ ({count} ops)" in labels
    one = parse(graph_to_dot(graph_def, depth=1))
    assert set(clusters(one)) == {f"cluster_{s}" for s in scopes}
    # merged edges carry how many they stand for
    assert any(e.get_attributes().get("label") for e in parsed.get_edges())


def test_hostile_names_are_escaped():
    graph = GraphDef()
    names = ['a"b', "back\\slash/x", "new\nline", "tab\there", "üñí/códe", "^odd"]
    for name in names:
        graph.node.add(name=name, op="NoOp")
    graph.node.add(name="user", op="Identity", input=[f"^{names[0]}", "not_there:1"])
    parsed = parse(graph_to_dot(graph, title='t"itle'))
    tooltips = {unquote(a["tooltip"]) for a in boxes(parsed).values()}
    assert set(names) - {"tab\there"} <= tooltips and "tab\\\\x09here" in \
        {a["tooltip"].strip('"') for a in boxes(parsed).values()}
    labels = [unquote(a["label"]) for a in boxes(parsed).values()]
    assert "not_there (not in graph)" in labels
    styles = [e.get_attributes().get("style") for e in parsed.get_edges()]
    assert "dashed" in styles   # the control edge


def test_deeply_nested_scopes_do_not_recurse():
    graph = GraphDef()
    graph.node.add(name="/".join(["s"] * 1500), op="NoOp")   # past the recursion limit
    text = graph_to_dot(graph)
    assert text.count("subgraph") == 1499


@pytest.mark.usefixtures("graphviz")
def test_svg_and_png_through_graphviz(capsys, tmp_path):
    code, out, _ = cli(capsys, METAS[0], "-o", tmp_path / "g.svg")
    assert code == 0 and out == f"wrote {tmp_path / 'g.svg'}: 34 nodes of the MetaGraph " \
                                f"{METAS[0]}\n"
    svg = (tmp_path / "g.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "model/w" in svg
    assert cli(capsys, METAS[1], "-o", tmp_path / "g.png", "--depth", "1")[0] == 0
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_clear_message_without_graphviz(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    code, _, err = cli(capsys, METAS[0], "-o", tmp_path / "g.svg")
    assert code == 2 and "Graphviz's 'dot' program" in err and "g.dot" in err
    assert not (tmp_path / "g.svg").exists()


def test_logdir_writes_the_graph_for_tensorboard(capsys, tmp_path):
    code, out, _ = cli(capsys, METAS[0], "--logdir", tmp_path / "logs")
    assert code == 0
    (event_file,) = (tmp_path / "logs").iterdir()
    events = list(read_events(event_file))
    meta = read_meta_graph_file(METAS[0])
    assert events[0].file_version == "brain.Event:2"
    assert GraphDef.FromString(events[1].graph_def) == meta.graph_def
    assert events[2].meta_graph_def == meta.SerializeToString(deterministic=True)
    assert str(event_file) in out


def test_saved_model_and_graph_def_inputs(capsys, tmp_path):
    meta = read_meta_graph_file(METAS[0])
    meta.meta_info_def.tags.append("serve")
    (tmp_path / "sm").mkdir()
    model = SavedModel(saved_model_schema_version=1)
    model.meta_graphs.add().CopyFrom(meta)
    (tmp_path / "sm" / "saved_model.pb").write_bytes(model.SerializeToString())
    (tmp_path / "g.pb").write_bytes(meta.graph_def.SerializeToString())
    for source in (tmp_path / "sm", tmp_path / "g.pb"):
        code, out, _ = cli(capsys, source, "-o", tmp_path / "x.dot", "--tag", "serve")
        assert code == 0 and f"{len(meta.graph_def.node)} nodes" in out
    code, _, err = cli(capsys, METAS[0])
    assert code == 2 and "-o OUT" in err
