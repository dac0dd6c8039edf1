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


def test_blind_edits_that_leave_a_valid_record_stream_are_judged_by_what_it_holds(tmp_path):
    """Campaign input tfrecords #53166: a record deleted, then blind byte edits that left a
    valid stream of 7 records (a whole frame copied). The harness once expected the 6
    records framed before the edits and called the correct read wrong data; TensorFlow
    reads the same 7. What the file holds is now parsed from its bytes."""
    from tools.fuzz import framing, runner
    name = "tfrecords"
    engine.prepare([name])
    target = engine.ALL_TARGETS[name]()
    seed, case = engine.case_for(target, engine._SEEDS[name], 0, 53166)
    data = case.files[seed.main]
    assert case.note == "record deleted, file bytes"
    assert case.records == framing.parse_records(data) and len(case.records) == 7
    directory = str(tmp_path / "input")
    runner.write_case(directory, case)
    outcome = runner.run_steps(target.steps(directory, seed, case),
                               target.paths(directory, seed))
    assert (outcome.kind, outcome.detail) == ("ok", "")


def test_parse_records_refuses_any_broken_frame():
    from tools.fuzz import framing
    stream = framing.record(b"abc") + framing.record(b"")
    assert framing.parse_records(stream) == [b"abc", b""]
    assert framing.parse_records(stream[:-1]) is None             # cut short
    flipped = bytearray(stream)
    flipped[13] ^= 1                                              # payload byte
    assert framing.parse_records(bytes(flipped)) is None
    flipped = bytearray(stream)
    flipped[0] ^= 1                                               # length byte
    assert framing.parse_records(bytes(flipped)) is None
