"""Many writers, one checkpoint: N processes each save their shard, one process merges.

As TensorFlow 1.x parameter servers did: each writer holds part of the model (here its
own dense layer, and a block of rows of one embedding table partitioned across all of
them) and writes it as one part of the checkpoint, at the same time as the others. When
every writer is done, one process merges the parts as MergeV2Checkpoints does and
records the checkpoint in the state file. TensorFlow (and flowsaver) then read one
ordinary checkpoint, the embedding whole.

    python examples/many_writers.py OUT [--writers 4] [--step 100]

OUT is a directory or a URL (``s3://bucket/run``: needs flowsaver[s3] and credentials in
the environment). A writer that dies leaves no checkpoint: the merge refuses, naming the
missing part.
"""
import argparse
import multiprocessing
import os
import sys

import numpy as np

# The format layer alone: a writer needs no graph library (and starts in a fraction of
# the time). ``flowsaver.train`` exports the same functions.
from flowsaver.format.reader import CheckpointReader
from flowsaver.format.shared_checkpoint import merge_shards, write_shard
from flowsaver.format.state import latest_checkpoint

VOCAB, DIM, HIDDEN = 1000, 16, 32


def embedding_rows(writer: int, writers: int) -> tuple[int, int]:
    """The ``(start, length)`` rows of the embedding table writer ``writer`` holds."""
    per = -(-VOCAB // writers)
    start = min(writer * per, VOCAB)
    return start, min(per, VOCAB - start)


def expected_tensors(writers: int, step: int) -> dict:
    """Every tensor of the merged checkpoint, as the writers compute them."""
    rng = np.random.default_rng(step)
    table = rng.standard_normal((VOCAB, DIM)).astype(np.float32)
    out = {"embedding": table, "global_step": np.int64(step)}
    for k in range(writers):
        out[f"layer_{k}/kernel"] = np.full((DIM, HIDDEN), k + step / 1000, np.float32)
        out[f"layer_{k}/bias"] = np.arange(HIDDEN, dtype=np.float32) * (k + 1)
    return out


def write_part(prefix: str, writer: int, writers: int, step: int) -> str:
    """What one writer process does: save its layer and its rows of the embedding."""
    everything = expected_tensors(writers, step)
    start, length = embedding_rows(writer, writers)
    mine = {f"layer_{writer}/kernel": everything[f"layer_{writer}/kernel"],
            f"layer_{writer}/bias": everything[f"layer_{writer}/bias"],
            "embedding": ((VOCAB, DIM), f"{start},{length}:-",
                          everything["embedding"][start:start + length])}
    if writer == 0:
        mine["global_step"] = everything["global_step"]
    part = write_shard(prefix, writer, writers, mine)
    print(f"writer {writer} (pid {os.getpid()}) wrote {part}", flush=True)
    return part


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="directory or URL of the checkpoints")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--step", type=int, default=100)
    args = parser.parse_args(argv)
    if "://" not in args.out:
        os.makedirs(args.out, exist_ok=True)
    prefix = os.path.join(args.out, f"model.ckpt-{args.step}")
    # "spawn": each writer starts as a fresh interpreter, as a writer on another machine
    # would; nothing (open connections, threads) is inherited from this process.
    context = multiprocessing.get_context("spawn")
    with context.Pool(args.writers) as pool:
        pool.starmap(write_part, [(prefix, k, args.writers, args.step)
                                  for k in range(args.writers)])
    merge_shards(prefix, args.writers)
    latest = latest_checkpoint(args.out)
    reader = CheckpointReader(latest)
    expected = expected_tensors(args.writers, args.step)
    same = all(np.array_equal(reader.get_tensor(name), value)
               for name, value in expected.items())
    print(f"merged {args.writers} parts into {latest}: {len(reader.names())} tensors, "
          f"embedding {reader.shape('embedding')}, all values as written: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
