"""Fuzz targets over state files, TensorBoard event files and TFRecord files.

- state: the ``checkpoint`` text file of a directory holding three real checkpoints,
  edited token by token (names, numbers, strings with glob characters, odd escapes,
  deep nesting). Wrong data: a state that protobuf's own parser reads differently (paths
  joined onto the directory as TensorFlow joins them), a latest checkpoint other than the
  one the file names, or a checkpoint whose values differ from what its files hold.
- events / tfrecords: records framed with valid CRCs around an edited payload (an Event
  edited at field level; a tf.train.Example or raw bytes), or blind edits of the file
  (which break a CRC). Every record must read as written, or the read fail with a typed
  error; an event file read with ``allow_truncated_tail`` may only drop records from
  the end. TFRecords are also fuzzed compressed (ZLIB, GZIP) after framing.
"""
from __future__ import annotations

import gzip
import os
import tempfile
import zlib

import numpy as np
from google.protobuf import text_format

import flowsaver as tf
from flowsaver.cli.common import dump_json, open_checkpoint
from flowsaver.cli.inspect_cmd import describe, info_json, render_text
from flowsaver.format.bundle_write import save_tensors
from flowsaver.format.event_protos import Event
from flowsaver.format.events import EventFileWriter, read_events
from flowsaver.format.paths import resolve_checkpoint_prefix
from flowsaver.format.protos import CheckpointState
from flowsaver.format.record_files import iter_record_file, tf_record_iterator
from flowsaver.format.state import (checkpoint_state_to_text, get_checkpoint_mtimes,
                                    get_checkpoint_state, latest_checkpoint,
                                    read_checkpoint_state)
from flowsaver.format.reader import CheckpointReader
from tools.fuzz import framing, mutators
from tools.fuzz.runner import Case, WrongData
from tools.fuzz.target_base import FIXTURES, Seed, digest, read_tree


class StateTarget:
    name = "state"

    def seeds(self) -> list[Seed]:
        files, truth = {}, {}
        with tempfile.TemporaryDirectory() as tmp:
            for step in (1, 2, 3):
                save_tensors(os.path.join(tmp, f"model-{step}"),
                             {"w": np.full((2, 2), step, np.float32), "step": np.int64(step)})
            files = read_tree(tmp)
            for step in (1, 2, 3):
                with CheckpointReader(os.path.join(tmp, f"model-{step}")) as r:
                    truth[f"model-{step}"] = {n: digest(r.get_tensor(n)) for n in r.names()}
        states = [CheckpointState(
            model_checkpoint_path="model-3",
            all_model_checkpoint_paths=["model-1", "model-2", "model-3"],
            all_model_checkpoint_timestamps=[1.7e9, 1.7e9 + 60, 1.7e9 + 120],
            last_preserved_timestamp=1.7e9 - 5)]
        texts = [checkpoint_state_to_text(s).encode() for s in states]
        for sub in ("refvar", "sharded", "tf2_object"):
            texts.append((FIXTURES / "tf" / sub / "checkpoint").read_bytes())
        return [Seed(f"state {i}", dict(files, checkpoint=text), "checkpoint",
                     extra={"checkpoints": truth}) for i, text in enumerate(texts)]

    def mutate(self, seed: Seed, rng) -> Case:
        data = seed.files["checkpoint"]
        new = mutators.mutate_text_proto(data, rng) if rng.random() < 0.85 \
            else mutators.mutate_bytes(data, rng)
        return Case(dict(seed.files, checkpoint=new), None, "state text")

    def paths(self, directory: str, seed: Seed) -> list[str]:
        return [directory, os.path.join(directory, "checkpoint")]

    def steps(self, directory: str, seed: Seed, case: Case) -> list:
        truth = seed.extra["checkpoints"]

        def oracle():
            state = CheckpointState()
            try:
                text_format.Merge(case.files["checkpoint"], state)
            except Exception:  # noqa: BLE001 - protobuf's own verdict
                return None
            return state

        def joined(path: str) -> str:
            return path if os.path.isabs(path) else os.path.join(directory, path)

        def state():
            got = get_checkpoint_state(directory)
            want = oracle()
            if got is None:
                return
            if want is None:
                raise WrongData("a state was read from text protobuf cannot parse")
            if got.model_checkpoint_path != joined(want.model_checkpoint_path) or \
                    list(got.all_model_checkpoint_paths) != \
                    [joined(p) for p in want.all_model_checkpoint_paths]:
                raise WrongData(f"state read as {got} but the file holds {want}")
            get_checkpoint_mtimes(list(got.all_model_checkpoint_paths))

        def latest():
            got = latest_checkpoint(directory)
            want = oracle()
            if got is not None and (want is None or got != joined(want.model_checkpoint_path)):
                raise WrongData(f"latest_checkpoint gave {got!r}; the file names "
                                f"{want and want.model_checkpoint_path!r}")

        def load():
            prefix = resolve_checkpoint_prefix(directory).prefix
            with CheckpointReader(directory) as r:
                values = {n: digest(r.get_tensor(n)) for n in r.names()}
            name = os.path.basename(prefix)
            if os.path.dirname(prefix) == directory.rstrip("/") and name in truth \
                    and values != truth[name]:
                raise WrongData(f"{prefix} read with values other than its files hold")

        def inspect():
            with open_checkpoint(directory) as opened:
                info = describe(opened)
            render_text(info)
            dump_json(info_json(info))

        return [("get_checkpoint_state", state, True), ("latest_checkpoint", latest, True),
                ("read_checkpoint_state", lambda: read_checkpoint_state(directory), True),
                ("load_checkpoint", load, True), ("inspect", inspect, True)]


