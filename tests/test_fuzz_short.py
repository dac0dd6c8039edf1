"""A few seconds of the fuzzing campaign (tools/fuzz; `make fuzz` runs 100,000 inputs per
target): every target's unmutated seeds read cleanly, and a handful of mutated inputs per
target, each read in a forked child under a time and memory cap, end in a clean read or
a typed error -- no untyped error, hang, blow-up or wrong data."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.fuzz import engine  # noqa: E402

# Inputs per target: the graph targets import a graph per input and are slower.
INPUTS = {"meta_binary": 4, "meta_text": 3, "graphdef_pb": 4, "saved_model": 4}
DEFAULT_INPUTS = 15


@pytest.mark.parametrize("name", sorted(engine.ALL_TARGETS))
def test_short_fuzz_run(name, tmp_path):
    engine.prepare([name])
    target = engine.ALL_TARGETS[name]()
    assert engine.check_seeds(target, engine._SEEDS[name]) == []
    # Indices past those `make fuzz` starts with, so the suite adds inputs of its own.
    report = engine.run_target(name, INPUTS.get(name, DEFAULT_INPUTS), campaign_seed=16,
                               jobs=1, limits=engine.Limits(seconds=20.0),
                               findings_dir=str(tmp_path), start=10_000_000)
    assert report.inputs == INPUTS.get(name, DEFAULT_INPUTS)
    assert report.findings == 0, "\n".join(
        [report.line()] + [f"{kind} #{index} ({step}): {first} -> {saved}"
                           for kind, index, step, saved, first in report.examples])
    assert report.counts["typed"] > 0 or report.counts["ok"] > 0
