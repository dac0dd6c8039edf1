"""Input values for `flowsaver run`, in saved_model_cli's forms:

    --inputs 'x=inputs.npy;y=batch.npz[y];z=batch.npz'   NumPy files (.npz: one array, or
                                                          the one named in brackets)
    --input_exprs 'x=np.ones((2, 3));k=[1, 2]'            Python expressions, numpy as np

and the outputs written back as .npy files (one per output, ``--outdir``) or one .npz.
Only NumPy and the standard library are used; arrays are loaded with pickling refused.
"""
from __future__ import annotations

import os
import re

import numpy as np

from flowsaver import errors

_FILE_ITEM = re.compile(r"^(?P<path>.*?)(\[(?P<key>[^\]]+)\])?$")


def _split(text: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise errors.InvalidArgumentError(
                f"{what} {item!r}: expected KEY=VALUE items separated by ';'")
        pairs.append((key.strip(), value.strip()))
    return pairs


def load_file_input(spec: str):
    """The array a ``FILE.npy``, ``FILE.npz`` (one array) or ``FILE.npz[NAME]`` names."""
    match = _FILE_ITEM.match(spec)
    path, key = match.group("path"), match.group("key")
    if not os.path.isfile(path):
        raise errors.NotFoundError(f"input file {path} does not exist")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise errors.DataLossError(f"{path} is not a .npy or .npz file NumPy reads without "
                                   f"pickling: {exc}") from None
    if isinstance(loaded, np.ndarray):
        if key is not None:
            raise errors.InvalidArgumentError(f"{spec}: a .npy file holds one array; "
                                              f"[{key}] names nothing in it")
        return loaded
    with loaded:
        names = list(loaded.files)
        if key is None:
            if len(names) != 1:
                raise errors.InvalidArgumentError(
                    f"{path} holds {len(names)} arrays {names}; name one: {path}[NAME]")
            key = names[0]
        if key not in names:
            raise errors.NotFoundError(f"{path} has no array {key!r}; it has {names}")
        return loaded[key]


def evaluate_expression(key: str, expression: str):
    """The value of a Python expression with ``np`` (NumPy) in scope."""
    try:
        return eval(expression, {"np": np, "numpy": np, "__builtins__": {}})  # noqa: S307
    except Exception as exc:  # noqa: BLE001 - any error in the user's expression
        raise errors.InvalidArgumentError(
            f"input {key}: cannot evaluate {expression!r}: {type(exc).__name__}: {exc}") \
            from None


def parse_inputs(files: str | None, expressions: str | None) -> dict:
    """``{key: value}`` from ``--inputs`` and ``--input_exprs``; a key given twice is an
    error."""
    values: dict = {}
    for what, text, load in (("--inputs", files, lambda k, v: load_file_input(v)),
                             ("--input_exprs", expressions, evaluate_expression)):
        for key, value in _split(text or "", what):
            if key in values:
                raise errors.InvalidArgumentError(f"input {key!r} is given more than once")
            values[key] = load(key, value)
    return values


def parse_feeds(items: list[str]) -> dict:
    """``{tensor name: value}`` from ``--feed NAME=VALUE`` items: VALUE is a .npy/.npz file
    when one exists at that path, else a Python expression."""
    values: dict = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise errors.InvalidArgumentError(f"--feed {item!r}: expected NAME=VALUE")
        path = _FILE_ITEM.match(value).group("path")
        values[name] = load_file_input(value) if os.path.isfile(path) \
            else evaluate_expression(name, value)
    return values


def save_outputs(outputs: dict, outdir: str | None, npz: str | None,
                 overwrite: bool) -> list[str]:
    """Write ``outputs`` as ``OUTDIR/KEY.npy`` files and/or one ``.npz``; the paths.

    Raises:
      AlreadyExistsError: a file is in the way and ``overwrite`` is not set.
    """
    written = []
    targets = []
    if outdir:
        os.makedirs(outdir, exist_ok=True)
        targets += [(os.path.join(outdir, _file_name(key) + ".npy"), {key: value})
                    for key, value in outputs.items()]
    if npz:
        targets.append((npz, outputs))
    for path, arrays in targets:
        if os.path.exists(path) and not overwrite:
            raise errors.AlreadyExistsError(f'Output file {path} already exists. Add '
                                            f'"--overwrite" flag to overwrite')
    for path, arrays in targets:
        if path.endswith(".npz"):
            np.savez(path, **{_file_name(k): _storable(v) for k, v in arrays.items()})
        else:
            np.save(path, _storable(next(iter(arrays.values()))), allow_pickle=False)
        written.append(path)
    return written


def _storable(value) -> np.ndarray:
    """An array .npy holds without pickling: string tensors become fixed-width bytes."""
    array = np.asarray(value)
    return array.astype(bytes) if array.dtype == object else array


def _file_name(key: str) -> str:
    """A tensor name as a file name: ``scope/y:0`` -> ``scope_y_0``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key)
