"""``tf.train`` functions that read checkpoints: load_checkpoint, list_variables, ..."""
from __future__ import annotations

from flowsaver.format.reader import CheckpointReader


def load_checkpoint(ckpt_dir_or_file, *, mmap: bool = False,
                    verify_crc: bool | None = None) -> CheckpointReader:
    """A reader for the checkpoint at a prefix, directory, `.index` or `.data-*` path.

    Args:
      mmap: (flowsaver only) zero-copy reads: numeric tensors of a V2 checkpoint stored
        whole come back as read-only views of a memory map of the data file, so reading
        one tensor of a huge checkpoint touches only its bytes.
      verify_crc: check each tensor's CRC32C when it is read; default True, or False with
        ``mmap`` (a CRC reads every byte).

    Raises:
      NotFoundError / ValueError: nothing there; the message lists what was looked for.
      DataLossError: the index is corrupted.

    Example:
      >>> reader = load_checkpoint("big/model.ckpt", mmap=True)
      >>> row = reader.get_tensor("embedding")[1234]    # reads one row's pages
    """
    return CheckpointReader(ckpt_dir_or_file, verify_crc=verify_crc, mmap=mmap)


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
