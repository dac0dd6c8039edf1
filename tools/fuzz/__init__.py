"""flowsaver's own fuzzer: mutated files for every reader, each read in a forked child
under a time and memory cap, every outcome classified (runner.py says how).

Targets (a seed set, structure-aware mutations, and the read steps each input goes
through): v2_index, v2_data, v1, object_graph (targets_checkpoint.py); meta_binary,
meta_text, graphdef_pb, saved_model (targets_graph.py); state, events, tfrecords
(targets_stream.py). framing.py writes checksummed framings independently of the code
under test; mutators.py holds the byte, protobuf-field and text-token mutators.

Run from the repository root: ``python -m tools.fuzz --inputs 1000`` (see __main__.py);
`make fuzz` runs 100,000 inputs per target, and tests/test_fuzz_short.py a few seconds'
worth as part of the test suite.
"""