# --- records ---------------------------------------------------------------------------------

def _reframe(payloads, rng, touched: dict, note: str):
    """Mutated payloads framed with valid CRCs; ``touched`` maps record index -> payload."""
    action = rng.random()
    records = list(payloads)
    i = rng.randrange(len(records))
    if action < 0.75:
        records[i] = touched[i] = _mutate_payload(records[i], rng)
    elif action < 0.85:
        del records[i]
        note = "record deleted"
        touched.update({j: None for j in range(i, len(payloads))})
    else:
        records.insert(i, records[i])
        note = "record duplicated"
        touched.update({j: None for j in range(i, len(payloads) + 1)})
    return b"".join(framing.record(r) for r in records), records, note


def _mutate_payload(data: bytes, rng) -> bytes:
    return mutators.mutate_proto(data, rng) if rng.random() < 0.8 \
        else mutators.mutate_bytes(data, rng)


def _check_records(got: list, want: list, payloads: list[bytes], file_bytes: bytes,
                   tail_ok: bool) -> None:
    """WrongData unless ``got`` is ``want``: every record of the file (``payloads``
    framed), as reading gives it back.

    A file cut at a record boundary is a valid file of fewer records. With ``tail_ok``, a
    file shorter than the framed records may also read as the records before where it
    ends (its last record is then incomplete, as in a file still being written); each
    record read must still be one of the file's, in order.
    """
    framed = [framing.record(r) for r in payloads]
    ends = [sum(map(len, framed[:i + 1])) for i in range(len(framed))]
    whole = b"".join(framed)
    if len(file_bytes) < len(whole):
        if whole.startswith(file_bytes) and (len(file_bytes) in [0] + ends or tail_ok):
            want = want[:sum(1 for end in ends if end <= len(file_bytes))]
        elif tail_ok:
            want = want[:len(got)]
    if len(got) != len(want) or got != want:
        raise WrongData(f"read {len(got)} records, {sum(a != b for a, b in zip(got, want))} "
                        f"of them different from the {len(want)} the file holds")


class EventsTarget:
    name = "events"

    def seeds(self) -> list[Seed]:
        with tempfile.TemporaryDirectory() as tmp:
            with EventFileWriter(tmp, now=1.7e9) as w:
                for step in range(4):
                    w.add_scalar("loss", 1.0 / (step + 1), step=step, wall_time=1.7e9 + step)
                graph = tf.Graph()
                with graph.as_default():
                    tf.constant([1.0, 2.0], name="c")
                w.add_graph_def(graph.as_graph_def(), wall_time=1.7e9)
            files = read_tree(tmp)
        (rel, data), = files.items()
        return [Seed("flowsaver events", {"events.out.tfevents": data}, "events.out.tfevents",
                     extra={"records": framing.split_records(data)})]

    def baseline(self, seed: Seed) -> Case:
        return Case(seed.files, frozenset(), "unmutated", records=seed.extra["records"])

    def mutate(self, seed: Seed, rng) -> Case:
        payloads = seed.extra["records"]
        if rng.random() < 0.3:
            data = mutators.mutate_bytes(seed.files[seed.main], rng)
            return Case({seed.main: data}, frozenset(), "file bytes",
                        records=_held(data, "", payloads))
        touched = {}
        data, records, note = _reframe(payloads, rng, touched, "event fields")
        return Case({seed.main: data}, frozenset(touched), note, records=records)

    def paths(self, directory: str, seed: Seed) -> list[str]:
        return [os.path.join(directory, seed.main)]

    def steps(self, directory: str, seed: Seed, case: Case) -> list:
        path = os.path.join(directory, seed.main)

        data = case.files[seed.main]

        def strict():
            got = [e.SerializeToString() for e in read_events(path, False)]
            _check_records(got, _as_events(case.records), case.records, data, False)

        def tail():
            got = [e.SerializeToString() for e in read_events(path, True)]
            _check_records(got, _as_events(case.records), case.records, data, True)

        return [("read_events", strict, True), ("read_events_tail", tail, True),
                ("summary_iterator", lambda: list(tf.train.summary_iterator(path)), True)]


