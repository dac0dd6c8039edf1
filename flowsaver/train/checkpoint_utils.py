"""``tf.train`` functions that read checkpoints: load_checkpoint, list_variables, ..."""
from __future__ import annotations

from flowsaver.format.reader import CheckpointReader


def load_checkpoint(ckpt_dir_or_file) -> CheckpointReader:
    """A reader for the checkpoint at a prefix, directory, `.index` or `.data-*` path.

    Raises:
      NotFoundError / ValueError: nothing there; the message lists what was looked for.
      DataLossError: the index is corrupted.
    """
    return CheckpointReader(ckpt_dir_or_file)


def list_variables(ckpt_dir_or_file) -> list[tuple[str, list[int]]]:
    """``[(name, shape)]`` of every tensor, sorted by name."""
    reader = load_checkpoint(ckpt_dir_or_file)
    try:
        shapes = reader.get_variable_to_shape_map()
        return [(name, shapes[name]) for name in sorted(shapes)]
    finally:
        reader.close()


def load_variable(ckpt_dir_or_file, name: str):
    """The value of one tensor. A trailing ``:0`` is ignored, as TensorFlow ignores it."""
    if name.endswith(":0"):
        name = name[:-2]
    reader = load_checkpoint(ckpt_dir_or_file)
    try:
        return reader.get_tensor(name)
    finally:
        reader.close()