def _as_events(payloads: list[bytes]) -> list:
    """The records as reading an event file gives them back: each Event re-serialized;
    None for a payload that is no Event (reading must fail there instead)."""
    out = []
    for payload in payloads:
        try:
            out.append(Event.FromString(payload).SerializeToString())
        except Exception:  # noqa: BLE001 - protobuf's own verdict
            out.append(None)
    return out


def _example(i: int) -> bytes:
    example = tf.train.Example()
    example.features.feature["x"].float_list.value.extend([float(i), 0.5])
    example.features.feature["name"].bytes_list.value.append(b"row%d" % i)
    return example.SerializeToString()


class RecordsTarget:
    name = "tfrecords"
    COMPRESSIONS = ("", "ZLIB", "GZIP")

    def seeds(self) -> list[Seed]:
        payloads = [_example(i) for i in range(5)] + [b"", b"\x00" * 40]
        return [Seed(f"tfrecords {c or 'plain'}", {"data.tfrecord": b""}, "data.tfrecord",
                     extra={"records": payloads, "compression": c})
                for c in self.COMPRESSIONS]

    def baseline(self, seed: Seed) -> Case:
        payloads = seed.extra["records"]
        data = _compress(b"".join(framing.record(r) for r in payloads),
                         seed.extra["compression"])
        return Case({seed.main: data}, frozenset(), "unmutated", records=payloads)

    def mutate(self, seed: Seed, rng) -> Case:
        payloads, compression = seed.extra["records"], seed.extra["compression"]
        touched = {}
        data, records, note = _reframe(payloads, rng, touched, "record payload")
        data = _compress(data, compression)
        if rng.random() < 0.3:      # then blind edits of the (compressed) bytes
            data = mutators.mutate_bytes(data, rng)
            note += ", file bytes"
            records = _held(data, compression, records)
        return Case({seed.main: data}, frozenset(touched), note, records=records)

    def paths(self, directory: str, seed: Seed) -> list[str]:
        return [os.path.join(directory, seed.main)]

    def steps(self, directory: str, seed: Seed, case: Case) -> list:
        path = os.path.join(directory, seed.main)
        compression = seed.extra["compression"]
        options = tf.io.TFRecordOptions(compression) if compression else None
        data, want = case.files[seed.main], case.records
        return [("tf_record_iterator", lambda: _check_records(
                    list(tf_record_iterator(path, options)), want, want, data, False), True),
                ("iter_record_file", lambda: _check_records(
                    list(iter_record_file(path, compression)), want, want, data, False),
                 True)]


def _held(data: bytes, compression: str, framed: list[bytes]) -> list[bytes]:
    """The records a blindly edited file holds: those it parses to when it is still a
    valid (decompressible) record stream, else the records framed before the edit (a
    reader must then fail, or stop where the edit cut the file)."""
    try:
        raw = zlib.decompress(data) if compression == "ZLIB" else \
            gzip.decompress(data) if compression == "GZIP" else data
    except (zlib.error, OSError, EOFError):
        return framed
    parsed = framing.parse_records(raw)
    return framed if parsed is None else parsed


def _compress(data: bytes, compression: str) -> bytes:
    if compression == "ZLIB":
        return zlib.compress(data)
    if compression == "GZIP":
        return gzip.compress(data, mtime=0)
    return data


TARGETS = [StateTarget, EventsTarget, RecordsTarget]
